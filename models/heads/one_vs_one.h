// Multi-class C-SVC as libsvm does it: one binary problem per pair of classes (a, b), a < b, in
// the order (0,1), (0,2), ..., (0,K-1), (1,2), ...; rows of class a are +1, rows of class b -1,
// each pair's rows in training order, class a's first. A test point gets one vote per pair (for a
// when the pair's decision value is > 0, else for b); the class with most votes wins, ties going
// to the lower class index.
//
// The pairs are independent and solved in parallel. Each reads its block of a kernel matrix over
// the training rows through a GramBlockFn, so a caller that already holds the whole matrix (a
// grid search: one per fold and gamma) shares it between pairs and between values of C.
#ifndef FAUNA_MODELS_HEADS_ONE_VS_ONE_H_
#define FAUNA_MODELS_HEADS_ONE_VS_ONE_H_

#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

#include "models/heads/smo_solver.h"

namespace fauna {

// Returns K[rows][:, rows], a CPU contiguous float32 [m, m] tensor. Called from several threads at
// once.
using GramBlockFn = std::function<at::Tensor(const std::vector<int64_t>& rows)>;

// A GramBlockFn over a whole kernel matrix `gram` (float32 [N, N], CPU, contiguous).
GramBlockFn GatherFromGram(const at::Tensor& gram);

// The solution of every pair.
struct OneVsOne {
  struct Pair {
    int64_t a = 0, b = 0;           // The classes: a is +1, b is -1.
    std::vector<int64_t> rows;      // Training rows, class a's then class b's.
    int64_t num_a = 0;              // How many of `rows` are class a's.
    std::vector<double> alpha;      // Dual variables, per row of `rows`.
    double rho = 0;
    int64_t iterations = 0;
    bool converged = true;
  };
  int64_t num_classes = 0;
  int64_t num_rows = 0;             // Training rows.
  std::vector<Pair> pairs;

  // Sum and maximum of the pairs' iterations, and whether every pair converged.
  int64_t total_iterations() const;
  bool converged() const;
};

// Solves every pair for `labels` (one per training row, each in [0, num_classes), every class
// present). `diagonal`, when non-empty, holds K_ii in float64 per training row (see SolveCSvc).
// `threads` pairs at once (<= 0: LibTorch's thread count). `warm`, when given, must be the
// solution for the same labels at C = warm_C <= options.C: its alphas scaled by options.C / warm_C
// start each pair (still feasible: 0 <= a <= C and y^T a = 0).
OneVsOne SolveOneVsOne(const GramBlockFn& block, const std::vector<double>& diagonal,
                       const std::vector<int64_t>& labels, int64_t num_classes,
                       const SmoOptions& options, int threads, const OneVsOne* warm = nullptr,
                       double warm_C = 0);

// The training rows with a non-zero dual variable in any pair, ascending.
std::vector<int64_t> SupportRows(const OneVsOne& ovo);

// The dual coefficients alpha_i y_i as a dense float64 [rows.size(), P] matrix over `rows` (every
// support row must be among them), and rho as float64 [P].
at::Tensor DualCoefficients(const OneVsOne& ovo, const std::vector<int64_t>& rows);
at::Tensor Rhos(const OneVsOne& ovo);

// Decision values float64 [M, P] = K(x, rows) @ dual_coef - rho, from `cross_kernel` [M, R]
// (float32, or float64 for libsvm's precision) against the R rows the coefficients are over.
at::Tensor PairDecisions(const at::Tensor& cross_kernel, const at::Tensor& dual_coef,
                         const at::Tensor& rho);

// Votes of decision values [M, P] (pairs in the order above) into int64 [M] class indices.
at::Tensor VoteClasses(const at::Tensor& decisions, int64_t num_classes);

}  // namespace fauna

#endif  // FAUNA_MODELS_HEADS_ONE_VS_ONE_H_
