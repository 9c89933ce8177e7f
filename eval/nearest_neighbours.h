// Exact k-nearest-neighbour search by brute force (squared Euclidean distances in double, a block
// of rows at a time), for t-SNE's sparse affinities and for trustworthiness. Memory stays
// O(block x N); time is O(N^2 D), which is what scikit-learn's NearestNeighbors(algorithm='auto')
// does too for more than 15 features.
#ifndef FAUNA_EVAL_NEAREST_NEIGHBOURS_H_
#define FAUNA_EVAL_NEAREST_NEIGHBOURS_H_

#include <cstdint>
#include <functional>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace fauna {

// The k nearest other rows of every row.
struct Neighbours {
  at::Tensor indices;       // int64 [N, k]: row numbers, nearest first; never the row itself
  at::Tensor sq_distances;  // float64 [N, k]: their squared Euclidean distances, ascending
};

// The `k` nearest other rows of each row of `x` (float or double [N, D], N > k >= 1, finite
// values), on x's device. Equal distances are ordered by row number; which of several rows tied
// at the k-th distance is kept is unspecified. Distances come from |a|^2 + |b|^2 - 2 a.b in double
// (clamped at 0), as scikit-learn's euclidean_distances.
//
// Example:
//   ASSIGN_OR_RETURN(Neighbours nn, NearestNeighbours(features, /*k=*/90));
absl::StatusOr<Neighbours> NearestNeighbours(const at::Tensor& x, int64_t k);

// Calls `visit(begin, sq_distances)` for consecutive blocks of rows of `x` (double [N, D]):
// sq_distances is float64 [end - begin, N], the squared distances of rows [begin, end) to every
// row (the block's own diagonal included, as 0). Blocks hold about `max_block_elements` values.
void ForEachDistanceBlock(const at::Tensor& x,
                          const std::function<void(int64_t begin, const at::Tensor&)>& visit,
                          int64_t max_block_elements = int64_t{1} << 23);

}  // namespace fauna

#endif  // FAUNA_EVAL_NEAREST_NEIGHBOURS_H_
