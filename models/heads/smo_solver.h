// The dual C-SVC problem of one pair of classes, solved as libsvm 3.24 solves it (Fan, Chen and Lin,
// "Working set selection using second order information for training SVM", JMLR 2005):
//
//   min_a  1/2 a^T Q a - e^T a   subject to  0 <= a_i <= C,  y^T a = 0,   Q_ij = y_i y_j K_ij
//
// by sequential minimal optimisation with second-order working-set selection (WSS3), the same
// two-variable update and clipping, the same stopping rule (max violation < eps) and the same
// bias (rho: the mean of y_i G_i over free variables). The kernel matrix is given whole (float32,
// precomputed with a GEMM), so an iteration costs two passes over two of its rows; libsvm instead
// evaluates kernel rows one dot product at a time into an LRU cache, which is where its time goes.
// Shrinking is not implemented: it changes the path, not the optimum, and with the matrix in
// memory an iteration is already cheap.
#ifndef FAUNA_MODELS_HEADS_SMO_SOLVER_H_
#define FAUNA_MODELS_HEADS_SMO_SOLVER_H_

#include <cstdint>
#include <vector>

namespace fauna {

struct SmoOptions {
  double C = 1.0;
  // Stopping tolerance on the maximal KKT violation (libsvm's -e, sklearn's tol).
  double eps = 1e-3;
  // Most iterations; <= 0 takes libsvm's max(10,000,000, 100 n).
  int64_t max_iter = 0;
};

struct SmoResult {
  std::vector<double> alpha;  // The dual variables, in [0, C].
  double rho = 0;             // Decision function: sum_i alpha_i y_i K(x_i, x) - rho.
  double objective = 0;       // 1/2 a^T Q a - e^T a at the solution.
  int64_t iterations = 0;
  bool converged = false;     // False when max_iter stopped it (libsvm warns then).
};

// Solves the problem for labels `y` (+1 or -1 each) and the kernel matrix `kernel` (row-major
// n x n, K_ij at kernel[i * n + j]; symmetric). Like libsvm, which keeps kernel rows as float and
// the diagonal as double, it takes the diagonal K_ii from `diagonal` when that is non-empty (else
// from the matrix): with a float matrix rounded from float64 kernels and the float64 diagonal, its
// iterations are libsvm's. `warm_alpha`, when non-empty, is a feasible start (0 <= a_i <= C,
// y^T a = 0), e.g. the solution at a smaller C scaled by C_new / C_old.
SmoResult SolveCSvc(const float* kernel, const std::vector<int8_t>& y, const SmoOptions& options,
                    const std::vector<double>& diagonal = {},
                    const std::vector<double>& warm_alpha = {});

}  // namespace fauna

#endif  // FAUNA_MODELS_HEADS_SMO_SOLVER_H_
