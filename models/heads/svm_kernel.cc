#include "models/heads/svm_kernel.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace fauna {

absl::StatusOr<KernelType> ParseKernelType(const std::string& name) {
  if (name == "linear") return KernelType::kLinear;
  if (name == "rbf") return KernelType::kRbf;
  if (name == "poly") return KernelType::kPoly;
  return absl::InvalidArgumentError(
      absl::StrCat("unknown kernel \"", name, "\"; choose linear, rbf or poly"));
}

std::string KernelTypeName(KernelType type) {
  switch (type) {
    case KernelType::kLinear:
      return "linear";
    case KernelType::kRbf:
      return "rbf";
    case KernelType::kPoly:
      return "poly";
  }
  return "?";
}

absl::StatusOr<double> ResolveGamma(const std::string& gamma, const at::Tensor& x) {
  const double dims = static_cast<double>(x.size(1));
  if (gamma == "auto") return 1.0 / dims;
  if (gamma == "scale") {
    // numpy's X.var(): the population variance of every entry, accumulated in double.
    const double var = x.to(at::kDouble).var(/*unbiased=*/false).item<double>();
    return var > 0 ? 1.0 / (dims * var) : 1.0;
  }
  double value = 0;
  if (!absl::SimpleAtod(gamma, &value) || !std::isfinite(value) || value <= 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "gamma \"", gamma, "\" is neither a positive number nor \"scale\" or \"auto\""));
  }
  return value;
}

namespace {

// |a|^2 + |b|^2 - 2 a b^T in `type`, in place on the product.
at::Tensor SquaredDistancesIn(const at::Tensor& a, const at::Tensor& b, at::ScalarType type) {
  const at::Tensor a2 = a.to(type), b2 = b.to(type);
  const at::Tensor an = a2.pow(2).sum(1, /*keepdim=*/true);
  const at::Tensor bn = b2.pow(2).sum(1).unsqueeze(0);
  return at::mm(a2, b2.t()).mul_(-2.0).add_(an).add_(bn).clamp_min_(0.0);
}

}  // namespace

at::Tensor SquaredDistances(const at::Tensor& a, const at::Tensor& b, bool exact) {
  return SquaredDistancesIn(a, b, exact ? at::kDouble : at::kFloat);
}

at::Tensor RbfFromSquaredDistances(const at::Tensor& d, double gamma) {
  return d.mul(-gamma).exp_();
}

at::Tensor KernelMatrix(const SvmKernel& kernel, const at::Tensor& a, const at::Tensor& b,
                        bool exact) {
  const at::ScalarType type = exact ? at::kDouble : at::kFloat;
  switch (kernel.type) {
    case KernelType::kLinear:
      return at::mm(a.to(type), b.to(type).t());
    case KernelType::kRbf:
      if (exact) {
        return SquaredDistancesIn(a, b, at::kDouble).mul_(-kernel.gamma).exp_();
      }
      return RbfFromSquaredDistances(SquaredDistances(a, b), kernel.gamma);
    case KernelType::kPoly:
      return at::mm(a.to(type), b.to(type).t())
          .mul_(kernel.gamma)
          .add_(kernel.coef0)
          .pow_(kernel.degree);
  }
  return at::Tensor();
}

at::Tensor SymmetricKernelMatrix(const SvmKernel& kernel, const at::Tensor& x, bool exact) {
  // Rows per panel: large enough for an efficient GEMM, small enough that the triangle is tight.
  constexpr int64_t kPanel = 1024;
  const int64_t n = x.size(0);
  if (n <= kPanel) return KernelMatrix(kernel, x, x, exact);
  at::Tensor gram = at::empty({n, n}, x.options().dtype(exact ? at::kDouble : at::kFloat));
  for (int64_t begin = 0; begin < n; begin += kPanel) {
    const int64_t rows = std::min(kPanel, n - begin), end = begin + rows;
    // K[begin:end, 0:end], then its transpose into K[0:begin, begin:end].
    gram.narrow(0, begin, rows).narrow(1, 0, end)
        .copy_(KernelMatrix(kernel, x.narrow(0, begin, rows), x.narrow(0, 0, end), exact));
    if (begin > 0) {
      gram.narrow(0, 0, begin).narrow(1, begin, rows)
          .copy_(gram.narrow(0, begin, rows).narrow(1, 0, begin).t());
    }
  }
  return gram;
}

at::Tensor KernelDiagonal(const SvmKernel& kernel, const at::Tensor& a) {
  const at::Tensor dots = a.to(at::kDouble).pow(2).sum(1);
  switch (kernel.type) {
    case KernelType::kLinear:
      return dots;
    case KernelType::kRbf:
      return at::ones_like(dots);
    case KernelType::kPoly:
      return dots.mul(kernel.gamma).add_(kernel.coef0).pow_(kernel.degree);
  }
  return at::Tensor();
}

std::string KernelDescription(const SvmKernel& kernel) {
  switch (kernel.type) {
    case KernelType::kLinear:
      return "linear";
    case KernelType::kRbf:
      return absl::StrCat("rbf(gamma=", kernel.gamma, ")");
    case KernelType::kPoly:
      return absl::StrCat("poly(gamma=", kernel.gamma, ", coef0=", kernel.coef0,
                          ", degree=", kernel.degree, ")");
  }
  return "?";
}

}  // namespace fauna
