// Gaussian mixtures against scikit-learn: oracles written at build time by
// models/heads/testdata/make_cluster_fixtures.py. From scikit-learn's own k-means labels, EM must
// follow the same path: both run in float64, so parameters agree to about 1e-12; 1e-8 leaves room
// for summation order over a dozen iterations.
#include "models/heads/gmm.h"

#include <cmath>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/test_tmp.h"

namespace fauna {
namespace {

constexpr double kTolerance = 1e-8;

const nlohmann::json& Fixtures() {
  static const nlohmann::json* fixtures = [] {
    std::ifstream in("models/heads/testdata/cluster_fixtures.json");
    EXPECT_TRUE(in.good()) << "missing models/heads/testdata/cluster_fixtures.json";
    return new nlohmann::json(nlohmann::json::parse(in));
  }();
  return *fixtures;
}

// A JSON array of any depth as a float64 tensor of its shape.
at::Tensor Array(const nlohmann::json& json) {
  std::vector<int64_t> shape;
  for (const nlohmann::json* level = &json; level->is_array(); level = &(*level)[0]) {
    shape.push_back(static_cast<int64_t>(level->size()));
  }
  std::vector<double> values;
  // Depth-first, in order.
  std::function<void(const nlohmann::json&)> flatten = [&](const nlohmann::json& j) {
    if (j.is_array()) {
      for (const nlohmann::json& item : j) flatten(item);
    } else {
      values.push_back(j.get<double>());
    }
  };
  flatten(json);
  return at::tensor(values, at::kDouble).view(shape);
}

GmmOptions OptionsFor(const nlohmann::json& c) {
  GmmOptions options;
  options.k = c["k"].get<int64_t>();
  options.covariance_type = *ParseCovarianceType(c["covariance_type"].get<std::string>());
  options.init_labels = at::tensor(c["init_labels"].get<std::vector<int64_t>>(), at::kLong);
  return options;
}

void ExpectClose(const at::Tensor& actual, const at::Tensor& expected, const char* what) {
  ASSERT_EQ(actual.sizes(), expected.sizes()) << what;
  const double error = actual.sub(expected).abs().max().item<double>();
  const double scale = 1 + expected.abs().max().item<double>();
  EXPECT_LT(error, kTolerance * scale) << what;
}

TEST(GmmTest, SameStartSameResultAsScikitLearn) {
  for (const nlohmann::json& c : Fixtures()["gmm"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const at::Tensor x = Array(c["x"]);
    absl::StatusOr<GaussianMixture> model = GaussianMixture::Fit(x, OptionsFor(c));
    ASSERT_TRUE(model.ok()) << model.status();
    ExpectClose(model->weights(), Array(c["weights"]), "weights");
    ExpectClose(model->means(), Array(c["means"]), "means");
    ExpectClose(model->covariances(), Array(c["covariances"]), "covariances");
    EXPECT_NEAR(model->lower_bound(), c["lower_bound"].get<double>(), kTolerance);
    EXPECT_EQ(model->n_iter(), c["n_iter"].get<int64_t>());
    EXPECT_EQ(model->converged(), c["converged"].get<bool>());
    absl::StatusOr<double> score = model->Score(x);
    ASSERT_TRUE(score.ok());
    EXPECT_NEAR(*score, c["score"].get<double>(), kTolerance);
    absl::StatusOr<double> bic = model->Bic(x);
    ASSERT_TRUE(bic.ok());
    EXPECT_NEAR(*bic, c["bic"].get<double>(), kTolerance * std::abs(*bic));
    absl::StatusOr<at::Tensor> proba = model->PredictProba(x);
    ASSERT_TRUE(proba.ok());
    ExpectClose(*proba, Array(c["proba"]), "predict_proba");
    const at::Tensor expected = at::tensor(c["predict"].get<std::vector<int64_t>>(), at::kLong);
    EXPECT_TRUE(at::equal(*model->Predict(x), expected));
    EXPECT_TRUE(at::equal(model->labels(), expected));
  }
}

// float32 points (features files) are fit in float64: the same result to float precision.
TEST(GmmTest, Float32PointsGiveTheSameMixture) {
  const nlohmann::json& c = Fixtures()["gmm"][0];
  absl::StatusOr<GaussianMixture> model =
      GaussianMixture::Fit(Array(c["x"]).to(at::kFloat), OptionsFor(c));
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->means().scalar_type(), at::kDouble);
  EXPECT_TRUE(at::allclose(model->means(), Array(c["means"]), 1e-5, 1e-5));
  EXPECT_NEAR(model->lower_bound(), c["lower_bound"].get<double>(), 1e-5);
}

// With its own k-means start, restarts keep the best lower bound, and the same seed repeats.
TEST(GmmTest, KMeansStartRestartsAndSeed) {
  const nlohmann::json& c = Fixtures()["gmm"][3];
  const at::Tensor x = Array(c["x"]);
  GmmOptions options;
  options.k = 5;
  options.covariance_type = CovarianceType::kFull;
  options.seed = 1;
  std::vector<double> single;
  for (int64_t restart = 0; restart < 4; ++restart) {
    options.seed = restart;
    absl::StatusOr<GaussianMixture> model = GaussianMixture::Fit(x, options);
    ASSERT_TRUE(model.ok()) << model.status();
    single.push_back(model->lower_bound());
  }
  options.seed = 1;
  options.n_init = 4;
  absl::StatusOr<GaussianMixture> best = GaussianMixture::Fit(x, options);
  absl::StatusOr<GaussianMixture> again = GaussianMixture::Fit(x, options);
  ASSERT_TRUE(best.ok() && again.ok());
  EXPECT_EQ(best->lower_bound(), again->lower_bound());
  EXPECT_TRUE(at::equal(best->means(), again->means()));
  // Not below a single fit from seed 1's first restart.
  options.n_init = 1;
  absl::StatusOr<GaussianMixture> first = GaussianMixture::Fit(x, options);
  ASSERT_TRUE(first.ok());
  EXPECT_GE(best->lower_bound(), first->lower_bound());
  EXPECT_GT(best->lower_bound(), -7.0);
}

TEST(GmmTest, ProbabilitiesAndParameterCount) {
  const nlohmann::json& c = Fixtures()["gmm"][0];
  const at::Tensor x = Array(c["x"]);
  absl::StatusOr<GaussianMixture> diag = GaussianMixture::Fit(x, OptionsFor(c));
  ASSERT_TRUE(diag.ok());
  EXPECT_EQ(diag->NumParameters(), 3 * 4 + 3 * 4 + 2);
  const at::Tensor proba = *diag->PredictProba(x);
  EXPECT_TRUE(at::allclose(proba.sum(1), at::ones({x.size(0)}, at::kDouble)));
  EXPECT_TRUE(
      at::allclose(diag->ScoreSamples(x)->mean(), at::scalar_tensor(*diag->Score(x), at::kDouble)));
  const nlohmann::json& f = Fixtures()["gmm"][1];
  absl::StatusOr<GaussianMixture> full = GaussianMixture::Fit(x, OptionsFor(f));
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(full->NumParameters(), 3 * 10 + 3 * 4 + 2);
  // P P^T is the precision: the inverse covariance.
  const at::Tensor p = full->precisions_cholesky();
  EXPECT_TRUE(at::allclose(p.matmul(p.transpose(1, 2)).matmul(full->covariances()),
                           at::eye(4, at::kDouble).expand({3, 4, 4}), 1e-9, 1e-9));
}

TEST(GmmTest, SaveAndLoad) {
  for (int index : {0, 1}) {
    const nlohmann::json& c = Fixtures()["gmm"][index];
    const at::Tensor x = Array(c["x"]);
    absl::StatusOr<GaussianMixture> model = GaussianMixture::Fit(x, OptionsFor(c));
    ASSERT_TRUE(model.ok());
    const std::string path = TestTempPath("gmm.safetensors");
    ASSERT_TRUE(model->Save(path).ok());
    absl::StatusOr<GaussianMixture> loaded = GaussianMixture::Load(path);
    ASSERT_TRUE(loaded.ok()) << loaded.status();
    EXPECT_EQ(loaded->covariance_type(), model->covariance_type());
    EXPECT_TRUE(at::equal(loaded->means(), model->means()));
    EXPECT_NEAR(*loaded->Score(x), *model->Score(x), 1e-12);
    EXPECT_EQ(loaded->lower_bound(), model->lower_bound());
  }
  EXPECT_FALSE(GaussianMixture::Load(TestTempPath("missing.safetensors")).ok());
}

TEST(GmmTest, CollapsedComponentIsAnError) {
  // Two distinct points, three components, no regularisation: a component has no variance.
  const at::Tensor x = at::tensor({0.0, 0.0, 0.0, 1.0, 1.0, 1.0}, at::kDouble).view({6, 1});
  GmmOptions options;
  options.k = 3;
  options.reg_covar = 0;
  options.covariance_type = CovarianceType::kDiag;
  options.init_labels = at::tensor({0, 0, 1, 1, 2, 2}, at::kLong);
  absl::StatusOr<GaussianMixture> model = GaussianMixture::Fit(x, options);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), absl::StatusCode::kFailedPrecondition);
  options.covariance_type = CovarianceType::kFull;
  EXPECT_EQ(GaussianMixture::Fit(x, options).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(GmmTest, RefusesBadInput) {
  const at::Tensor x = at::randn({30, 2}, at::kDouble);
  GmmOptions options;
  options.k = 0;
  EXPECT_FALSE(GaussianMixture::Fit(x, options).ok());
  options.k = 31;
  EXPECT_FALSE(GaussianMixture::Fit(x, options).ok());
  options.k = 2;
  options.n_init = 0;
  EXPECT_FALSE(GaussianMixture::Fit(x, options).ok());
  options.n_init = 1;
  options.max_iter = 0;
  EXPECT_FALSE(GaussianMixture::Fit(x, options).ok());
  options.max_iter = 100;
  options.tol = -1;
  EXPECT_FALSE(GaussianMixture::Fit(x, options).ok());
  options.tol = 1e-3;
  options.reg_covar = -1;
  EXPECT_FALSE(GaussianMixture::Fit(x, options).ok());
  options.reg_covar = 1e-6;
  options.init_labels = at::zeros({29}, at::kLong);
  EXPECT_FALSE(GaussianMixture::Fit(x, options).ok());
  options.init_labels = at::full({30}, 2, at::kLong);
  EXPECT_FALSE(GaussianMixture::Fit(x, options).ok());
  options.init_labels = at::Tensor();
  at::Tensor bad = x.clone();
  bad[3][0] = INFINITY;
  EXPECT_FALSE(GaussianMixture::Fit(bad, options).ok());
  EXPECT_FALSE(GaussianMixture::Fit(x.narrow(0, 0, 1), options).ok());
  EXPECT_FALSE(GaussianMixture::Fit(at::zeros({30}), options).ok());
  EXPECT_FALSE(ParseCovarianceType("spherical").ok());
  absl::StatusOr<GaussianMixture> model = GaussianMixture::Fit(x, options);
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_FALSE(model->Score(at::randn({4, 3})).ok());
  EXPECT_FALSE(model->Predict(at::randn({4, 3})).ok());
}

}  // namespace
}  // namespace fauna
