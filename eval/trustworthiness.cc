#include "eval/trustworthiness.h"

#include <limits>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "eval/nearest_neighbours.h"

namespace fauna {

absl::StatusOr<double> Trustworthiness(const at::Tensor& x, const at::Tensor& embedded, int64_t k) {
  for (const at::Tensor* t : {&x, &embedded}) {
    if (!t->defined() || t->dim() != 2 || !at::isFloatingType(t->scalar_type()) || t->size(1) < 1) {
      return absl::InvalidArgumentError(
          "trustworthiness: data and embedding must be 2-D float matrices");
    }
  }
  const int64_t n = x.size(0);
  if (embedded.size(0) != n) {
    return absl::InvalidArgumentError(absl::StrCat("trustworthiness: ", n, " data rows but ",
                                                   embedded.size(0), " embedded rows"));
  }
  if (k < 1 || 2 * k >= n) {
    return absl::InvalidArgumentError(
        absl::StrCat("trustworthiness: n_neighbors = ", k,
                     " must be at least 1 and less than N / 2 = ", static_cast<double>(n) / 2));
  }
  ASSIGN_OR_RETURN(Neighbours embedded_nn, NearestNeighbours(embedded, k));
  return GuardTorch("trustworthiness", [&]() -> absl::StatusOr<double> {
    const at::Tensor xd = x.to(at::kDouble).contiguous();
    if (!at::isfinite(xd).all().item<bool>()) {
      return absl::InvalidArgumentError("trustworthiness: a data value is NaN or infinite");
    }
    const at::Tensor neighbours = embedded_nn.indices.to(at::kCPU).contiguous();
    const int64_t* nn = neighbours.data_ptr<int64_t>();
    // Penalty of each row: sum over its embedded neighbours j of max(0, rank of j in the data - k).
    std::vector<int64_t> penalty(static_cast<size_t>(n), 0);
    ForEachDistanceBlock(xd, [&](int64_t begin, const at::Tensor& block) {
      const at::Tensor d = block.to(at::kCPU).contiguous();
      const double* base = d.data_ptr<double>();
      at::parallel_for(0, d.size(0), /*grain_size=*/1, [&](int64_t r0, int64_t r1) {
        std::vector<double> threshold(static_cast<size_t>(k));
        std::vector<int64_t> rank(static_cast<size_t>(k));
        for (int64_t r = r0; r < r1; ++r) {
          const int64_t i = begin + r;
          const double* row = base + r * n;
          for (int64_t a = 0; a < k; ++a) {
            threshold[a] = row[nn[i * k + a]];
            rank[a] = 1;
          }
          for (int64_t m = 0; m < n; ++m) {
            if (m == i) continue;
            const double v = row[m];
            for (int64_t a = 0; a < k; ++a) {
              rank[a] += (v < threshold[a]) | ((v == threshold[a]) & (m < nn[i * k + a]));
            }
          }
          int64_t sum = 0;
          for (int64_t a = 0; a < k; ++a) sum += rank[a] > k ? rank[a] - k : 0;
          penalty[i] = sum;
        }
      });
    });
    int64_t total = 0;
    for (int64_t p : penalty) total += p;
    const double nd = static_cast<double>(n), kd = static_cast<double>(k);
    return 1.0 - static_cast<double>(total) * (2.0 / (nd * kd * (2.0 * nd - 3.0 * kd - 1.0)));
  });
}

}  // namespace fauna
