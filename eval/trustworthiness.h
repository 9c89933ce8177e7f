// Trustworthiness of an embedding (Venna & Kaski 2001): how far the embedding's nearest neighbours
// are from being the data's own, as scikit-learn's sklearn.manifold.trustworthiness computes it.
#ifndef FAUNA_EVAL_TRUSTWORTHINESS_H_
#define FAUNA_EVAL_TRUSTWORTHINESS_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace fauna {

// The neighbourhood size scikit-learn's trustworthiness uses by default.
constexpr int64_t kTrustworthinessNeighbours = 5;

// sklearn.manifold.trustworthiness(x, embedded, n_neighbors=k) with the Euclidean metric:
//
//   T(k) = 1 - 2 / (N k (2N - 3k - 1)) * sum_i sum_{j in E_k(i)} max(0, r(i, j) - k)
//
// where E_k(i) are the k nearest neighbours of point i in the embedding and r(i, j) is the rank
// of j among i's neighbours in the data (1 for the nearest). 1 means every embedded neighbour is
// a true one. `x` is float or double [N, D], `embedded` [N, E], both finite; 1 <= k < N / 2 (as
// scikit-learn requires). Runs in O(N^2 (D + k)) time and O(N) memory per block of rows (no N x N
// matrix), so N = 20,000 takes seconds. Distances in both spaces are computed in double as
// scikit-learn does (|a|^2 + |b|^2 - 2 a.b); rows at equal distances rank by row number (a stable
// sort; scikit-learn's quicksort leaves such ties in an unspecified order).
//
// Example:
//   ASSIGN_OR_RETURN(double t, Trustworthiness(features, embedding, kTrustworthinessNeighbours));
absl::StatusOr<double> Trustworthiness(const at::Tensor& x, const at::Tensor& embedded,
                                       int64_t k = kTrustworthinessNeighbours);

}  // namespace fauna

#endif  // FAUNA_EVAL_TRUSTWORTHINESS_H_
