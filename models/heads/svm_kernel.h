// Kernels of fauna's SVM, as scikit-learn's SVC names them:
//   linear  <x, y>
//   rbf     exp(-gamma |x - y|^2)
//   poly    (gamma <x, y> + coef0)^degree
// and their Gram matrices, computed with matrix products (one GEMM per matrix) on the features'
// device. Gram matrices are float32; an RBF matrix comes from a squared-distance matrix, which a
// grid search computes once per fold and reuses for every gamma.
#ifndef FAUNA_MODELS_HEADS_SVM_KERNEL_H_
#define FAUNA_MODELS_HEADS_SVM_KERNEL_H_

#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace fauna {

enum class KernelType { kLinear, kRbf, kPoly };

// A kernel with every parameter resolved to a number.
struct SvmKernel {
  KernelType type = KernelType::kRbf;
  double gamma = 1.0;   // rbf, poly
  double coef0 = 0.0;   // poly
  int degree = 3;       // poly
};

// "linear", "rbf" or "poly"; anything else is InvalidArgument naming the choices.
absl::StatusOr<KernelType> ParseKernelType(const std::string& name);
std::string KernelTypeName(KernelType type);

// sklearn's gamma for features `x` [N, D]: a positive number as given ("0.01"), "scale" =
// 1 / (D * x.var()) (the variance of every entry; 1 when that variance is 0) or "auto" = 1 / D.
// InvalidArgument for anything else, or a number <= 0.
absl::StatusOr<double> ResolveGamma(const std::string& gamma, const at::Tensor& x);

// |a_i - b_j|^2 for rows of `a` [N, D] and `b` [M, D], clamped at 0: float32 [N, M], or float64
// computed in float64 when `exact` (libsvm's precision, for tests against it).
at::Tensor SquaredDistances(const at::Tensor& a, const at::Tensor& b, bool exact = false);

// The kernel matrix K[i, j] = k(a_i, b_j) on a's device: float32 [N, M], or float64 when `exact`.
at::Tensor KernelMatrix(const SvmKernel& kernel, const at::Tensor& a, const at::Tensor& b,
                        bool exact = false);

// KernelMatrix(kernel, x, x), computed as one symmetric half: row panels of the lower triangle,
// each one GEMM, mirrored into the upper one (about half the multiply-adds of the full product).
at::Tensor SymmetricKernelMatrix(const SvmKernel& kernel, const at::Tensor& x, bool exact = false);

// k(a_i, a_i) for every row of `a`, float64 [N], computed in float64.
at::Tensor KernelDiagonal(const SvmKernel& kernel, const at::Tensor& a);

// exp(-gamma * d) for a squared-distance matrix `d` (a new tensor).
at::Tensor RbfFromSquaredDistances(const at::Tensor& d, double gamma);

// One line for reports, e.g. "rbf(gamma=0.01)", "linear", "poly(gamma=0.5, coef0=0, degree=3)".
std::string KernelDescription(const SvmKernel& kernel);

}  // namespace fauna

#endif  // FAUNA_MODELS_HEADS_SVM_KERNEL_H_
