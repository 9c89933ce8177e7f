#include "eval/pca.h"

#include <algorithm>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/torch_status.h"

namespace fauna {

absl::StatusOr<Pca> FitPca(const at::Tensor& x, int64_t components) {
  if (!x.defined() || x.dim() != 2 || !at::isFloatingType(x.scalar_type())) {
    return absl::InvalidArgumentError("PCA: data must be a 2-D float matrix");
  }
  const int64_t n = x.size(0), d = x.size(1);
  if (n < 1 || d < 1) {
    return absl::InvalidArgumentError(absl::StrCat("PCA: data is ", n, " x ", d, ", empty"));
  }
  if (components < 1) {
    return absl::InvalidArgumentError(absl::StrCat("PCA: ", components, " components asked"));
  }
  const int64_t k = std::min({components, n, d});
  return GuardTorch("PCA", [&]() -> absl::StatusOr<Pca> {
    const at::Tensor xd = x.to(at::kDouble);
    if (!at::isfinite(xd).all().item<bool>()) {
      return absl::InvalidArgumentError("PCA: a value is NaN or infinite");
    }
    Pca pca;
    pca.mean = xd.mean(0);
    const at::Tensor centred = xd - pca.mean;
    const double dof = static_cast<double>(std::max<int64_t>(n - 1, 1));
    if (n >= d) {
      // Eigenvalues come in ascending order: the last k, reversed.
      auto [values, vectors] = at::linalg_eigh(at::mm(centred.t(), centred));
      pca.components = vectors.slice(1, d - k, d).flip({1}).t().contiguous();
      pca.explained_variance = values.slice(0, d - k, d).flip({0}).clamp_min(0) / dof;
    } else {
      auto [u, s, vh] = at::linalg_svd(centred, /*full_matrices=*/false);
      pca.components = vh.slice(0, 0, k).contiguous();
      pca.explained_variance = s.slice(0, 0, k).pow(2) / dof;
    }
    pca.scores = at::mm(centred, pca.components.t());
    // sklearn's svd_flip(u_based_decision=True): the largest |score| of each component positive.
    const at::Tensor largest = pca.scores.abs().argmax(/*dim=*/0);
    const at::Tensor signs =
        1 - 2 * pca.scores.gather(0, largest.unsqueeze(0)).squeeze(0).lt(0).to(at::kDouble);
    pca.scores.mul_(signs);
    pca.components.mul_(signs.unsqueeze(1));
    return pca;
  });
}

}  // namespace fauna
