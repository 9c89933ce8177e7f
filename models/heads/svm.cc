#include "models/heads/svm.h"

#include <chrono>
#include <cmath>
#include <utility>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/stopwatch.h"

namespace fauna {
namespace {

constexpr char kFormatName[] = "fauna.svm.v1";
// Test rows per prediction GEMM: bounds the kernel block at kPredictChunk x S floats.
constexpr int64_t kPredictChunk = 4096;

}  // namespace

absl::Status ValidateSvmParams(const SvmParams& params) {
  RETURN_IF_ERROR(ParseKernelType(params.kernel).status());
  if (!(params.C > 0) || !std::isfinite(params.C)) {
    return absl::InvalidArgumentError(absl::StrCat("C must be a positive number, not ", params.C));
  }
  if (!(params.tol > 0)) {
    return absl::InvalidArgumentError(absl::StrCat("tol must be positive, not ", params.tol));
  }
  if (params.degree < 1) {
    return absl::InvalidArgumentError(absl::StrCat("degree must be >= 1, not ", params.degree));
  }
  // The value does not matter here, only that it parses.
  return ResolveGamma(params.gamma, at::ones({1, 1})).status();
}

absl::Status CheckTrainingSet(const at::Tensor& x, const at::Tensor& labels, int64_t num_classes) {
  if (!x.defined() || x.dim() != 2 || x.scalar_type() != at::kFloat) {
    return absl::InvalidArgumentError("features must be a float32 matrix [rows, dims]");
  }
  if (x.size(0) == 0 || x.size(1) == 0) {
    return absl::InvalidArgumentError("the training set is empty");
  }
  if (!labels.defined() || labels.dim() != 1 || labels.scalar_type() != at::kLong ||
      labels.size(0) != x.size(0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels must be int64 [", x.size(0), "], one per feature row"));
  }
  if (!at::isfinite(x).all().item<bool>()) {
    return absl::InvalidArgumentError("features hold NaN or infinite values");
  }
  if (num_classes < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("an SVM needs at least two classes; the data has ", num_classes));
  }
  if (labels.min().item<int64_t>() < 0 || labels.max().item<int64_t>() >= num_classes) {
    return absl::InvalidArgumentError(
        absl::StrCat("labels must lie in [0, ", num_classes, ")"));
  }
  const at::Tensor counts = at::bincount(labels.to(at::kCPU), {}, num_classes);
  const int64_t present = counts.gt(0).sum().item<int64_t>();
  if (present < 2) {
    return absl::InvalidArgumentError(
        "the training rows hold one class only; an SVM needs at least two");
  }
  if (present < num_classes) {
    const int64_t missing = counts.eq(0).nonzero()[0][0].item<int64_t>();
    return absl::InvalidArgumentError(
        absl::StrCat("class ", missing, " has no training rows (", present, " of ", num_classes,
                     " classes present)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<SvmModel> SvmModel::Fit(const at::Tensor& x, const at::Tensor& labels,
                                       int64_t num_classes, const SvmParams& params) {
  RETURN_IF_ERROR(ValidateSvmParams(params));
  RETURN_IF_ERROR(CheckTrainingSet(x, labels, num_classes));
  SvmKernel kernel;
  ASSIGN_OR_RETURN(kernel.type, ParseKernelType(params.kernel));
  ASSIGN_OR_RETURN(kernel.gamma, ResolveGamma(params.gamma, x));
  kernel.coef0 = params.coef0;
  kernel.degree = params.degree;

  const int64_t n = x.size(0);
  const at::Tensor label_cpu = labels.to(at::kCPU).contiguous();
  const std::vector<int64_t> label_vector(label_cpu.data_ptr<int64_t>(),
                                          label_cpu.data_ptr<int64_t>() + n);
  SmoOptions options;
  options.C = params.C;
  options.eps = params.tol;
  options.max_iter = params.max_iter;

  const auto start = std::chrono::steady_clock::now();
  SvmFitStats stats;
  OneVsOne solution;
  // With exact kernels, libsvm's precisions: float64 kernels rounded to float, the diagonal kept.
  std::vector<double> diagonal;
  if (params.exact_kernel) {
    const at::Tensor diag = KernelDiagonal(kernel, x).to(at::kCPU).contiguous();
    diagonal.assign(diag.data_ptr<double>(), diag.data_ptr<double>() + n);
  }
  if (n * n * static_cast<int64_t>(sizeof(float)) <= params.max_gram_bytes) {
    const at::Tensor gram = SymmetricKernelMatrix(kernel, x, params.exact_kernel)
                                .to(at::kCPU, at::kFloat)
                                .contiguous();
    stats.gram_seconds = SecondsSince(start);
    solution = SolveOneVsOne(GatherFromGram(gram), diagonal, label_vector, num_classes, options,
                             params.threads);
  } else {
    // One block per pair, each computed from its rows' features; pairs one after the other so
    // that each block's GEMM has every thread.
    auto block = [&](const std::vector<int64_t>& rows) {
      const at::Tensor index = at::tensor(rows, at::kLong).to(x.device());
      const at::Tensor sub = x.index_select(0, index);
      return KernelMatrix(kernel, sub, sub, params.exact_kernel).to(at::kCPU, at::kFloat)
          .contiguous();
    };
    solution = SolveOneVsOne(block, diagonal, label_vector, num_classes, options,
                             /*threads=*/1);
  }
  stats.solve_seconds = SecondsSince(start) - stats.gram_seconds;
  stats.iterations = solution.total_iterations();
  stats.converged = solution.converged();
  SvmModel model = FromSolution(solution, x, kernel, params.C);
  model.stats_ = stats;
  model.exact_kernel_ = params.exact_kernel;
  return model;
}

SvmModel SvmModel::FromSolution(const OneVsOne& solution, const at::Tensor& x,
                                const SvmKernel& kernel, double C) {
  SvmModel model;
  model.kernel_ = kernel;
  model.C_ = C;
  model.num_classes_ = solution.num_classes;
  const std::vector<int64_t> rows = SupportRows(solution);
  model.support_ = at::tensor(rows, at::kLong);
  model.support_vectors_ = x.index_select(0, model.support_.to(x.device())).contiguous();
  model.dual_coef_ = DualCoefficients(solution, rows).to(x.device());
  model.rho_ = Rhos(solution).to(x.device());
  // Which class each support row belongs to: the pair that holds it says.
  model.n_support_ = at::zeros({solution.num_classes}, at::kLong);
  std::vector<int64_t> class_of(solution.num_rows, -1);
  for (const OneVsOne::Pair& pair : solution.pairs) {
    for (size_t i = 0; i < pair.rows.size(); ++i) {
      class_of[pair.rows[i]] = static_cast<int64_t>(i) < pair.num_a ? pair.a : pair.b;
    }
  }
  int64_t* counts = model.n_support_.data_ptr<int64_t>();
  for (int64_t row : rows) ++counts[class_of[row]];
  return model;
}

at::Tensor SvmModel::DecisionFunction(const at::Tensor& x) const {
  const at::Tensor features = x.to(support_vectors_.device());
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < features.size(0); begin += kPredictChunk) {
    const at::Tensor chunk = features.narrow(0, begin, std::min(kPredictChunk,
                                                                features.size(0) - begin));
    const at::Tensor cross = KernelMatrix(kernel_, chunk, support_vectors_, exact_kernel_);
    parts.push_back(PairDecisions(cross, dual_coef_, rho_));
  }
  if (parts.empty()) {
    return at::empty({0, rho_.size(0)}, at::TensorOptions().dtype(at::kDouble));
  }
  return at::cat(parts);
}

at::Tensor SvmModel::Predict(const at::Tensor& x) const {
  return VoteClasses(DecisionFunction(x), num_classes_);
}

double SvmModel::Accuracy(const at::Tensor& x, const at::Tensor& labels) const {
  if (x.size(0) == 0) return 0;
  return Predict(x).eq(labels.to(at::kCPU)).to(at::kDouble).mean().item<double>();
}

absl::Status SvmModel::Save(const std::string& path,
                            const std::vector<std::string>& class_names) const {
  nlohmann::json kernel = {{"type", KernelTypeName(kernel_.type)},
                           {"gamma", kernel_.gamma},
                           {"coef0", kernel_.coef0},
                           {"degree", kernel_.degree}};
  std::map<std::string, std::string> metadata = {
      {"format", kFormatName},
      {"kernel", kernel.dump()},
      {"C", nlohmann::json(C_).dump()},
      {"num_classes", std::to_string(num_classes_)},
      {"classes", nlohmann::json(class_names).dump()},
  };
  return WriteSafetensors(path,
                          {{"support", support_},
                           {"support_vectors", support_vectors_},
                           {"n_support", n_support_},
                           {"dual_coef", dual_coef_},
                           {"rho", rho_}},
                          metadata);
}

absl::StatusOr<SvmModel> SvmModel::Load(const std::string& path,
                                        std::vector<std::string>* class_names) {
  ASSIGN_OR_RETURN(SafetensorsContents contents, ReadSafetensors(path));
  auto bad = [&](const std::string& what) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": not a fauna SVM model (", what, ")"));
  };
  if (contents.metadata["format"] != kFormatName) return bad("no \"format\": \"fauna.svm.v1\"");
  SvmModel model;
  for (const char* name : {"support", "support_vectors", "n_support", "dual_coef", "rho"}) {
    if (contents.tensors.count(name) == 0) return bad(absl::StrCat("no \"", name, "\" tensor"));
  }
  model.support_ = contents.tensors["support"];
  model.support_vectors_ = contents.tensors["support_vectors"];
  model.n_support_ = contents.tensors["n_support"];
  model.dual_coef_ = contents.tensors["dual_coef"];
  model.rho_ = contents.tensors["rho"];
  const nlohmann::json kernel =
      nlohmann::json::parse(contents.metadata["kernel"], nullptr, /*allow_exceptions=*/false);
  const nlohmann::json classes =
      nlohmann::json::parse(contents.metadata["classes"], nullptr, /*allow_exceptions=*/false);
  const nlohmann::json C =
      nlohmann::json::parse(contents.metadata["C"], nullptr, /*allow_exceptions=*/false);
  if (!kernel.is_object() || !kernel.contains("type") || !kernel["type"].is_string() ||
      !kernel.value("gamma", nlohmann::json()).is_number() ||
      !kernel.value("coef0", nlohmann::json()).is_number() ||
      !kernel.value("degree", nlohmann::json()).is_number_integer()) {
    return bad("kernel metadata");
  }
  if (!C.is_number() || !classes.is_array()) return bad("C or classes metadata");
  auto type = ParseKernelType(kernel["type"].get<std::string>());
  if (!type.ok()) return bad(std::string(type.status().message()));
  model.kernel_.type = *type;
  model.kernel_.gamma = kernel["gamma"].get<double>();
  model.kernel_.coef0 = kernel["coef0"].get<double>();
  model.kernel_.degree = kernel["degree"].get<int>();
  model.C_ = C.get<double>();
  model.num_classes_ = static_cast<int64_t>(classes.size());
  const int64_t k = model.num_classes_, pairs = k * (k - 1) / 2;
  const at::Tensor& sv = model.support_vectors_;
  if (k < 2 || sv.dim() != 2 || sv.scalar_type() != at::kFloat ||
      model.dual_coef_.dim() != 2 || model.dual_coef_.scalar_type() != at::kDouble ||
      model.dual_coef_.size(0) != sv.size(0) || model.dual_coef_.size(1) != pairs ||
      model.rho_.dim() != 1 || model.rho_.scalar_type() != at::kDouble ||
      model.rho_.size(0) != pairs || model.n_support_.numel() != k ||
      model.support_.numel() != sv.size(0)) {
    return bad("tensor shapes do not fit together");
  }
  if (class_names != nullptr) {
    class_names->clear();
    for (const nlohmann::json& name : classes) {
      if (!name.is_string()) return bad("a class name is not a string");
      class_names->push_back(name.get<std::string>());
    }
  }
  return model;
}

}  // namespace fauna
