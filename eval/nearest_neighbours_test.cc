#include "eval/nearest_neighbours.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

// The k nearest of each row by sorting every squared distance (computed from differences), ties
// by row number.
std::vector<std::vector<int64_t>> SortedNeighbours(const at::Tensor& x, int64_t k) {
  const int64_t n = x.size(0);
  const at::Tensor d = (x.unsqueeze(1) - x.unsqueeze(0)).pow(2).sum(-1);
  std::vector<std::vector<int64_t>> result;
  for (int64_t i = 0; i < n; ++i) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    order.erase(order.begin() + i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return d[i][a].item<double>() < d[i][b].item<double>();
    });
    order.resize(static_cast<size_t>(k));
    result.push_back(order);
  }
  return result;
}

TEST(NearestNeighbours, MatchesSortingEveryDistance) {
  at::manual_seed(3);
  const at::Tensor x = at::randn({60, 7}, at::kDouble);
  for (int64_t k : {1, 5, 59}) {
    absl::StatusOr<Neighbours> nn = NearestNeighbours(x, k);
    ASSERT_TRUE(nn.ok()) << nn.status();
    ASSERT_EQ(nn->indices.sizes(), (std::vector<int64_t>{60, k}));
    const std::vector<std::vector<int64_t>> expected = SortedNeighbours(x, k);
    for (int64_t i = 0; i < 60; ++i) {
      for (int64_t a = 0; a < k; ++a) {
        EXPECT_EQ(nn->indices[i][a].item<int64_t>(), expected[i][a]) << i << ", " << a;
        const double d = (x[i] - x[nn->indices[i][a]]).pow(2).sum().item<double>();
        EXPECT_NEAR(nn->sq_distances[i][a].item<double>(), d, 1e-12 * (1 + d));
      }
    }
  }
}

TEST(NearestNeighbours, SmallBlocksGiveTheSameAnswer) {
  at::manual_seed(4);
  const at::Tensor x = at::randn({50, 3}, at::kDouble);
  at::Tensor whole, blocked;
  ForEachDistanceBlock(x, [&](int64_t, const at::Tensor& d) { whole = d.clone(); });
  std::vector<at::Tensor> parts;
  ForEachDistanceBlock(
      x,
      [&](int64_t begin, const at::Tensor& d) {
        EXPECT_EQ(begin, static_cast<int64_t>(parts.size()) * 7);
        parts.push_back(d.clone());
      },
      /*max_block_elements=*/7 * 50);
  EXPECT_EQ(parts.size(), 8u);  // 7 blocks of 7 rows and one of 1
  blocked = at::cat(parts);
  EXPECT_TRUE(at::allclose(whole, blocked, 0, 1e-12));
  EXPECT_TRUE(whole.diagonal().eq(0).all().item<bool>());
}

TEST(NearestNeighbours, TiesGoToTheLowerRowNumber) {
  // Four corners of a square and its centre: from the centre, all corners are equally near.
  const at::Tensor x =
      at::tensor({1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 0.0, 0.0}, at::kDouble)
          .reshape({5, 2});
  absl::StatusOr<Neighbours> nn = NearestNeighbours(x, 4);
  ASSERT_TRUE(nn.ok()) << nn.status();
  EXPECT_TRUE(nn->indices[4].equal(at::tensor({0, 1, 2, 3}, at::kLong)));
  // From corner 0: the centre (2), then corners 1 and 3 (4 each, in row order), then 2 (8).
  EXPECT_TRUE(nn->indices[0].equal(at::tensor({4, 1, 3, 2}, at::kLong)));
  EXPECT_TRUE(nn->sq_distances[0].equal(at::tensor({2.0, 4.0, 4.0, 8.0}, at::kDouble)));
}

TEST(NearestNeighbours, RefusesBadInput) {
  const at::Tensor x = at::randn({5, 2});
  EXPECT_FALSE(NearestNeighbours(x, 0).ok());
  EXPECT_FALSE(NearestNeighbours(x, 5).ok());
  EXPECT_FALSE(NearestNeighbours(at::randn({5}), 1).ok());
  EXPECT_FALSE(NearestNeighbours(at::ones({5, 2}, at::kLong), 1).ok());
  at::Tensor nan = x.clone();
  nan[2][1] = std::numeric_limits<float>::quiet_NaN();
  absl::StatusOr<Neighbours> result = NearestNeighbours(nan, 2);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("NaN"), std::string::npos);
}

}  // namespace
}  // namespace fauna
