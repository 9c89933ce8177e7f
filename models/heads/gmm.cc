#include "models/heads/gmm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/safetensors.h"
#include "core/seed.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "models/heads/kmeans.h"
#include "models/heads/thread_limit.h"

namespace fauna {
namespace {

constexpr char kFormatName[] = "fauna.gmm.v1";

// Elements of one temporary [components, N, D] block of the full-covariance E-step; more
// components than fit are processed a group at a time (32 MB of float64).
constexpr int64_t kChunkElements = int64_t{1} << 22;

// scikit-learn's message for a covariance that is not positive definite.
constexpr char kIllDefined[] =
    "Gaussian mixture: fitting failed because some components have ill-defined empirical "
    "covariance (for instance caused by singleton or collapsed samples); try fewer components "
    "or a larger --reg_covar";

absl::Status CheckPoints(const at::Tensor& x) {
  if (!x.defined() || x.dim() != 2) {
    return absl::InvalidArgumentError("Gaussian mixture: points must be a 2-D matrix");
  }
  if (!at::isFloatingType(x.scalar_type())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Gaussian mixture: points must be floating point, not ", at::toString(x.scalar_type())));
  }
  if (x.size(0) == 0 || x.size(1) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gaussian mixture: points are empty (", x.size(0), " x ", x.size(1), ")"));
  }
  if (!at::isfinite(x).all().item<bool>()) {
    return absl::InvalidArgumentError("Gaussian mixture: points hold NaN or infinity");
  }
  return absl::OkStatus();
}

// Parameters of a mixture, double on the points' device.
struct Parameters {
  at::Tensor weights;              // [k]
  at::Tensor means;                // [k, D]
  at::Tensor covariances;          // [k, D] or [k, D, D]
  at::Tensor precisions_cholesky;  // same shape
};

// scikit-learn's _compute_precision_cholesky; FailedPrecondition for a covariance that is not
// positive definite.
absl::StatusOr<at::Tensor> PrecisionCholesky(const at::Tensor& covariances, CovarianceType type) {
  if (type == CovarianceType::kDiag) {
    if (covariances.le(0).any().item<bool>()) return absl::FailedPreconditionError(kIllDefined);
    return covariances.rsqrt();
  }
  auto [lower, info] = at::linalg_cholesky_ex(covariances);
  if (info.ne(0).any().item<bool>()) return absl::FailedPreconditionError(kIllDefined);
  const int64_t d = covariances.size(1);
  const at::Tensor eye = at::eye(d, covariances.options()).expand_as(covariances);
  return at::linalg_solve_triangular(lower, eye, /*upper=*/false).transpose(1, 2).contiguous();
}

// The points as the GEMMs of EM use them, float64 on their device. Responsibilities and
// log-probabilities are laid out [k, N] (components, points): LibTorch reduces over a leading
// dimension with vector instructions along the points, where a reduction over a last dimension
// of size k runs one short row at a time (several times slower).
struct Design {
  at::Tensor x;  // [N, D]
  // diag: [x, x * x, 1] ([N, 2D + 1]), so that one GEMM gives every component's log-density
  // (E-step) and one gives the responsibility-weighted sums of x, x^2 and 1 (M-step); full:
  // [x, 1] ([N, D + 1]).
  at::Tensor augmented;
};

Design MakeDesign(const at::Tensor& x, CovarianceType type) {
  Design design;
  design.x = x;
  const at::Tensor ones = at::ones({x.size(0), 1}, x.options());
  design.augmented =
      type == CovarianceType::kDiag ? at::cat({x, x.mul(x), ones}, 1) : at::cat({x, ones}, 1);
  return design;
}

// scikit-learn's _estimate_gaussian_parameters: weights (unnormalised: the responsibility sums),
// means and covariances from responsibilities `resp` [k, N].
absl::StatusOr<Parameters> EstimateParameters(const Design& design, const at::Tensor& resp,
                                              double reg_covar, CovarianceType type) {
  Parameters p;
  const int64_t d = design.x.size(1);
  const at::Tensor moments = resp.mm(design.augmented);  // [k, 2D + 1] or [k, D + 1]
  const at::Tensor nk = moments.select(1, moments.size(1) - 1)
                            .add(10 * std::numeric_limits<double>::epsilon())
                            .unsqueeze(1);
  const at::Tensor weighted_sums = moments.narrow(1, 0, d);
  p.means = weighted_sums.div(nk);
  if (type == CovarianceType::kDiag) {
    const at::Tensor avg_x2 = moments.narrow(1, d, d).div(nk);
    const at::Tensor avg_means2 = p.means.mul(p.means);
    const at::Tensor avg_x_means = p.means.mul(weighted_sums).div_(nk);
    p.covariances = avg_x2.sub_(avg_x_means.mul(2)).add_(avg_means2).add_(reg_covar);
  } else {
    const int64_t k = resp.size(0);
    p.covariances = at::empty({k, d, d}, design.x.options());
    for (int64_t j = 0; j < k; ++j) {
      const at::Tensor diff = design.x.sub(p.means[j]);
      p.covariances[j].copy_(diff.mul(resp[j].unsqueeze(1)).t().mm(diff).div_(nk[j]));
    }
    p.covariances.diagonal(0, 1, 2).add_(reg_covar);
  }
  p.weights = nk.squeeze(1);
  ASSIGN_OR_RETURN(p.precisions_cholesky, PrecisionCholesky(p.covariances, type));
  return p;
}

// log(weight_j) + log N(x | mean_j, covariance_j) for every component and point, double [k, N]
// (scikit-learn's _estimate_weighted_log_prob, transposed).
at::Tensor WeightedLogProbT(const Design& design, const Parameters& p, CovarianceType type) {
  const at::Tensor& x = design.x;
  const int64_t n = x.size(0), d = x.size(1), k = p.means.size(0);
  const double log_2pi = d * std::log(2 * M_PI);
  if (type == CovarianceType::kDiag) {
    // -1/2 sum_d (x_d - mu_d)^2 P_d = x . (mu P) + x^2 . (-P / 2) - 1/2 sum_d mu_d^2 P_d.
    const at::Tensor precisions = p.precisions_cholesky.mul(p.precisions_cholesky);
    const at::Tensor constant = p.means.mul(p.means)
                                    .mul_(precisions)
                                    .sum(1)
                                    .add_(log_2pi)
                                    .mul_(-0.5)
                                    .add_(p.precisions_cholesky.log().sum(1))
                                    .add_(p.weights.log());
    const at::Tensor coefficients =
        at::cat({p.means.mul(precisions), precisions.mul(-0.5), constant.unsqueeze(1)}, 1);
    return coefficients.mm(design.augmented.t());
  }
  at::Tensor log_prob = at::empty({k, n}, x.options());
  const int64_t group = std::max<int64_t>(1, kChunkElements / (n * d));
  for (int64_t begin = 0; begin < k; begin += group) {
    const int64_t g = std::min(group, k - begin);
    const at::Tensor pc = p.precisions_cholesky.narrow(0, begin, g);  // [g, D, D]
    const at::Tensor y = at::matmul(x.unsqueeze(0), pc)               // [g, N, D]
                             .sub_(at::matmul(p.means.narrow(0, begin, g).unsqueeze(1), pc));
    log_prob.narrow(0, begin, g).copy_(y.mul_(y).sum(2));
  }
  const at::Tensor constant =
      p.precisions_cholesky.diagonal(0, 1, 2).log().sum(1).add_(p.weights.log());
  return log_prob.add_(log_2pi).mul_(-0.5).add_(constant.unsqueeze(1));
}

// E-step: the mean log-likelihood (scikit-learn's lower bound) and the responsibilities [k, N],
// from the weighted log-probabilities [k, N] (consumed).
std::pair<double, at::Tensor> Responsibilities(at::Tensor weighted) {
  // log-sum-exp over the components, with the responsibilities on the way.
  const at::Tensor top = weighted.amax(0, /*keepdim=*/true);
  at::Tensor resp = weighted.sub_(top).exp_();
  const at::Tensor total = resp.sum(0, /*keepdim=*/true);
  resp.div_(total);
  const double mean_log_likelihood = total.log_().add_(top).mean().item<double>();
  return {mean_log_likelihood, resp};
}

}  // namespace

absl::StatusOr<CovarianceType> ParseCovarianceType(std::string_view name) {
  if (name == "full") return CovarianceType::kFull;
  if (name == "diag") return CovarianceType::kDiag;
  return absl::InvalidArgumentError(
      absl::StrCat("covariance type must be full or diag, not \"", std::string(name), "\""));
}

std::string CovarianceTypeName(CovarianceType type) {
  return type == CovarianceType::kDiag ? "diag" : "full";
}

absl::StatusOr<GaussianMixture> GaussianMixture::Fit(const at::Tensor& x,
                                                     const GmmOptions& options) {
  RETURN_IF_ERROR(CheckPoints(x));
  const int64_t n = x.size(0);
  if (n < 2) return absl::InvalidArgumentError("Gaussian mixture: needs at least 2 points");
  if (options.k < 1 || options.k > n) {
    return absl::InvalidArgumentError(absl::StrCat("Gaussian mixture: k must be in [1, ", n,
                                                   "] (the number of points), not ", options.k));
  }
  if (options.n_init < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gaussian mixture: n_init must be at least 1, not ", options.n_init));
  }
  if (options.max_iter < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gaussian mixture: max_iter must be at least 1, not ", options.max_iter));
  }
  if (!(options.tol >= 0) || !std::isfinite(options.tol)) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gaussian mixture: tol must be finite and at least 0, not ", options.tol));
  }
  if (!(options.reg_covar >= 0) || !std::isfinite(options.reg_covar)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "Gaussian mixture: reg_covar must be finite and at least 0, not ", options.reg_covar));
  }
  const at::Tensor& init = options.init_labels;
  if (init.defined()) {
    if (init.dim() != 1 || init.size(0) != n ||
        !at::isIntegralType(init.scalar_type(), /*includeBool=*/false)) {
      return absl::InvalidArgumentError(
          absl::StrCat("Gaussian mixture: initial labels must be an integer vector of ", n));
    }
    if (init.min().item<int64_t>() < 0 || init.max().item<int64_t>() >= options.k) {
      return absl::InvalidArgumentError(
          absl::StrCat("Gaussian mixture: initial labels must be in [0, ", options.k, ")"));
    }
  }
  const CovarianceType type = options.covariance_type;
  const ThreadLimit limit(x);
  ASSIGN_OR_RETURN(const Design design, GuardTorch("Gaussian mixture", [&] {
                     return MakeDesign(x.to(at::kDouble).contiguous(), type);
                   }));

  const int64_t restarts = init.defined() ? 1 : options.n_init;
  double best_lower = -std::numeric_limits<double>::infinity();
  bool have_best = false, converged = false;
  Parameters best;
  int64_t best_iter = 0;
  for (int64_t restart = 0; restart < restarts; ++restart) {
    at::Tensor labels;
    if (init.defined()) {
      labels = init.to(design.x.device(), at::kLong);
    } else {
      KMeansOptions kmeans;
      kmeans.k = options.k;
      kmeans.n_init = 1;
      kmeans.seed = DeriveSeed(options.seed, 0, static_cast<uint64_t>(restart));
      ASSIGN_OR_RETURN(KMeans fitted, KMeans::Fit(x, kmeans));
      labels = fitted.labels();
    }
    absl::StatusOr<double> lower = GuardTorch("Gaussian mixture", [&]() -> absl::StatusOr<double> {
      const at::Tensor resp = at::one_hot(labels, options.k).t().to(at::kDouble);
      ASSIGN_OR_RETURN(Parameters p, EstimateParameters(design, resp, options.reg_covar, type));
      p.weights.div_(n);
      double lower_bound = -std::numeric_limits<double>::infinity();
      int64_t iter = 1;
      for (; iter <= options.max_iter; ++iter) {
        const double previous = lower_bound;
        auto [mean_log_likelihood, responsibilities] =
            Responsibilities(WeightedLogProbT(design, p, type));
        ASSIGN_OR_RETURN(p, EstimateParameters(design, responsibilities, options.reg_covar, type));
        p.weights.div_(p.weights.sum());
        lower_bound = mean_log_likelihood;
        if (std::abs(lower_bound - previous) < options.tol) {
          converged = true;
          break;
        }
      }
      if (!have_best || lower_bound > best_lower) {
        have_best = true;
        best_lower = lower_bound;
        best = p;
        best_iter = std::min(iter, options.max_iter);
      }
      return lower_bound;
    });
    RETURN_IF_ERROR(lower.status());
  }

  GaussianMixture model;
  model.covariance_type_ = type;
  model.weights_ = best.weights;
  model.means_ = best.means;
  model.covariances_ = best.covariances;
  model.precisions_cholesky_ = best.precisions_cholesky;
  model.lower_bound_ = best_lower;
  model.n_iter_ = best_iter;
  model.converged_ = converged;
  // A final E-step, so that labels() agree with Predict on the training rows.
  ASSIGN_OR_RETURN(model.labels_, GuardTorch("Gaussian mixture", [&] {
                     return WeightedLogProbT(design, best, type).argmax(0);
                   }));
  return model;
}

at::Tensor GaussianMixture::WeightedLogProb(const at::Tensor& x) const {
  Parameters p;
  p.weights = weights_;
  p.means = means_;
  p.covariances = covariances_;
  p.precisions_cholesky = precisions_cholesky_;
  return WeightedLogProbT(MakeDesign(x, covariance_type_), p, covariance_type_).t();
}

absl::StatusOr<at::Tensor> GaussianMixture::Prepare(const at::Tensor& x) const {
  RETURN_IF_ERROR(CheckPoints(x));
  if (x.size(1) != dim()) {
    return absl::InvalidArgumentError(
        absl::StrCat("Gaussian mixture: points have ", x.size(1), " features, the model ", dim()));
  }
  return GuardTorch("Gaussian mixture",
                    [&] { return x.to(means_.device(), at::kDouble).contiguous(); });
}

absl::StatusOr<at::Tensor> GaussianMixture::ScoreSamples(const at::Tensor& x) const {
  ASSIGN_OR_RETURN(const at::Tensor xd, Prepare(x));
  return GuardTorch("Gaussian mixture", [&] { return WeightedLogProb(xd).logsumexp(1); });
}

absl::StatusOr<double> GaussianMixture::Score(const at::Tensor& x) const {
  ASSIGN_OR_RETURN(const at::Tensor samples, ScoreSamples(x));
  return GuardTorch("Gaussian mixture", [&] { return samples.mean().item<double>(); });
}

absl::StatusOr<at::Tensor> GaussianMixture::Predict(const at::Tensor& x) const {
  ASSIGN_OR_RETURN(const at::Tensor xd, Prepare(x));
  return GuardTorch("Gaussian mixture", [&] { return WeightedLogProb(xd).argmax(1); });
}

absl::StatusOr<at::Tensor> GaussianMixture::PredictProba(const at::Tensor& x) const {
  ASSIGN_OR_RETURN(const at::Tensor xd, Prepare(x));
  return GuardTorch("Gaussian mixture", [&] {
    const at::Tensor weighted = WeightedLogProb(xd);
    return weighted.sub(weighted.logsumexp(1, /*keepdim=*/true)).exp_();
  });
}

absl::StatusOr<double> GaussianMixture::Bic(const at::Tensor& x) const {
  ASSIGN_OR_RETURN(const double score, Score(x));
  const double n = static_cast<double>(x.size(0));
  return -2 * score * n + static_cast<double>(NumParameters()) * std::log(n);
}

int64_t GaussianMixture::NumParameters() const {
  const int64_t d = dim();
  const int64_t covariance =
      covariance_type_ == CovarianceType::kDiag ? k() * d : k() * d * (d + 1) / 2;
  return covariance + k() * d + k() - 1;
}

absl::Status GaussianMixture::Save(const std::string& path) const {
  const nlohmann::json fit = {{"covariance_type", CovarianceTypeName(covariance_type_)},
                              {"k", k()},
                              {"lower_bound", lower_bound_},
                              {"n_iter", n_iter_},
                              {"converged", converged_}};
  ASSIGN_OR_RETURN(NamedTensors tensors, GuardTorch("Gaussian mixture save", [&] {
                     NamedTensors t;
                     t["weights"] = weights_.to(at::kCPU).contiguous();
                     t["means"] = means_.to(at::kCPU).contiguous();
                     t["covariances"] = covariances_.to(at::kCPU).contiguous();
                     t["precisions_cholesky"] = precisions_cholesky_.to(at::kCPU).contiguous();
                     return t;
                   }));
  return WriteSafetensors(path, tensors, {{"format", kFormatName}, {"fit", fit.dump()}});
}

absl::StatusOr<GaussianMixture> GaussianMixture::Load(const std::string& path) {
  ASSIGN_OR_RETURN(SafetensorsContents contents, ReadSafetensors(path));
  auto format = contents.metadata.find("format");
  if (format == contents.metadata.end() || format->second != kFormatName) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a Gaussian mixture (no \"format\": \"", kFormatName, "\")"));
  }
  GaussianMixture model;
  try {
    const nlohmann::json fit = nlohmann::json::parse(contents.metadata["fit"]);
    absl::StatusOr<CovarianceType> type =
        ParseCovarianceType(fit.value("covariance_type", std::string()));
    if (!type.ok()) return Annotate(type.status(), path);
    model.covariance_type_ = *type;
    model.lower_bound_ = fit.value("lower_bound", 0.0);
    model.n_iter_ = fit.value("n_iter", int64_t{0});
    model.converged_ = fit.value("converged", false);
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": bad \"fit\" metadata: ", e.what()));
  }
  for (const char* name : {"weights", "means", "covariances"}) {
    auto it = contents.tensors.find(name);
    if (it == contents.tensors.end()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no \"", name, "\" tensor"));
    }
    if (!at::isFloatingType(it->second.scalar_type()) ||
        !at::isfinite(it->second).all().item<bool>()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": \"", name, "\" must be finite floating point"));
    }
  }
  model.weights_ = contents.tensors["weights"].to(at::kDouble);
  model.means_ = contents.tensors["means"].to(at::kDouble);
  model.covariances_ = contents.tensors["covariances"].to(at::kDouble);
  const bool diag = model.covariance_type_ == CovarianceType::kDiag;
  const int64_t k = model.weights_.dim() == 1 ? model.weights_.size(0) : -1;
  const bool shapes_ok =
      k >= 1 && model.means_.dim() == 2 && model.means_.size(0) == k &&
      model.covariances_.sizes().vec() ==
          (diag ? std::vector<int64_t>{k, model.means_.size(1)}
                : std::vector<int64_t>{k, model.means_.size(1), model.means_.size(1)});
  if (!shapes_ok) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": weights, means and ",
                                                   CovarianceTypeName(model.covariance_type_),
                                                   " covariances of mismatched shapes"));
  }
  // The precision factors are recomputed: this also checks that the covariances are valid.
  absl::StatusOr<at::Tensor> precisions =
      PrecisionCholesky(model.covariances_, model.covariance_type_);
  if (!precisions.ok()) return Annotate(precisions.status(), path);
  model.precisions_cholesky_ = *precisions;
  return model;
}

}  // namespace fauna
