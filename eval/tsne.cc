#include "eval/tsne.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Parallel.h>

#include "absl/strings/str_cat.h"
#include "core/progress.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "core/torch_status.h"
#include "eval/nearest_neighbours.h"
#include "eval/pca.h"

namespace fauna {
namespace {

// scikit-learn's constants (sklearn/manifold/_t_sne.py and _utils.pyx).
constexpr double kMachineEpsilon = std::numeric_limits<double>::epsilon();
constexpr int kBinarySearchSteps = 100;
constexpr double kPerplexityTolerance = 1e-5;
constexpr double kEmptyRowSum = 1e-8;
constexpr int64_t kCheckEvery = 50;
constexpr double kInitialMomentum = 0.5;
constexpr double kFinalMomentum = 0.8;
constexpr double kGainIncrease = 0.2;
constexpr double kGainDecrease = 0.8;
constexpr double kMinGain = 0.01;
constexpr double kInitStd = 1e-4;
constexpr double kMinLearningRate = 50;
// Deepest level of the Barnes-Hut tree; points still together there form one leaf.
constexpr int kMaxTreeDepth = 64;
// Least work for one thread of a parallel loop, so that small problems stay on one thread (each
// parallel region costs a wake-up, which on a busy machine can outweigh the work): points per
// thread of Barnes-Hut's loops, and pairs per thread of the exact method's.
constexpr int64_t kBarnesHutGrain = 1024;
constexpr int64_t kExactGrainPairs = int64_t{1} << 18;

// One row of the binary search; `skip` is the index left out (or -1).
void SearchRow(const double* d, int64_t k, int64_t skip, double desired_entropy, double* p) {
  double beta = 1, beta_min = -INFINITY, beta_max = INFINITY;
  for (int step = 0; step < kBinarySearchSteps; ++step) {
    double sum = 0;
    for (int64_t j = 0; j < k; ++j) {
      p[j] = j == skip ? 0.0 : std::exp(-d[j] * beta);
      sum += p[j];
    }
    if (sum == 0.0) sum = kEmptyRowSum;
    double sum_dp = 0;
    for (int64_t j = 0; j < k; ++j) {
      p[j] /= sum;
      sum_dp += d[j] * p[j];
    }
    const double entropy_diff = std::log(sum) + beta * sum_dp - desired_entropy;
    if (std::fabs(entropy_diff) <= kPerplexityTolerance) break;
    if (entropy_diff > 0) {
      beta_min = beta;
      beta = beta_max == INFINITY ? beta * 2 : (beta + beta_max) / 2;
    } else {
      beta_max = beta;
      beta = beta_min == -INFINITY ? beta / 2 : (beta + beta_min) / 2;
    }
  }
}

// The Student-t kernel w = (1 + d^2 / dof)^-(dof + 1) / 2 from u = (1 + d^2 / dof)^-1, and the
// weight of a pair's force: u (the KL's gradient) or w (scikit-learn's).
struct Kernel {
  double dof;
  double inv_dof;
  double exponent;  // (dof + 1) / 2
  bool sklearn_weights;
  explicit Kernel(const TsneKernel& kernel)
      : dof(kernel.degrees_of_freedom),
        inv_dof(1.0 / kernel.degrees_of_freedom),
        exponent((kernel.degrees_of_freedom + 1) / 2),
        sklearn_weights(kernel.sklearn_weights) {}
  double U(double d2) const { return 1.0 / (1.0 + d2 * inv_dof); }
  double Weight(double u, double w) const { return sklearn_weights ? w : u; }
  double W(double u) const {
    if (exponent == 1.0) return u;
    if (exponent == 1.5) return u * std::sqrt(u);
    return std::pow(u, exponent);
  }
};

// A quad-tree (D = 2) or oct-tree (D = 3) over the embedding: cells halve at their centres, a
// leaf holds one point (or several at one place), every cell knows its centre of mass.
template <int D>
class SpaceTree {
 public:
  struct Node {
    double com[D];        // centre of mass of the points inside
    double width_sq;      // squared largest side of the cell
    int64_t count;        // points inside
    int64_t first;        // their positions in order(): [first, first + count)
    int32_t child_begin;  // the children are nodes [child_begin, child_begin + child_count);
    int32_t child_count;  // a leaf has none (child_begin -1)
  };

  SpaceTree(const double* y, int64_t n)
      : points_(static_cast<size_t>(n)),
        scratch_(static_cast<size_t>(n)),
        codes_(static_cast<size_t>(n)) {
    double lo[D], hi[D];
    for (int k = 0; k < D; ++k) {
      lo[k] = INFINITY;
      hi[k] = -INFINITY;
    }
    for (int64_t i = 0; i < n; ++i) {
      points_[i].index = i;
      for (int k = 0; k < D; ++k) {
        points_[i].position[k] = y[i * D + k];
        lo[k] = std::min(lo[k], y[i * D + k]);
        hi[k] = std::max(hi[k], y[i * D + k]);
      }
    }
    nodes_.reserve(static_cast<size_t>(2 * n));
    nodes_.emplace_back();
    Build(0, 0, n, lo, hi, 0);
  }

  // A point: where it is, and its row in the embedding.
  struct Point {
    double position[D];
    int64_t index;
  };

  const std::vector<Node>& nodes() const { return nodes_; }
  // The points in tree order: the points of a cell are contiguous.
  const std::vector<Point>& points() const { return points_; }

 private:
  // Fills node `id` (already allocated) with points_[first, first + count), which lie in the cell
  // [lo, hi]; its children are allocated next to each other before they are filled. One pass
  // finds the centre of mass, the points' extent and each point's quadrant, a second sorts the
  // points by quadrant.
  void Build(int32_t id, int64_t first, int64_t count, const double* lo, const double* hi,
             int depth) {
    constexpr int kQuadrants = 1 << D;
    Node node{};
    node.count = count;
    node.first = first;
    node.child_begin = -1;
    double mid[D], extent_lo[D], extent_hi[D];
    for (int k = 0; k < D; ++k) {
      mid[k] = 0.5 * (lo[k] + hi[k]);
      extent_lo[k] = INFINITY;
      extent_hi[k] = -INFINITY;
      node.width_sq = std::max(node.width_sq, (hi[k] - lo[k]) * (hi[k] - lo[k]));
    }
    int64_t sizes[kQuadrants] = {};
    for (int64_t p = first; p < first + count; ++p) {
      const double* position = points_[p].position;
      int q = 0;
      for (int k = 0; k < D; ++k) {
        node.com[k] += position[k];
        extent_lo[k] = std::min(extent_lo[k], position[k]);
        extent_hi[k] = std::max(extent_hi[k], position[k]);
        q |= (position[k] >= mid[k] ? 1 : 0) << k;
      }
      codes_[p] = static_cast<uint8_t>(q);
      ++sizes[q];
    }
    bool one_place = true;
    for (int k = 0; k < D; ++k) {
      node.com[k] /= static_cast<double>(count);
      one_place = one_place && extent_lo[k] == extent_hi[k];
    }
    nodes_[id] = node;
    if (count == 1 || one_place || depth >= kMaxTreeDepth) return;

    // Counting sort by quadrant through scratch_.
    int64_t starts[kQuadrants];
    int64_t next = first;
    int32_t nonempty = 0;
    for (int q = 0; q < kQuadrants; ++q) {
      starts[q] = next;
      next += sizes[q];
      nonempty += sizes[q] > 0;
    }
    int64_t fill[kQuadrants];
    std::copy(starts, starts + kQuadrants, fill);
    for (int64_t p = first; p < first + count; ++p) scratch_[fill[codes_[p]]++] = points_[p];
    std::copy(scratch_.begin() + first, scratch_.begin() + first + count, points_.begin() + first);

    const int32_t child_begin = static_cast<int32_t>(nodes_.size());
    nodes_.resize(nodes_.size() + static_cast<size_t>(nonempty));
    nodes_[id].child_begin = child_begin;
    nodes_[id].child_count = nonempty;
    int32_t slot = child_begin;
    for (int q = 0; q < kQuadrants; ++q) {
      if (sizes[q] == 0) continue;
      double child_lo[D], child_hi[D];
      for (int k = 0; k < D; ++k) {
        const bool upper = (q >> k) & 1;
        child_lo[k] = upper ? mid[k] : lo[k];
        child_hi[k] = upper ? hi[k] : mid[k];
      }
      Build(slot++, starts[q], sizes[q], child_lo, child_hi, depth + 1);
    }
  }

  std::vector<Node> nodes_;
  std::vector<Point> points_;
  std::vector<Point> scratch_;
  std::vector<uint8_t> codes_;
};

// The exact gradient on the CPU for D-dimensional embeddings: two passes over the pairs, each row
// alone (so any thread count gives the same sums): the normaliser Z, then the gradient and KL.
template <int D>
double ExactGradientCpu(const double* p, const double* y, int64_t n, const Kernel& kernel,
                        double exaggeration, bool compute_error, double* grad) {
  const double inv_dof = 1.0 / kernel.dof;
  const auto u_of = [&](const double* yi, const double* yj) {
    double d2 = 0;
    for (int k = 0; k < D; ++k) d2 += (yi[k] - yj[k]) * (yi[k] - yj[k]);
    return 1.0 / (1.0 + d2 * inv_dof);
  };
  std::vector<double> row_sum(static_cast<size_t>(n));
  const int64_t grain = std::max<int64_t>(16, kExactGrainPairs / n);
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double* yi = y + i * D;
      double sum = 0;
      for (int64_t j = 0; j < n; ++j) sum += kernel.W(u_of(yi, y + j * D));
      row_sum[i] = sum - 1.0;  // the pair (i, i): u = w = 1
    }
  });
  double z = 0;
  for (double sum : row_sum) z += sum;
  const double inv_z = 1.0 / z;
  const double c = 2.0 * (kernel.dof + 1.0) / kernel.dof;
  at::parallel_for(0, n, grain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double* yi = y + i * D;
      const double* pi = p + i * n;
      double force[D] = {};
      double kl = 0;
      for (int64_t j = 0; j < n; ++j) {
        const double* yj = y + j * D;
        const double u = u_of(yi, yj);
        const double w = kernel.W(u);
        const double q = std::max(w * inv_z, kMachineEpsilon);
        // p_ii = 0 and y_i - y_i = 0: the pair (i, i) adds nothing to the force.
        const double m = (exaggeration * pi[j] - q) * kernel.Weight(u, w);
        for (int k = 0; k < D; ++k) force[k] += m * (yi[k] - yj[k]);
      }
      if (compute_error) {
        for (int64_t j = 0; j < n; ++j) {
          if (j == i) continue;
          const double q = std::max(kernel.W(u_of(yi, y + j * D)) * inv_z, kMachineEpsilon);
          kl += pi[j] * std::log(std::max(pi[j], kMachineEpsilon) / q);
        }
      }
      for (int k = 0; k < D; ++k) grad[i * D + k] = c * force[k];
      row_sum[i] = kl;
    }
  });
  if (!compute_error) return std::numeric_limits<double>::quiet_NaN();
  double kl = 0;
  for (double part : row_sum) kl += part;
  return kl;
}

template <int D>
double BarnesHutGradient(const SparseAffinities& p, const double* y, double theta,
                         const Kernel& kernel, double exaggeration, bool compute_error,
                         double* grad) {
  const int64_t n = p.n;
  const SpaceTree<D> tree(y, n);
  const auto& nodes = tree.nodes();
  const auto& points = tree.points();
  const double theta_sq = theta * theta;
  std::vector<double> repulsion(static_cast<size_t>(n * D));
  std::vector<double> z_part(static_cast<size_t>(n));

  // Repulsion: every point walks the tree alone; points in tree order, so neighbouring work
  // touches neighbouring cells.
  at::parallel_for(0, n, kBarnesHutGrain, [&](int64_t begin, int64_t end) {
    std::vector<int32_t> stack(static_cast<size_t>(kMaxTreeDepth * ((1 << D) - 1) + 2));
    for (int64_t at_pos = begin; at_pos < end; ++at_pos) {
      const int64_t i = points[at_pos].index;
      const double* yi = points[at_pos].position;
      double force[D] = {};
      double z = 0;
      // Visits a cell: summarises it (a leaf, or far enough for its width), or returns true when
      // it has to be opened.
      const auto visit = [&](const typename SpaceTree<D>::Node& node) {
        double dx[D];
        double d2 = 0;
        for (int k = 0; k < D; ++k) {
          dx[k] = yi[k] - node.com[k];
          d2 += dx[k] * dx[k];
        }
        if (node.child_begin < 0) {
          if (at_pos >= node.first && at_pos < node.first + node.count) {
            z += static_cast<double>(node.count - 1);  // others at this place: kernel 1, no force
            return false;
          }
        } else if (node.width_sq >= theta_sq * d2) {
          return true;
        }
        const double u = kernel.U(d2);
        const double w = kernel.W(u);
        const double cw = static_cast<double>(node.count) * w;
        z += cw;
        const double coefficient = cw * kernel.Weight(u, w);
        for (int k = 0; k < D; ++k) force[k] += coefficient * dx[k];
        return false;
      };
      size_t top = 0;
      if (visit(nodes[0])) stack[top++] = 0;
      while (top > 0) {
        const auto& node = nodes[stack[--top]];
        for (int32_t c = node.child_begin; c < node.child_begin + node.child_count; ++c) {
          if (visit(nodes[c])) stack[top++] = c;
        }
      }
      for (int k = 0; k < D; ++k) repulsion[i * D + k] = force[k];
      z_part[i] = z;
    }
  });
  double z = 0;
  for (double part : z_part) z += part;

  // Attraction over the sparse P, and the KL of its pairs.
  std::vector<double> kl_part(static_cast<size_t>(compute_error ? n : 0));
  const double c = 2.0 * (kernel.dof + 1.0) / kernel.dof;
  constexpr double kTiny = std::numeric_limits<double>::min();
  at::parallel_for(0, n, kBarnesHutGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const double* yi = y + i * D;
      double force[D] = {};
      double kl = 0;
      for (int64_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
        const double* yj = y + p.columns[e] * D;
        double dx[D];
        double d2 = 0;
        for (int k = 0; k < D; ++k) {
          dx[k] = yi[k] - yj[k];
          d2 += dx[k] * dx[k];
        }
        const double u = kernel.U(d2);
        const double w = kernel.W(u);
        const double pij = p.values[e];
        const double weight = pij * kernel.Weight(u, w);
        for (int k = 0; k < D; ++k) force[k] += weight * dx[k];
        if (compute_error) {
          const double q = w / z;
          kl += pij * std::log(std::max(pij, kTiny) / std::max(q, kTiny));
        }
      }
      for (int k = 0; k < D; ++k) {
        grad[i * D + k] = c * (exaggeration * force[k] - repulsion[i * D + k] / z);
      }
      if (compute_error) kl_part[i] = kl;
    }
  });
  if (!compute_error) return std::numeric_limits<double>::quiet_NaN();
  double kl = 0;
  for (double part : kl_part) kl += part;
  return kl;
}

// One step of gradient descent with momentum and gains, as scikit-learn's _gradient_descent:
// gains grow by 0.2 where the gradient turned against the last update and shrink by 0.8 where it
// did not (at least 0.01); grad *= gains; update = momentum * update - rate * grad; y += update.
// Returns |grad| (after the gains). On the CPU a plain loop, so that the rounding is the same for
// any thread count (ATen's vectorised kernels round a chunk's tail differently).
double GradientStep(double momentum, double rate, at::Tensor* y, at::Tensor* update,
                    at::Tensor* gains, at::Tensor* grad) {
  if (!y->is_cpu()) {
    const at::Tensor increase = (*update * *grad).lt(0);
    *gains =
        at::where(increase, *gains + kGainIncrease, *gains * kGainDecrease).clamp_min_(kMinGain);
    grad->mul_(*gains);
    update->mul_(momentum).sub_(*grad, rate);
    y->add_(*update);
    return grad->norm().item<double>();
  }
  double* yy = y->data_ptr<double>();
  double* uu = update->data_ptr<double>();
  double* gg = gains->data_ptr<double>();
  double* dd = grad->data_ptr<double>();
  double norm = 0;
  for (int64_t e = 0; e < y->numel(); ++e) {
    const double gain = uu[e] * dd[e] < 0 ? gg[e] + kGainIncrease : gg[e] * kGainDecrease;
    gg[e] = std::max(gain, kMinGain);
    dd[e] *= gg[e];
    norm += dd[e] * dd[e];
    uu[e] = momentum * uu[e] - rate * dd[e];
    yy[e] += uu[e];
  }
  return std::sqrt(norm);
}

absl::Status ValidatePoints(const at::Tensor& x) {
  if (!x.defined() || x.dim() != 2 || !at::isFloatingType(x.scalar_type())) {
    return absl::InvalidArgumentError("t-SNE: the data must be a 2-D float matrix");
  }
  if (x.size(0) < 2 || x.size(1) < 1) {
    return absl::InvalidArgumentError(absl::StrCat("t-SNE: the data is ", x.size(0), " x ",
                                                   x.size(1),
                                                   "; it needs at least 2 points and 1 feature"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePerplexity(double perplexity, int64_t n) {
  if (!(perplexity > 0) || !(perplexity < static_cast<double>(n))) {
    return absl::InvalidArgumentError(absl::StrCat(
        "t-SNE: perplexity ", perplexity, " must be positive and less than the ", n, " points"));
  }
  return absl::OkStatus();
}

absl::Status ValidateOptions(const TsneOptions& o, int64_t n) {
  if (o.dims != 2 && o.dims != 3) {
    return absl::InvalidArgumentError(absl::StrCat("t-SNE: dims must be 2 or 3, not ", o.dims));
  }
  RETURN_IF_ERROR(ValidatePerplexity(o.perplexity, n));
  if (!(o.theta >= 0) || !std::isfinite(o.theta)) {
    return absl::InvalidArgumentError(absl::StrCat("t-SNE: theta ", o.theta, " must be >= 0"));
  }
  if (o.n_iter < 1) {
    return absl::InvalidArgumentError(absl::StrCat("t-SNE: n_iter ", o.n_iter, " must be >= 1"));
  }
  if (o.exaggeration_iter < 0 || o.exaggeration_iter > o.n_iter) {
    return absl::InvalidArgumentError(absl::StrCat("t-SNE: exaggeration_iter ", o.exaggeration_iter,
                                                   " must be in [0, ", o.n_iter, "] (n_iter)"));
  }
  if (!(o.early_exaggeration >= 1) || !std::isfinite(o.early_exaggeration)) {
    return absl::InvalidArgumentError(
        absl::StrCat("t-SNE: early_exaggeration ", o.early_exaggeration, " must be >= 1"));
  }
  if (!std::isfinite(o.learning_rate) || !std::isfinite(o.degrees_of_freedom) ||
      !std::isfinite(o.min_grad_norm)) {
    return absl::InvalidArgumentError(
        "t-SNE: learning_rate, degrees_of_freedom and min_grad_norm must be finite");
  }
  if (o.n_iter_without_progress < 1) {
    return absl::InvalidArgumentError("t-SNE: n_iter_without_progress must be >= 1");
  }
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> InitialEmbedding(const at::Tensor& x, const TsneOptions& options) {
  const int64_t n = x.size(0);
  if (options.init == TsneInit::kRandom) {
    at::Generator generator = at::detail::createCPUGenerator(options.seed);
    return at::randn({n, options.dims}, generator, at::TensorOptions().dtype(at::kDouble)) *
           kInitStd;
  }
  ASSIGN_OR_RETURN(Pca pca, FitPca(x, options.dims));
  if (pca.size() < options.dims) {
    return absl::InvalidArgumentError(absl::StrCat(
        "t-SNE: PCA initialisation needs at least ", options.dims, " features and points; the ",
        "data has ", x.size(1), " features (use init=random)"));
  }
  at::Tensor scores = pca.scores.to(at::kCPU);
  const double sd = scores.select(1, 0).std(/*unbiased=*/false).item<double>();
  if (!(sd > 0)) {
    return absl::InvalidArgumentError("t-SNE: every point is the same; nothing to embed");
  }
  return scores * (kInitStd / sd);
}

}  // namespace

absl::StatusOr<TsneMethod> ParseTsneMethod(std::string_view name) {
  if (name == "auto") return TsneMethod::kAuto;
  if (name == "exact") return TsneMethod::kExact;
  if (name == "barnes_hut" || name == "barnes-hut" || name == "bh") return TsneMethod::kBarnesHut;
  return absl::InvalidArgumentError(absl::StrCat(
      "t-SNE method must be auto, exact or barnes_hut, not '", std::string(name), "'"));
}

std::string TsneMethodName(TsneMethod method) {
  switch (method) {
    case TsneMethod::kAuto:
      return "auto";
    case TsneMethod::kExact:
      return "exact";
    case TsneMethod::kBarnesHut:
      return "barnes_hut";
  }
  return "?";
}

absl::StatusOr<TsneInit> ParseTsneInit(std::string_view name) {
  if (name == "pca") return TsneInit::kPca;
  if (name == "random") return TsneInit::kRandom;
  return absl::InvalidArgumentError(
      absl::StrCat("t-SNE init must be pca or random, not '", std::string(name), "'"));
}

std::string TsneInitName(TsneInit init) { return init == TsneInit::kPca ? "pca" : "random"; }

absl::StatusOr<at::Tensor> ConditionalProbabilities(const at::Tensor& sq_distances,
                                                    double perplexity, bool skip_diagonal) {
  if (!sq_distances.defined() || sq_distances.dim() != 2 ||
      (skip_diagonal && sq_distances.size(0) != sq_distances.size(1))) {
    return absl::InvalidArgumentError(
        "t-SNE: squared distances must be a matrix (square when the diagonal is skipped)");
  }
  if (!(perplexity > 0) || !std::isfinite(perplexity)) {
    return absl::InvalidArgumentError(
        absl::StrCat("t-SNE: perplexity ", perplexity, " must be positive"));
  }
  return GuardTorch("t-SNE bandwidths", [&]() -> at::Tensor {
    const at::Tensor d = sq_distances.to(at::kCPU, at::kDouble).contiguous();
    at::Tensor p = at::zeros_like(d);
    const int64_t n = d.size(0), k = d.size(1);
    const double desired_entropy = std::log(perplexity);
    const double* dd = d.data_ptr<double>();
    double* pp = p.data_ptr<double>();
    at::parallel_for(0, n, /*grain_size=*/16, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        SearchRow(dd + i * k, k, skip_diagonal ? i : -1, desired_entropy, pp + i * k);
      }
    });
    return p.to(sq_distances.device());
  });
}

absl::StatusOr<at::Tensor> ExactAffinities(const at::Tensor& x, double perplexity) {
  RETURN_IF_ERROR(ValidatePoints(x));
  RETURN_IF_ERROR(ValidatePerplexity(perplexity, x.size(0)));
  ASSIGN_OR_RETURN(at::Tensor sq_distances, GuardTorch("t-SNE distances", [&] {
                     const at::Tensor xd = x.to(at::kDouble).contiguous();
                     at::Tensor d;
                     ForEachDistanceBlock(
                         xd, [&](int64_t, const at::Tensor& block) { d = block; },
                         /*max_block_elements=*/std::numeric_limits<int64_t>::max());
                     return d;
                   }));
  ASSIGN_OR_RETURN(at::Tensor conditional,
                   ConditionalProbabilities(sq_distances, perplexity, /*skip_diagonal=*/true));
  return GuardTorch("t-SNE affinities", [&] {
    at::Tensor p = conditional + conditional.t();
    // The total in one fixed order (ATen's sum splits the work by thread count).
    const at::Tensor values = p.to(at::kCPU).contiguous();
    const double* v = values.data_ptr<double>();
    double total = 0;
    for (int64_t e = 0; e < values.numel(); ++e) total += v[e];
    p.div_(std::max(total, kMachineEpsilon)).clamp_min_(kMachineEpsilon);
    p.fill_diagonal_(0);
    return p;
  });
}

absl::StatusOr<SparseAffinities> NeighbourAffinities(const at::Tensor& x, double perplexity) {
  RETURN_IF_ERROR(ValidatePoints(x));
  const int64_t n = x.size(0);
  RETURN_IF_ERROR(ValidatePerplexity(perplexity, n));
  const int64_t k =
      std::min<int64_t>(n - 1, static_cast<int64_t>(std::floor(3.0 * perplexity + 1.0)));
  ASSIGN_OR_RETURN(Neighbours nn, NearestNeighbours(x, k));
  ASSIGN_OR_RETURN(at::Tensor conditional,
                   ConditionalProbabilities(nn.sq_distances, perplexity, /*skip_diagonal=*/false));
  return GuardTorch("t-SNE sparse affinities", [&] {
    const at::Tensor indices = nn.indices.to(at::kCPU).contiguous();
    const at::Tensor values = conditional.to(at::kCPU).contiguous();
    const int64_t* idx = indices.data_ptr<int64_t>();
    const double* val = values.data_ptr<double>();
    // Each directed pair (i, j, P(j|i)) goes to row i and row j; then rows are sorted by column
    // and equal columns summed.
    SparseAffinities p;
    p.n = n;
    std::vector<int64_t> count(static_cast<size_t>(n), k);
    for (int64_t e = 0; e < n * k; ++e) ++count[idx[e]];
    std::vector<int64_t> start(static_cast<size_t>(n + 1), 0);
    for (int64_t i = 0; i < n; ++i) start[i + 1] = start[i] + count[i];
    std::vector<std::pair<int64_t, double>> entries(static_cast<size_t>(start[n]));
    std::vector<int64_t> fill(start.begin(), start.end() - 1);
    for (int64_t i = 0; i < n; ++i) {
      for (int64_t a = 0; a < k; ++a) {
        const int64_t j = idx[i * k + a];
        const double v = val[i * k + a];
        entries[fill[i]++] = {j, v};
        entries[fill[j]++] = {i, v};
      }
    }
    double total = 0;
    p.row_start.push_back(0);
    for (int64_t i = 0; i < n; ++i) {
      std::sort(entries.begin() + start[i], entries.begin() + start[i + 1],
                [](const auto& a, const auto& b) { return a.first < b.first; });
      for (int64_t e = start[i]; e < start[i + 1]; ++e) {
        if (!p.columns.empty() && static_cast<int64_t>(p.columns.size()) > p.row_start[i] &&
            p.columns.back() == entries[e].first) {
          p.values.back() += entries[e].second;
        } else {
          p.columns.push_back(entries[e].first);
          p.values.push_back(entries[e].second);
        }
        total += entries[e].second;
      }
      p.row_start.push_back(static_cast<int64_t>(p.columns.size()));
    }
    total = std::max(total, kMachineEpsilon);
    for (double& v : p.values) v /= total;
    return p;
  });
}

double ExactKlGradient(const at::Tensor& p, const at::Tensor& y, const TsneKernel& tsne_kernel,
                       double exaggeration, bool compute_error, at::Tensor* grad) {
  if (!y.is_cpu()) {
    return ExactKlGradientTensors(p, y, tsne_kernel, exaggeration, compute_error, grad);
  }
  TORCH_CHECK(y.dim() == 2 && y.scalar_type() == at::kDouble && y.is_contiguous() && p.dim() == 2 &&
                  p.size(0) == y.size(0) && p.size(1) == y.size(0) &&
                  p.scalar_type() == at::kDouble && p.is_contiguous() && p.is_cpu(),
              "exact t-SNE gradient: P must be N x N and y N x dims, contiguous float64");
  if (!grad->defined() || !grad->is_same_size(y) || !grad->is_contiguous() ||
      grad->scalar_type() != at::kDouble || !grad->is_cpu()) {
    *grad = at::empty_like(y);
  }
  const Kernel kernel(tsne_kernel);
  const double* yy = y.data_ptr<double>();
  const double* pp = p.data_ptr<double>();
  double* gg = grad->data_ptr<double>();
  switch (y.size(1)) {
    case 1:
      return ExactGradientCpu<1>(pp, yy, y.size(0), kernel, exaggeration, compute_error, gg);
    case 2:
      return ExactGradientCpu<2>(pp, yy, y.size(0), kernel, exaggeration, compute_error, gg);
    case 3:
      return ExactGradientCpu<3>(pp, yy, y.size(0), kernel, exaggeration, compute_error, gg);
    default:
      return ExactKlGradientTensors(p, y, tsne_kernel, exaggeration, compute_error, grad);
  }
}

double ExactKlGradientTensors(const at::Tensor& p, const at::Tensor& y,
                              const TsneKernel& tsne_kernel, double exaggeration,
                              bool compute_error, at::Tensor* grad) {
  const double dof = tsne_kernel.degrees_of_freedom;
  at::Tensor d2 = at::zeros({y.size(0), y.size(0)}, y.options());
  for (int64_t k = 0; k < y.size(1); ++k) {
    const at::Tensor column = y.select(1, k);
    const at::Tensor diff = column.unsqueeze(1) - column.unsqueeze(0);
    d2.addcmul_(diff, diff);
  }
  const at::Tensor u = d2.div_(dof).add_(1).reciprocal_();
  const double exponent = (dof + 1) / 2;
  at::Tensor w = exponent == 1.0 ? u.clone() : (exponent == 1.5 ? u * u.sqrt() : u.pow(exponent));
  w.fill_diagonal_(0);
  const double z = w.sum().item<double>();
  const at::Tensor q = (w / z).clamp_min_(kMachineEpsilon);
  double kl = std::numeric_limits<double>::quiet_NaN();
  if (compute_error) kl = (p * (p.clamp_min(kMachineEpsilon) / q).log()).sum().item<double>();
  at::Tensor m = (p * exaggeration - q).mul_(tsne_kernel.sklearn_weights ? w : u);
  m.fill_diagonal_(0);
  const double c = 2.0 * (dof + 1.0) / dof;
  *grad = (m.sum(1, /*keepdim=*/true) * y - m.mm(y)).mul_(c);
  return kl;
}

double BarnesHutKlGradient(const SparseAffinities& p, const at::Tensor& y, double theta,
                           const TsneKernel& tsne_kernel, double exaggeration, bool compute_error,
                           at::Tensor* grad) {
  TORCH_CHECK(y.dim() == 2 && (y.size(1) == 2 || y.size(1) == 3) && y.size(0) == p.n &&
                  y.scalar_type() == at::kDouble && y.is_contiguous() && y.is_cpu(),
              "Barnes-Hut: y must be a contiguous CPU float64 [N, 2 or 3] matching P");
  if (!grad->defined() || !grad->is_same_size(y) || !grad->is_contiguous() ||
      grad->scalar_type() != at::kDouble || !grad->is_cpu()) {
    *grad = at::empty_like(y);
  }
  const Kernel kernel(tsne_kernel);
  if (y.size(1) == 2) {
    return BarnesHutGradient<2>(p, y.data_ptr<double>(), theta, kernel, exaggeration, compute_error,
                                grad->data_ptr<double>());
  }
  return BarnesHutGradient<3>(p, y.data_ptr<double>(), theta, kernel, exaggeration, compute_error,
                              grad->data_ptr<double>());
}

absl::StatusOr<TsneResult> RunTsne(const at::Tensor& x, const TsneOptions& options) {
  RETURN_IF_ERROR(ValidatePoints(x));
  const int64_t n = x.size(0);
  RETURN_IF_ERROR(ValidateOptions(options, n));
  if (!GuardTorch("t-SNE", [&] { return at::isfinite(x).all().item<bool>(); }).value_or(false)) {
    return absl::InvalidArgumentError("t-SNE: a value of the data is NaN or infinite");
  }
  TsneResult result;
  result.method = options.method;
  if (result.method == TsneMethod::kAuto) {
    result.method = n <= kTsneExactMaxPoints ? TsneMethod::kExact : TsneMethod::kBarnesHut;
  }
  const bool exact = result.method == TsneMethod::kExact;
  if (exact && n > kTsneExactLimit) {
    return absl::InvalidArgumentError(absl::StrCat(
        "t-SNE: the exact method takes at most ", kTsneExactLimit,
        " points (N x N matrices, O(N^2) ", "per iteration), not ", n, "; use barnes_hut"));
  }
  result.degrees_of_freedom = options.degrees_of_freedom > 0
                                  ? options.degrees_of_freedom
                                  : std::max(static_cast<double>(options.dims - 1), 1.0);
  const TsneKernel kernel{result.degrees_of_freedom, options.sklearn_gradient};
  result.learning_rate =
      options.learning_rate > 0
          ? options.learning_rate
          : std::max(static_cast<double>(n) / options.early_exaggeration / 4, kMinLearningRate);

  auto start = std::chrono::steady_clock::now();
  at::Tensor dense_p;
  SparseAffinities sparse_p;
  if (exact) {
    ASSIGN_OR_RETURN(dense_p, ExactAffinities(x, options.perplexity));
  } else {
    ASSIGN_OR_RETURN(sparse_p, NeighbourAffinities(x, options.perplexity));
  }
  result.affinity_seconds = SecondsSince(start);

  start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(at::Tensor y, InitialEmbedding(x, options));
  RETURN_IF_ERROR(GuardTorch("t-SNE", [&]() -> absl::Status {
    y = y.to(exact ? x.device() : at::Device(at::kCPU), at::kDouble).contiguous();
    at::Tensor update = at::zeros_like(y);
    at::Tensor gains = at::ones_like(y);
    at::Tensor grad = at::zeros_like(y);
    std::unique_ptr<ProgressBar> bar;
    if (options.progress) {
      ProgressOptions progress;
      progress.label = absl::StrCat("t-SNE ", TsneMethodName(result.method));
      progress.total = options.n_iter;
      progress.unit = "it";
      bar = std::make_unique<ProgressBar>(std::move(progress));
    }
    // scikit-learn's _gradient_descent, run once with exaggeration and once without.
    double kl = std::numeric_limits<double>::quiet_NaN();
    int64_t last = -1;
    const auto descend = [&](int64_t first, int64_t end, double momentum, double exaggeration,
                             int64_t without_progress) {
      double best_kl = std::numeric_limits<double>::max();
      int64_t best_iter = first;
      for (int64_t i = first; i < end; ++i) {
        last = i;
        const bool check = (i + 1) % kCheckEvery == 0;
        const bool error = check || i == end - 1;
        kl = exact ? ExactKlGradient(dense_p, y, kernel, exaggeration, error, &grad)
                   : BarnesHutKlGradient(sparse_p, y, options.theta, kernel, exaggeration, error,
                                         &grad);
        const double grad_norm =
            GradientStep(momentum, result.learning_rate, &y, &update, &gains, &grad);
        if (bar)
          bar->Update(i + 1, std::isnan(kl) ? ProgressMetrics{} : ProgressMetrics{{"KL", kl}});
        if (!check) continue;
        result.checks.push_back({i + 1, kl, grad_norm});
        if (kl < best_kl) {
          best_kl = kl;
          best_iter = i;
        } else if (i - best_iter > without_progress) {
          break;
        }
        if (grad_norm <= options.min_grad_norm) break;
      }
    };
    descend(0, options.exaggeration_iter, kInitialMomentum, options.early_exaggeration,
            options.exaggeration_iter);
    descend(last + 1, options.n_iter, kFinalMomentum, 1.0, options.n_iter_without_progress);
    if (bar) bar->Finish({{"KL", kl}});
    result.iterations = last + 1;
    result.kl_divergence = kl;
    if (!at::isfinite(y).all().item<bool>()) {
      return absl::InternalError("t-SNE: the embedding diverged (a coordinate is not finite)");
    }
    result.embedding = y.to(at::kCPU);
    return absl::OkStatus();
  }));
  result.optimise_seconds = SecondsSince(start);
  return result;
}

}  // namespace fauna
