#include "eval/nearest_neighbours.h"

#include <algorithm>
#include <limits>
#include <string>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/torch_status.h"

namespace fauna {

void ForEachDistanceBlock(const at::Tensor& x,
                          const std::function<void(int64_t begin, const at::Tensor&)>& visit,
                          int64_t max_block_elements) {
  const int64_t n = x.size(0);
  const at::Tensor norms = x.pow(2).sum(1);
  const int64_t block = std::clamp<int64_t>(max_block_elements / std::max<int64_t>(n, 1), 1, n);
  const at::Tensor xt = x.t();
  for (int64_t begin = 0; begin < n; begin += block) {
    const int64_t end = std::min(n, begin + block);
    at::Tensor d = at::addmm(norms.unsqueeze(0), x.slice(0, begin, end), xt, /*beta=*/1,
                             /*alpha=*/-2);
    d.add_(norms.slice(0, begin, end).unsqueeze(1)).clamp_min_(0);
    d.diagonal(/*offset=*/begin).zero_();
    visit(begin, d);
  }
}

absl::StatusOr<Neighbours> NearestNeighbours(const at::Tensor& x, int64_t k) {
  if (!x.defined() || x.dim() != 2 || !at::isFloatingType(x.scalar_type())) {
    return absl::InvalidArgumentError("nearest neighbours: points must be a 2-D float matrix");
  }
  const int64_t n = x.size(0);
  if (k < 1 || k >= n) {
    return absl::InvalidArgumentError(absl::StrCat(
        "nearest neighbours: k = ", k, " must be in [1, ", n - 1, "] for ", n, " points"));
  }
  return GuardTorch("nearest neighbours", [&]() -> absl::StatusOr<Neighbours> {
    const at::Tensor xd = x.to(at::kDouble).contiguous();
    if (!at::isfinite(xd).all().item<bool>()) {
      return absl::InvalidArgumentError("nearest neighbours: a coordinate is NaN or infinite");
    }
    Neighbours result;
    result.indices = at::empty({n, k}, xd.options().dtype(at::kLong));
    result.sq_distances = at::empty({n, k}, xd.options());
    // Per block of rows: |x_j|^2 - 2 x_i.x_j, which orders row i as the squared distance does (the
    // row's own |x_i|^2 is added to the k chosen only), with the row itself at infinity.
    const at::Tensor norms = xd.pow(2).sum(1);
    const at::Tensor xt = xd.t();
    const int64_t block = std::clamp<int64_t>((int64_t{1} << 23) / n, 1, n);
    for (int64_t begin = 0; begin < n; begin += block) {
      const int64_t end = std::min(n, begin + block);
      at::Tensor d = at::addmm(norms.unsqueeze(0), xd.slice(0, begin, end), xt, /*beta=*/1,
                               /*alpha=*/-2);
      d.diagonal(/*offset=*/begin).fill_(std::numeric_limits<double>::infinity());
      // The k smallest, then ordered by (distance, row number): sort the chosen rows by number,
      // then stably by distance.
      at::Tensor chosen = std::get<1>(d.topk(k, /*dim=*/1, /*largest=*/false, /*sorted=*/false));
      chosen = std::get<0>(chosen.sort(/*dim=*/1));
      const at::Tensor distances =
          d.gather(1, chosen).add_(norms.slice(0, begin, end).unsqueeze(1)).clamp_min_(0);
      auto [sorted, order] = distances.sort(/*stable=*/true, /*dim=*/1, /*descending=*/false);
      result.indices.slice(0, begin, end).copy_(chosen.gather(1, order));
      result.sq_distances.slice(0, begin, end).copy_(sorted);
    }
    return result;
  });
}

}  // namespace fauna
