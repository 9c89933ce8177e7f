// t-SNE (van der Maaten & Hinton 2008) into 2 or 3 dimensions, as scikit-learn (>= 1.2) runs it:
// per-point Gaussian bandwidths from a binary search on the perplexity, symmetric joint
// probabilities P, a Student-t kernel with max(dims - 1, 1) degrees of freedom in the embedding,
// gradient descent with momentum (0.5, then 0.8), per-coordinate gains (+0.2 / x0.8, at least
// 0.01), early exaggeration of P (12 for the first 250 iterations), learning rate 'auto'
// (max(N / exaggeration / 4, 50)), initialisation from PCA scaled to a standard deviation of 1e-4
// (or Gaussian noise of that size), and sklearn's stopping rules (every 50 iterations: no better
// KL for 300 iterations, or a gradient norm below 1e-7).
//
// Two methods:
//   exact       dense P and the O(N^2) gradient, on the data's device (a few thousand points);
//   barnes_hut  P over each point's 3 * perplexity nearest neighbours and the repulsion summed
//               over a quad-tree (2-D) or oct-tree (3-D) with opening angle theta (0.5), O(N log N)
//               per iteration on the CPU, parallel over points (tens of thousands of points).
//
// One difference from scikit-learn, unless TsneOptions::sklearn_gradient: with more than one
// degree of freedom (3-D), the gradient weighs each pair's force by (1 + d^2 / dof)^-1, the true
// derivative of the KL divergence; scikit-learn weighs it by the kernel itself,
// (1 + d^2 / dof)^-(dof + 1) / 2, which is not the KL's gradient (the two agree in 2-D, dof 1).
// The objective, and so the reported KL divergence, is scikit-learn's either way. On the test
// fixture (300 points, 5 blobs; eval/testdata/tsne_oracle.json) the KL gradient reaches KL 0.23
// in 3-D with either method, scikit-learn's weights 0.45 (exact) and 0.25 to 0.33 (Barnes-Hut,
// 10 seeds), as scikit-learn itself does; trustworthiness is 0.986 against 0.989.
#ifndef FAUNA_EVAL_TSNE_H_
#define FAUNA_EVAL_TSNE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace fauna {

// How the gradient is computed.
enum class TsneMethod {
  kAuto,       // kExact up to kTsneExactMaxPoints points, else kBarnesHut
  kExact,      // dense P, O(N^2) per iteration
  kBarnesHut,  // sparse P, space-partitioning tree, O(N log N) per iteration
};

// Up to this many points kAuto takes the exact method: it has no approximation and still takes
// only seconds (at 1000 points on one core of a 2-core AMD EPYC, 5.3 s against Barnes-Hut's 1.9).
constexpr int64_t kTsneExactMaxPoints = 1000;

// The exact method refuses more points than this: it holds three N x N matrices of doubles while
// it builds P (2.4 GB at this size) and takes O(N^2) per iteration (hours beyond it).
constexpr int64_t kTsneExactLimit = 10000;

// How the embedding starts.
enum class TsneInit {
  kPca,     // the first `dims` principal components, scaled so the first has std 1e-4
  kRandom,  // independent N(0, 1e-4^2) coordinates drawn from the seed
};

// "auto", "exact", "barnes_hut" (also "barnes-hut", "bh").
absl::StatusOr<TsneMethod> ParseTsneMethod(std::string_view name);
// "auto", "exact" or "barnes_hut".
std::string TsneMethodName(TsneMethod method);
// "pca" or "random".
absl::StatusOr<TsneInit> ParseTsneInit(std::string_view name);
// "pca" or "random".
std::string TsneInitName(TsneInit init);

// Settings of one t-SNE run; the defaults are scikit-learn's.
struct TsneOptions {
  int64_t dims = 2;        // 2 or 3
  double perplexity = 30;  // in (0, N)
  TsneMethod method = TsneMethod::kAuto;
  double theta = 0.5;               // Barnes-Hut opening angle; 0 sums over every point
  int64_t n_iter = 1000;            // iterations in all, the exaggerated ones included
  double early_exaggeration = 12;   // >= 1
  int64_t exaggeration_iter = 250;  // in [0, n_iter]
  double learning_rate = 0;         // <= 0: 'auto', max(N / early_exaggeration / 4, 50)
  TsneInit init = TsneInit::kPca;
  uint64_t seed = 0;              // for kRandom
  double degrees_of_freedom = 0;  // of the Student-t kernel; <= 0: max(dims - 1, 1)
  bool sklearn_gradient = false;  // weigh forces as scikit-learn (see the top of this file)
  int64_t n_iter_without_progress = 300;
  double min_grad_norm = 1e-7;
  bool progress = false;  // a progress bar on stderr
};

// The KL divergence and gradient norm at one of the checks (every 50 iterations and the last).
struct TsneCheck {
  int64_t iteration;  // 1-based
  double kl_divergence;
  double grad_norm;
};

// What RunTsne returns.
struct TsneResult {
  at::Tensor embedding;  // float64 [N, dims], on the CPU
  // KL(P || Q) at the last iteration. Exact method: over all pairs. Barnes-Hut: as scikit-learn
  // and van der Maaten's bhtsne report it, over the pairs of the sparse P only, with the tree's
  // estimate of the normaliser Z (pairs outside the neighbour graph have P = 0 there).
  double kl_divergence = 0;
  TsneMethod method = TsneMethod::kExact;  // the method used (never kAuto)
  int64_t iterations = 0;                  // iterations run (fewer than n_iter when it stopped)
  double learning_rate = 0;                // the rate used
  double degrees_of_freedom = 1;           // the kernel's
  std::vector<TsneCheck> checks;           // KL during the run (P itself, not exaggerated)
  double affinity_seconds = 0;             // neighbours, bandwidths and P
  double optimise_seconds = 0;             // initialisation and gradient descent
};

// Embeds the rows of `x` (float or double [N, D], finite, N >= 2) with t-SNE. The same data,
// options and thread count give the same embedding. The gradient descent itself gives the same
// numbers for any thread count (every point's forces are summed alone, partial sums are added in
// a fixed order), but LibTorch's matrix products (the distances, PCA) round differently with
// another thread count, and t-SNE magnifies such differences into another layout of equal quality.
//
// Example:
//   TsneOptions options;
//   options.dims = 3;
//   ASSIGN_OR_RETURN(TsneResult tsne, RunTsne(pca.scores, options));
absl::StatusOr<TsneResult> RunTsne(const at::Tensor& x, const TsneOptions& options);

// ---- Building blocks, public for tests and for other embeddings ----

// P(j | i) for every row i of `sq_distances` (float64 [N, K], squared distances from point i to
// K candidates): exp(-beta_i d_ij) normalised over the row, with beta_i found by scikit-learn's
// binary search (at most 100 steps, to |entropy - log(perplexity)| <= 1e-5). When
// `skip_diagonal`, the matrix is N x N and entry (i, i) is left out (0). Rows run in parallel.
absl::StatusOr<at::Tensor> ConditionalProbabilities(const at::Tensor& sq_distances,
                                                    double perplexity, bool skip_diagonal);

// The exact method's P: float64 [N, N] on x's device, (P(j|i) + P(i|j)) / 2N over all pairs,
// off-diagonal entries at least machine epsilon (as scikit-learn), 0 on the diagonal.
absl::StatusOr<at::Tensor> ExactAffinities(const at::Tensor& x, double perplexity);

// A symmetric sparse P in compressed rows: the neighbours of row i are
// columns[row_start[i] .. row_start[i + 1]) (ascending), with values[...] = p_ij.
struct SparseAffinities {
  int64_t n = 0;
  std::vector<int64_t> row_start;  // N + 1
  std::vector<int64_t> columns;
  std::vector<double> values;
};

// Barnes-Hut's P: P(j|i) over the min(N - 1, floor(3 * perplexity + 1)) nearest neighbours of
// each point, symmetrised (P(j|i) + P(i|j)) and normalised to sum 1, as scikit-learn's
// _joint_probabilities_nn.
absl::StatusOr<SparseAffinities> NeighbourAffinities(const at::Tensor& x, double perplexity);

// The embedding's Student-t kernel and how the gradient weighs pairs.
struct TsneKernel {
  double degrees_of_freedom = 1;
  // false: forces weighed by (1 + d^2 / dof)^-1, the KL's gradient; true: by the kernel itself,
  // as scikit-learn. The same for dof = 1.
  bool sklearn_weights = false;
};

// The exact KL divergence of `p` (as ExactAffinities) and the embedding `y` (float64 [N, dims],
// same device), and its gradient with P multiplied by `exaggeration`, into `grad`. The KL is
// computed with P itself, and only when `compute_error` (else NaN). On the CPU every row is summed
// alone, so the result does not depend on the thread count.
double ExactKlGradient(const at::Tensor& p, const at::Tensor& y, const TsneKernel& kernel,
                       double exaggeration, bool compute_error, at::Tensor* grad);

// ExactKlGradient with tensor operations, on any device (ExactKlGradient runs it for tensors off
// the CPU; on the CPU it sums in fused loops, several times faster). Its sums may depend on the
// thread count.
double ExactKlGradientTensors(const at::Tensor& p, const at::Tensor& y, const TsneKernel& kernel,
                              double exaggeration, bool compute_error, at::Tensor* grad);

// The same with Barnes-Hut: attraction over the sparse P, repulsion over a space-partitioning
// tree with opening angle `theta` (a cell of squared width w^2 at squared distance d^2 is summed
// as one point at its centre of mass when w^2 < theta^2 d^2). `y` is float64 [N, 2 or 3] on the
// CPU. The KL (when `compute_error`) is the sparse one described at TsneResult::kl_divergence.
double BarnesHutKlGradient(const SparseAffinities& p, const at::Tensor& y, double theta,
                           const TsneKernel& kernel, double exaggeration, bool compute_error,
                           at::Tensor* grad);

}  // namespace fauna

#endif  // FAUNA_EVAL_TSNE_H_
