#include "data/split.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Labels with classes of the given sizes, interleaved (not grouped by class).
std::vector<int64_t> MakeLabels(const std::vector<int>& class_sizes) {
  std::vector<int64_t> labels;
  std::vector<int> left = class_sizes;
  bool any = true;
  while (any) {
    any = false;
    for (size_t c = 0; c < left.size(); ++c) {
      if (left[c] > 0) {
        labels.push_back(static_cast<int64_t>(c));
        --left[c];
        any = true;
      }
    }
  }
  return labels;
}

std::vector<std::vector<int64_t>> MustSplit(const std::vector<int64_t>& labels,
                                            const std::vector<double>& fractions, uint64_t seed,
                                            SplitOrder order = SplitOrder::kSorted) {
  absl::StatusOr<std::vector<std::vector<int64_t>>> parts =
      StratifiedSplit(labels, fractions, seed, order);
  EXPECT_TRUE(parts.ok()) << parts.status();
  return parts.ok() ? *parts : std::vector<std::vector<int64_t>>();
}

// count[part][class].
std::vector<std::map<int64_t, int>> CountByClass(const std::vector<int64_t>& labels,
                                                 const std::vector<std::vector<int64_t>>& parts) {
  std::vector<std::map<int64_t, int>> counts(parts.size());
  for (size_t k = 0; k < parts.size(); ++k) {
    for (int64_t i : parts[k]) ++counts[k][labels[i]];
  }
  return counts;
}

TEST(StratifiedSplit, EachClassIsSplitInTheGivenProportions) {
  const std::vector<int> sizes = {100, 37, 20, 5, 1};
  const std::vector<int64_t> labels = MakeLabels(sizes);
  for (const std::vector<double>& fractions :
       std::vector<std::vector<double>>{{0.8, 0.1, 0.1}, {0.7, 0.3}, {0.8, 0.2}}) {
    const std::vector<std::vector<int64_t>> parts = MustSplit(labels, fractions, /*seed=*/3);
    ASSERT_EQ(parts.size(), fractions.size());
    const std::vector<std::map<int64_t, int>> counts = CountByClass(labels, parts);
    for (size_t c = 0; c < sizes.size(); ++c) {
      int total = 0;
      for (size_t k = 0; k < parts.size(); ++k) {
        const double quota = fractions[k] * sizes[c];
        const int count = counts[k].count(c) ? counts[k].at(c) : 0;
        // Largest remainder: the floor or the ceiling of the exact share.
        EXPECT_GE(count, std::floor(quota - 1e-9)) << "class " << c << " part " << k;
        EXPECT_LE(count, std::ceil(quota + 1e-9)) << "class " << c << " part " << k;
        total += count;
      }
      EXPECT_EQ(total, sizes[c]) << "class " << c;
    }
  }
  // Worked examples: 100 -> 80/10/10 exactly; 37 -> quotas 29.6/3.7/3.7 -> 29/4/4.
  const std::vector<std::map<int64_t, int>> counts =
      CountByClass(labels, MustSplit(labels, {0.8, 0.1, 0.1}, 3));
  EXPECT_EQ(counts[0].at(0), 80);
  EXPECT_EQ(counts[1].at(0), 10);
  EXPECT_EQ(counts[2].at(0), 10);
  EXPECT_EQ(counts[0].at(1), 29);
  EXPECT_EQ(counts[1].at(1), 4);
  EXPECT_EQ(counts[2].at(1), 4);
  // 20 at 0.7/0.3 -> 14/6.
  const std::vector<std::map<int64_t, int>> two =
      CountByClass(labels, MustSplit(labels, {0.7, 0.3}, 3));
  EXPECT_EQ(two[0].at(2), 14);
  EXPECT_EQ(two[1].at(2), 6);
}

TEST(StratifiedSplit, TiesOfSmallClassesDoNotAllRoundTheSameWay) {
  // 40 classes of 5 at 0.8/0.1/0.1: every class has 4 for train and one item that val and test
  // tie for; they take turns, so both get about 20 instead of one getting 40 and the other none.
  std::vector<int> sizes(40, 5);
  const std::vector<int64_t> labels = MakeLabels(sizes);
  const std::vector<std::vector<int64_t>> parts = MustSplit(labels, {0.8, 0.1, 0.1}, 0);
  EXPECT_EQ(parts[0].size(), 160u);
  EXPECT_NEAR(static_cast<double>(parts[1].size()), 20, 1);
  EXPECT_NEAR(static_cast<double>(parts[2].size()), 20, 1);
}

TEST(StratifiedSplit, PartsAreDisjointAndCoverEveryItem) {
  const std::vector<int64_t> labels = MakeLabels({50, 31, 7, 3});
  for (SplitOrder order : {SplitOrder::kSorted, SplitOrder::kShuffled}) {
    const std::vector<std::vector<int64_t>> parts = MustSplit(labels, {0.8, 0.1, 0.1}, 9, order);
    std::vector<int64_t> all;
    for (const std::vector<int64_t>& part : parts) all.insert(all.end(), part.begin(), part.end());
    std::sort(all.begin(), all.end());
    std::vector<int64_t> expected(labels.size());
    for (size_t i = 0; i < expected.size(); ++i) expected[i] = static_cast<int64_t>(i);
    EXPECT_EQ(all, expected);  // Each index exactly once.
  }
}

TEST(StratifiedSplit, SameSeedSameSplitOtherSeedOtherSplit) {
  const std::vector<int64_t> labels = MakeLabels({60, 60, 60});
  const auto a = MustSplit(labels, {0.8, 0.1, 0.1}, 42);
  EXPECT_EQ(a, MustSplit(labels, {0.8, 0.1, 0.1}, 42));
  const auto b = MustSplit(labels, {0.8, 0.1, 0.1}, 43);
  EXPECT_NE(a[1], b[1]);
  EXPECT_NE(a[2], b[2]);
  EXPECT_EQ(a[1].size(), b[1].size());  // Same sizes, other members.
}

TEST(StratifiedSplit, OrderIsSortedOrADeterministicShuffle) {
  const std::vector<int64_t> labels = MakeLabels({100, 100});
  const auto sorted = MustSplit(labels, {0.7, 0.3}, 5, SplitOrder::kSorted);
  const auto shuffled = MustSplit(labels, {0.7, 0.3}, 5, SplitOrder::kShuffled);
  for (size_t k = 0; k < 2; ++k) {
    EXPECT_TRUE(std::is_sorted(sorted[k].begin(), sorted[k].end()));
    EXPECT_FALSE(std::is_sorted(shuffled[k].begin(), shuffled[k].end()));
    std::vector<int64_t> members = shuffled[k];
    std::sort(members.begin(), members.end());
    EXPECT_EQ(members, sorted[k]);  // The same members in another order.
  }
  EXPECT_EQ(shuffled, MustSplit(labels, {0.7, 0.3}, 5, SplitOrder::kShuffled));
}

TEST(StratifiedSplit, ZeroFractionGivesAnEmptyPartAndLabelsMayHaveGaps) {
  const std::vector<int64_t> labels = {7, 7, 7, 2, 2, 2, 2, 1000000000000};
  const auto parts = MustSplit(labels, {0.5, 0.0, 0.5}, 1);
  EXPECT_TRUE(parts[1].empty());
  EXPECT_EQ(parts[0].size() + parts[2].size(), labels.size());
  const auto one = MustSplit(labels, {1.0}, 1);
  EXPECT_EQ(one[0].size(), labels.size());
}

TEST(StratifiedSplit, BadArgumentsAreErrors) {
  const auto error = [](const std::vector<int64_t>& labels, const std::vector<double>& fractions) {
    absl::StatusOr<std::vector<std::vector<int64_t>>> parts =
        StratifiedSplit(labels, fractions, 0);
    EXPECT_EQ(parts.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(parts.status().message());
  };
  const std::vector<int64_t> labels = {0, 1, 0, 1};
  EXPECT_THAT(error({}, {0.8, 0.2}), HasSubstr("no labels"));
  EXPECT_THAT(error(labels, {}), HasSubstr("no fractions"));
  EXPECT_THAT(error(labels, {0.8, 0.1}), HasSubstr("fractions sum to 0.9"));
  EXPECT_THAT(error(labels, {0.8, 0.3}), HasSubstr("fractions sum to 1.1"));
  EXPECT_THAT(error(labels, {1.2, -0.2}), HasSubstr("fraction -0.2"));
  EXPECT_THAT(error(labels, {std::numeric_limits<double>::quiet_NaN(), 1.0}),
              HasSubstr("is not a number in [0, 1]"));
  EXPECT_THAT(error(labels, {std::numeric_limits<double>::infinity(), 0.5}),
              HasSubstr("is not a number in [0, 1]"));
  EXPECT_THAT(error({0, 1, -3}, {0.5, 0.5}), HasSubstr("label -3 of item 2 is negative"));
  // Sums that are 1 up to rounding are fine.
  EXPECT_EQ(StratifiedSplit(labels, {0.7, 0.2, 0.1}, 0).status().code(), absl::StatusCode::kOk);
}

// A source with labels only.
class LabelSource : public ImageSource {
 public:
  const std::vector<std::string>& class_names() const override { return names_; }
  int64_t size() const override { return 5; }
  int64_t label(int64_t index) const override { return index % 2; }
  std::string describe(int64_t index) const override { return std::to_string(index); }
  absl::StatusOr<cv::Mat> Load(int64_t) const override { return cv::Mat(); }

 private:
  std::vector<std::string> names_ = {"a", "b"};
};

TEST(Labels, ListsTheLabelsOfASource) {
  EXPECT_THAT(Labels(LabelSource()), ElementsAre(0, 1, 0, 1, 0));
}

}  // namespace
}  // namespace fauna
