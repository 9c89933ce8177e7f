#include "models/heads/kmeans.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/random.h"
#include "core/safetensors.h"
#include "core/seed.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "models/heads/thread_limit.h"

namespace fauna {
namespace {

constexpr char kFormatName[] = "fauna.kmeans.v1";

// Elements of one temporary [rows, columns] block of distances or gathered rows: bigger inputs
// are processed in row chunks so that memory stays bounded (16 MB of float32).
constexpr int64_t kChunkElements = int64_t{1} << 22;

// Elements of a block of rows that every run reads in turn (1 MB of float64: in L2 cache).
constexpr int64_t kCacheElements = int64_t{1} << 17;

// The dtype distances are computed in: float64 stays, everything else is float32.
at::ScalarType ComputeType(at::ScalarType type) {
  return type == at::kDouble ? at::kDouble : at::kFloat;
}

absl::Status CheckMatrix(const at::Tensor& x, const std::string& what) {
  if (!x.defined() || x.dim() != 2) {
    return absl::InvalidArgumentError(absl::StrCat("k-means: ", what, " must be a 2-D matrix"));
  }
  if (!at::isFloatingType(x.scalar_type())) {
    return absl::InvalidArgumentError(absl::StrCat(
        "k-means: ", what, " must be floating point, not ", at::toString(x.scalar_type())));
  }
  if (x.size(0) == 0 || x.size(1) == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-means: ", what, " is empty (", x.size(0), " x ", x.size(1), ")"));
  }
  if (!at::isfinite(x).all().item<bool>()) {
    return absl::InvalidArgumentError(absl::StrCat("k-means: ", what, " holds NaN or infinity"));
  }
  return absl::OkStatus();
}

// Distances are laid out [centres, points] (and labels [runs, points]): LibTorch reduces over a
// leading dimension with vector instructions along the points, where a reduction over the last
// dimension of size k runs one short row at a time (several times slower).

// For `runs` groups of `k` centres ([runs * k, D]), the nearest centre of each group for every
// row of `x` ([N, D]): `labels` int64 [runs, N] (index within the group) and `partial`
// [runs, N], the least ||c||^2 - 2 x.c (add ||x||^2 for the squared distance).
void Nearest(const at::Tensor& x, const at::Tensor& centers, int64_t runs, int64_t k,
             at::Tensor* partial, at::Tensor* labels) {
  const int64_t n = x.size(0), columns = runs * k;
  const at::Tensor center_norms = centers.mul(centers).sum(1).unsqueeze(1);
  const int64_t chunk = std::max<int64_t>(1, kChunkElements / columns);
  if (chunk >= n) {
    const at::Tensor d = at::addmm(center_norms, centers, x.t(), /*beta=*/1, /*alpha=*/-2);
    std::tie(*partial, *labels) = d.view({runs, k, n}).min(1);
    return;
  }
  *partial = at::empty({runs, n}, x.options());
  *labels = at::empty({runs, n}, x.options().dtype(at::kLong));
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t rows = std::min(chunk, n - begin);
    const at::Tensor d = at::addmm(center_norms, centers, x.narrow(0, begin, rows).t(),
                                   /*beta=*/1, /*alpha=*/-2);
    auto [m, l] = d.view({runs, k, rows}).min(1);
    partial->narrow(1, begin, rows).copy_(m);
    labels->narrow(1, begin, rows).copy_(l);
  }
}

// Squared distances [M, N] from the rows `index` (int64 [M]) of `x` to every row of `x`.
at::Tensor SquaredDistancesFrom(const at::Tensor& x, const at::Tensor& norms,
                                const at::Tensor& index) {
  const at::Tensor rows = x.index_select(0, index);
  return at::addmm(norms.unsqueeze(0), rows, x.t(), /*beta=*/1, /*alpha=*/-2)
      .add_(norms.index_select(0, index).unsqueeze(1))
      .clamp_min_(0);
}

// Greedy k-means++ (scikit-learn's _kmeans_plusplus) for every run at once: run r draws from
// rngs[r] only. Returns the indices of the chosen rows, int64 [runs, k] on x's device.
at::Tensor KMeansPlusPlus(const at::Tensor& x, const at::Tensor& norms, int64_t k,
                          std::vector<std::mt19937_64>& rngs) {
  const int64_t runs = static_cast<int64_t>(rngs.size()), n = x.size(0);
  const int64_t trials = 2 + static_cast<int64_t>(std::log(static_cast<double>(k)));
  const at::TensorOptions long_cpu = at::TensorOptions().dtype(at::kLong);
  const at::Tensor run_index = at::arange(runs, x.options().dtype(at::kLong));

  std::vector<int64_t> first(static_cast<size_t>(runs));
  for (int64_t r = 0; r < runs; ++r) first[r] = UniformIndex(rngs[r], n);
  at::Tensor chosen = at::empty({runs, k}, x.options().dtype(at::kLong));
  const at::Tensor first_index = at::tensor(first, long_cpu).to(x.device());
  chosen.select(1, 0).copy_(first_index);
  // Each point's squared distance to its nearest chosen centre, per run: [runs, N].
  at::Tensor closest = SquaredDistancesFrom(x, norms, first_index);
  at::Tensor potential = closest.sum(1, /*keepdim=*/false, at::kDouble);

  std::vector<double> draws(static_cast<size_t>(runs * trials));
  for (int64_t c = 1; c < k; ++c) {
    // Candidates drawn with probability proportional to the squared distance.
    const at::Tensor pot_cpu = potential.to(at::kCPU).contiguous();
    const double* pot = pot_cpu.data_ptr<double>();
    for (int64_t r = 0; r < runs; ++r) {
      for (int64_t t = 0; t < trials; ++t) draws[r * trials + t] = Uniform01(rngs[r]) * pot[r];
    }
    const at::Tensor values = at::tensor(draws, at::TensorOptions().dtype(at::kDouble))
                                  .view({runs, trials})
                                  .to(x.device());
    const at::Tensor cumulative = closest.cumsum(1, at::kDouble);
    const at::Tensor candidates = at::searchsorted(cumulative, values).clamp_max_(n - 1);
    // Each candidate's potential: the summed distance to the nearest centre if it were added.
    const at::Tensor distances =
        at::minimum(SquaredDistancesFrom(x, norms, candidates.flatten()).view({runs, trials, n}),
                    closest.unsqueeze(1));
    const at::Tensor potentials = distances.sum(2, /*keepdim=*/false, at::kDouble);
    const at::Tensor best = potentials.argmin(1);
    potential = potentials.gather(1, best.unsqueeze(1)).squeeze(1);
    closest = distances.index({run_index, best});
    chosen.select(1, c).copy_(candidates.gather(1, best.unsqueeze(1)).squeeze(1));
  }
  return chosen;
}

// What Lloyd leaves of one run.
struct RunResult {
  at::Tensor centers;  // [k, D], compute dtype
  int64_t n_iter = 0;
  bool converged = false;
};

// Sums (double [runs * k, D]) and counts (double [runs * k]) of the rows of `x` per (run, label),
// from scratch; labels int64 [runs, N].
void SumsFromScratch(const at::Tensor& x, const at::Tensor& labels, int64_t k, at::Tensor* sums,
                     at::Tensor* counts) {
  const int64_t runs = labels.size(0), n = x.size(0);
  sums->zero_();
  const at::Tensor offsets = at::arange(runs, labels.options()).mul_(k).unsqueeze(1);
  *counts = labels.add(offsets).flatten().bincount({}, runs * k).to(at::kDouble);
  // Chunks that stay in cache while every run adds them.
  const int64_t chunk = std::max<int64_t>(1, kCacheElements / x.size(1));
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t rows = std::min(chunk, n - begin);
    const at::Tensor xd = x.narrow(0, begin, rows).to(at::kDouble);
    for (int64_t r = 0; r < runs; ++r) {
      sums->narrow(0, r * k, k).index_add_(0, labels[r].narrow(0, begin, rows), xd);
    }
  }
}

// Moves the contributions of the rows whose label changed in the sums and counts: `changed` is
// the [M, 2] (run, row) list of those pairs, `from` and `to` their old and new labels.
void UpdateSums(const at::Tensor& x, const at::Tensor& changed, const at::Tensor& from_labels,
                const at::Tensor& to_labels, int64_t k, at::Tensor* sums, at::Tensor* counts) {
  const int64_t m = changed.size(0);
  const int64_t chunk = std::max<int64_t>(1, kChunkElements / x.size(1));
  for (int64_t begin = 0; begin < m; begin += chunk) {
    const int64_t size = std::min(chunk, m - begin);
    const at::Tensor pairs = changed.narrow(0, begin, size);
    const at::Tensor base = pairs.select(1, 0).mul(k);
    const at::Tensor to = base.add(to_labels.narrow(0, begin, size));
    const at::Tensor from = base.add(from_labels.narrow(0, begin, size));
    const at::Tensor xd = x.index_select(0, pairs.select(1, 1)).to(at::kDouble);
    sums->index_add_(0, to, xd);
    sums->index_add_(0, from, xd, /*alpha=*/-1);
    const at::Tensor ones = at::ones({size}, counts->options());
    counts->index_add_(0, to, ones);
    counts->index_add_(0, from, ones, /*alpha=*/-1);
  }
}

// The new centres (double [runs, k, D]) from the sums and counts. A cluster left empty takes the
// point farthest from its centre in `old_centers`, as scikit-learn's
// _relocate_empty_clusters_dense: for the e-th empty cluster of a run, the point of the e-th
// largest distance, which also leaves the sum of its own cluster. Only the centres see the move;
// sums and counts keep matching the labels ([runs, N]).
at::Tensor NewCenters(const at::Tensor& x, const at::Tensor& old_centers, const at::Tensor& labels,
                      const at::Tensor& sums, const at::Tensor& counts) {
  const int64_t runs = old_centers.size(0), k = old_centers.size(1), d = x.size(1);
  const at::Tensor empty = counts.eq(0);
  if (!empty.any().item<bool>()) {
    return sums.div(counts.unsqueeze(1)).view({runs, k, d});
  }
  at::Tensor s = sums.clone(), c = counts.clone();
  const at::Tensor empty_cpu = empty.view({runs, k}).to(at::kCPU);
  for (int64_t r = 0; r < runs; ++r) {
    std::vector<int64_t> empties;
    for (int64_t j = 0; j < k; ++j) {
      if (empty_cpu[r][j].item<bool>()) empties.push_back(j);
    }
    if (empties.empty()) continue;
    const at::Tensor run_labels = labels[r];
    const at::Tensor distance =
        x.sub(old_centers[r].index_select(0, run_labels)).pow_(2).sum(1, false, at::kDouble);
    const at::Tensor far =
        std::get<1>(distance.topk(static_cast<int64_t>(empties.size()))).to(at::kCPU);
    for (size_t e = 0; e < empties.size(); ++e) {
      const int64_t point = far[static_cast<int64_t>(e)].item<int64_t>();
      const int64_t from = r * k + run_labels[point].item<int64_t>();
      const int64_t to = r * k + empties[e];
      const at::Tensor row = x[point].to(at::kDouble);
      s[from].sub_(row);
      c[from].sub_(1);
      s[to].copy_(row);
      c[to].fill_(1);
    }
  }
  // A cluster emptied by a move keeps its (zero) sum as centre, the points' mean, as in
  // scikit-learn.
  return s.div(c.clamp_min(1).unsqueeze(1)).view({runs, k, d});
}

// Hamerly's bounds (Hamerly, "Making k-means even faster", 2010) for `runs` groups of k centres
// ([runs * k, D]) and rows `x` ([M, D], squared norms `norms`): each row's nearest centre per
// group (`labels` int64 [runs, M]), the distance to it (`upper`) and to the second nearest
// (`lower`, infinite when k == 1), [runs, M] in x's dtype.
void NearestTwo(const at::Tensor& x, const at::Tensor& norms, const at::Tensor& centers,
                int64_t runs, int64_t k, at::Tensor* labels, at::Tensor* upper, at::Tensor* lower) {
  const int64_t m = x.size(0), columns = runs * k;
  const at::Tensor center_norms = centers.mul(centers).sum(1).unsqueeze(1);
  *labels = at::empty({runs, m}, x.options().dtype(at::kLong));
  *upper = at::empty({runs, m}, x.options());
  *lower = at::empty({runs, m}, x.options());
  const int64_t chunk = std::max<int64_t>(1, kChunkElements / columns);
  for (int64_t begin = 0; begin < m; begin += chunk) {
    const int64_t rows = std::min(chunk, m - begin);
    at::Tensor d = at::addmm(center_norms, centers, x.narrow(0, begin, rows).t(),
                             /*beta=*/1, /*alpha=*/-2)
                       .view({runs, k, rows});
    const at::Tensor row_norms = norms.narrow(0, begin, rows).unsqueeze(0);
    auto [nearest, index] = d.min(1);
    labels->narrow(1, begin, rows).copy_(index);
    upper->narrow(1, begin, rows).copy_(nearest.add_(row_norms).clamp_min_(0).sqrt_());
    if (k >= 2) {
      // The nearest once the nearest is masked (cheaper than topk over k).
      const at::Tensor second = std::get<0>(
          d.scatter_(1, index.unsqueeze(1), std::numeric_limits<double>::infinity()).min(1));
      lower->narrow(1, begin, rows).copy_(second.add_(row_norms).clamp_min_(0).sqrt_());
    } else {
      lower->narrow(1, begin, rows).fill_(std::numeric_limits<double>::infinity());
    }
  }
}

// Relative slack on Hamerly's test: a row is skipped only when its upper bound, grown by this
// much, is still below its lower bound, so that float rounding of the GEMM distances (about 1e-7
// relative on centred data) never skips a row whose label might change.
constexpr double kBoundSlack = 1e-5;

// Fewest features for which Lloyd keeps Hamerly's bounds: with fewer, the GEMM costs less than
// keeping them.
constexpr int64_t kMinBoundedDim = 32;

// The labels of every run (int64 [runs, N]), with Hamerly's bounds where the rows have
// kMinBoundedDim features or more.
struct Assignment {
  bool bounded = false;
  at::Tensor labels;
  at::Tensor upper;  // distance to the assigned centre, at least (bounded only)
  at::Tensor lower;  // distance to the second nearest centre, at most (bounded only)

  // Keeps the runs `keep` (int64 indices).
  void Select(const at::Tensor& keep) {
    labels = labels.index_select(0, keep);
    if (bounded) {
      upper = upper.index_select(0, keep);
      lower = lower.index_select(0, keep);
    }
  }
};

// The first assignment, of every row.
Assignment AssignAll(const at::Tensor& x, const at::Tensor& norms, const at::Tensor& centers,
                     int64_t runs, int64_t k) {
  Assignment assignment;
  assignment.bounded = x.size(1) >= kMinBoundedDim;
  if (assignment.bounded) {
    NearestTwo(x, norms, centers, runs, k, &assignment.labels, &assignment.upper,
               &assignment.lower);
  } else {
    at::Tensor partial;
    Nearest(x, centers, runs, k, &partial, &assignment.labels);
  }
  return assignment;
}

// A later assignment, after the centres moved by `moved` ([runs, k]): with bounds, only the rows
// whose bounds allow a change of label in some run are looked at (the others keep their labels,
// which are those of a full assignment up to float rounding). `changed` receives the [M, 2]
// (run, row) pairs whose label changed, `from` and `to` their old and new labels.
void Reassign(const at::Tensor& x, const at::Tensor& norms, const at::Tensor& centers,
              const at::Tensor& moved, int64_t runs, int64_t k, Assignment* assignment,
              at::Tensor* changed, at::Tensor* from, at::Tensor* to) {
  const int64_t n = x.size(0);
  at::Tensor& labels = assignment->labels;
  at::Tensor rows, new_labels, new_upper, new_lower;
  bool all = true;
  if (!assignment->bounded) {
    at::Tensor partial;
    Nearest(x, centers, runs, k, &partial, &new_labels);
  } else {
    const at::Tensor offsets = at::arange(runs, labels.options()).mul_(k).unsqueeze(1);
    assignment->upper.add_(moved.flatten().take(labels.add(offsets)));
    assignment->lower.sub_(std::get<0>(moved.max(1)).unsqueeze(1));
    rows = assignment->upper.mul(1 + kBoundSlack).gt(assignment->lower).any(0).nonzero().squeeze(1);
    const int64_t m = rows.size(0);
    if (m == 0) {
      *changed = at::empty({0, 2}, labels.options());
      *from = *to = at::empty({0}, labels.options());
      return;
    }
    // Beyond half the rows a GEMM over all of them is cheaper than gathering.
    all = 2 * m > n;
    NearestTwo(all ? x : x.index_select(0, rows), all ? norms : norms.index_select(0, rows),
               centers, runs, k, &new_labels, &new_upper, &new_lower);
  }
  const at::Tensor old_labels = all ? labels : labels.index_select(1, rows);
  const at::Tensor pairs = new_labels.ne(old_labels).nonzero();  // (run, row of the subset)
  *from = old_labels.index({pairs.select(1, 0), pairs.select(1, 1)});
  *to = new_labels.index({pairs.select(1, 0), pairs.select(1, 1)});
  if (all) {
    *changed = pairs;
    labels = new_labels;
    if (assignment->bounded) {
      assignment->upper = new_upper;
      assignment->lower = new_lower;
    }
  } else {
    *changed = at::stack({pairs.select(1, 0), rows.index_select(0, pairs.select(1, 1))}, 1);
    labels.index_copy_(1, rows, new_labels);
    assignment->upper.index_copy_(1, rows, new_upper);
    assignment->lower.index_copy_(1, rows, new_lower);
  }
}

// Lloyd iterations for every run at once (`centers` [runs, k, D] in the compute dtype); runs
// leave the batch as they converge.
std::vector<RunResult> Lloyd(const at::Tensor& x, const at::Tensor& norms, at::Tensor centers,
                             int64_t max_iter, double tol) {
  const int64_t n = x.size(0), d = x.size(1);
  const int64_t runs = centers.size(0), k = centers.size(1);
  std::vector<RunResult> results(static_cast<size_t>(runs));
  std::vector<int64_t> active(static_cast<size_t>(runs));
  for (int64_t r = 0; r < runs; ++r) active[r] = r;
  at::Tensor sums = at::zeros({runs * k, d}, x.options().dtype(at::kDouble));
  at::Tensor counts;
  Assignment assignment;
  // Per run and centre, how far the centre moved in the last iteration ([runs, k]).
  at::Tensor moved;
  for (int64_t iter = 1; !active.empty(); ++iter) {
    const int64_t a = static_cast<int64_t>(active.size());
    const at::Tensor flat_centers = centers.view({a * k, d});
    std::vector<char> unchanged(static_cast<size_t>(a), 0);
    if (iter == 1) {
      assignment = AssignAll(x, norms, flat_centers, a, k);
      SumsFromScratch(x, assignment.labels, k, &sums, &counts);
    } else {
      at::Tensor changed, from, to;
      Reassign(x, norms, flat_centers, moved, a, k, &assignment, &changed, &from, &to);
      const at::Tensor moves = changed.select(1, 0).bincount({}, a).to(at::kCPU);
      for (int64_t r = 0; r < a; ++r) unchanged[r] = moves[r].item<int64_t>() == 0;
      // Past a third of all (run, row) pairs, summing afresh is cheaper than moving rows.
      if (changed.size(0) * 3 > n * a) {
        SumsFromScratch(x, assignment.labels, k, &sums, &counts);
      } else if (changed.size(0) > 0) {
        UpdateSums(x, changed, from, to, k, &sums, &counts);
      }
    }
    const at::Tensor updated = NewCenters(x, centers, assignment.labels, sums, counts);
    const at::Tensor shift = updated.sub(centers.to(at::kDouble)).pow_(2).sum(2);  // [a, k]
    const at::Tensor shift_cpu = shift.sum(1).to(at::kCPU).contiguous();
    const double* total_shift = shift_cpu.data_ptr<double>();
    if (assignment.bounded) moved = shift.sqrt().to(x.scalar_type());
    centers = updated.to(x.scalar_type());

    std::vector<int64_t> keep;
    for (int64_t r = 0; r < a; ++r) {
      RunResult& result = results[static_cast<size_t>(active[r])];
      result.n_iter = iter;
      // scikit-learn's order: unchanged labels first (strict convergence), then the shift.
      result.converged = unchanged[r] || total_shift[r] <= tol;
      if (result.converged || iter >= max_iter) {
        result.centers = centers[r];
      } else {
        keep.push_back(r);
      }
    }
    if (static_cast<int64_t>(keep.size()) == a) continue;
    std::vector<int64_t> still;
    for (int64_t r : keep) still.push_back(active[r]);
    active = std::move(still);
    if (active.empty()) break;
    const at::Tensor keep_index =
        at::tensor(keep, at::TensorOptions().dtype(at::kLong)).to(x.device());
    const at::Tensor keep_rows =
        (keep_index.mul(k).unsqueeze(1) + at::arange(k, keep_index.options()).unsqueeze(0))
            .flatten();
    centers = centers.index_select(0, keep_index);
    if (moved.defined()) moved = moved.index_select(0, keep_index);
    sums = sums.index_select(0, keep_rows);
    counts = counts.index_select(0, keep_rows);
    assignment.Select(keep_index);
  }
  return results;
}

nlohmann::json FitSummary(int64_t k, double inertia, int64_t n_iter, bool converged,
                          int64_t best_run, const std::vector<double>& run_inertias) {
  return {{"k", k},
          {"inertia", inertia},
          {"n_iter", n_iter},
          {"converged", converged},
          {"best_run", best_run},
          {"run_inertias", run_inertias}};
}

}  // namespace

absl::StatusOr<KMeans> KMeans::Fit(const at::Tensor& x, const KMeansOptions& options) {
  RETURN_IF_ERROR(CheckMatrix(x, "points"));
  const int64_t n = x.size(0), d = x.size(1);
  if (options.k < 1 || options.k > n) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-means: k must be in [1, ", n, "] (the number of points), not ", options.k));
  }
  if (options.n_init < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-means: n_init must be at least 1, not ", options.n_init));
  }
  if (options.max_iter < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-means: max_iter must be at least 1, not ", options.max_iter));
  }
  if (!(options.tol >= 0) || !std::isfinite(options.tol)) {
    return absl::InvalidArgumentError(
        absl::StrCat("k-means: tol must be finite and at least 0, not ", options.tol));
  }
  if (options.init.defined()) {
    RETURN_IF_ERROR(CheckMatrix(options.init, "initial centres"));
    if (options.init.size(0) != options.k || options.init.size(1) != d) {
      return absl::InvalidArgumentError(
          absl::StrCat("k-means: initial centres must be [", options.k, ", ", d, "], not [",
                       options.init.size(0), ", ", options.init.size(1), "]"));
    }
  }
  return GuardTorch("k-means", [&]() -> KMeans {
    const ThreadLimit limit(x);
    const int64_t k = options.k;
    const at::ScalarType type = ComputeType(x.scalar_type());
    // Centred points (scikit-learn's X -= X.mean(axis=0)); the tolerance is relative to the mean
    // per-feature variance.
    const at::Tensor points = x.to(type);
    const at::Tensor mean = points.sum(0, /*keepdim=*/false, at::kDouble).div_(n);
    const at::Tensor xc = points.sub(mean.to(type)).contiguous();
    const at::Tensor norms = xc.mul(xc).sum(1);
    // Mean variance = mean squared centred value less the mean squared (rounding) offset.
    const at::Tensor offset = xc.sum(0, /*keepdim=*/false, at::kDouble).div_(n);
    const double variance =
        (norms.sum(at::kDouble).item<double>() / n - offset.mul(offset).sum().item<double>()) / d;
    const double tol = options.tol * variance;

    at::Tensor start;
    if (options.init.defined()) {
      start = options.init.to(xc.device(), at::kDouble).sub(mean).to(type).unsqueeze(0);
    } else {
      std::vector<std::mt19937_64> rngs;
      for (int64_t r = 0; r < options.n_init; ++r)
        rngs.push_back(MakeGenerator(options.seed, 0, r));
      const at::Tensor chosen = KMeansPlusPlus(xc, norms, k, rngs);
      start = xc.index_select(0, chosen.flatten()).view({options.n_init, k, d});
    }
    const std::vector<RunResult> results = Lloyd(xc, norms, start, options.max_iter, tol);

    // One last assignment for every run under its final centres gives labels and inertia.
    const int64_t runs = static_cast<int64_t>(results.size());
    std::vector<at::Tensor> finals;
    for (const RunResult& result : results) finals.push_back(result.centers);
    at::Tensor partial, labels;
    Nearest(xc, at::cat(finals, 0), runs, k, &partial, &labels);
    const at::Tensor inertia_cpu =
        partial.add(norms.unsqueeze(0)).clamp_min_(0).sum(1, false, at::kDouble).to(at::kCPU);
    KMeans model;
    model.run_inertias_.assign(inertia_cpu.data_ptr<double>(),
                               inertia_cpu.data_ptr<double>() + runs);
    for (int64_t r = 1; r < runs; ++r) {
      if (model.run_inertias_[r] < model.run_inertias_[model.best_run_]) model.best_run_ = r;
    }
    const RunResult& best = results[static_cast<size_t>(model.best_run_)];
    model.centers_ = best.centers.to(at::kDouble).add(mean).to(type);
    model.labels_ = labels[model.best_run_].contiguous();
    model.inertia_ = model.run_inertias_[model.best_run_];
    model.n_iter_ = best.n_iter;
    model.converged_ = best.converged;
    return model;
  });
}

absl::StatusOr<KMeans> KMeans::FromCenters(const at::Tensor& centers) {
  RETURN_IF_ERROR(CheckMatrix(centers, "centres"));
  KMeans model;
  model.centers_ = centers.to(ComputeType(centers.scalar_type())).contiguous();
  return model;
}

absl::StatusOr<at::Tensor> KMeans::Predict(const at::Tensor& x) const {
  RETURN_IF_ERROR(CheckMatrix(x, "points"));
  if (x.size(1) != centers_.size(1)) {
    return absl::InvalidArgumentError(absl::StrCat("k-means: points have ", x.size(1),
                                                   " features, the centres ", centers_.size(1)));
  }
  return GuardTorch("k-means predict", [&] {
    // Centred on the points' mean, as in Fit, for the precision of the GEMM distances.
    const at::Tensor xd = x.to(centers_.device(), at::kDouble);
    const at::Tensor mean = xd.mean(0);
    const at::ScalarType type = centers_.scalar_type();
    at::Tensor partial, labels;
    Nearest(xd.sub(mean).to(type), centers_.to(at::kDouble).sub(mean).to(type), 1, k(), &partial,
            &labels);
    return labels.squeeze(0);
  });
}

absl::StatusOr<double> KMeans::Inertia(const at::Tensor& x) const {
  RETURN_IF_ERROR(CheckMatrix(x, "points"));
  if (x.size(1) != centers_.size(1)) {
    return absl::InvalidArgumentError(absl::StrCat("k-means: points have ", x.size(1),
                                                   " features, the centres ", centers_.size(1)));
  }
  return GuardTorch("k-means inertia", [&] {
    const at::Tensor xd = x.to(centers_.device(), at::kDouble);
    const at::Tensor mean = xd.mean(0);
    const at::ScalarType type = centers_.scalar_type();
    const at::Tensor xc = xd.sub(mean).to(type);
    at::Tensor partial, labels;
    Nearest(xc, centers_.to(at::kDouble).sub(mean).to(type), 1, k(), &partial, &labels);
    return partial.squeeze(0).add(xc.mul(xc).sum(1)).clamp_min_(0).sum(at::kDouble).item<double>();
  });
}

absl::Status KMeans::Save(const std::string& path) const {
  const nlohmann::json fit =
      FitSummary(k(), inertia_, n_iter_, converged_, best_run_, run_inertias_);
  ASSIGN_OR_RETURN(at::Tensor centers, GuardTorch("k-means save", [&] {
                     return centers_.to(at::kCPU, at::kFloat).contiguous();
                   }));
  return WriteSafetensors(path, {{"centers", centers}},
                          {{"format", kFormatName}, {"fit", fit.dump()}});
}

absl::StatusOr<KMeans> KMeans::Load(const std::string& path) {
  ASSIGN_OR_RETURN(SafetensorsContents contents, ReadSafetensors(path));
  auto format = contents.metadata.find("format");
  if (format == contents.metadata.end() || format->second != kFormatName) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a k-means model (no \"format\": \"", kFormatName, "\")"));
  }
  auto centers = contents.tensors.find("centers");
  if (centers == contents.tensors.end()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": no \"centers\" tensor"));
  }
  absl::StatusOr<KMeans> model = FromCenters(centers->second);
  if (!model.ok()) return Annotate(model.status(), path);
  auto fit = contents.metadata.find("fit");
  if (fit != contents.metadata.end()) {
    try {
      const nlohmann::json json = nlohmann::json::parse(fit->second);
      model->inertia_ = json.value("inertia", 0.0);
      model->n_iter_ = json.value("n_iter", int64_t{0});
      model->converged_ = json.value("converged", false);
      model->best_run_ = json.value("best_run", int64_t{0});
      model->run_inertias_ = json.value("run_inertias", std::vector<double>());
    } catch (const nlohmann::json::exception& e) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": bad \"fit\" metadata: ", e.what()));
    }
  }
  return model;
}

}  // namespace fauna
