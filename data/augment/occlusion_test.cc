#include "data/augment/occlusion.h"

#include <cmath>
#include <random>
#include <set>
#include <string>

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

// Whether every pixel of `image` is `value`.
bool AllEqual(const cv::Mat& image, const cv::Scalar& value) {
  return cv::norm(image, cv::Mat(image.size(), image.type(), value), cv::NORM_INF) == 0;
}

// Expects `image` to equal `original` outside `box`.
void ExpectSameOutside(const cv::Mat& image, const cv::Mat& original, const cv::Rect& box) {
  cv::Mat mask(original.size(), CV_8UC1, cv::Scalar(255));
  mask(box).setTo(0);
  cv::Mat diff;
  cv::absdiff(image, original, diff);
  cv::Mat any;
  cv::transform(diff, any, cv::Matx13f(1, 1, 1));
  EXPECT_EQ(cv::countNonZero(any & mask), 0);
}

TEST(RandomOcclusion, FillsOnlyTheBoxItReturns) {
  const cv::Mat original = Noise(40, 30);
  OcclusionOptions options;
  for (uint64_t index = 0; index < 50; ++index) {
    cv::Mat image = original.clone();
    std::mt19937_64 rng = MakeGenerator(1, 0, index);
    absl::StatusOr<cv::Rect> box = RandomOcclusion(image, options, rng);
    ASSERT_TRUE(box.ok()) << box.status();
    ASSERT_FALSE(box->empty());
    EXPECT_TRUE((*box & cv::Rect(0, 0, 40, 30)) == *box);
    const double fraction = box->area() / (40.0 * 30.0);
    EXPECT_GE(fraction, 0.01);
    EXPECT_LE(fraction, 0.40);
    EXPECT_TRUE(AllEqual(image(*box), cv::Scalar::all(128)));
    ExpectSameOutside(image, original, *box);

    cv::Mat again = original.clone();
    std::mt19937_64 same_rng = MakeGenerator(1, 0, index);
    EXPECT_EQ(*RandomOcclusion(again, options, same_rng), *box);
    EXPECT_TRUE(Same(again, image));
  }
}

TEST(RandomOcclusion, BlackAndNoiseFills) {
  const cv::Mat original(30, 30, CV_8UC3, cv::Scalar::all(200));
  for (OcclusionFill fill : {OcclusionFill::kBlack, OcclusionFill::kNoise}) {
    cv::Mat image = original.clone();
    std::mt19937_64 rng(4);
    OcclusionOptions options;
    options.fill = fill;
    options.min_area = 0.2;
    absl::StatusOr<cv::Rect> box = RandomOcclusion(image, options, rng);
    ASSERT_TRUE(box.ok() && !box->empty());
    ExpectSameOutside(image, original, *box);
    if (fill == OcclusionFill::kBlack) {
      EXPECT_TRUE(AllEqual(image(*box), cv::Scalar::all(0)));
    } else {
      EXPECT_NEAR(cv::mean(image(*box))[0], 127.5, 20);
    }
  }
}

TEST(RandomOcclusion, ProbabilityZeroOrNoRoomLeavesTheImage) {
  const cv::Mat original = Noise(20, 20);
  cv::Mat image = original.clone();
  std::mt19937_64 rng(2);
  OcclusionOptions never;
  never.p = 0;
  absl::StatusOr<cv::Rect> box = RandomOcclusion(image, never, rng);
  ASSERT_TRUE(box.ok());
  EXPECT_TRUE(box->empty());
  EXPECT_TRUE(Same(image, original));

  cv::Mat pixel = Noise(1, 1);
  const cv::Mat pixel_before = pixel.clone();
  box = RandomOcclusion(pixel, OcclusionOptions(), rng);
  ASSERT_TRUE(box.ok());
  EXPECT_TRUE(box->empty());
  EXPECT_TRUE(Same(pixel, pixel_before));
}

TEST(RandomOcclusion, BadOptionsAreErrors) {
  cv::Mat image = Noise(10, 10);
  std::mt19937_64 rng(1);
  OcclusionOptions options;
  options.p = -0.5;
  ExpectInvalid(RandomOcclusion(image, options, rng).status(), "probability");
  options = OcclusionOptions();
  options.min_area = 0;
  ExpectInvalid(RandomOcclusion(image, options, rng).status(), "area");
  options = OcclusionOptions();
  options.max_area = 1.5;
  ExpectInvalid(RandomOcclusion(image, options, rng).status(), "area");
  options = OcclusionOptions();
  options.min_area = 0.5;
  options.max_area = 0.2;
  ExpectInvalid(RandomOcclusion(image, options, rng).status(), "area");
  options = OcclusionOptions();
  options.min_ratio = 0;
  ExpectInvalid(RandomOcclusion(image, options, rng).status(), "ratio");
  cv::Mat empty;
  ExpectInvalid(RandomOcclusion(empty, OcclusionOptions(), rng).status(), "empty");
}

// Left half red, right half blue.
cv::Mat Halves() {
  cv::Mat image(40, 60, CV_8UC3, cv::Scalar(255, 0, 0));
  image(cv::Rect(30, 0, 30, 40)).setTo(cv::Scalar(0, 0, 255));
  return image;
}

TEST(PartialView, KeepsTheRequestedSideAndResizesBack) {
  std::mt19937_64 rng(1);
  cv::Mat left = Halves();
  ASSERT_TRUE(PartialView(left, {PartialRegion::kLeft, /*keep=*/0.5}, rng).ok());
  EXPECT_EQ(left.size(), cv::Size(60, 40));
  EXPECT_TRUE(AllEqual(left, cv::Scalar(255, 0, 0)));

  cv::Mat right = Halves();
  ASSERT_TRUE(PartialView(right, {PartialRegion::kRight, /*keep=*/0.5}, rng).ok());
  EXPECT_TRUE(AllEqual(right, cv::Scalar(0, 0, 255)));

  cv::Mat top = Halves();
  ASSERT_TRUE(PartialView(top, {PartialRegion::kTop, /*keep=*/0.25, /*resize_back=*/false}, rng)
                  .ok());
  EXPECT_EQ(top.size(), cv::Size(60, 10));
  EXPECT_TRUE(Same(top, Halves()(cv::Rect(0, 0, 60, 10))));

  cv::Mat bottom = Noise(60, 40);
  const cv::Mat bottom_before = bottom.clone();
  ASSERT_TRUE(
      PartialView(bottom, {PartialRegion::kBottom, /*keep=*/0.5, /*resize_back=*/false}, rng).ok());
  EXPECT_TRUE(Same(bottom, bottom_before(cv::Rect(0, 20, 60, 20))));

  cv::Mat whole = Noise(20, 20);
  const cv::Mat whole_before = whole.clone();
  ASSERT_TRUE(PartialView(whole, {PartialRegion::kCenter, /*keep=*/1.0}, rng).ok());
  EXPECT_TRUE(Same(whole, whole_before));
}

TEST(PartialView, CentreAndRandomWindowsHaveTheRequestedArea) {
  std::mt19937_64 rng(5);
  absl::StatusOr<cv::Rect> centre =
      PartialViewBox(cv::Size(80, 60), {PartialRegion::kCenter, /*keep=*/0.25}, rng);
  ASSERT_TRUE(centre.ok());
  EXPECT_EQ(*centre, cv::Rect(20, 15, 40, 30));
  std::set<int> lefts;
  for (uint64_t index = 0; index < 30; ++index) {
    std::mt19937_64 draw = MakeGenerator(3, 0, index);
    absl::StatusOr<cv::Rect> window =
        PartialViewBox(cv::Size(80, 60), {PartialRegion::kRandomWindow, /*keep=*/0.25}, draw);
    ASSERT_TRUE(window.ok());
    EXPECT_EQ(window->size(), cv::Size(40, 30));
    EXPECT_TRUE((*window & cv::Rect(0, 0, 80, 60)) == *window);
    lefts.insert(window->x);
  }
  EXPECT_GT(lefts.size(), 5u);
}

TEST(PartialView, QuadrantsAreTheCornersWindows) {
  // Four colours, one per quadrant of an 80 x 60 image.
  cv::Mat image(60, 80, CV_8UC3, cv::Scalar(10, 0, 0));
  image(cv::Rect(40, 0, 40, 30)).setTo(cv::Scalar(20, 0, 0));
  image(cv::Rect(0, 30, 40, 30)).setTo(cv::Scalar(30, 0, 0));
  image(cv::Rect(40, 30, 40, 30)).setTo(cv::Scalar(40, 0, 0));
  const struct {
    const char* name;
    cv::Rect box;
    double level;
  } kQuadrants[] = {{"top_left", {0, 0, 40, 30}, 10},
                    {"top_right", {40, 0, 40, 30}, 20},
                    {"bottom_left", {0, 30, 40, 30}, 30},
                    {"bottom_right", {40, 30, 40, 30}, 40}};
  for (const auto& quadrant : kQuadrants) {
    absl::StatusOr<PartialRegion> region = ParsePartialRegion(quadrant.name);
    ASSERT_TRUE(region.ok()) << region.status();
    std::mt19937_64 rng(1);
    absl::StatusOr<cv::Rect> box = PartialViewBox(image.size(), {*region, /*keep=*/0.25}, rng);
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(*box, quadrant.box) << quadrant.name;
    cv::Mat view = image.clone();
    ASSERT_TRUE(PartialView(view, {*region, /*keep=*/0.25}, rng).ok());
    EXPECT_EQ(view.size(), image.size()) << quadrant.name;  // Resized back.
    EXPECT_TRUE(AllEqual(view, cv::Scalar(quadrant.level, 0, 0))) << quadrant.name;
    // Other areas keep the corner: keep 0.64 is 0.8 of each side.
    std::mt19937_64 other(1);
    absl::StatusOr<cv::Rect> larger = PartialViewBox(image.size(), {*region, 0.64}, other);
    ASSERT_TRUE(larger.ok());
    EXPECT_EQ(larger->size(), cv::Size(64, 48));
    EXPECT_TRUE((*larger & quadrant.box) == quadrant.box) << quadrant.name;
  }
}

TEST(PartialView, RandomSideDrawsEverySideDeterministically) {
  std::set<std::pair<int, int>> corners;
  for (uint64_t index = 0; index < 40; ++index) {
    std::mt19937_64 a = MakeGenerator(8, 2, index);
    std::mt19937_64 b = MakeGenerator(8, 2, index);
    PartialViewOptions options{PartialRegion::kRandomSide, /*keep=*/0.5};
    absl::StatusOr<cv::Rect> box = PartialViewBox(cv::Size(60, 40), options, a);
    ASSERT_TRUE(box.ok());
    EXPECT_EQ(*box, *PartialViewBox(cv::Size(60, 40), options, b));
    EXPECT_EQ(box->area(), 60 * 40 / 2);
    corners.insert({box->x, box->y * 1000 + box->width});
  }
  EXPECT_EQ(corners.size(), 4u);
}

TEST(PartialView, BadOptionsAndImagesAreErrors) {
  std::mt19937_64 rng(1);
  cv::Mat image = Noise(10, 10);
  ExpectInvalid(PartialView(image, {PartialRegion::kLeft, /*keep=*/0.0}, rng), "keep");
  ExpectInvalid(PartialView(image, {PartialRegion::kLeft, /*keep=*/1.5}, rng), "keep");
  ExpectInvalid(PartialView(image, {PartialRegion::kLeft, std::nan("")}, rng), "keep");
  cv::Mat empty;
  ExpectInvalid(PartialView(empty, {}, rng), "empty");
  ExpectInvalid(ParsePartialRegion("diagonal").status(), "diagonal");
  ExpectInvalid(ParsePartialRegion("top-left").status(), "top_left");  // Names the known ones.
  EXPECT_EQ(*ParsePartialRegion("side"), PartialRegion::kRandomSide);
  EXPECT_EQ(image.size(), cv::Size(10, 10));
  // A tiny keep still keeps one pixel.
  cv::Mat small = Noise(3, 3);
  ASSERT_TRUE(PartialView(small, {PartialRegion::kLeft, /*keep=*/0.01, false}, rng).ok());
  EXPECT_EQ(small.size(), cv::Size(1, 3));
}

}  // namespace
}  // namespace fauna
