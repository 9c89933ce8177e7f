#include "eval/pca.h"

#include <cmath>
#include <limits>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

// Equal up to the sign of each row (component) / column (scores).
void ExpectEqualUpToSigns(const at::Tensor& a, const at::Tensor& b, int64_t dim, double tol) {
  ASSERT_EQ(a.sizes(), b.sizes());
  for (int64_t c = 0; c < a.size(dim); ++c) {
    const at::Tensor x = a.select(dim, c), y = b.select(dim, c);
    const double same = (x - y).abs().max().item<double>();
    const double flipped = (x + y).abs().max().item<double>();
    EXPECT_LT(std::min(same, flipped), tol) << "component " << c;
  }
}

void ExpectLargestScorePositive(const Pca& pca) {
  for (int64_t c = 0; c < pca.size(); ++c) {
    const at::Tensor column = pca.scores.select(1, c);
    EXPECT_GT(column[column.abs().argmax()].item<double>(), 0) << "component " << c;
  }
}

TEST(Pca, TallDataMatchesTheSvd) {
  at::manual_seed(1);
  // Different variance along each axis, so the components are well separated.
  const at::Tensor x =
      at::randn({200, 6}, at::kDouble) * at::tensor({5.0, 4.0, 3.0, 2.0, 1.0, 0.5}) + 7;
  absl::StatusOr<Pca> pca = FitPca(x, 4);
  ASSERT_TRUE(pca.ok()) << pca.status();
  ASSERT_EQ(pca->size(), 4);
  const at::Tensor centred = x - x.mean(0);
  auto [u, s, vh] = at::linalg_svd(centred, /*full_matrices=*/false);
  ExpectEqualUpToSigns(pca->components, vh.slice(0, 0, 4), /*dim=*/0, 1e-9);
  EXPECT_TRUE(at::allclose(pca->explained_variance, s.slice(0, 0, 4).pow(2) / 199, 1e-10));
  ExpectEqualUpToSigns(pca->scores, (u * s).slice(1, 0, 4), /*dim=*/1, 1e-8);
  EXPECT_TRUE(at::allclose(pca->mean, x.mean(0)));
  EXPECT_TRUE(at::allclose(at::mm(pca->components, pca->components.t()), at::eye(4, at::kDouble), 0,
                           1e-12));
  ExpectLargestScorePositive(*pca);
}

TEST(Pca, WideDataMatchesTheCovarianceEigenvectors) {
  at::manual_seed(2);
  const at::Tensor x = at::randn({8, 30}, at::kDouble) * at::linspace(3, 0.1, 30, at::kDouble);
  absl::StatusOr<Pca> pca = FitPca(x, 50);
  ASSERT_TRUE(pca.ok()) << pca.status();
  ASSERT_EQ(pca->size(), 8);  // min(50, N, D)
  const at::Tensor centred = x - x.mean(0);
  auto [values, vectors] = at::linalg_eigh(at::mm(centred.t(), centred));
  // The 7 non-zero components (8 centred points span 7 dimensions).
  ExpectEqualUpToSigns(pca->components.slice(0, 0, 7), vectors.slice(1, 23, 30).flip({1}).t(),
                       /*dim=*/0, 1e-8);
  EXPECT_TRUE(at::allclose(pca->explained_variance.slice(0, 0, 7),
                           values.slice(0, 23, 30).flip({0}) / 7, 1e-9));
  EXPECT_LT(pca->explained_variance[7].item<double>(), 1e-12);
  ExpectLargestScorePositive(*pca);
  // All components: the scores are the data again.
  EXPECT_TRUE(at::allclose(at::mm(pca->scores, pca->components) + pca->mean, x, 0, 1e-10));
}

TEST(Pca, PointsOnALine) {
  // (0, 0), (1, 2), (3, 6): one direction, (1, 2) / sqrt(5); the largest score is the last
  // point's, which makes the direction point to it.
  const at::Tensor x = at::tensor({0.0f, 0.0f, 1.0f, 2.0f, 3.0f, 6.0f}).reshape({3, 2});
  absl::StatusOr<Pca> pca = FitPca(x, 1);
  ASSERT_TRUE(pca.ok()) << pca.status();
  EXPECT_EQ(pca->scores.scalar_type(), at::kDouble);
  EXPECT_NEAR(pca->components[0][0].item<double>(), 1 / std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(pca->components[0][1].item<double>(), 2 / std::sqrt(5.0), 1e-12);
  // Scores (-4/3, -1/3, 5/3) * sqrt(5); variance 42 * 5 / 9 / 2.
  EXPECT_NEAR(pca->scores[2][0].item<double>(), 5.0 / 3 * std::sqrt(5.0), 1e-12);
  EXPECT_NEAR(pca->explained_variance[0].item<double>(), 42.0 * 5 / 18, 1e-12);
}

TEST(Pca, IsDeterministic) {
  at::manual_seed(5);
  const at::Tensor x = at::randn({100, 12});
  absl::StatusOr<Pca> a = FitPca(x, 5), b = FitPca(x, 5);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a->scores.equal(b->scores));
  EXPECT_TRUE(a->components.equal(b->components));
}

TEST(Pca, RefusesBadInput) {
  EXPECT_FALSE(FitPca(at::randn({5}), 1).ok());
  EXPECT_FALSE(FitPca(at::randn({0, 3}), 1).ok());
  EXPECT_FALSE(FitPca(at::randn({4, 3}), 0).ok());
  EXPECT_FALSE(FitPca(at::ones({4, 3}, at::kLong), 1).ok());
  at::Tensor x = at::randn({4, 3});
  x[1][2] = std::numeric_limits<float>::infinity();
  absl::StatusOr<Pca> result = FitPca(x, 2);
  ASSERT_FALSE(result.ok());
  EXPECT_NE(result.status().message().find("NaN or infinite"), std::string::npos);
}

}  // namespace
}  // namespace fauna
