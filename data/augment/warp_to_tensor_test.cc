#include "data/augment/warp_to_tensor.h"
#include "data/augment/test_images.h"

#include <cmath>
#include <limits>
#include <string>

#include <sys/mman.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace fauna {
namespace {

using ::fauna::augment_test::Noise;
using ::testing::HasSubstr;

// What the two-step path gives: cv::warpAffine, then ToTensor.
at::Tensor TwoStep(const cv::Mat& rgb, const AffineWarp& warp) {
  cv::Mat warped = rgb.clone();
  EXPECT_TRUE(ApplyWarp(warped, warp).ok());
  return *ToTensor(warped, kImageNetNormalization);
}

at::Tensor Fused(const cv::Mat& rgb, const AffineWarp& warp) {
  at::Tensor out = at::empty({3, rgb.rows, rgb.cols});
  absl::Status status = WarpToTensorInto(rgb, warp, kImageNetNormalization, out);
  EXPECT_TRUE(status.ok()) << status;
  return out;
}

// Differences in 8-bit levels (ImageNet std is about 0.225, so a level is about 0.017).
at::Tensor LevelDifference(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor std = at::tensor(kImageNetNormalization.std).view({3, 1, 1});
  return ((a - b) * std * 255).abs();
}

TEST(WarpToTensorInto, IdentityAndQuarterTurnsAreExact) {
  const cv::Mat square = Noise(9, 9);
  for (Sampling sampling : {Sampling::kNearest, Sampling::kBilinear}) {
    AffineWarp identity = RotationWarp(square.size(), 0.0, Border::kConstant, sampling);
    EXPECT_TRUE(at::equal(Fused(square, identity), *ToTensor(square, kImageNetNormalization)));
    AffineWarp quarter = RotationWarp(square.size(), 90.0, Border::kConstant, sampling);
    cv::Mat turned;
    cv::rotate(square, turned, cv::ROTATE_90_COUNTERCLOCKWISE);
    EXPECT_TRUE(at::equal(Fused(square, quarter), *ToTensor(turned, kImageNetNormalization)));
  }
}

TEST(WarpToTensorInto, BilinearIsWarpAffineThenToTensor) {
  const cv::Mat image = Noise(40, 32);
  for (Border border : {Border::kConstant, Border::kReflect}) {
    const AffineWarp warp = RotationWarp(image.size(), 17.0, border, Sampling::kBilinear);
    EXPECT_TRUE(at::equal(Fused(image, warp), TwoStep(image, warp)));
  }
}

TEST(WarpToTensorInto, NearestPicksTheSamePixelsAsWarpAffineBarTies) {
  const cv::Mat image = Noise(40, 32);
  for (Border border : {Border::kConstant, Border::kReflect}) {
    const AffineWarp warp = RotationWarp(image.size(), -11.0, border, Sampling::kNearest);
    const at::Tensor same = LevelDifference(Fused(image, warp), TwoStep(image, warp)) < 0.01;
    EXPECT_GT(same.to(at::kFloat).mean().item<float>(), 0.97f);
  }
}

// The nearest warp computed pixel by pixel in doubles: the source of output pixel (x, y) is the
// inverse warp's point rounded half up, reflected or filled with black outside the image.
at::Tensor NearestByHand(const cv::Mat& rgb, const AffineWarp& warp) {
  cv::Matx23d inverse;
  cv::invertAffineTransform(warp.forward, inverse);
  cv::Mat warped(rgb.size(), CV_8UC3);
  for (int y = 0; y < rgb.rows; ++y) {
    for (int x = 0; x < rgb.cols; ++x) {
      int sx = static_cast<int>(std::floor(inverse(0, 0) * x + inverse(0, 1) * y + inverse(0, 2) + 0.5));
      int sy = static_cast<int>(std::floor(inverse(1, 0) * x + inverse(1, 1) * y + inverse(1, 2) + 0.5));
      const bool outside = sx < 0 || sy < 0 || sx >= rgb.cols || sy >= rgb.rows;
      if (outside && warp.border == Border::kConstant) {
        warped.at<cv::Vec3b>(y, x) = cv::Vec3b(0, 0, 0);
        continue;
      }
      sx = cv::borderInterpolate(sx, rgb.cols, cv::BORDER_REFLECT_101);
      sy = cv::borderInterpolate(sy, rgb.rows, cv::BORDER_REFLECT_101);
      warped.at<cv::Vec3b>(y, x) = rgb.at<cv::Vec3b>(sy, sx);
    }
  }
  return *ToTensor(warped, kImageNetNormalization);
}

// Pixels whose values differ (a rounding tie can fall either way: at most a couple of pixels).
int64_t DifferentPixels(const at::Tensor& a, const at::Tensor& b) {
  return (a != b).any(0).sum().item<int64_t>();
}

TEST(WarpToTensorInto, NearestTakesEachPixelsOwnSource) {
  // 160 px: a destination past the size written with streaming stores; 37 x 29: a small one.
  for (const cv::Size size : {cv::Size(160, 160), cv::Size(37, 29)}) {
    const cv::Mat image = Noise(size.width, size.height, 3);
    for (Border border : {Border::kConstant, Border::kReflect}) {
      for (double degrees : {-14.3, 3.7, 41.0, 133.0}) {
        SCOPED_TRACE(std::to_string(size.width) + " px, " + std::to_string(degrees) + " degrees");
        const AffineWarp warp = RotationWarp(size, degrees, border, Sampling::kNearest);
        EXPECT_LE(DifferentPixels(Fused(image, warp), NearestByHand(image, warp)), 2);
      }
      // Moved off the image entirely, squeezed (the source moves along a row only), and a flip.
      AffineWarp moved;
      moved.sampling = Sampling::kNearest;
      moved.border = border;
      moved.forward = cv::Matx23d(1, 0, 3.0 * size.width, 0, 1, 0.25);
      EXPECT_EQ(DifferentPixels(Fused(image, moved), NearestByHand(image, moved)), 0);
      moved.forward = cv::Matx23d(2.5, 0, -7.2, 0, 1, 0);
      EXPECT_EQ(DifferentPixels(Fused(image, moved), NearestByHand(image, moved)), 0);
      const AffineWarp flip = FlipWarp(size, /*horizontal=*/true);
      EXPECT_EQ(DifferentPixels(Fused(image, flip), NearestByHand(image, flip)), 0);
    }
  }
}

TEST(WarpToTensorInto, ReadsNothingPastTheImagesLastByte) {
  // The image ends where a page ends, and the next page cannot be read: a read of one byte too
  // many (a 4-byte load at the last pixel) would crash the test.
  const long page = sysconf(_SC_PAGESIZE);
  void* pages = mmap(nullptr, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(pages, MAP_FAILED);
  ASSERT_EQ(mprotect(static_cast<char*>(pages) + page, page, PROT_NONE), 0);
  const cv::Mat source = Noise(37, 29, 4);
  const size_t bytes = source.total() * 3;
  cv::Mat at_the_edge(29, 37, CV_8UC3, static_cast<char*>(pages) + page - bytes);
  source.copyTo(at_the_edge);
  for (double degrees : {180.0 + 1e-3, 177.0, 183.0}) {
    SCOPED_TRACE(degrees);
    const AffineWarp warp = RotationWarp(at_the_edge.size(), degrees, Border::kReflect,
                                         Sampling::kNearest);
    EXPECT_LE(DifferentPixels(Fused(at_the_edge, warp), NearestByHand(source, warp)), 2);
  }
  munmap(pages, 2 * page);
}

TEST(WarpToTensorInto, BordersFillTheCorners) {
  const cv::Mat white(20, 20, CV_8UC3, cv::Scalar::all(255));
  const at::Tensor white_tensor = *ToTensor(white, kImageNetNormalization);
  const at::Tensor black_tensor =
      *ToTensor(cv::Mat(20, 20, CV_8UC3, cv::Scalar::all(0)), kImageNetNormalization);
  for (Sampling sampling : {Sampling::kNearest, Sampling::kBilinear}) {
    const at::Tensor constant =
        Fused(white, RotationWarp(white.size(), 45.0, Border::kConstant, sampling));
    EXPECT_TRUE(at::allclose(constant.select(1, 0).select(1, 0), black_tensor.select(1, 0).select(1, 0)));
    EXPECT_TRUE(at::allclose(constant.select(1, 10).select(1, 10), white_tensor.select(1, 10).select(1, 10)));
    const at::Tensor reflect =
        Fused(white, RotationWarp(white.size(), 45.0, Border::kReflect, sampling));
    EXPECT_TRUE(at::allclose(reflect, white_tensor));
  }
}

TEST(WarpToTensorInto, BadInputsAreErrors) {
  const cv::Mat rgb = Noise(6, 4);
  const AffineWarp warp = RotationWarp(rgb.size(), 10.0, Border::kConstant, Sampling::kNearest);
  at::Tensor good = at::empty({3, 4, 6});
  at::Tensor wrong = at::empty({3, 6, 4});
  EXPECT_THAT(std::string(WarpToTensorInto(rgb, warp, kImageNetNormalization, wrong).message()),
              HasSubstr("[3, 4, 6]"));
  AffineWarp flat = warp;
  flat.forward = cv::Matx23d(1, 0, 0, 2, 0, 0);  // Squashes everything onto a line.
  EXPECT_THAT(std::string(WarpToTensorInto(rgb, flat, kImageNetNormalization, good).message()),
              HasSubstr("not invertible"));
  AffineWarp nan = warp;
  nan.forward(0, 2) = std::numeric_limits<double>::quiet_NaN();
  EXPECT_THAT(std::string(WarpToTensorInto(rgb, nan, kImageNetNormalization, good).message()),
              HasSubstr("not finite"));
  AffineWarp far = warp;
  far.forward(0, 2) = 1e12;  // Finite, but beyond what the fixed-point coordinates hold.
  EXPECT_THAT(std::string(WarpToTensorInto(rgb, far, kImageNetNormalization, good).message()),
              HasSubstr("2^28"));
  cv::Mat gray(4, 6, CV_8UC1, cv::Scalar(0));
  EXPECT_FALSE(WarpToTensorInto(gray, warp, kImageNetNormalization, good).ok());
  Normalization zero_std = kImageNetNormalization;
  zero_std.std[1] = 0;
  EXPECT_FALSE(WarpToTensorInto(rgb, warp, zero_std, good).ok());
}

}  // namespace
}  // namespace fauna
