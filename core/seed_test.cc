#include "core/seed.h"

#include <set>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

namespace fauna {
namespace {

TEST(SplitMix64, MatchesTheReferenceSequence) {
  // The first outputs of the reference generator seeded with 0 (state advanced by the golden gamma).
  EXPECT_EQ(SplitMix64(0), 0xe220a8397b1dcdafULL);
  EXPECT_EQ(SplitMix64(0x9e3779b97f4a7c15ULL), 0x6e789e6aa1b965f4ULL);
}

TEST(DeriveSeed, IsStableAndSeparatesItsArguments) {
  EXPECT_EQ(DeriveSeed(42, 3, 7), DeriveSeed(42, 3, 7));
  std::set<uint64_t> seen;
  for (uint64_t a = 0; a < 4; ++a)
    for (uint64_t b = 0; b < 4; ++b)
      for (uint64_t c = 0; c < 4; ++c) seen.insert(DeriveSeed(a, b, c));
  EXPECT_EQ(seen.size(), 64u);
  EXPECT_NE(DeriveSeed(1, 0, 0), DeriveSeed(0, 1, 0));
  EXPECT_NE(DeriveSeed(0, 1, 0), DeriveSeed(0, 0, 1));
}

TEST(MakeGenerator, GivesTheSameDrawsForTheSameItem) {
  std::mt19937_64 a = MakeGenerator(5, 1, 9);
  std::mt19937_64 b = MakeGenerator(5, 1, 9);
  std::mt19937_64 c = MakeGenerator(5, 1, 10);
  uint64_t first = a();
  EXPECT_EQ(first, b());
  EXPECT_NE(first, c());
}

TEST(SeedGlobalGenerators, RepeatsTorchAndOpenCvDraws) {
  SeedGlobalGenerators(123);
  at::Tensor torch_first = at::rand({16});
  cv::Mat cv_first(4, 4, CV_32F);
  cv::randu(cv_first, 0.0, 1.0);

  SeedGlobalGenerators(123);
  at::Tensor torch_again = at::rand({16});
  cv::Mat cv_again(4, 4, CV_32F);
  cv::randu(cv_again, 0.0, 1.0);

  EXPECT_TRUE(at::equal(torch_first, torch_again));
  EXPECT_EQ(cv::norm(cv_first, cv_again, cv::NORM_INF), 0.0);

  SeedGlobalGenerators(124);
  EXPECT_FALSE(at::equal(torch_first, at::rand({16})));
}

TEST(SetThreadCount, AppliesToTorchAndOpenCv) {
  EXPECT_EQ(SetThreadCount(1), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_EQ(cv::getNumThreads(), 1);
  EXPECT_GE(SetThreadCount(0), 1);
}

}  // namespace
}  // namespace fauna
