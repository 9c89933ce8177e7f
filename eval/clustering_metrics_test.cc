// Clustering metrics against scikit-learn and scipy: the oracle file is written at build time by
// eval/testdata/make_clustering_metrics_fixtures.py (degenerate labelings, non-contiguous ids,
// more or fewer clusters than classes, 40 random labelings, 33 assignment problems, ties included).
#include "eval/clustering_metrics.h"

#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fauna {
namespace {

// scikit-learn's own floating-point results are the reference; the formulas are the same, so only
// summation order differs (a few ulps).
constexpr double kTolerance = 1e-9;

nlohmann::json Fixtures() {
  std::ifstream in("eval/testdata/clustering_metrics_fixtures.json");
  EXPECT_TRUE(in.good()) << "missing eval/testdata/clustering_metrics_fixtures.json";
  return nlohmann::json::parse(in);
}

TEST(ClusteringMetricsTest, ScoresEqualScikitLearn) {
  const nlohmann::json fixtures = Fixtures();
  ASSERT_GE(fixtures["scores"].size(), 50u);
  for (const nlohmann::json& c : fixtures["scores"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const auto labels_true = c["labels_true"].get<std::vector<int64_t>>();
    const auto labels_pred = c["labels_pred"].get<std::vector<int64_t>>();
    absl::StatusOr<ClusterScores> scores = ScoreClustering(labels_true, labels_pred);
    ASSERT_TRUE(scores.ok()) << scores.status();
    EXPECT_NEAR(scores->accuracy, c["accuracy"].get<double>(), kTolerance);
    EXPECT_NEAR(scores->nmi, c["nmi"].get<double>(), kTolerance);
    EXPECT_NEAR(scores->ari, c["ari"].get<double>(), kTolerance);
    std::map<int64_t, int64_t> expected;
    for (const nlohmann::json& pair : c["matching"]) {
      expected[pair[0].get<int64_t>()] = pair[1].get<int64_t>();
    }
    EXPECT_EQ(scores->cluster_to_class, expected);
  }
}

TEST(ClusteringMetricsTest, TensorInputGivesTheSameScores) {
  const nlohmann::json fixtures = Fixtures();
  for (const nlohmann::json& c : fixtures["scores"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    auto labels_true = c["labels_true"].get<std::vector<int64_t>>();
    auto labels_pred = c["labels_pred"].get<std::vector<int64_t>>();
    const int64_t n = static_cast<int64_t>(labels_true.size());
    // int32 predictions: any integer dtype is taken.
    at::Tensor t = at::from_blob(labels_true.data(), {n}, at::kLong).clone();
    at::Tensor p = at::from_blob(labels_pred.data(), {n}, at::kLong).to(at::kInt);
    absl::StatusOr<ClusterScores> scores = ScoreClustering(t, p);
    ASSERT_TRUE(scores.ok()) << scores.status();
    EXPECT_NEAR(scores->accuracy, c["accuracy"].get<double>(), kTolerance);
    EXPECT_NEAR(scores->nmi, c["nmi"].get<double>(), kTolerance);
    EXPECT_NEAR(scores->ari, c["ari"].get<double>(), kTolerance);
  }
}

TEST(ClusteringMetricsTest, AssignmentEqualsScipy) {
  const nlohmann::json fixtures = Fixtures();
  ASSERT_GE(fixtures["assignment"].size(), 30u);
  for (const nlohmann::json& c : fixtures["assignment"]) {
    SCOPED_TRACE(c["name"].get<std::string>());
    const int64_t rows = c["rows"].get<int64_t>(), cols = c["cols"].get<int64_t>();
    const auto cost = c["cost"].get<std::vector<double>>();
    absl::StatusOr<std::vector<int64_t>> col_of_row =
        LinearSumAssignment(cost, rows, cols, c["maximize"].get<bool>());
    ASSERT_TRUE(col_of_row.ok()) << col_of_row.status();
    double total = 0;
    std::vector<int> used(static_cast<size_t>(cols), 0);
    int64_t matched = 0;
    for (int64_t r = 0; r < rows; ++r) {
      const int64_t col = (*col_of_row)[static_cast<size_t>(r)];
      if (col < 0) continue;
      ASSERT_LT(col, cols);
      EXPECT_EQ(used[static_cast<size_t>(col)]++, 0) << "column " << col << " used twice";
      total += cost[static_cast<size_t>(r * cols + col)];
      ++matched;
    }
    EXPECT_EQ(matched, std::min(rows, cols));
    EXPECT_NEAR(total, c["total"].get<double>(), 1e-9 * (1 + std::abs(total)));
    EXPECT_EQ(*col_of_row, c["col_of_row"].get<std::vector<int64_t>>());
  }
}

TEST(ClusteringMetricsTest, AssignmentDocExample) {
  absl::StatusOr<std::vector<int64_t>> job_of = LinearSumAssignment({4, 1, 6, 2, 0, 5}, 2, 3);
  ASSERT_TRUE(job_of.ok());
  EXPECT_EQ(*job_of, (std::vector<int64_t>{1, 0}));
  // Tall: the third row stays unmatched.
  job_of = LinearSumAssignment({1, 9, 9, 1, 5, 5}, 3, 2);
  ASSERT_TRUE(job_of.ok());
  EXPECT_EQ(*job_of, (std::vector<int64_t>{0, 1, -1}));
}

TEST(ClusteringMetricsTest, ContingencyTableCountsPairs) {
  absl::StatusOr<ContingencyTable> table = MakeContingencyTable({7, 7, -1, 7}, {2, 0, 2, 2});
  ASSERT_TRUE(table.ok());
  EXPECT_EQ(table->classes, (std::vector<int64_t>{-1, 7}));
  EXPECT_EQ(table->clusters, (std::vector<int64_t>{0, 2}));
  EXPECT_EQ(table->counts, (std::vector<int64_t>{0, 1, 1, 2}));
  EXPECT_EQ(table->total, 4);
}

TEST(ClusteringMetricsTest, AriExactForLargeCounts) {
  // 200,000 samples: pair products reach 1.6e21, past int64; one wrong sample in each cluster.
  const int64_t n = 200000;
  std::vector<int64_t> t(n), p(n);
  for (int64_t i = 0; i < n; ++i) {
    t[static_cast<size_t>(i)] = i % 2;
    p[static_cast<size_t>(i)] = i % 2;
  }
  p[0] = 1;
  p[1] = 0;
  absl::StatusOr<ClusterScores> scores = ScoreClustering(t, p);
  ASSERT_TRUE(scores.ok());
  // Closed form: two classes of n/2, each cluster holds n/2 - 1 of its class and 1 of the other.
  const double half = n / 2.0;
  const double sum_squares = 2 * ((half - 1) * (half - 1) + 1);
  const double tp = sum_squares - n, fp = 2 * half * half - sum_squares, fn = fp;
  const double tn = static_cast<double>(n) * n - fp - fn - sum_squares;
  const double expected = 2 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn));
  EXPECT_NEAR(scores->ari, expected, 1e-12);
  EXPECT_GT(scores->ari, 0.9999);
}

TEST(ClusteringMetricsTest, RefusesBadInput) {
  EXPECT_FALSE(ScoreClustering(std::vector<int64_t>{0, 1}, std::vector<int64_t>{0}).ok());
  EXPECT_FALSE(ScoreClustering(std::vector<int64_t>{}, std::vector<int64_t>{}).ok());
  EXPECT_FALSE(ScoreClustering(at::zeros({3}), at::zeros({3}, at::kLong)).ok());
  EXPECT_FALSE(ScoreClustering(at::zeros({3}, at::kBool), at::zeros({3}, at::kLong)).ok());
  EXPECT_FALSE(ScoreClustering(at::zeros({3, 1}, at::kLong), at::zeros({3}, at::kLong)).ok());
  EXPECT_FALSE(ScoreClustering(at::Tensor(), at::zeros({3}, at::kLong)).ok());
  EXPECT_FALSE(ScoreClustering(at::zeros({3}, at::kLong), at::zeros({4}, at::kLong)).ok());
  EXPECT_FALSE(LinearSumAssignment({1, 2, 3}, 2, 2).ok());
  EXPECT_FALSE(LinearSumAssignment({1, NAN, 3, 4}, 2, 2).ok());
  EXPECT_FALSE(LinearSumAssignment({1, INFINITY, 3, 4}, 2, 2).ok());
}

TEST(ClusteringMetricsTest, JsonAndText) {
  absl::StatusOr<ClusterScores> scores = ScoreClustering(std::vector<int64_t>{0, 0, 1, 1, 2, 2},
                                                         std::vector<int64_t>{5, 5, 3, 3, 3, 9});
  ASSERT_TRUE(scores.ok());
  const nlohmann::json json = scores->ToJson();
  EXPECT_DOUBLE_EQ(json["accuracy"].get<double>(), 5.0 / 6);
  EXPECT_EQ(json["num_clusters"], 3);
  EXPECT_EQ(json["samples"], 6);
  EXPECT_EQ(json["contingency"]["counts"], nlohmann::json::parse("[[0,2,1],[2,0,0],[0,0,1]]"));
  EXPECT_EQ(json["matching"][0]["cluster"], 3);
  EXPECT_EQ(json["matching"][0]["class"], 1);
  const std::string text = scores->ToText({"cat", "dog", "wild"});
  EXPECT_THAT(text, ::testing::HasSubstr("cluster \\ class     0     1     2  matched\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("\n3                   0     2     1  1 dog\n"));
  EXPECT_THAT(text, ::testing::HasSubstr("ACC 0.8333"));
}

}  // namespace
}  // namespace fauna
