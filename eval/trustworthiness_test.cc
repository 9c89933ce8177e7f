#include "eval/trustworthiness.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

// The definition, computed the long way: full rank lists from a stable sort of every distance.
double ReferenceTrustworthiness(const at::Tensor& x, const at::Tensor& e, int64_t k) {
  const int64_t n = x.size(0);
  const auto distances = [](const at::Tensor& t) {
    return (t.unsqueeze(1) - t.unsqueeze(0)).pow(2).sum(-1);
  };
  const at::Tensor dx = distances(x.to(at::kDouble)), de = distances(e.to(at::kDouble));
  const auto sorted_others = [&](const at::Tensor& d, int64_t i) {
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), 0);
    order.erase(order.begin() + i);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
      return d[i][a].item<double>() < d[i][b].item<double>();
    });
    return order;
  };
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    const std::vector<int64_t> in_data = sorted_others(dx, i);
    const std::vector<int64_t> in_embedding = sorted_others(de, i);
    for (int64_t a = 0; a < k; ++a) {
      const int64_t rank =
          std::find(in_data.begin(), in_data.end(), in_embedding[a]) - in_data.begin() + 1;
      total += std::max<int64_t>(0, rank - k);
    }
  }
  return 1 - total * 2.0 / (n * k * (2.0 * n - 3.0 * k - 1.0));
}

TEST(Trustworthiness, ThreePointsByHand) {
  // Data 0, 1, 3 on a line; the embedding puts them at 0, 3, 1: every embedded nearest neighbour
  // is the second nearest in the data, a penalty of 1 each, and T = 1 - 3 * 2 / (3 * 1 * 2) = 0.
  const at::Tensor x = at::tensor({0.0, 1.0, 3.0}, at::kDouble).reshape({3, 1});
  const at::Tensor e = at::tensor({0.0, 3.0, 1.0}, at::kDouble).reshape({3, 1});
  absl::StatusOr<double> t = Trustworthiness(x, e, 1);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_DOUBLE_EQ(*t, 0.0);
  EXPECT_DOUBLE_EQ(*Trustworthiness(x, x, 1), 1.0);
}

TEST(Trustworthiness, DistancePreservingMapsScoreOne) {
  at::manual_seed(7);
  const at::Tensor x = at::randn({80, 3}, at::kDouble);
  const at::Tensor rotation = std::get<0>(at::linalg_qr(at::randn({3, 3}, at::kDouble)));
  for (int64_t k : {1, 5, 20}) {
    EXPECT_DOUBLE_EQ(*Trustworthiness(x, at::mm(x, rotation) * 3 + 1, k), 1.0) << k;
  }
}

TEST(Trustworthiness, MatchesTheDefinition) {
  at::manual_seed(8);
  const at::Tensor x = at::randn({70, 10}, at::kDouble);
  const std::vector<at::Tensor> embeddings = {
      at::mm(x, at::randn({10, 2}, at::kDouble)),                // a random projection
      x.slice(1, 0, 2) + 0.3 * at::randn({70, 2}, at::kDouble),  // two features and noise
      at::randn({70, 3}, at::kDouble),                           // unrelated
  };
  for (const at::Tensor& e : embeddings) {
    for (int64_t k : {1, 5, 12, 34}) {
      absl::StatusOr<double> t = Trustworthiness(x.to(at::kFloat), e, k);
      ASSERT_TRUE(t.ok()) << t.status();
      EXPECT_NEAR(*t, ReferenceTrustworthiness(x.to(at::kFloat), e, k), 1e-12) << k;
      EXPECT_LT(*t, 1.0);
    }
  }
}

TEST(Trustworthiness, EqualDistancesRankByRowNumber) {
  // From the centre (row 0) the four corners are equally far: ranks 1..4 in row order. The
  // embedding makes corner 4 the centre's nearest: rank 4, penalty 4 - 1 = 3 for row 0 alone.
  const at::Tensor x =
      at::tensor({0.0, 0.0, 1.0, 1.0, -1.0, 1.0, -1.0, -1.0, 1.0, -1.0, 9.0, 9.0, -9.0, 9.0},
                 at::kDouble)
          .reshape({7, 2});
  at::Tensor e = x.clone();
  e[4] = at::tensor({0.1, 0.0}, at::kDouble);
  absl::StatusOr<double> t = Trustworthiness(x, e, 1);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_NEAR(*t, ReferenceTrustworthiness(x, e, 1), 1e-15);
}

TEST(Trustworthiness, RefusesBadInput) {
  const at::Tensor x = at::randn({10, 3});
  const at::Tensor e = at::randn({10, 2});
  EXPECT_FALSE(Trustworthiness(x, e, 0).ok());
  absl::StatusOr<double> too_many = Trustworthiness(x, e, 5);  // k must be < N / 2
  ASSERT_FALSE(too_many.ok());
  EXPECT_NE(too_many.status().message().find("less than N / 2"), std::string::npos);
  EXPECT_TRUE(Trustworthiness(x, e, 4).ok());
  EXPECT_FALSE(Trustworthiness(x, at::randn({9, 2}), 2).ok());
  EXPECT_FALSE(Trustworthiness(at::randn({10}), e, 2).ok());
  EXPECT_FALSE(Trustworthiness(x, at::ones({10, 2}, at::kLong), 2).ok());
  at::Tensor nan = x.clone();
  nan[3][0] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_FALSE(Trustworthiness(nan, e, 2).ok());
  EXPECT_FALSE(Trustworthiness(x, nan.slice(1, 0, 2), 2).ok());
}

}  // namespace
}  // namespace fauna
