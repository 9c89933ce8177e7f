// k-means against scikit-learn: oracles written at build time by
// models/heads/testdata/make_cluster_fixtures.py (see there for each case).
#include "models/heads/kmeans.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/test_tmp.h"

namespace fauna {
namespace {

const nlohmann::json& Fixtures() {
  static const nlohmann::json* fixtures = [] {
    std::ifstream in("models/heads/testdata/cluster_fixtures.json");
    EXPECT_TRUE(in.good()) << "missing models/heads/testdata/cluster_fixtures.json";
    return new nlohmann::json(nlohmann::json::parse(in));
  }();
  return *fixtures;
}

// A JSON matrix (list of rows) as a float64 tensor.
at::Tensor Matrix(const nlohmann::json& rows) {
  std::vector<double> values;
  for (const nlohmann::json& row : rows) {
    for (const nlohmann::json& v : row) values.push_back(v.get<double>());
  }
  const int64_t n = static_cast<int64_t>(rows.size());
  return at::tensor(values, at::kDouble).view({n, static_cast<int64_t>(values.size()) / n});
}

at::Tensor Labels(const nlohmann::json& list) {
  return at::tensor(list.get<std::vector<int64_t>>(), at::kLong);
}

// From the same starting centres, fauna's Lloyd iterations (plain with 5 features, with Hamerly's
// bounds with 40, and with an empty cluster moved) end where scikit-learn's do: same labels and
// iteration count, centres and inertia equal to float64 rounding.
TEST(KMeansTest, SameStartSameResultAsScikitLearn) {
  for (const nlohmann::json& c : Fixtures()["kmeans"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const at::Tensor x = Matrix(c["x"]);
    KMeansOptions options;
    options.init = Matrix(c["init"]);
    options.k = options.init.size(0);
    absl::StatusOr<KMeans> model = KMeans::Fit(x, options);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_TRUE(at::equal(model->labels(), Labels(c["labels"])));
    EXPECT_EQ(model->n_iter(), c["n_iter"].get<int64_t>());
    EXPECT_TRUE(model->converged());
    EXPECT_TRUE(at::allclose(model->centers(), Matrix(c["centers"]), 1e-9, 1e-9));
    const double inertia = c["inertia"].get<double>();
    EXPECT_NEAR(model->inertia(), inertia, 1e-9 * inertia);
  }
}

// In float32 (as features files hold) the labels still agree; centres to float precision.
TEST(KMeansTest, Float32AgreesWithScikitLearn) {
  for (const nlohmann::json& c : Fixtures()["kmeans"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    KMeansOptions options;
    options.init = Matrix(c["init"]).to(at::kFloat);
    options.k = options.init.size(0);
    absl::StatusOr<KMeans> model = KMeans::Fit(Matrix(c["x"]).to(at::kFloat), options);
    ASSERT_TRUE(model.ok()) << model.status();
    EXPECT_EQ(model->centers().scalar_type(), at::kFloat);
    EXPECT_TRUE(at::equal(model->labels(), Labels(c["labels"])));
    EXPECT_TRUE(at::allclose(model->centers().to(at::kDouble), Matrix(c["centers"]), 1e-4, 1e-3));
    const double inertia = c["inertia"].get<double>();
    EXPECT_NEAR(model->inertia(), inertia, 1e-5 * inertia);
  }
}

// Well separated blobs: k-means++ with 10 runs reaches scikit-learn's best.
TEST(KMeansTest, SeedingFindsTheSeparatedBlobs) {
  const nlohmann::json& c = Fixtures()["kmeans_best"];
  KMeansOptions options;
  options.k = c["k"].get<int64_t>();
  options.seed = 3;
  absl::StatusOr<KMeans> model = KMeans::Fit(Matrix(c["x"]), options);
  ASSERT_TRUE(model.ok()) << model.status();
  const double inertia = c["inertia"].get<double>();
  EXPECT_NEAR(model->inertia(), inertia, 1e-9 * inertia);
  // The same centres, in some order.
  const at::Tensor expected = Matrix(c["centers"]);
  for (int64_t j = 0; j < options.k; ++j) {
    const at::Tensor gap = model->centers().sub(expected[j]).norm(2, 1).min();
    EXPECT_LT(gap.item<double>(), 1e-9) << "centre " << j;
  }
  EXPECT_EQ(model->run_inertias().size(), 10u);
}

// Overlapping blobs, where single runs end in different local minima: over 40 seeds fauna's
// k-means++ does as well as scikit-learn's. scikit-learn's 40 inertias have a mean of 21,411 and
// a standard deviation of 462 (standard error of the mean 73, 0.34%); 2% is six standard errors.
TEST(KMeansTest, SeedingAsGoodAsScikitLearnOnAverage) {
  const nlohmann::json& c = Fixtures()["kmeans_seeding"];
  const std::vector<double> theirs = c["inertias"].get<std::vector<double>>();
  const at::Tensor x = Matrix(c["x"]);
  double ours = 0, theirs_mean = 0;
  for (size_t s = 0; s < theirs.size(); ++s) {
    KMeansOptions options;
    options.k = c["k"].get<int64_t>();
    options.n_init = 1;
    options.seed = s;
    absl::StatusOr<KMeans> model = KMeans::Fit(x, options);
    ASSERT_TRUE(model.ok()) << model.status();
    ours += model->inertia() / static_cast<double>(theirs.size());
    theirs_mean += theirs[s] / static_cast<double>(theirs.size());
  }
  EXPECT_LT(ours, theirs_mean * 1.02) << "scikit-learn's mean " << theirs_mean;
}

// Runs advance together but each draws only from its own generator: run 0 of ten is the run of
// one, and the same seed gives the same model.
TEST(KMeansTest, RunsAreIndependentOfBatchingAndSeeded) {
  const at::Tensor x = Matrix(Fixtures()["kmeans_seeding"]["x"]).to(at::kFloat);
  KMeansOptions options;
  options.k = 8;
  options.seed = 11;
  absl::StatusOr<KMeans> ten = KMeans::Fit(x, options);
  absl::StatusOr<KMeans> again = KMeans::Fit(x, options);
  options.n_init = 1;
  absl::StatusOr<KMeans> one = KMeans::Fit(x, options);
  ASSERT_TRUE(ten.ok() && again.ok() && one.ok());
  EXPECT_NEAR(ten->run_inertias()[0], one->inertia(), 1e-6 * one->inertia());
  EXPECT_EQ(ten->run_inertias(), again->run_inertias());
  EXPECT_TRUE(at::equal(ten->centers(), again->centers()));
  EXPECT_EQ(ten->inertia(),
            *std::min_element(ten->run_inertias().begin(), ten->run_inertias().end()));
  options.seed = 12;
  absl::StatusOr<KMeans> other = KMeans::Fit(x, options);
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->inertia(), one->inertia());
}

TEST(KMeansTest, PredictAndInertiaAgreeWithTheFit) {
  const at::Tensor x = Matrix(Fixtures()["kmeans"][1]["x"]).to(at::kFloat);
  KMeansOptions options;
  options.k = 6;
  absl::StatusOr<KMeans> model = KMeans::Fit(x, options);
  ASSERT_TRUE(model.ok());
  absl::StatusOr<at::Tensor> predicted = model->Predict(x);
  ASSERT_TRUE(predicted.ok());
  EXPECT_TRUE(at::equal(*predicted, model->labels()));
  absl::StatusOr<double> inertia = model->Inertia(x);
  ASSERT_TRUE(inertia.ok());
  EXPECT_NEAR(*inertia, model->inertia(), 1e-5 * model->inertia());
  // Exact: sum of squared distances to the assigned centres.
  const double exact = x.to(at::kDouble)
                           .sub(model->centers().to(at::kDouble).index_select(0, *predicted))
                           .pow(2)
                           .sum()
                           .item<double>();
  EXPECT_NEAR(model->inertia(), exact, 1e-5 * exact);
}

TEST(KMeansTest, OneClusterAndOneClusterPerPoint) {
  const at::Tensor x = Matrix(Fixtures()["kmeans"][0]["x"]).narrow(0, 0, 40);
  KMeansOptions options;
  options.k = 1;
  absl::StatusOr<KMeans> one = KMeans::Fit(x, options);
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_TRUE(at::allclose(one->centers()[0], x.mean(0)));
  EXPECT_EQ(one->labels().max().item<int64_t>(), 0);
  options.k = 40;
  absl::StatusOr<KMeans> all = KMeans::Fit(x, options);
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_NEAR(all->inertia(), 0.0, 1e-6);
  EXPECT_EQ(std::get<0>(at::_unique(all->labels())).size(0), 40);
}

TEST(KMeansTest, SaveAndLoad) {
  const at::Tensor x = Matrix(Fixtures()["kmeans"][0]["x"]).to(at::kFloat);
  KMeansOptions options;
  options.k = 4;
  absl::StatusOr<KMeans> model = KMeans::Fit(x, options);
  ASSERT_TRUE(model.ok());
  const std::string path = TestTempPath("kmeans.safetensors");
  ASSERT_TRUE(model->Save(path).ok());
  absl::StatusOr<KMeans> loaded = KMeans::Load(path);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_TRUE(at::equal(loaded->centers(), model->centers()));
  EXPECT_EQ(loaded->inertia(), model->inertia());
  EXPECT_EQ(loaded->n_iter(), model->n_iter());
  EXPECT_EQ(loaded->run_inertias(), model->run_inertias());
  EXPECT_TRUE(at::equal(*loaded->Predict(x), model->labels()));
  EXPECT_FALSE(KMeans::Load(TestTempPath("missing.safetensors")).ok());
}

TEST(KMeansTest, RefusesBadInput) {
  const at::Tensor x = at::randn({20, 3});
  KMeansOptions options;
  options.k = 0;
  EXPECT_FALSE(KMeans::Fit(x, options).ok());
  options.k = 21;
  EXPECT_FALSE(KMeans::Fit(x, options).ok());
  options.k = 3;
  options.n_init = 0;
  EXPECT_FALSE(KMeans::Fit(x, options).ok());
  options.n_init = 1;
  options.max_iter = 0;
  EXPECT_FALSE(KMeans::Fit(x, options).ok());
  options.max_iter = 10;
  options.tol = -1;
  EXPECT_FALSE(KMeans::Fit(x, options).ok());
  options.tol = 1e-4;
  options.init = at::zeros({2, 3});
  EXPECT_FALSE(KMeans::Fit(x, options).ok());
  options.init = at::full({3, 3}, NAN);
  EXPECT_FALSE(KMeans::Fit(x, options).ok());
  options.init = at::Tensor();
  at::Tensor bad = x.clone();
  bad[4][1] = NAN;
  EXPECT_FALSE(KMeans::Fit(bad, options).ok());
  EXPECT_FALSE(KMeans::Fit(at::zeros({0, 3}), options).ok());
  EXPECT_FALSE(KMeans::Fit(at::zeros({20}), options).ok());
  EXPECT_FALSE(KMeans::Fit(at::zeros({20, 3}, at::kLong), options).ok());
  absl::StatusOr<KMeans> model = KMeans::Fit(x, options);
  ASSERT_TRUE(model.ok());
  EXPECT_FALSE(model->Predict(at::randn({5, 4})).ok());
  EXPECT_FALSE(model->Inertia(at::randn({5, 4})).ok());
  EXPECT_FALSE(KMeans::FromCenters(at::zeros({0, 3})).ok());
}

}  // namespace
}  // namespace fauna
