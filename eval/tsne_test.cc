#include "eval/tsne.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "data/features_file.h"
#include "eval/trustworthiness.h"

namespace fauna {
namespace {

// Well-separated Gaussian blobs: `centres` centres spread over [-10, 10]^d, unit spread.
at::Tensor Blobs(int64_t n, int64_t d, int64_t centres, uint64_t seed) {
  at::manual_seed(seed);
  const at::Tensor c = at::rand({centres, d}, at::kDouble) * 20 - 10;
  const at::Tensor label = at::arange(n, at::kLong).remainder(centres);
  return c.index_select(0, label) + at::randn({n, d}, at::kDouble);
}

double Entropy(const at::Tensor& row) {
  const at::Tensor p = row.masked_select(row > 0);
  return -(p * p.log()).sum().item<double>();
}

TEST(TsneAffinities, EachRowHasThePerplexity) {
  const at::Tensor x = Blobs(60, 5, 3, 1);
  const at::Tensor d = (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(-1);
  // Rows of 20 candidates (the neighbour case) and the full square with its diagonal left out.
  absl::StatusOr<at::Tensor> part = ConditionalProbabilities(d.slice(1, 0, 20), 5, false);
  absl::StatusOr<at::Tensor> full = ConditionalProbabilities(d, 7.5, true);
  ASSERT_TRUE(part.ok() && full.ok());
  for (int64_t i = 0; i < 60; ++i) {
    EXPECT_NEAR((*part)[i].sum().item<double>(), 1, 1e-12);
    EXPECT_NEAR(Entropy((*part)[i]), std::log(5.0), 1e-5);
    EXPECT_NEAR((*full)[i].sum().item<double>(), 1, 1e-12);
    EXPECT_NEAR(Entropy((*full)[i]), std::log(7.5), 1e-5);
    EXPECT_EQ((*full)[i][i].item<double>(), 0);
  }
  EXPECT_FALSE(ConditionalProbabilities(d, 0, true).ok());
  EXPECT_FALSE(ConditionalProbabilities(d.slice(1, 0, 20), 5, true).ok());  // not square
}

TEST(TsneAffinities, ExactIsSymmetricAndSumsToOne) {
  absl::StatusOr<at::Tensor> p = ExactAffinities(Blobs(50, 4, 2, 2), 10);
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_TRUE(p->equal(p->t()));
  EXPECT_NEAR(p->sum().item<double>(), 1, 1e-9);
  EXPECT_TRUE(p->diagonal().eq(0).all().item<bool>());
  EXPECT_GE(p->fill_diagonal_(1).min().item<double>(), std::numeric_limits<double>::epsilon());
}

// The sparse P as a dense matrix.
at::Tensor Dense(const SparseAffinities& p) {
  at::Tensor dense = at::zeros({p.n, p.n}, at::kDouble);
  for (int64_t i = 0; i < p.n; ++i) {
    for (int64_t e = p.row_start[i]; e < p.row_start[i + 1]; ++e) {
      dense[i][p.columns[e]] = p.values[e];
    }
  }
  return dense;
}

TEST(TsneAffinities, NeighbourPIsSymmetricAndWithEveryNeighbourTheExactP) {
  const at::Tensor x = Blobs(40, 6, 3, 3);
  // floor(3 * 13 + 1) = 40 > N - 1: every other point is a neighbour.
  absl::StatusOr<SparseAffinities> all = NeighbourAffinities(x, 13);
  absl::StatusOr<at::Tensor> exact = ExactAffinities(x, 13);
  ASSERT_TRUE(all.ok() && exact.ok());
  EXPECT_EQ(all->columns.size(), 40u * 39u);
  EXPECT_TRUE(at::allclose(Dense(*all), *exact, 1e-9, 1e-15));

  absl::StatusOr<SparseAffinities> few = NeighbourAffinities(Blobs(200, 6, 4, 4), 3);
  ASSERT_TRUE(few.ok()) << few.status();
  const at::Tensor dense = Dense(*few);
  EXPECT_TRUE(dense.equal(dense.t()));
  EXPECT_NEAR(dense.sum().item<double>(), 1, 1e-12);
  for (int64_t i = 0; i < 200; ++i) {
    EXPECT_GE(few->row_start[i + 1] - few->row_start[i], 10);  // floor(3 * 3 + 1)
    for (int64_t e = few->row_start[i] + 1; e < few->row_start[i + 1]; ++e) {
      EXPECT_LT(few->columns[e - 1], few->columns[e]);
    }
  }
}

struct GradientCase {
  int64_t dims;
  double dof;
};

TEST(TsneGradient, ExactMatchesFiniteDifferences) {
  const at::Tensor p = *ExactAffinities(Blobs(25, 5, 3, 5), 6);
  for (const GradientCase& c :
       {GradientCase{2, 1}, GradientCase{3, 2}, GradientCase{3, 1}, GradientCase{2, 0.7}}) {
    at::manual_seed(6);
    const at::Tensor y = at::randn({25, c.dims}, at::kDouble) * 2;
    at::Tensor grad;
    ExactKlGradient(p, y, TsneKernel{c.dof, false}, /*exaggeration=*/1, /*compute_error=*/true,
                    &grad);
    at::Tensor unused;
    constexpr double kStep = 1e-6;
    for (int64_t i : {0, 7, 24}) {
      for (int64_t k = 0; k < c.dims; ++k) {
        at::Tensor plus = y.clone(), minus = y.clone();
        plus[i][k] += kStep;
        minus[i][k] -= kStep;
        const double numeric =
            (ExactKlGradient(p, plus, TsneKernel{c.dof, false}, 1, true, &unused) -
             ExactKlGradient(p, minus, TsneKernel{c.dof, false}, 1, true, &unused)) /
            (2 * kStep);
        EXPECT_NEAR(grad[i][k].item<double>(), numeric, 1e-6 * (1 + std::fabs(numeric)))
            << "dims " << c.dims << ", dof " << c.dof << ", point " << i << ", axis " << k;
      }
    }
  }
}

TEST(TsneGradient, LoopsAndTensorOperationsAgree) {
  const at::Tensor p = *ExactAffinities(Blobs(60, 5, 3, 7), 10);
  for (const GradientCase& c : {GradientCase{2, 1}, GradientCase{3, 2}}) {
    const at::Tensor y = at::randn({60, c.dims}, at::kDouble) * 5;
    at::Tensor loops, tensors;
    const double a = ExactKlGradient(p, y, TsneKernel{c.dof, false}, 12, true, &loops);
    const double b = ExactKlGradientTensors(p, y, TsneKernel{c.dof, false}, 12, true, &tensors);
    EXPECT_NEAR(a, b, 1e-12 * std::fabs(b));
    EXPECT_TRUE(at::allclose(loops, tensors, 1e-10, 1e-15));
    EXPECT_TRUE(std::isnan(
        ExactKlGradient(p, y, TsneKernel{c.dof, false}, 12, /*compute_error=*/false, &loops)));
  }
}

TEST(TsneGradient, SameForAnyThreadCount) {
  // Large enough for both methods to split their loops over two threads.
  const at::Tensor x = Blobs(2500, 6, 3, 14);
  const at::Tensor dense = *ExactAffinities(x.slice(0, 0, 600), 20);
  const SparseAffinities sparse = *NeighbourAffinities(x, 20);
  const at::Tensor y = at::randn({2500, 3}, at::kDouble) * 4;
  const at::Tensor y_exact = y.slice(0, 0, 600).contiguous();
  const int threads = at::get_num_threads();
  std::vector<at::Tensor> exact(2), tree(2);
  std::vector<double> kl_exact(2), kl_tree(2);
  for (int t = 0; t < 2; ++t) {
    at::set_num_threads(t + 1);
    kl_exact[t] = ExactKlGradient(dense, y_exact, TsneKernel{2, false}, 12, true, &exact[t]);
    kl_tree[t] = BarnesHutKlGradient(sparse, y, 0.5, TsneKernel{2, false}, 12, true, &tree[t]);
  }
  at::set_num_threads(threads);
  EXPECT_TRUE(exact[0].equal(exact[1])) << (exact[0] - exact[1]).abs().max();
  EXPECT_TRUE(tree[0].equal(tree[1])) << (tree[0] - tree[1]).abs().max();
  EXPECT_EQ(kl_exact[0], kl_exact[1]);
  EXPECT_EQ(kl_tree[0], kl_tree[1]);
}

TEST(TsneGradient, BarnesHutWithThetaZeroIsExact) {
  const at::Tensor x = Blobs(40, 6, 3, 8);
  const SparseAffinities sparse = *NeighbourAffinities(x, 13);  // every pair
  const at::Tensor dense = *ExactAffinities(x, 13);
  for (const GradientCase& c : {GradientCase{2, 1}, GradientCase{3, 2}, GradientCase{3, 1}}) {
    at::Tensor y = at::randn({40, c.dims}, at::kDouble) * 3;
    y[5] = y[9];  // two points at one place
    at::Tensor tree, exact;
    const double kl_tree =
        BarnesHutKlGradient(sparse, y, /*theta=*/0, TsneKernel{c.dof, false}, 4, true, &tree);
    const double kl_exact = ExactKlGradient(dense, y, TsneKernel{c.dof, false}, 4, true, &exact);
    EXPECT_NEAR(kl_tree, kl_exact, 1e-10 * kl_exact) << c.dims << " " << c.dof;
    EXPECT_TRUE(at::allclose(tree, exact, 1e-9, 1e-14)) << (tree - exact).abs().max();
  }
}

TEST(TsneGradient, BarnesHutApproximatesTheExactGradient) {
  // An embedding like a converged one: 6 clusters of 100 points, spread 2, centres 30 apart.
  const at::Tensor x = Blobs(600, 8, 6, 9);
  const SparseAffinities sparse = *NeighbourAffinities(x, 200);  // every pair
  for (int64_t dims : {2, 3}) {
    const at::Tensor y = Blobs(600, dims, 6, 10) * 2;
    at::Tensor exact, tree;
    BarnesHutKlGradient(sparse, y, 0, TsneKernel{dims - 1.0, false}, 1, false, &exact);
    const double kl_exact =
        BarnesHutKlGradient(sparse, y, 0, TsneKernel{dims - 1.0, false}, 1, true, &exact);
    const double kl_tree =
        BarnesHutKlGradient(sparse, y, 0.5, TsneKernel{dims - 1.0, false}, 1, true, &tree);
    const double error = ((tree - exact).norm() / exact.norm()).item<double>();
    EXPECT_LT(error, 0.02) << dims;
    EXPECT_GT(error, 0) << dims;  // theta = 0.5 does summarise cells
    EXPECT_NEAR(kl_tree, kl_exact, 0.01 * kl_exact) << dims;
  }
}

TEST(Tsne, SeparatesBlobsAndIsReproducible) {
  const at::Tensor x = Blobs(240, 10, 4, 11);
  for (TsneMethod method : {TsneMethod::kExact, TsneMethod::kBarnesHut}) {
    TsneOptions options;
    options.method = method;
    options.perplexity = 20;
    options.n_iter = 500;
    absl::StatusOr<TsneResult> a = RunTsne(x, options);
    ASSERT_TRUE(a.ok()) << a.status();
    EXPECT_EQ(a->method, method);
    EXPECT_EQ(a->embedding.sizes(), (std::vector<int64_t>{240, 2}));
    EXPECT_EQ(a->iterations, 500);
    EXPECT_EQ(a->checks.size(), 10u);
    EXPECT_DOUBLE_EQ(a->learning_rate, 50);  // max(240 / 12 / 4, 50)
    EXPECT_GT(*Trustworthiness(x, a->embedding), 0.95);
    // Same input, same options: the same embedding.
    absl::StatusOr<TsneResult> b = RunTsne(x, options);
    ASSERT_TRUE(b.ok()) << b.status();
    EXPECT_TRUE(a->embedding.equal(b->embedding)) << TsneMethodName(method);
    EXPECT_EQ(a->kl_divergence, b->kl_divergence);
    // Another seed matters only for a random start.
    options.seed = 1;
    EXPECT_TRUE(RunTsne(x, options)->embedding.equal(a->embedding));
    options.init = TsneInit::kRandom;
    const at::Tensor r1 = RunTsne(x, options)->embedding;
    EXPECT_FALSE(r1.equal(a->embedding));
    EXPECT_TRUE(RunTsne(x, options)->embedding.equal(r1));
    options.seed = 2;
    EXPECT_FALSE(RunTsne(x, options)->embedding.equal(r1));
  }
}

TEST(Tsne, AutoPicksTheMethodBySize) {
  TsneOptions options;
  options.n_iter = 1;
  options.exaggeration_iter = 1;
  options.perplexity = 5;
  EXPECT_EQ(RunTsne(Blobs(50, 3, 2, 12), options)->method, TsneMethod::kExact);
  EXPECT_EQ(RunTsne(Blobs(kTsneExactMaxPoints + 1, 3, 2, 12), options)->method,
            TsneMethod::kBarnesHut);
}

TEST(Tsne, LearningRateAutoIsScikitLearns) {
  TsneOptions options;
  options.n_iter = 1;
  options.exaggeration_iter = 1;
  options.perplexity = 5;
  options.early_exaggeration = 4;
  EXPECT_DOUBLE_EQ(RunTsne(Blobs(3000, 3, 2, 15), options)->learning_rate, 3000.0 / 4 / 4);
  EXPECT_DOUBLE_EQ(RunTsne(Blobs(600, 3, 2, 15), options)->learning_rate, 50);  // at least 50
  options.learning_rate = 7;
  EXPECT_DOUBLE_EQ(RunTsne(Blobs(600, 3, 2, 15), options)->learning_rate, 7);
}

TEST(Tsne, RefusesBadInput) {
  const at::Tensor x = Blobs(20, 3, 2, 13);
  at::Tensor nan = x.clone();
  nan[4][1] = NAN;
  struct Case {
    at::Tensor data;
    std::function<void(TsneOptions&)> change;
    const char* message;
  };
  const auto keep = [](TsneOptions&) {};
  const std::vector<Case> cases = {
      {x, [](TsneOptions& o) { o.dims = 4; }, "dims must be 2 or 3"},
      {x, [](TsneOptions& o) { o.dims = 1; }, "dims must be 2 or 3"},
      {x, [](TsneOptions& o) { o.perplexity = 20; }, "less than the 20 points"},
      {x, [](TsneOptions& o) { o.perplexity = 0; }, "must be positive"},
      {x, [](TsneOptions& o) { o.theta = -1; }, "theta"},
      {x, [](TsneOptions& o) { o.n_iter = 0; }, "n_iter"},
      {x, [](TsneOptions& o) { o.n_iter = 100; }, "exaggeration_iter 250"},
      {x, [](TsneOptions& o) { o.early_exaggeration = 0.5; }, "early_exaggeration"},
      {x, [](TsneOptions& o) { o.learning_rate = NAN; }, "finite"},
      {x.slice(0, 0, 1), [](TsneOptions& o) { o.perplexity = 0.5; }, "at least 2 points"},
      {x.select(1, 0), keep, "2-D float matrix"},
      {nan, keep, "NaN or infinite"},
      {at::ones({20, 3}, at::kDouble), keep, "every point is the same"},
      {at::zeros({kTsneExactLimit + 1, 1}), [](TsneOptions& o) { o.method = TsneMethod::kExact; },
       "the exact method takes at most 10000 points"},
  };
  for (const Case& c : cases) {
    TsneOptions options;
    options.perplexity = 5;
    c.change(options);
    absl::StatusOr<TsneResult> result = RunTsne(c.data, options);
    ASSERT_FALSE(result.ok()) << c.message;
    EXPECT_NE(result.status().message().find(c.message), std::string::npos) << result.status();
  }
}

// ---- Against scikit-learn: eval/testdata/tsne_oracle.json, measured by
// eval/testdata/measure_tsne_oracle.py, holds scikit-learn's and fauna's KL divergence and
// trustworthiness on eval/testdata/tsne_blobs.safetensors over seeds, and the bounds derived from
// their spread (its "rules" say how). ----

class TsneOracleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::ifstream file("eval/testdata/tsne_oracle.json");
    ASSERT_TRUE(file.good());
    oracle_ = new nlohmann::json(nlohmann::json::parse(file));
    absl::StatusOr<FeatureSet> set = ReadFeatureSet("eval/testdata/tsne_blobs.safetensors");
    ASSERT_TRUE(set.ok()) << set.status();
    x_ = new at::Tensor(set->features.to(at::kDouble));
    runs_ = new std::map<std::string, std::pair<double, double>>;
  }
  static void TearDownTestSuite() {
    delete oracle_;
    delete x_;
    delete runs_;
  }

  // KL divergence and trustworthiness of fauna's t-SNE of the fixture (each setting run once).
  static std::pair<double, double> Run(int64_t dims, TsneMethod method, TsneInit init,
                                       bool sklearn_gradient = false) {
    const std::string key = std::to_string(dims) + TsneMethodName(method) + TsneInitName(init) +
                            (sklearn_gradient ? "sklearn" : "");
    if (runs_->count(key) == 0) {
      TsneOptions options;
      options.dims = dims;
      options.method = method;
      options.init = init;
      options.sklearn_gradient = sklearn_gradient;
      options.perplexity = (*oracle_)["perplexity"].get<double>();
      absl::StatusOr<TsneResult> result = RunTsne(*x_, options);
      EXPECT_TRUE(result.ok()) << result.status();
      if (!result.ok()) return {NAN, NAN};
      (*runs_)[key] = {result->kl_divergence, *Trustworthiness(*x_, result->embedding)};
    }
    return (*runs_)[key];
  }

  static void ExpectWithin(const nlohmann::json& bounds, std::pair<double, double> run,
                           const std::string& what) {
    EXPECT_GE(run.first, bounds["kl_min"].get<double>()) << what;
    EXPECT_LE(run.first, bounds["kl_max"].get<double>()) << what;
    EXPECT_GE(run.second, bounds["trustworthiness_min"].get<double>()) << what;
  }

  static const nlohmann::json& Case(int64_t dims, TsneMethod method) {
    return (*oracle_)["cases"][std::to_string(dims) + "d_" + TsneMethodName(method)];
  }

  static nlohmann::json* oracle_;
  static at::Tensor* x_;
  static std::map<std::string, std::pair<double, double>>* runs_;
};

nlohmann::json* TsneOracleTest::oracle_ = nullptr;
at::Tensor* TsneOracleTest::x_ = nullptr;
std::map<std::string, std::pair<double, double>>* TsneOracleTest::runs_ = nullptr;

TEST_F(TsneOracleTest, TwoDimensionsAsScikitLearn) {
  ExpectWithin(Case(2, TsneMethod::kExact)["bounds"], Run(2, TsneMethod::kExact, TsneInit::kPca),
               "2-D exact");
  for (TsneInit init : {TsneInit::kPca, TsneInit::kRandom}) {
    ExpectWithin(Case(2, TsneMethod::kBarnesHut)["bounds"], Run(2, TsneMethod::kBarnesHut, init),
                 "2-D Barnes-Hut " + TsneInitName(init));
  }
}

TEST_F(TsneOracleTest, ThreeDimensionsWithScikitLearnsForcesAsScikitLearn) {
  for (TsneMethod method : {TsneMethod::kExact, TsneMethod::kBarnesHut}) {
    ExpectWithin(Case(3, method)["bounds_sklearn_gradient"],
                 Run(3, method, TsneInit::kPca, /*sklearn_gradient=*/true),
                 "3-D " + TsneMethodName(method) + ", scikit-learn's forces");
  }
}

TEST_F(TsneOracleTest, ThreeDimensionsWithTheKlGradient) {
  ExpectWithin(Case(3, TsneMethod::kExact)["bounds"], Run(3, TsneMethod::kExact, TsneInit::kPca),
               "3-D exact");
  for (TsneInit init : {TsneInit::kPca, TsneInit::kRandom}) {
    ExpectWithin(Case(3, TsneMethod::kBarnesHut)["bounds"], Run(3, TsneMethod::kBarnesHut, init),
                 "3-D Barnes-Hut " + TsneInitName(init));
  }
}

TEST_F(TsneOracleTest, ExactAndBarnesHutAgree) {
  for (int64_t dims : {2, 3}) {
    const double bound =
        (*oracle_)["exact_vs_barnes_hut_kl_difference"][std::to_string(dims) + "d"]["bound"]
            .get<double>();
    const double exact = Run(dims, TsneMethod::kExact, TsneInit::kPca).first;
    const double tree = Run(dims, TsneMethod::kBarnesHut, TsneInit::kPca).first;
    EXPECT_LE(std::fabs(exact - tree), bound) << dims << "-D: " << exact << " vs " << tree;
  }
}

}  // namespace
}  // namespace fauna
