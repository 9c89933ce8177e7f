// fauna's SVM head: a multi-class C-SVC (scikit-learn's SVC, libsvm's C-SVC) on feature rows, with
// linear, RBF and polynomial kernels, one-vs-one voting, decision values, and save/load.
//
// Fit computes the training kernel matrix with one GEMM on the features' device (when it fits in
// SvmParams::max_gram_bytes; otherwise one block per pair of classes), then solves the pairs in
// parallel with libsvm's SMO (models/heads/smo_solver.h). Prediction is one GEMM against the
// support vectors. The SMO itself runs on the CPU (it is a sequential loop of tiny updates), so on
// a GPU only the kernel matrices and predictions move there.
//
// Example:
//   SvmParams params;
//   params.C = 10;
//   params.gamma = "scale";
//   ASSIGN_OR_RETURN(SvmModel svm, SvmModel::Fit(train.features, train.labels, 10, params));
//   at::Tensor predicted = svm.Predict(test.features);
#ifndef FAUNA_MODELS_HEADS_SVM_H_
#define FAUNA_MODELS_HEADS_SVM_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/heads/one_vs_one.h"
#include "models/heads/svm_kernel.h"

namespace fauna {

// The hyper-parameters, named and defaulted as scikit-learn's SVC.
struct SvmParams {
  std::string kernel = "rbf";     // linear, rbf or poly
  double C = 1.0;
  std::string gamma = "scale";    // a number, "scale" or "auto" (see ResolveGamma)
  int degree = 3;
  double coef0 = 0.0;
  double tol = 1e-3;
  int64_t max_iter = 0;           // per pair; <= 0: libsvm's default
  int threads = 0;                // pairs solved at once; <= 0: LibTorch's thread count
  bool exact_kernel = false;      // float64 products for kernel matrices (slower; tests)
  int64_t max_gram_bytes = int64_t{4} << 30;  // above: one kernel block per pair
};

// Checks C > 0, tol > 0, degree >= 1, a known kernel and a valid gamma (a number > 0, "scale" or
// "auto"); InvalidArgument naming the first bad one.
absl::Status ValidateSvmParams(const SvmParams& params);

// Facts of a fit, for reports.
struct SvmFitStats {
  int64_t iterations = 0;     // Summed over pairs.
  bool converged = true;      // Every pair met tol before max_iter.
  double gram_seconds = 0;    // Kernel matrix.
  double solve_seconds = 0;   // SMO over all pairs.
};

class SvmModel {
 public:
  // Fits on `x` (float32 [N, D]) and `labels` (int64 [N] in [0, num_classes)). Errors: fewer than
  // two classes, a class of [0, num_classes) without rows, shapes that do not match, non-finite
  // features, bad params.
  static absl::StatusOr<SvmModel> Fit(const at::Tensor& x, const at::Tensor& labels,
                                      int64_t num_classes, const SvmParams& params);

  // A model from a one-vs-one solution over the rows of `x` (the grid search's refit path).
  static SvmModel FromSolution(const OneVsOne& solution, const at::Tensor& x,
                               const SvmKernel& kernel, double C);

  // Decision values float64 [M, P], pairs (a, b) in libsvm's order; > 0 favours a.
  at::Tensor DecisionFunction(const at::Tensor& x) const;
  // Class indices int64 [M] by one-vs-one voting.
  at::Tensor Predict(const at::Tensor& x) const;
  // Fraction of `x`'s rows predicted as `labels`.
  double Accuracy(const at::Tensor& x, const at::Tensor& labels) const;

  // Writes the model (support vectors, dual coefficients, rho, kernel, classes) as safetensors
  // with JSON metadata; Load reads it back, checking every field.
  absl::Status Save(const std::string& path, const std::vector<std::string>& class_names) const;
  static absl::StatusOr<SvmModel> Load(const std::string& path,
                                       std::vector<std::string>* class_names = nullptr);

  const SvmKernel& kernel() const { return kernel_; }
  double C() const { return C_; }
  int64_t num_classes() const { return num_classes_; }
  int64_t dim() const { return support_vectors_.size(1); }
  // Training rows that are support vectors, ascending (int64 [S]), their features [S, D], the
  // count per class (int64 [K]), dual coefficients alpha*y (float64 [S, P]) and rho (float64 [P]).
  const at::Tensor& support() const { return support_; }
  const at::Tensor& support_vectors() const { return support_vectors_; }
  const at::Tensor& n_support() const { return n_support_; }
  const at::Tensor& dual_coef() const { return dual_coef_; }
  const at::Tensor& rho() const { return rho_; }
  const SvmFitStats& stats() const { return stats_; }

 private:
  SvmKernel kernel_;
  double C_ = 1.0;
  int64_t num_classes_ = 0;
  at::Tensor support_, support_vectors_, n_support_, dual_coef_, rho_;
  SvmFitStats stats_;
  bool exact_kernel_ = false;  // Decision values from float64 kernels, as the fit's.
};

// Why `labels` [N] cannot train a num_classes-way SVM, or OK: checks shapes, range, at least two
// classes and every class present. `x` is checked for 2-D float32, N rows, finite values.
absl::Status CheckTrainingSet(const at::Tensor& x, const at::Tensor& labels, int64_t num_classes);

}  // namespace fauna

#endif  // FAUNA_MODELS_HEADS_SVM_H_
