// Principal component analysis in double precision: the reduction to (at most) 50 dimensions that
// comes before t-SNE, and t-SNE's default initialisation.
#ifndef FAUNA_EVAL_PCA_H_
#define FAUNA_EVAL_PCA_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace fauna {

// The components t-SNE's input is reduced to before neighbours are searched.
constexpr int64_t kTsnePcaComponents = 50;

// A fitted PCA with K components of D-dimensional data; every tensor float64 on the data's device.
struct Pca {
  at::Tensor mean;                // [D]
  at::Tensor components;          // [K, D]: orthonormal rows, by decreasing variance
  at::Tensor explained_variance;  // [K]: variance along each component (divisor N - 1)
  at::Tensor scores;              // [N, K]: the centred data projected on the components

  int64_t size() const { return components.defined() ? components.size(0) : 0; }
};

// Fits the first min(`components`, N, D) principal components of the rows of `x` (float or
// double [N, D], N >= 1, D >= 1) in double precision: the eigenvectors of the D x D covariance
// when N >= D (one matrix product over the data), else the SVD of the centred N x D data.
// Signs follow scikit-learn's PCA (svd_flip on U): in every column of `scores` the entry of
// largest magnitude (the first of equals) is positive, so the result is deterministic and equals
// sklearn.decomposition.PCA's up to rounding (and up to the choice of basis within a repeated
// eigenvalue).
//
// Example:
//   ASSIGN_OR_RETURN(Pca pca, FitPca(features, kTsnePcaComponents));
//   at::Tensor reduced = pca.scores;  // [N, min(50, N, D)]
absl::StatusOr<Pca> FitPca(const at::Tensor& x, int64_t components);

}  // namespace fauna

#endif  // FAUNA_EVAL_PCA_H_
