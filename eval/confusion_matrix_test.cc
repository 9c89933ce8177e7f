#include "eval/confusion_matrix.h"

#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const std::vector<std::string> kNames = {"cat", "dog", "wild"};

// cat: 5 right, 1 as dog; dog: 2 as cat, 3 right, 1 as wild; wild: no samples.
ConfusionMatrix Example() {
  ConfusionMatrix matrix(kNames);
  const std::vector<std::pair<int64_t, int64_t>> pairs = {{0, 0}, {0, 0}, {0, 0}, {0, 0},
                                                          {0, 0}, {0, 1}, {1, 0}, {1, 0},
                                                          {1, 1}, {1, 1}, {1, 1}, {1, 2}};
  for (const auto& [label, prediction] : pairs) {
    EXPECT_TRUE(matrix.Add(label, prediction).ok());
  }
  return matrix;
}

at::Tensor Longs(const std::vector<int64_t>& values) { return at::tensor(values, at::kLong); }

TEST(ConfusionMatrix, EmptyMatrixHasZeroMetrics) {
  const ConfusionMatrix matrix(kNames);
  EXPECT_EQ(matrix.num_classes(), 3);
  EXPECT_EQ(matrix.total(), 0);
  EXPECT_EQ(matrix.accuracy(), 0.0);
  EXPECT_EQ(matrix.macro_f1(), 0.0);
  for (int64_t c = 0; c < 3; ++c) {
    EXPECT_EQ(matrix.precision(c), 0.0);
    EXPECT_EQ(matrix.recall(c), 0.0);
    EXPECT_EQ(matrix.f1(c), 0.0);
  }
  EXPECT_THAT(matrix.raw_counts(), ElementsAre(0, 0, 0, 0, 0, 0, 0, 0, 0));
}

TEST(ConfusionMatrix, CountsRowsAsTruthAndColumnsAsPrediction) {
  const ConfusionMatrix matrix = Example();
  EXPECT_THAT(matrix.raw_counts(), ElementsAre(5, 1, 0, 2, 3, 1, 0, 0, 0));
  EXPECT_EQ(matrix.counts(1, 0), 2);
  EXPECT_EQ(matrix.counts(0, 1), 1);
  EXPECT_EQ(matrix.total(), 12);
  EXPECT_EQ(matrix.support(0), 6);
  EXPECT_EQ(matrix.support(2), 0);
  EXPECT_EQ(matrix.predicted(0), 7);
  EXPECT_EQ(matrix.predicted(2), 1);
}

TEST(ConfusionMatrix, MetricsMatchHandComputedValues) {
  const ConfusionMatrix matrix = Example();
  EXPECT_DOUBLE_EQ(matrix.accuracy(), 8.0 / 12.0);
  EXPECT_DOUBLE_EQ(matrix.precision(0), 5.0 / 7.0);
  EXPECT_DOUBLE_EQ(matrix.precision(1), 3.0 / 4.0);
  EXPECT_DOUBLE_EQ(matrix.precision(2), 0.0);  // predicted once, never right
  EXPECT_DOUBLE_EQ(matrix.recall(0), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(matrix.recall(1), 0.5);
  EXPECT_DOUBLE_EQ(matrix.recall(2), 0.0);  // no samples: 0 by convention
  EXPECT_DOUBLE_EQ(matrix.f1(0), 10.0 / 13.0);
  EXPECT_DOUBLE_EQ(matrix.f1(1), 0.6);
  EXPECT_DOUBLE_EQ(matrix.f1(2), 0.0);
  EXPECT_DOUBLE_EQ(matrix.macro_f1(), (10.0 / 13.0 + 0.6) / 3.0);
}

TEST(ConfusionMatrix, AddRejectsOutOfRangeClassesNamingTheValue) {
  ConfusionMatrix matrix(kNames);
  absl::Status status = matrix.Add(3, 0);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("label 3"));
  status = matrix.Add(0, -1);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("prediction -1"));
  EXPECT_EQ(matrix.total(), 0);
}

TEST(ConfusionMatrix, TensorAddMatchesScalarAdd) {
  ConfusionMatrix matrix(kNames);
  ASSERT_TRUE(matrix
                  .Add(Longs({0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}),
                       Longs({0, 0, 0, 0, 0, 1, 0, 0, 1, 1, 1, 2}))
                  .ok());
  EXPECT_EQ(matrix.raw_counts(), Example().raw_counts());
}

TEST(ConfusionMatrix, TensorAddTakesAnyIntegerDtypeAndStrides) {
  ConfusionMatrix matrix(kNames);
  ASSERT_TRUE(matrix.Add(Longs({2, 1}).to(at::kInt), Longs({2, 0}).to(at::kByte)).ok());
  // Every second element of [1, 9, 2, 9]: labels {1, 2}, not contiguous.
  const at::Tensor strided = Longs({1, 9, 2, 9})
                                 .slice(/*dim=*/0, /*start=*/0, /*end=*/4,
                                        /*step=*/2);
  ASSERT_FALSE(strided.is_contiguous());
  ASSERT_TRUE(matrix.Add(strided, Longs({1, 2})).ok());
  EXPECT_THAT(matrix.raw_counts(), ElementsAre(0, 0, 0, 1, 1, 0, 0, 0, 2));
}

TEST(ConfusionMatrix, TensorAddOnCuda) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  ConfusionMatrix matrix(kNames);
  ASSERT_TRUE(matrix.Add(Longs({0, 1, 2}).cuda(), Longs({0, 2, 2}).cuda()).ok());
  EXPECT_THAT(matrix.raw_counts(), ElementsAre(1, 0, 0, 0, 0, 1, 0, 0, 1));
}

TEST(ConfusionMatrix, TensorAddRejectsBadValuesAndChangesNothing) {
  ConfusionMatrix matrix = Example();
  const std::vector<int64_t> before = matrix.raw_counts();

  absl::Status status = matrix.Add(Longs({0, 1, 7}), Longs({0, 1, 2}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("label 7"));
  EXPECT_THAT(status.message(), HasSubstr("index 2"));

  status = matrix.Add(Longs({0, 1}), Longs({-2, 1}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(), HasSubstr("prediction -2"));
  EXPECT_THAT(status.message(), HasSubstr("index 0"));
  EXPECT_EQ(matrix.raw_counts(), before);
}

TEST(ConfusionMatrix, TensorAddRejectsBadShapesAndDtypes) {
  ConfusionMatrix matrix(kNames);
  struct Case {
    at::Tensor labels, predictions;
    std::string message;
  };
  const std::vector<Case> cases = {
      {Longs({0, 1}), Longs({0}), "2 labels but 1 predictions"},
      {Longs({0, 1}).reshape({1, 2}), Longs({0, 1}), "must be 1-D"},
      {Longs({0, 1}), Longs({0, 1}).reshape({2, 1}), "must be 1-D"},
      {Longs({0, 1}).to(at::kFloat), Longs({0, 1}), "labels must have an integer dtype"},
      {Longs({0, 1}), Longs({0, 1}).gt(0), "predictions must have an integer dtype"},
      {at::Tensor(), Longs({0}), "undefined"},
  };
  for (const Case& c : cases) {
    const absl::Status status = matrix.Add(c.labels, c.predictions);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(status.message(), HasSubstr(c.message));
  }
  EXPECT_EQ(matrix.total(), 0);
}

TEST(ConfusionMatrix, EmptyBatchCountsNothing) {
  ConfusionMatrix matrix(kNames);
  EXPECT_TRUE(matrix.Add(Longs({}), Longs({})).ok());
  EXPECT_EQ(matrix.total(), 0);
}

TEST(ConfusionMatrix, MergeSumsCountsOfTheSameClasses) {
  ConfusionMatrix matrix = Example();
  ASSERT_TRUE(matrix.Merge(Example()).ok());
  EXPECT_THAT(matrix.raw_counts(), ElementsAre(10, 2, 0, 4, 6, 2, 0, 0, 0));
  EXPECT_DOUBLE_EQ(matrix.accuracy(), 8.0 / 12.0);

  const absl::Status status = matrix.Merge(ConfusionMatrix({"cat", "dog", "fox"}));
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matrix.Merge(ConfusionMatrix({"cat", "dog"})).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(matrix.total(), 24);
}

TEST(ConfusionMatrix, ResetZeroesCounts) {
  ConfusionMatrix matrix = Example();
  matrix.Reset();
  EXPECT_EQ(matrix.total(), 0);
  EXPECT_EQ(matrix.class_names(), kNames);
}

TEST(ConfusionMatrix, AsVectorRoundTripsThroughFromVector) {
  const ConfusionMatrix matrix = Example();
  const std::vector<double> values = matrix.AsVector();
  EXPECT_THAT(values, ElementsAre(5, 1, 0, 2, 3, 1, 0, 0, 0));
  // What an all-reduce over two ranks holding the same counts gives.
  std::vector<double> summed = values;
  for (double& value : summed) value *= 2;
  absl::StatusOr<ConfusionMatrix> restored = ConfusionMatrix::FromVector(kNames, summed);
  ASSERT_TRUE(restored.ok()) << restored.status();
  EXPECT_THAT(restored->raw_counts(), ElementsAre(10, 2, 0, 4, 6, 2, 0, 0, 0));
  EXPECT_EQ(restored->class_names(), kNames);
}

TEST(ConfusionMatrix, FromVectorRejectsBadCounts) {
  EXPECT_THAT(ConfusionMatrix::FromVector(kNames, {1, 2, 3}).status().message(),
              HasSubstr("needs 9 counts, got 3"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  for (double bad : {-1.0, 0.5, nan, inf, 1e17}) {
    std::vector<double> values(9, 0.0);
    values[5] = bad;
    const absl::StatusOr<ConfusionMatrix> matrix = ConfusionMatrix::FromVector(kNames, values);
    EXPECT_EQ(matrix.status().code(), absl::StatusCode::kInvalidArgument) << bad;
    EXPECT_THAT(matrix.status().message(), HasSubstr("(1, 2)")) << bad;
  }
}

TEST(ConfusionMatrix, ToJsonHoldsCountsAndMetrics) {
  const nlohmann::json json = Example().ToJson();
  EXPECT_EQ(json["class_names"], nlohmann::json(kNames));
  EXPECT_EQ(json["counts"], nlohmann::json::parse("[[5,1,0],[2,3,1],[0,0,0]]"));
  EXPECT_EQ(json["total"], 12);
  EXPECT_DOUBLE_EQ(json["accuracy"].get<double>(), 8.0 / 12.0);
  EXPECT_DOUBLE_EQ(json["macro_f1"].get<double>(), (10.0 / 13.0 + 0.6) / 3.0);
  ASSERT_EQ(json["per_class"].size(), 3u);
  EXPECT_EQ(json["per_class"][1]["class"], "dog");
  EXPECT_DOUBLE_EQ(json["per_class"][1]["precision"].get<double>(), 0.75);
  EXPECT_DOUBLE_EQ(json["per_class"][1]["recall"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(json["per_class"][1]["f1"].get<double>(), 0.6);
  EXPECT_EQ(json["per_class"][1]["support"], 6);
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

TEST(ConfusionMatrix, ToTextIsAnAlignedTable) {
  const std::vector<std::string> lines = Lines(Example().ToText());
  ASSERT_GE(lines.size(), 9u);
  EXPECT_THAT(lines[0], HasSubstr("cat"));
  EXPECT_THAT(lines[0], HasSubstr("wild"));
  // The matrix rows are as wide as the header, and the counts end in the header's columns.
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(lines[i].size(), lines[0].size()) << lines[i];
  EXPECT_EQ(lines[0].rfind("wild") + 4, lines[1].size());
  EXPECT_EQ(lines[2].substr(0, 3), "dog");
  EXPECT_EQ(lines[2].back(), '1');
  EXPECT_THAT(lines[5], HasSubstr("precision"));
  EXPECT_THAT(lines[6], HasSubstr("0.714"));  // cat precision 5/7
  EXPECT_THAT(lines[6], HasSubstr("0.769"));  // cat F1 10/13
  EXPECT_THAT(lines.back(), HasSubstr("accuracy 0.6667 (8/12)"));
}

TEST(ConfusionMatrix, ToTextHeadsColumnsByNumberForLongNames) {
  ConfusionMatrix matrix({"amur_leopard", "black_rhino"});
  ASSERT_TRUE(matrix.Add(1, 1).ok());
  const std::vector<std::string> lines = Lines(matrix.ToText());
  EXPECT_THAT(lines[0], ::testing::Not(HasSubstr("amur_leopard")));
  EXPECT_EQ(lines[1].substr(0, 14), "0 amur_leopard");
  EXPECT_EQ(lines[2].substr(0, 13), "1 black_rhino");
  EXPECT_EQ(lines[2].back(), '1');
}

}  // namespace
}  // namespace fauna
