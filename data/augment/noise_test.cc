#include "data/augment/noise.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "core/seed.h"
#include "data/augment/test_images.h"

namespace fauna {
namespace {

using ::fauna::augment_test::Same;
using ::fauna::augment_test::ExpectInvalid;

using ::testing::HasSubstr;

// Grey images of level 10 * index, labels index % 3; item `failing` fails to load.
class GreySource : public ImageSource {
 public:
  GreySource(int count, int failing = -1) : count_(count), failing_(failing) {}
  const std::vector<std::string>& class_names() const override { return classes_; }
  int64_t size() const override { return count_; }
  int64_t label(int64_t index) const override { return index % 3; }
  std::string describe(int64_t index) const override { return "grey:" + std::to_string(index); }
  absl::StatusOr<cv::Mat> Load(int64_t index) const override {
    if (index == failing_) return absl::DataLossError("grey:" + std::to_string(index) + ": broken");
    return cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(static_cast<double>(10 * index)));
  }

 private:
  int count_;
  int failing_;
  std::vector<std::string> classes_ = {"a", "b", "c"};
};

TEST(AddGaussianNoise, HasTheRequestedSpreadAndIsDeterministic) {
  const cv::Mat grey(200, 200, CV_8UC3, cv::Scalar::all(128));
  cv::Mat a = grey.clone();
  cv::Mat b = grey.clone();
  std::mt19937_64 rng_a = MakeGenerator(1, 0, 5);
  std::mt19937_64 rng_b = MakeGenerator(1, 0, 5);
  ASSERT_TRUE(AddGaussianNoise(a, /*sigma=*/20, rng_a).ok());
  ASSERT_TRUE(AddGaussianNoise(b, /*sigma=*/20, rng_b).ok());
  EXPECT_TRUE(Same(a, b));
  cv::Mat diff;
  a.convertTo(diff, CV_32FC3);
  diff -= cv::Scalar::all(128);
  cv::Scalar mean, stddev;
  cv::meanStdDev(diff.reshape(1), mean, stddev);
  EXPECT_NEAR(mean[0], 0.0, 0.3);
  EXPECT_NEAR(stddev[0], 20.0, 0.5);

  cv::Mat c = grey.clone();
  std::mt19937_64 rng_c = MakeGenerator(1, 0, 6);
  ASSERT_TRUE(AddGaussianNoise(c, 20, rng_c).ok());
  EXPECT_FALSE(Same(a, c));
}

TEST(AddGaussianNoise, SigmaZeroChangesNothingAndClipsAtTheEnds) {
  const cv::Mat original(10, 10, CV_8UC3, cv::Scalar(0, 128, 255));
  cv::Mat image = original.clone();
  std::mt19937_64 rng(3);
  ASSERT_TRUE(AddGaussianNoise(image, 0, rng).ok());
  EXPECT_TRUE(Same(image, original));
  ASSERT_TRUE(AddGaussianNoise(image, 100, rng).ok());
  std::vector<cv::Mat> channels;
  cv::split(image, channels);
  // Half the draws fall below 0 (channel 0) or above 255 (channel 2) and are clipped there.
  EXPECT_GT(cv::countNonZero(channels[0] == 0), 30);
  EXPECT_GT(cv::countNonZero(channels[2] == 255), 30);
}

TEST(AddGaussianNoise, BadSigmaProbabilityOrImageIsAnError) {
  cv::Mat image(4, 4, CV_8UC3, cv::Scalar::all(9));
  std::mt19937_64 rng(1);
  ExpectInvalid(AddGaussianNoise(image, -1, rng), "sigma");
  ExpectInvalid(AddGaussianNoise(image, 300, rng), "sigma");
  ExpectInvalid(AddGaussianNoise(image, std::nan(""), rng), "sigma");
  ExpectInvalid(RandomGaussianNoise(image, 10, /*p=*/1.2, rng), "probability");
  cv::Mat empty;
  ExpectInvalid(AddGaussianNoise(empty, 10, rng), "empty");
  cv::Mat grey(4, 4, CV_8UC1);
  ExpectInvalid(RandomGaussianNoise(grey, 10, 0.5, rng), "CV_8UC3");
  EXPECT_EQ(cv::countNonZero(image.reshape(1) != 9), 0);
}

TEST(RandomGaussianNoise, ProbabilityZeroAndOne) {
  const cv::Mat original(10, 10, CV_8UC3, cv::Scalar::all(100));
  std::mt19937_64 rng(2);
  cv::Mat never = original.clone();
  ASSERT_TRUE(RandomGaussianNoise(never, 30, /*p=*/0, rng).ok());
  EXPECT_TRUE(Same(never, original));
  cv::Mat always = original.clone();
  ASSERT_TRUE(RandomGaussianNoise(always, 30, /*p=*/1, rng).ok());
  EXPECT_FALSE(Same(always, original));
}

TEST(NoisySubset, ExactFractionSortedDistinctDeterministicAndNested) {
  std::vector<int64_t> previous;
  for (double fraction : {0.05, 0.10, 0.15, 0.20}) {
    absl::StatusOr<std::vector<int64_t>> subset = NoisySubset(1000, fraction, /*seed=*/7);
    ASSERT_TRUE(subset.ok()) << subset.status();
    EXPECT_EQ(subset->size(), static_cast<size_t>(std::llround(fraction * 1000)));
    EXPECT_TRUE(std::is_sorted(subset->begin(), subset->end()));
    EXPECT_EQ(std::adjacent_find(subset->begin(), subset->end()), subset->end());
    EXPECT_GE(subset->front(), 0);
    EXPECT_LT(subset->back(), 1000);
    EXPECT_TRUE(std::includes(subset->begin(), subset->end(), previous.begin(), previous.end()));
    EXPECT_EQ(*NoisySubset(1000, fraction, 7), *subset);
    previous = *subset;
  }
  EXPECT_NE(*NoisySubset(1000, 0.1, 7), *NoisySubset(1000, 0.1, 8));
  // Spread over the whole range, not bunched at the start.
  EXPECT_GT(previous.back(), 800);
  EXPECT_LT(previous.front(), 200);
  EXPECT_EQ(NoisySubset(30, 0.05, 1)->size(), 2u);  // llround(1.5)
  EXPECT_TRUE(NoisySubset(50, 0.0, 1)->empty());
  EXPECT_EQ(NoisySubset(50, 1.0, 1)->size(), 50u);
  EXPECT_TRUE(NoisySubset(0, 0.5, 1)->empty());
}

TEST(NoisySubset, BadArgumentsAreErrors) {
  ExpectInvalid(NoisySubset(10, 1.5, 1).status(), "fraction");
  ExpectInvalid(NoisySubset(10, -0.1, 1).status(), "fraction");
  ExpectInvalid(NoisySubset(10, std::nan(""), 1).status(), "fraction");
  ExpectInvalid(NoisySubset(-1, 0.5, 1).status(), "negative");
}

TEST(NoisySource, DirtiesExactlyTheSubsetTheSameWayEveryTime) {
  auto base = std::make_shared<GreySource>(20);
  absl::StatusOr<std::unique_ptr<NoisySource>> noisy =
      NoisySource::Create(base, /*fraction=*/0.25, /*sigma=*/15, /*seed=*/3);
  ASSERT_TRUE(noisy.ok()) << noisy.status();
  const NoisySource& source = **noisy;
  EXPECT_EQ(source.size(), 20);
  EXPECT_EQ(source.class_names(), base->class_names());
  EXPECT_EQ(source.noisy_indices(), *NoisySubset(20, 0.25, 3));
  int dirty = 0;
  for (int64_t i = 0; i < 20; ++i) {
    EXPECT_EQ(source.label(i), base->label(i));
    absl::StatusOr<cv::Mat> image = source.Load(i);
    ASSERT_TRUE(image.ok());
    const bool changed = !Same(*image, *base->Load(i));
    EXPECT_EQ(changed, source.noisy(i)) << i;
    EXPECT_EQ(source.describe(i).find("+noise") != std::string::npos, source.noisy(i));
    EXPECT_TRUE(Same(*image, *source.Load(i))) << i;
    dirty += changed ? 1 : 0;
  }
  EXPECT_EQ(dirty, 5);
}

// The noise comes after the base's own decode and resize: at the size the model sees, with its
// full spread, and the clean items are the base's LoadResized pixels.
TEST(NoisySource, LoadResizedAddsTheNoiseAtTheResizedSize) {
  auto base = std::make_shared<GreySource>(20);
  absl::StatusOr<std::unique_ptr<NoisySource>> noisy =
      NoisySource::Create(base, /*fraction=*/0.5, /*sigma=*/20, /*seed=*/3);
  ASSERT_TRUE(noisy.ok()) << noisy.status();
  const NoisySource& source = **noisy;
  DecodeOptions options;
  options.size = 4;  // From 8 px: a shrink would average noise added before it.
  for (int64_t i = 0; i < 20; ++i) {
    absl::StatusOr<cv::Mat> image = source.LoadResized(i, options);
    ASSERT_TRUE(image.ok()) << image.status();
    const cv::Mat clean = *base->LoadResized(i, options);
    ASSERT_EQ(image->size(), clean.size());
    EXPECT_EQ(!Same(*image, clean), source.noisy(i)) << i;
    if (source.noisy(i) && i >= 13) {  // Levels 130-190: no clipping at either end.
      cv::Mat difference;
      image->convertTo(difference, CV_64F);
      difference -= cv::Scalar::all(static_cast<double>(10 * i));
      cv::Scalar mean, stddev;
      cv::meanStdDev(difference.reshape(1), mean, stddev);
      EXPECT_GT(stddev[0], 10) << i;  // 48 values of sigma 20: far above an average's ~5.
    }
  }
}

TEST(NoisySource, BadArgumentsAndBaseErrorsAreErrors) {
  auto base = std::make_shared<GreySource>(10, /*failing=*/4);
  ExpectInvalid(NoisySource::Create(nullptr, 0.1, 10, 1).status(), "base");
  ExpectInvalid(NoisySource::Create(base, 2.0, 10, 1).status(), "fraction");
  ExpectInvalid(NoisySource::Create(base, 0.1, -3, 1).status(), "sigma");
  absl::StatusOr<std::unique_ptr<NoisySource>> all = NoisySource::Create(base, 1.0, 10, 1);
  ASSERT_TRUE(all.ok());
  absl::StatusOr<cv::Mat> broken = (*all)->Load(4);
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(std::string(broken.status().message()), HasSubstr("grey:4"));
}

}  // namespace
}  // namespace fauna
