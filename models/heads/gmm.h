// Gaussian mixture models fit by EM on LibTorch tensors, on any device, following scikit-learn's
// GaussianMixture (1.2): diagonal or full covariances, responsibilities started from k-means
// labels (init_params="kmeans": one k-means run, as KMeans(n_init=1)), EM in log space until the
// mean log-likelihood changes by less than tol, reg_covar added to every variance, n_init
// restarts of which the highest final lower bound is kept. Statistics are double precision
// (points are converted to float64 for the fit, as scikit-learn computes).
//
// Why not a library: Debian 12's Armadillo (libarmadillo-dev 11.4, arma::gmm_diag) has no
// convergence tolerance; with 13 EM iterations (scikit-learn's count on the benchmark) it took
// 0.10 s on 20,000 x 10 points with 10 components on a 2-core AMD EPYC, against scikit-learn's
// 0.17 s there and a goal of 2x faster, at a log-likelihood that varied from -32.68 to -32.61
// with its seeding; its default 100 iterations took 2.3 s. It is CPU-only too.
// Here an EM iteration is two GEMMs: [k, 2D+1] x [2D+1, N] gives every weighted log-density
// from [x, x^2, 1] (diag), and responsibilities [k, N] x [N, 2D+1] give the weighted sums of x,
// x^2 and 1; the rest works on [k, N] tensors, whose reductions over components LibTorch
// vectorises along the points. Small problems run on one thread (thread_limit.h). On the
// benchmark (//bench:clustering_vs_sklearn) a fit took 0.06-0.10 CPU seconds against
// scikit-learn's 0.19-0.36.
#ifndef FAUNA_MODELS_HEADS_GMM_H_
#define FAUNA_MODELS_HEADS_GMM_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// The shape of each component's covariance.
enum class CovarianceType {
  kFull,  // a full [D, D] matrix per component
  kDiag,  // a diagonal, [D] variances per component
};

// "full" or "diag" (scikit-learn's names); InvalidArgument otherwise.
absl::StatusOr<CovarianceType> ParseCovarianceType(std::string_view name);
// "full" or "diag".
std::string CovarianceTypeName(CovarianceType type);

// What GaussianMixture::Fit does; the defaults are scikit-learn 1.2's.
struct GmmOptions {
  int64_t k = 1;  // components, 1 <= k <= N
  CovarianceType covariance_type = CovarianceType::kFull;
  double tol = 1e-3;        // EM stops when the mean log-likelihood changes by less
  double reg_covar = 1e-6;  // added to the variances (the diagonal of full covariances)
  int64_t max_iter = 100;   // EM iterations per restart at most
  int64_t n_init = 1;       // restarts; the highest lower bound is kept
  uint64_t seed = 0;        // restart r starts from k-means seeded DeriveSeed(seed, 0, r)
  // Initial labels (int64 [N] in [0, k)) instead of k-means: the initial responsibilities are
  // their one-hot rows, as scikit-learn makes from its k-means labels. Then there is one restart,
  // whatever n_init says.
  at::Tensor init_labels;
};

// A fitted Gaussian mixture.
//
// Example:
//   GmmOptions options;
//   options.k = 10;
//   options.covariance_type = CovarianceType::kDiag;
//   ASSIGN_OR_RETURN(GaussianMixture gmm, GaussianMixture::Fit(set.features, options));
//   ASSIGN_OR_RETURN(double log_likelihood, gmm.Score(set.features));  // mean per sample
//   ASSIGN_OR_RETURN(double bic, gmm.Bic(set.features));
//   ASSIGN_OR_RETURN(at::Tensor clusters, gmm.Predict(set.features));
class GaussianMixture {
 public:
  // Fits a mixture to the rows of `x` ([N, D], floating point, finite, N >= 2, on any device).
  // InvalidArgument for a bad `x` or options; FailedPrecondition when a covariance stops being
  // positive definite (a collapsed component: fewer components or a larger reg_covar help).
  static absl::StatusOr<GaussianMixture> Fit(const at::Tensor& x, const GmmOptions& options);

  // Log-likelihood of each row of `x` (double [N]): scikit-learn's score_samples.
  absl::StatusOr<at::Tensor> ScoreSamples(const at::Tensor& x) const;
  // Mean log-likelihood per row: scikit-learn's score.
  absl::StatusOr<double> Score(const at::Tensor& x) const;
  // The most probable component of each row (int64 [N]).
  absl::StatusOr<at::Tensor> Predict(const at::Tensor& x) const;
  // Posterior probability of each component for each row (double [N, k]; rows sum to 1).
  absl::StatusOr<at::Tensor> PredictProba(const at::Tensor& x) const;
  // Bayesian information criterion on `x`: -2 N Score(x) + NumParameters() log N (lower is
  // better).
  absl::StatusOr<double> Bic(const at::Tensor& x) const;
  // Free parameters: k - 1 weights, k D means, and k D (diag) or k D (D + 1) / 2 (full)
  // covariance entries.
  int64_t NumParameters() const;

  // Writes weights, means, covariances and precisions_cholesky (float64) and, as metadata, the
  // format ("fauna.gmm.v1") and the fit's summary as JSON ("fit": covariance_type, k,
  // lower_bound, n_iter, converged).
  absl::Status Save(const std::string& path) const;
  // Reads a model written by Save.
  static absl::StatusOr<GaussianMixture> Load(const std::string& path);

  CovarianceType covariance_type() const { return covariance_type_; }
  int64_t k() const { return weights_.size(0); }
  int64_t dim() const { return means_.size(1); }
  // Mixing weights, double [k].
  const at::Tensor& weights() const { return weights_; }
  // Component means, double [k, D].
  const at::Tensor& means() const { return means_; }
  // double [k, D] (diag) or [k, D, D] (full).
  const at::Tensor& covariances() const { return covariances_; }
  // Cholesky factors of the precisions, as scikit-learn's precisions_cholesky_: double [k, D]
  // (diag: 1 / sqrt(variance)) or [k, D, D] (full: upper triangular P with P P^T = precision).
  const at::Tensor& precisions_cholesky() const { return precisions_cholesky_; }
  // The kept restart's last lower bound: the mean log-likelihood of the training rows at its
  // last E-step (scikit-learn's lower_bound_).
  double lower_bound() const { return lower_bound_; }
  // EM iterations of the kept restart.
  int64_t n_iter() const { return n_iter_; }
  // Whether some restart converged within max_iter (scikit-learn's converged_).
  bool converged() const { return converged_; }
  // Most probable component of each training row after a final E-step (scikit-learn's
  // fit_predict); undefined after Load.
  const at::Tensor& labels() const { return labels_; }

 private:
  GaussianMixture() = default;

  // Weighted log-probabilities log(w_j) + log N(x | mu_j, Sigma_j), double [N, k], of float64
  // points on the model's device.
  at::Tensor WeightedLogProb(const at::Tensor& x) const;
  // Checks `x` against the model and returns it as float64 on the model's device.
  absl::StatusOr<at::Tensor> Prepare(const at::Tensor& x) const;

  CovarianceType covariance_type_ = CovarianceType::kFull;
  at::Tensor weights_;
  at::Tensor means_;
  at::Tensor covariances_;
  at::Tensor precisions_cholesky_;
  double lower_bound_ = 0;
  int64_t n_iter_ = 0;
  bool converged_ = false;
  at::Tensor labels_;
};

}  // namespace fauna

#endif  // FAUNA_MODELS_HEADS_GMM_H_
