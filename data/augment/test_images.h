// For the augmentation tests: images to transform and the checks they share.
#ifndef FAUNA_DATA_AUGMENT_TEST_IMAGES_H_
#define FAUNA_DATA_AUGMENT_TEST_IMAGES_H_

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "absl/status/status.h"

namespace fauna {
namespace augment_test {

// A width x height CV_8UC3 image of uniform noise, the same for the same seed.
inline cv::Mat Noise(int width, int height, int seed = 1) {
  cv::Mat image(height, width, CV_8UC3);
  cv::RNG(seed).fill(image, cv::RNG::UNIFORM, 0, 256);
  return image;
}

// True when `a` and `b` have the same size, type and pixels.
inline bool Same(const cv::Mat& a, const cv::Mat& b) {
  return a.size() == b.size() && a.type() == b.type() && cv::norm(a, b, cv::NORM_INF) == 0;
}

// Expects an invalid-argument status whose message contains `fragment`.
inline void ExpectInvalid(const absl::Status& status, const std::string& fragment) {
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
  EXPECT_THAT(std::string(status.message()), ::testing::HasSubstr(fragment));
}

}  // namespace augment_test
}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_TEST_IMAGES_H_
