#include "models/heads/one_vs_one.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

namespace fauna {

namespace {

// gram[rows][:, rows] with plain loops (no ATen kernels, which would compete for the threads).
at::Tensor Gather(const at::Tensor& gram, const std::vector<int64_t>& rows) {
  const float* data = gram.data_ptr<float>();
  const int64_t n = gram.size(0), m = static_cast<int64_t>(rows.size());
  at::Tensor block = at::empty({m, m}, gram.options());
  float* out = block.data_ptr<float>();
  for (int64_t i = 0; i < m; ++i) {
    const float* src = data + rows[i] * n;
    float* dst = out + i * m;
    for (int64_t j = 0; j < m; ++j) dst[j] = src[rows[j]];
  }
  return block;
}

}  // namespace

GramBlockFn GatherFromGram(const at::Tensor& gram) {
  return [gram](const std::vector<int64_t>& rows) { return Gather(gram, rows); };
}

int64_t OneVsOne::total_iterations() const {
  int64_t total = 0;
  for (const Pair& pair : pairs) total += pair.iterations;
  return total;
}

bool OneVsOne::converged() const {
  return std::all_of(pairs.begin(), pairs.end(), [](const Pair& p) { return p.converged; });
}

OneVsOne SolveOneVsOne(const GramBlockFn& block, const std::vector<double>& diagonal,
                       const std::vector<int64_t>& labels, int64_t num_classes,
                       const SmoOptions& options, int threads, const OneVsOne* warm,
                       double warm_C) {
  std::vector<std::vector<int64_t>> rows_of(num_classes);
  for (size_t i = 0; i < labels.size(); ++i) rows_of[labels[i]].push_back(i);

  OneVsOne ovo;
  ovo.num_classes = num_classes;
  ovo.num_rows = static_cast<int64_t>(labels.size());
  for (int64_t a = 0; a < num_classes; ++a) {
    for (int64_t b = a + 1; b < num_classes; ++b) {
      OneVsOne::Pair pair;
      pair.a = a;
      pair.b = b;
      pair.rows = rows_of[a];
      pair.num_a = static_cast<int64_t>(rows_of[a].size());
      pair.rows.insert(pair.rows.end(), rows_of[b].begin(), rows_of[b].end());
      ovo.pairs.push_back(std::move(pair));
    }
  }

  auto solve = [&](size_t p) {
    OneVsOne::Pair& pair = ovo.pairs[p];
    const size_t m = pair.rows.size();
    const at::Tensor gram = block(pair.rows);
    std::vector<int8_t> y(m, -1);
    std::fill(y.begin(), y.begin() + pair.num_a, int8_t{1});
    std::vector<double> diag, start;
    if (!diagonal.empty()) {
      for (int64_t row : pair.rows) diag.push_back(diagonal[row]);
    }
    if (warm != nullptr) {
      start = warm->pairs[p].alpha;
      const double scale = options.C / warm_C;
      for (double& a : start) a = std::min(a * scale, options.C);
    }
    SmoResult result = SolveCSvc(gram.data_ptr<float>(), y, options, diag, start);
    pair.alpha = std::move(result.alpha);
    pair.rho = result.rho;
    pair.iterations = result.iterations;
    pair.converged = result.converged;
  };

  const int workers = std::max<int>(
      1, std::min<int>(threads > 0 ? threads : at::get_num_threads(), ovo.pairs.size()));
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t p = next++; p < ovo.pairs.size(); p = next++) solve(p);
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  return ovo;
}

std::vector<int64_t> SupportRows(const OneVsOne& ovo) {
  std::vector<bool> support(ovo.num_rows, false);
  for (const OneVsOne::Pair& pair : ovo.pairs) {
    for (size_t i = 0; i < pair.rows.size(); ++i) {
      if (pair.alpha[i] != 0) support[pair.rows[i]] = true;
    }
  }
  std::vector<int64_t> rows;
  for (int64_t i = 0; i < ovo.num_rows; ++i) {
    if (support[i]) rows.push_back(i);
  }
  return rows;
}

at::Tensor DualCoefficients(const OneVsOne& ovo, const std::vector<int64_t>& rows) {
  std::vector<int64_t> position(ovo.num_rows, -1);
  for (size_t i = 0; i < rows.size(); ++i) position[rows[i]] = i;
  const int64_t num_pairs = static_cast<int64_t>(ovo.pairs.size());
  at::Tensor coef = at::zeros({static_cast<int64_t>(rows.size()), num_pairs}, at::kDouble);
  double* c = coef.data_ptr<double>();
  for (int64_t p = 0; p < num_pairs; ++p) {
    const OneVsOne::Pair& pair = ovo.pairs[p];
    for (size_t i = 0; i < pair.rows.size(); ++i) {
      if (pair.alpha[i] == 0) continue;
      const double y = static_cast<int64_t>(i) < pair.num_a ? 1.0 : -1.0;
      c[position[pair.rows[i]] * num_pairs + p] = y * pair.alpha[i];
    }
  }
  return coef;
}

at::Tensor Rhos(const OneVsOne& ovo) {
  at::Tensor rho = at::empty({static_cast<int64_t>(ovo.pairs.size())}, at::kDouble);
  for (size_t p = 0; p < ovo.pairs.size(); ++p) rho[p] = ovo.pairs[p].rho;
  return rho;
}

at::Tensor PairDecisions(const at::Tensor& cross_kernel, const at::Tensor& dual_coef,
                         const at::Tensor& rho) {
  // In the kernel's precision: float32 sums over the support vectors are accurate to ~1e-6 of
  // the decision values' scale, and twice as fast as float64.
  const at::Tensor coef = dual_coef.to(cross_kernel.device(), cross_kernel.scalar_type());
  return at::mm(cross_kernel, coef).to(at::kDouble).sub_(rho.to(cross_kernel.device()));
}

at::Tensor VoteClasses(const at::Tensor& decisions, int64_t num_classes) {
  const at::Tensor dec = decisions.to(at::kCPU).contiguous();
  const int64_t m = dec.size(0), num_pairs = dec.size(1);
  const double* d = dec.data_ptr<double>();
  at::Tensor predicted = at::empty({m}, at::kLong);
  int64_t* out = predicted.data_ptr<int64_t>();
  std::vector<int64_t> votes(num_classes);
  for (int64_t i = 0; i < m; ++i) {
    std::fill(votes.begin(), votes.end(), 0);
    int64_t p = 0;
    for (int64_t a = 0; a < num_classes; ++a) {
      for (int64_t b = a + 1; b < num_classes; ++b, ++p) ++votes[d[i * num_pairs + p] > 0 ? a : b];
    }
    // The first class with the most votes, as libsvm's svm_predict_values.
    out[i] = std::max_element(votes.begin(), votes.end()) - votes.begin();
  }
  return predicted;
}

}  // namespace fauna
