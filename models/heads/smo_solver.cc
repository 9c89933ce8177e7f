#include "models/heads/smo_solver.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace fauna {
namespace {

// libsvm's TAU: the curvature used when a pair's is not positive.
constexpr double kTau = 1e-12;
constexpr double kInf = std::numeric_limits<double>::infinity();

}  // namespace

SmoResult SolveCSvc(const float* kernel, const std::vector<int8_t>& y, const SmoOptions& options,
                    const std::vector<double>& diagonal, const std::vector<double>& warm_alpha) {
  const int64_t n = static_cast<int64_t>(y.size());
  const double C = options.C;
  const int64_t max_iter =
      options.max_iter > 0 ? options.max_iter : std::max<int64_t>(10'000'000, 100 * n);

  std::vector<double> yd(n), qd(n), alpha(n, 0.0), grad(n, -1.0);
  for (int64_t i = 0; i < n; ++i) {
    yd[i] = y[i];
    qd[i] = diagonal.empty() ? kernel[i * n + i] : diagonal[i];
  }
  if (!warm_alpha.empty()) {
    alpha = warm_alpha;
    for (int64_t j = 0; j < n; ++j) {
      if (alpha[j] == 0) continue;
      const float* row = kernel + j * n;
      const double a = alpha[j] * yd[j];
      for (int64_t k = 0; k < n; ++k) grad[k] += yd[k] * a * row[k];
    }
  }
  // 0: at the lower bound, 1: free, 2: at the upper bound.
  std::vector<int8_t> status(n);
  auto update_status = [&](int64_t i) {
    status[i] = alpha[i] >= C ? 2 : (alpha[i] <= 0 ? 0 : 1);
  };
  for (int64_t i = 0; i < n; ++i) update_status(i);

  SmoResult result;
  int64_t iter = 0;
  while (iter < max_iter) {
    // Working-set selection (libsvm's select_working_set): i maximises the violation -y_t G_t
    // over I_up; j minimises the second-order objective decrease over I_low.
    double gmax = -kInf, gmax2 = -kInf;
    int64_t i = -1, j = -1;
    for (int64_t t = 0; t < n; ++t) {
      if (y[t] == +1) {
        if (status[t] != 2 && -grad[t] >= gmax) {
          gmax = -grad[t];
          i = t;
        }
      } else if (status[t] != 0 && grad[t] >= gmax) {
        gmax = grad[t];
        i = t;
      }
    }
    double obj_diff_min = kInf;
    if (i != -1) {
      const float* ki = kernel + i * n;
      const double qdi = qd[i];
      for (int64_t t = 0; t < n; ++t) {
        if (y[t] == +1) {
          if (status[t] != 0) {
            const double grad_diff = gmax + grad[t];
            if (grad[t] >= gmax2) gmax2 = grad[t];
            if (grad_diff > 0) {
              // libsvm's QD_i + QD_t - 2 y_i Q_it, with y_i Q_it = y_t K_it: |phi_i - phi_t|^2.
              const double quad = qdi + qd[t] - 2.0 * ki[t];
              const double obj = -(grad_diff * grad_diff) / (quad > 0 ? quad : kTau);
              if (obj <= obj_diff_min) {
                j = t;
                obj_diff_min = obj;
              }
            }
          }
        } else if (status[t] != 2) {
          const double grad_diff = gmax - grad[t];
          if (-grad[t] >= gmax2) gmax2 = -grad[t];
          if (grad_diff > 0) {
            const double quad = qdi + qd[t] - 2.0 * ki[t];
            const double obj = -(grad_diff * grad_diff) / (quad > 0 ? quad : kTau);
            if (obj <= obj_diff_min) {
              j = t;
              obj_diff_min = obj;
            }
          }
        }
      }
    }
    if (gmax + gmax2 < options.eps || j == -1) {
      result.converged = true;
      break;
    }
    ++iter;

    // The two-variable update with clipping (libsvm's Solver::Solve).
    const float* ki = kernel + i * n;
    const float* kj = kernel + j * n;
    const double qij = yd[i] * yd[j] * ki[j];
    const double old_ai = alpha[i], old_aj = alpha[j];
    if (y[i] != y[j]) {
      double quad = qd[i] + qd[j] + 2 * qij;
      if (quad <= 0) quad = kTau;
      const double delta = (-grad[i] - grad[j]) / quad;
      const double diff = alpha[i] - alpha[j];
      alpha[i] += delta;
      alpha[j] += delta;
      if (diff > 0) {
        if (alpha[j] < 0) {
          alpha[j] = 0;
          alpha[i] = diff;
        }
      } else if (alpha[i] < 0) {
        alpha[i] = 0;
        alpha[j] = -diff;
      }
      if (diff > 0) {  // C_i - C_j = 0: libsvm's "diff > C_i - C_j".
        if (alpha[i] > C) {
          alpha[i] = C;
          alpha[j] = C - diff;
        }
      } else if (alpha[j] > C) {
        alpha[j] = C;
        alpha[i] = C + diff;
      }
    } else {
      double quad = qd[i] + qd[j] - 2 * qij;
      if (quad <= 0) quad = kTau;
      const double delta = (grad[i] - grad[j]) / quad;
      const double sum = alpha[i] + alpha[j];
      alpha[i] -= delta;
      alpha[j] += delta;
      if (sum > C) {
        if (alpha[i] > C) {
          alpha[i] = C;
          alpha[j] = sum - C;
        }
      } else if (alpha[j] < 0) {
        alpha[j] = 0;
        alpha[i] = sum;
      }
      if (sum > C) {
        if (alpha[j] > C) {
          alpha[j] = C;
          alpha[i] = sum - C;
        }
      } else if (alpha[i] < 0) {
        alpha[i] = 0;
        alpha[j] = sum;
      }
    }
    // G_k += Q_ki dA_i + Q_kj dA_j, with Q_kt = y_k y_t K_kt.
    const double di = (alpha[i] - old_ai) * yd[i];
    const double dj = (alpha[j] - old_aj) * yd[j];
    for (int64_t k = 0; k < n; ++k) grad[k] += yd[k] * (ki[k] * di + kj[k] * dj);
    update_status(i);
    update_status(j);
  }
  result.iterations = iter;

  // rho (libsvm's calculate_rho).
  double ub = kInf, lb = -kInf, sum_free = 0;
  int64_t nr_free = 0;
  for (int64_t t = 0; t < n; ++t) {
    const double yg = yd[t] * grad[t];
    if (status[t] == 2) {
      if (y[t] == -1) ub = std::min(ub, yg); else lb = std::max(lb, yg);
    } else if (status[t] == 0) {
      if (y[t] == +1) ub = std::min(ub, yg); else lb = std::max(lb, yg);
    } else {
      ++nr_free;
      sum_free += yg;
    }
  }
  result.rho = nr_free > 0 ? sum_free / nr_free : (ub + lb) / 2;
  double objective = 0;
  for (int64_t t = 0; t < n; ++t) objective += alpha[t] * (grad[t] - 1.0);
  result.objective = objective / 2;
  result.alpha = std::move(alpha);
  return result;
}

}  // namespace fauna
