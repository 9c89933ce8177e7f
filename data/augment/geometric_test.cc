#include "data/augment/geometric.h"

#include <cmath>
#include <limits>
#include <random>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "core/seed.h"
#include "data/augment/test_images.h"

namespace fauna {
namespace {

using ::fauna::augment_test::Noise;
using ::fauna::augment_test::Same;
using ::fauna::augment_test::ExpectInvalid;

using ::testing::HasSubstr;

TEST(Flip, MirrorsAndTwiceIsIdentity) {
  const cv::Mat original = Noise(7, 5);
  cv::Mat image = original.clone();
  ASSERT_TRUE(HorizontalFlip(image).ok());
  EXPECT_EQ(image.at<cv::Vec3b>(2, 0), original.at<cv::Vec3b>(2, 6));
  EXPECT_FALSE(Same(image, original));
  ASSERT_TRUE(HorizontalFlip(image).ok());
  EXPECT_TRUE(Same(image, original));

  ASSERT_TRUE(VerticalFlip(image).ok());
  EXPECT_EQ(image.at<cv::Vec3b>(0, 3), original.at<cv::Vec3b>(4, 3));
  ASSERT_TRUE(VerticalFlip(image).ok());
  EXPECT_TRUE(Same(image, original));
}

TEST(RandomFlip, ProbabilityZeroOneAndAboutHalf) {
  const cv::Mat original = Noise(6, 4);
  std::mt19937_64 rng = MakeGenerator(/*seed=*/3);
  int flipped = 0;
  for (int i = 0; i < 400; ++i) {
    cv::Mat never = original.clone();
    ASSERT_TRUE(RandomHorizontalFlip(never, /*p=*/0.0, rng).ok());
    EXPECT_TRUE(Same(never, original));
    cv::Mat always = original.clone();
    ASSERT_TRUE(RandomVerticalFlip(always, /*p=*/1.0, rng).ok());
    EXPECT_FALSE(Same(always, original));
    cv::Mat maybe = original.clone();
    ASSERT_TRUE(RandomHorizontalFlip(maybe, /*p=*/0.5, rng).ok());
    flipped += Same(maybe, original) ? 0 : 1;
  }
  EXPECT_GT(flipped, 150);
  EXPECT_LT(flipped, 250);
}

TEST(RandomFlip, SameGeneratorSameResult) {
  for (uint64_t index = 0; index < 20; ++index) {
    cv::Mat a = Noise(5, 5);
    cv::Mat b = a.clone();
    std::mt19937_64 rng_a = MakeGenerator(/*seed=*/9, /*epoch=*/1, index);
    std::mt19937_64 rng_b = MakeGenerator(/*seed=*/9, /*epoch=*/1, index);
    ASSERT_TRUE(RandomHorizontalFlip(a, 0.5, rng_a).ok());
    ASSERT_TRUE(RandomHorizontalFlip(b, 0.5, rng_b).ok());
    EXPECT_TRUE(Same(a, b));
  }
}

TEST(RandomFlip, BadProbabilityOrImageIsAnError) {
  cv::Mat image = Noise(4, 4);
  std::mt19937_64 rng(1);
  ExpectInvalid(RandomHorizontalFlip(image, -0.1, rng), "probability");
  ExpectInvalid(RandomVerticalFlip(image, 1.5, rng), "probability");
  ExpectInvalid(RandomVerticalFlip(image, std::nan(""), rng), "probability");
  cv::Mat empty;
  ExpectInvalid(HorizontalFlip(empty), "empty");
  cv::Mat grey(4, 4, CV_8UC1);
  ExpectInvalid(RandomHorizontalFlip(grey, 0.5, rng), "CV_8UC3");
  cv::Mat floats(4, 4, CV_32FC3);
  ExpectInvalid(VerticalFlip(floats), "CV_8UC3");
}

TEST(Rotate, ZeroIsIdentityAndQuarterTurnMatchesCvRotate) {
  const cv::Mat original = Noise(9, 9);
  for (Border border : {Border::kReflect, Border::kConstant}) {
    cv::Mat image = original.clone();
    ASSERT_TRUE(Rotate(image, 0.0, border).ok());
    EXPECT_TRUE(Same(image, original));
    ASSERT_TRUE(Rotate(image, 90.0, border).ok());
    cv::Mat expected;
    cv::rotate(original, expected, cv::ROTATE_90_COUNTERCLOCKWISE);
    EXPECT_LE(cv::norm(image, expected, cv::NORM_INF), 1.0);
  }
}

TEST(Rotate, NearestSamplingOnlyCopiesPixels) {
  cv::Mat board(16, 16, CV_8UC3);
  for (int y = 0; y < 16; ++y) {
    for (int x = 0; x < 16; ++x) board.at<cv::Vec3b>(y, x) = cv::Vec3b::all((x + y) % 2 ? 200 : 10);
  }
  auto values = [](const cv::Mat& image) {
    std::set<int> seen;
    for (int y = 0; y < image.rows; ++y) {
      for (int x = 0; x < image.cols; ++x) seen.insert(image.at<cv::Vec3b>(y, x)[0]);
    }
    return seen;
  };
  cv::Mat nearest = board.clone();
  ASSERT_TRUE(Rotate(nearest, 30.0, Border::kConstant, Sampling::kNearest).ok());
  EXPECT_EQ(values(nearest), (std::set<int>{0, 10, 200}));
  cv::Mat bilinear = board.clone();
  ASSERT_TRUE(Rotate(bilinear, 30.0, Border::kConstant, Sampling::kBilinear).ok());
  EXPECT_GT(values(bilinear).size(), 3u);
}

TEST(FlipWarp, IsTheFlip) {
  const cv::Mat original = Noise(7, 5);
  for (bool horizontal : {true, false}) {
    cv::Mat warped = original.clone();
    cv::Mat flipped = original.clone();
    ASSERT_TRUE(ApplyWarp(warped, FlipWarp(original.size(), horizontal)).ok());
    ASSERT_TRUE((horizontal ? HorizontalFlip(flipped) : VerticalFlip(flipped)).ok());
    EXPECT_TRUE(Same(warped, flipped));
  }
}

TEST(DrawRandomFlip, DrawsAsTheRandomFlipDoes) {
  const cv::Mat original = Noise(7, 5);
  for (uint64_t index = 0; index < 16; ++index) {
    std::mt19937_64 rng_a = MakeGenerator(1, 0, index);
    std::mt19937_64 rng_b = MakeGenerator(1, 0, index);
    absl::StatusOr<AffineWarp> warp = DrawRandomFlip(original, 0.5, /*horizontal=*/true, rng_a);
    ASSERT_TRUE(warp.ok());
    EXPECT_TRUE(warp->exact);
    cv::Mat warped = original.clone();
    cv::Mat flipped = original.clone();
    ASSERT_TRUE(ApplyWarp(warped, *warp).ok());
    ASSERT_TRUE(RandomHorizontalFlip(flipped, 0.5, rng_b).ok());
    EXPECT_TRUE(Same(warped, flipped));
    EXPECT_EQ(rng_a(), rng_b());
  }
  std::mt19937_64 rng(0);
  EXPECT_FALSE(DrawRandomFlip(original, 1.5, true, rng).ok());
}

TEST(Compose, FlipThenRotationIsOneWarp) {
  const cv::Mat original = Noise(9, 9);
  const AffineWarp flip = FlipWarp(original.size(), /*horizontal=*/true);
  const AffineWarp quarter =
      RotationWarp(original.size(), 90.0, Border::kConstant, Sampling::kNearest);
  absl::StatusOr<AffineWarp> both = Compose(flip, quarter);
  ASSERT_TRUE(both.ok()) << both.status();
  EXPECT_FALSE(both->exact);
  EXPECT_EQ(both->sampling, Sampling::kNearest);
  cv::Mat composed = original.clone();
  ASSERT_TRUE(ApplyWarp(composed, *both).ok());
  cv::Mat stepwise = original.clone();
  ASSERT_TRUE(HorizontalFlip(stepwise).ok());
  ASSERT_TRUE(Rotate(stepwise, 90.0, Border::kConstant, Sampling::kNearest).ok());
  EXPECT_TRUE(Same(composed, stepwise));
  absl::StatusOr<AffineWarp> flips = Compose(flip, FlipWarp(original.size(), true));
  ASSERT_TRUE(flips.ok());
  EXPECT_TRUE(flips->exact);
  EXPECT_EQ(flips->forward, cv::Matx23d(1, 0, 0, 0, 1, 0));  // Two flips undo each other.
  EXPECT_THAT(std::string(Compose(quarter, quarter).status().message()),
              HasSubstr("cannot compose two resampling warps"));
}

TEST(TranslationWarp, MovesWholePixelsAndFillsTheUncoveredBorder) {
  const cv::Mat original = Noise(8, 6);
  cv::Mat shifted = original.clone();
  ASSERT_TRUE(ApplyWarp(shifted, TranslationWarp(2, -1, Border::kConstant)).ok());
  // Output (x, y) shows input (x - 2, y + 1); the two left columns and the bottom row are black.
  EXPECT_TRUE(Same(shifted(cv::Rect(2, 0, 6, 5)), original(cv::Rect(0, 1, 6, 5))));
  EXPECT_EQ(cv::countNonZero(shifted(cv::Rect(0, 0, 2, 6)).reshape(1)), 0);
  EXPECT_EQ(cv::countNonZero(shifted(cv::Rect(0, 5, 8, 1)).reshape(1)), 0);

  cv::Mat reflected = original.clone();
  ASSERT_TRUE(ApplyWarp(reflected, TranslationWarp(1, 0, Border::kReflect)).ok());
  // Column 0 mirrors about the edge: it shows input column 1 (BORDER_REFLECT_101).
  EXPECT_TRUE(Same(reflected.col(0), original.col(1)));
  EXPECT_TRUE(Same(reflected.colRange(1, 8), original.colRange(0, 7)));

  cv::Mat still = original.clone();
  ASSERT_TRUE(ApplyWarp(still, TranslationWarp(0, 0, Border::kConstant)).ok());
  EXPECT_TRUE(Same(still, original));
}

TEST(DrawRandomTranslation, DrawsEveryShiftInRangeDeterministically) {
  const cv::Mat original = Noise(10, 10);
  std::set<std::pair<int, int>> shifts;
  for (uint64_t index = 0; index < 400; ++index) {
    std::mt19937_64 rng_a = MakeGenerator(3, 1, index);
    std::mt19937_64 rng_b = MakeGenerator(3, 1, index);
    absl::StatusOr<AffineWarp> a = DrawRandomTranslation(original, 2, Border::kConstant, rng_a);
    absl::StatusOr<AffineWarp> b = DrawRandomTranslation(original, 2, Border::kConstant, rng_b);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_EQ(a->forward, b->forward);
    EXPECT_EQ(a->sampling, Sampling::kNearest);
    EXPECT_EQ(a->forward(0, 0), 1);
    EXPECT_EQ(a->forward(1, 1), 1);
    shifts.insert({static_cast<int>(a->forward(0, 2)), static_cast<int>(a->forward(1, 2))});
  }
  EXPECT_EQ(shifts.size(), 25u);  // Every (dx, dy) in [-2, 2]^2, and nothing else.
  EXPECT_EQ(shifts.begin()->first, -2);
  EXPECT_EQ(shifts.rbegin()->first, 2);

  std::mt19937_64 rng(0);
  absl::StatusOr<AffineWarp> none = DrawRandomTranslation(original, 0, Border::kReflect, rng);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->identity());
  ExpectInvalid(DrawRandomTranslation(original, -1, Border::kConstant, rng).status(),
                "translation pixels");
  cv::Mat empty;
  ExpectInvalid(DrawRandomTranslation(empty, 2, Border::kConstant, rng).status(), "empty");
}

TEST(Rotate, BorderFillsTheCorners) {
  cv::Mat white(20, 20, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::Mat constant = white.clone();
  ASSERT_TRUE(Rotate(constant, 45.0, Border::kConstant).ok());
  EXPECT_EQ(constant.at<cv::Vec3b>(0, 0), cv::Vec3b(0, 0, 0));
  EXPECT_EQ(constant.at<cv::Vec3b>(10, 10), cv::Vec3b(255, 255, 255));
  cv::Mat reflect = white.clone();
  ASSERT_TRUE(Rotate(reflect, 45.0, Border::kReflect).ok());
  EXPECT_EQ(reflect.at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
}

TEST(RandomRotation, DeterministicBoundedAndChecked) {
  const cv::Mat original = Noise(16, 12);
  cv::Mat a = original.clone();
  cv::Mat b = original.clone();
  std::mt19937_64 rng_a = MakeGenerator(5, 0, 7);
  std::mt19937_64 rng_b = MakeGenerator(5, 0, 7);
  ASSERT_TRUE(RandomRotation(a, 30, Border::kReflect, rng_a).ok());
  ASSERT_TRUE(RandomRotation(b, 30, Border::kReflect, rng_b).ok());
  EXPECT_TRUE(Same(a, b));
  EXPECT_FALSE(Same(a, original));
  EXPECT_EQ(a.size(), original.size());

  cv::Mat zero = original.clone();
  ASSERT_TRUE(RandomRotation(zero, 0, Border::kConstant, rng_a).ok());
  EXPECT_TRUE(Same(zero, original));

  ExpectInvalid(RandomRotation(a, -1, Border::kReflect, rng_a), "max_degrees");
  ExpectInvalid(RandomRotation(a, 181, Border::kReflect, rng_a), "max_degrees");
  ExpectInvalid(Rotate(a, std::numeric_limits<double>::infinity(), Border::kReflect), "finite");
  cv::Mat empty;
  ExpectInvalid(RandomRotation(empty, 10, Border::kReflect, rng_a), "empty");
}

TEST(RandomResizedCrop, OutputSizeBoxesWithinLimitsAndDeterministic) {
  const cv::Mat original = Noise(64, 48);
  ResizedCropOptions options{/*height=*/20, /*width=*/30, /*min_scale=*/0.2, /*max_scale=*/0.6};
  for (uint64_t index = 0; index < 50; ++index) {
    std::mt19937_64 rng = MakeGenerator(2, 0, index);
    absl::StatusOr<cv::Rect> box = SampleResizedCropBox(original.size(), options, rng);
    ASSERT_TRUE(box.ok()) << box.status();
    EXPECT_TRUE((*box & cv::Rect(0, 0, 64, 48)) == *box);
    const double scale = box->area() / (64.0 * 48.0);
    const double ratio = static_cast<double>(box->width) / box->height;
    EXPECT_GE(scale, 0.18);
    EXPECT_LE(scale, 0.63);
    EXPECT_GE(ratio, 0.75 * 0.9);
    EXPECT_LE(ratio, 4.0 / 3.0 * 1.1);

    cv::Mat a = original.clone();
    cv::Mat b = original.clone();
    std::mt19937_64 rng_a = MakeGenerator(2, 1, index);
    std::mt19937_64 rng_b = MakeGenerator(2, 1, index);
    ASSERT_TRUE(RandomResizedCrop(a, options, rng_a).ok());
    ASSERT_TRUE(RandomResizedCrop(b, options, rng_b).ok());
    EXPECT_EQ(a.size(), cv::Size(30, 20));
    EXPECT_EQ(a.type(), CV_8UC3);
    EXPECT_TRUE(Same(a, b));
  }
}

TEST(RandomResizedCrop, FullScaleAndRatioOfTheImageIsTheWholeImage) {
  const cv::Mat original = Noise(40, 20);
  ResizedCropOptions options{/*height=*/20, /*width=*/40, /*min_scale=*/1.0, /*max_scale=*/1.0,
                             /*min_ratio=*/2.0, /*max_ratio=*/2.0};
  cv::Mat image = original.clone();
  std::mt19937_64 rng(4);
  ASSERT_TRUE(RandomResizedCrop(image, options, rng).ok());
  EXPECT_TRUE(Same(image, original));
}

TEST(RandomResizedCrop, FallsBackToTheCentreWhenNoBoxFits) {
  // A 100x10 strip cannot hold a box of ratio at most 2 covering 90% of it: centre 20x10.
  ResizedCropOptions options{/*height=*/8, /*width=*/8, /*min_scale=*/0.9, /*max_scale=*/1.0,
                             /*min_ratio=*/1.0, /*max_ratio=*/2.0};
  std::mt19937_64 rng(8);
  absl::StatusOr<cv::Rect> box = SampleResizedCropBox(cv::Size(100, 10), options, rng);
  ASSERT_TRUE(box.ok());
  EXPECT_EQ(*box, cv::Rect(40, 0, 20, 10));
}

TEST(RandomResizedCrop, BadOptionsAreErrors) {
  cv::Mat image = Noise(10, 10);
  std::mt19937_64 rng(1);
  ExpectInvalid(RandomResizedCrop(image, {/*height=*/0, /*width=*/10}, rng), "output size");
  ExpectInvalid(RandomResizedCrop(image, {/*height=*/10, /*width=*/-2}, rng), "output size");
  ExpectInvalid(RandomResizedCrop(image, {10, 10, /*min_scale=*/0.0, 1.0}, rng), "scale");
  ExpectInvalid(RandomResizedCrop(image, {10, 10, /*min_scale=*/0.5, /*max_scale=*/0.4}, rng),
                "scale");
  ExpectInvalid(RandomResizedCrop(image, {10, 10, 0.5, /*max_scale=*/1.5}, rng), "scale");
  ExpectInvalid(RandomResizedCrop(image, {10, 10, 0.5, 1.0, /*min_ratio=*/-1, 1.0}, rng), "ratio");
  ExpectInvalid(RandomResizedCrop(image, {10, 10, 0.5, 1.0, /*min_ratio=*/2, /*max_ratio=*/1}, rng),
                "ratio");
  cv::Mat empty;
  ExpectInvalid(RandomResizedCrop(empty, {}, rng), "empty");
  EXPECT_EQ(image.size(), cv::Size(10, 10));  // untouched by the failures
}

}  // namespace
}  // namespace fauna
