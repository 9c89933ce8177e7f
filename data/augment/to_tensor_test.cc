#include "data/augment/to_tensor.h"
#include "data/augment/test_images.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

namespace fauna {
namespace {

using ::fauna::augment_test::Noise;

using ::testing::HasSubstr;

TEST(ToTensor, NormalisesAKnownPixelPerChannel) {
  cv::Mat rgb(2, 3, CV_8UC3, cv::Scalar(0, 0, 0));
  rgb.at<cv::Vec3b>(1, 2) = cv::Vec3b(255, 128, 0);
  absl::StatusOr<at::Tensor> tensor = ToTensor(rgb, kImageNetNormalization);
  ASSERT_TRUE(tensor.ok()) << tensor.status();
  EXPECT_EQ(tensor->sizes(), at::IntArrayRef({3, 2, 3}));
  EXPECT_EQ(tensor->scalar_type(), at::kFloat);
  EXPECT_NEAR(tensor->index({0, 1, 2}).item<float>(), (1.0 - 0.485) / 0.229, 1e-5);
  EXPECT_NEAR(tensor->index({1, 1, 2}).item<float>(), (128 / 255.0 - 0.456) / 0.224, 1e-5);
  EXPECT_NEAR(tensor->index({2, 1, 2}).item<float>(), (0.0 - 0.406) / 0.225, 1e-5);
  EXPECT_NEAR(tensor->index({0, 0, 0}).item<float>(), -0.485 / 0.229, 1e-5);

  absl::StatusOr<at::Tensor> unit = ToTensor(rgb, kUnitNormalization);
  ASSERT_TRUE(unit.ok());
  EXPECT_FLOAT_EQ(unit->index({0, 1, 2}).item<float>(), 1.0f);
  EXPECT_FLOAT_EQ(unit->index({1, 1, 2}).item<float>(), 128 / 255.0f);
  EXPECT_FLOAT_EQ(unit->max().item<float>(), 1.0f);
}

TEST(ToTensor, MatchesAtenArithmeticOnAWholeImage) {
  // Works on views too (non-continuous rows).
  cv::Mat big = Noise(20, 16);
  cv::Mat view = big(cv::Rect(3, 2, 11, 9));
  absl::StatusOr<at::Tensor> tensor = ToTensor(view, kImageNetNormalization);
  ASSERT_TRUE(tensor.ok());
  cv::Mat copy = view.clone();
  at::Tensor hwc = at::from_blob(copy.data, {9, 11, 3}, at::kByte).to(at::kFloat).div(255);
  at::Tensor mean = at::tensor({0.485f, 0.456f, 0.406f}).view({3, 1, 1});
  at::Tensor std = at::tensor({0.229f, 0.224f, 0.225f}).view({3, 1, 1});
  at::Tensor expected = (hwc.permute({2, 0, 1}) - mean) / std;
  EXPECT_TRUE(at::allclose(*tensor, expected, /*rtol=*/1e-5, /*atol=*/1e-5));
}

TEST(ToBatch, StacksIntoNchwAndRoundTripsThroughToImage) {
  std::vector<cv::Mat> images = {Noise(8, 6, 1), Noise(8, 6, 2), Noise(8, 6, 3)};
  absl::StatusOr<at::Tensor> batch = ToBatch(images, kImageNetNormalization);
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ(batch->sizes(), at::IntArrayRef({3, 3, 6, 8}));
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<at::Tensor> single = ToTensor(images[i], kImageNetNormalization);
    ASSERT_TRUE(single.ok());
    EXPECT_TRUE(at::equal((*batch)[i], *single));
    absl::StatusOr<cv::Mat> back = ToImage((*batch)[i], kImageNetNormalization);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(cv::norm(*back, images[i], cv::NORM_INF), 0);
  }
}

TEST(ToTensorInto, WritesWhatToTensorMakesIntoABatchPlace) {
  cv::Mat big = Noise(20, 16);
  cv::Mat view = big(cv::Rect(3, 2, 11, 9));
  at::Tensor batch = at::zeros({2, 3, 9, 11});
  at::Tensor place = batch.select(0, 1);
  ASSERT_TRUE(ToTensorInto(view, kImageNetNormalization, place).ok());
  EXPECT_TRUE(at::equal(batch[1], *ToTensor(view, kImageNetNormalization)));
  EXPECT_EQ(batch[0].abs().sum().item<float>(), 0.0f);  // The other place is untouched.
}

TEST(ToTensorInto, WrongDestinationsAreErrors) {
  cv::Mat rgb = Noise(/*width=*/5, /*height=*/4);
  at::Tensor undefined;
  at::Tensor doubles = at::zeros({3, 4, 5}, at::kDouble);
  at::Tensor wrong_shape = at::zeros({3, 5, 4});
  at::Tensor strided = at::zeros({3, 5, 4}).transpose(1, 2);
  for (at::Tensor* destination : {&undefined, &doubles, &wrong_shape, &strided}) {
    absl::Status status = ToTensorInto(rgb, kImageNetNormalization, *destination);
    EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(std::string(status.message()), HasSubstr("[3, 4, 5]"));
  }
}

TEST(ToTensor, BadImagesAndNormalisationsAreErrors) {
  cv::Mat rgb = Noise(4, 4);
  EXPECT_FALSE(ToTensor(cv::Mat(), kImageNetNormalization).ok());
  absl::StatusOr<at::Tensor> grey = ToTensor(cv::Mat(4, 4, CV_8UC1), kImageNetNormalization);
  ASSERT_FALSE(grey.ok());
  EXPECT_THAT(std::string(grey.status().message()), HasSubstr("CV_8UC3"));
  EXPECT_FALSE(ToTensor(cv::Mat(4, 4, CV_32FC3), kImageNetNormalization).ok());
  Normalization zero_std = {{0.5f, 0.5f, 0.5f}, {1.0f, 0.0f, 1.0f}};
  absl::StatusOr<at::Tensor> bad = ToTensor(rgb, zero_std);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("std 1"));
  Normalization nan_mean = {{std::nanf(""), 0.5f, 0.5f}, {1.0f, 1.0f, 1.0f}};
  EXPECT_FALSE(ToTensor(rgb, nan_mean).ok());
  Normalization negative_std = {{0, 0, 0}, {1.0f, 1.0f, -1.0f}};
  EXPECT_FALSE(ToBatch({rgb}, negative_std).ok());
}

TEST(ToBatch, EmptyMixedSizesAndBadTensorsAreErrors) {
  absl::StatusOr<at::Tensor> empty = ToBatch({}, kImageNetNormalization);
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()), HasSubstr("empty"));
  absl::StatusOr<at::Tensor> mixed = ToBatch({Noise(4, 4), Noise(5, 4)}, kImageNetNormalization);
  ASSERT_FALSE(mixed.ok());
  EXPECT_THAT(std::string(mixed.status().message()), HasSubstr("batch image 1"));
  absl::StatusOr<at::Tensor> grey =
      ToBatch({Noise(4, 4), cv::Mat(4, 4, CV_8UC1)}, kImageNetNormalization);
  ASSERT_FALSE(grey.ok());
  EXPECT_THAT(std::string(grey.status().message()), HasSubstr("batch image 1"));

  EXPECT_FALSE(ToImage(at::Tensor(), kImageNetNormalization).ok());
  EXPECT_FALSE(ToImage(at::zeros({3, 4}), kImageNetNormalization).ok());
  EXPECT_FALSE(ToImage(at::zeros({1, 4, 4}), kImageNetNormalization).ok());
  EXPECT_FALSE(ToImage(at::zeros({3, 0, 4}), kImageNetNormalization).ok());
  EXPECT_FALSE(ToImage(at::zeros({3, 4, 4}, at::kLong), kImageNetNormalization).ok());
  absl::StatusOr<cv::Mat> clipped = ToImage(at::full({3, 2, 2}, 100.0), kImageNetNormalization);
  ASSERT_TRUE(clipped.ok());
  EXPECT_EQ(clipped->at<cv::Vec3b>(0, 0), cv::Vec3b(255, 255, 255));
}

}  // namespace
}  // namespace fauna
