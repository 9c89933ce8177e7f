#include "data/decode.h"
#include "core/test_tmp.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fauna {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

// A smooth, photograph-like BGR test image: gradients, a disc and a bar.
cv::Mat Scene(int width, int height) {
  cv::Mat bgr(height, width, CV_8UC3);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uint8_t>(255 * x / width),
                                          static_cast<uint8_t>(255 * y / height),
                                          static_cast<uint8_t>(128 + 60 * std::sin(x * 0.02)));
    }
  }
  cv::circle(bgr, {width / 2, height / 2}, std::min(width, height) / 4, {30, 200, 90}, cv::FILLED);
  cv::rectangle(bgr, {width / 8, height / 8}, {width / 4, height - height / 8}, {250, 250, 250},
                cv::FILLED);
  return bgr;
}

std::string WriteImage(const std::string& name, const cv::Mat& image,
                       const std::vector<int>& params = {}) {
  std::string path = TestTempPath(name);
  EXPECT_TRUE(cv::imwrite(path, image, params)) << path;
  return path;
}

double MeanAbsDiff(const cv::Mat& a, const cv::Mat& b) {
  cv::Scalar mean = cv::mean(cv::abs(cv::Mat_<cv::Vec3f>(a) - cv::Mat_<cv::Vec3f>(b)));
  return (mean[0] + mean[1] + mean[2]) / 3;
}

void ExpectError(const absl::StatusOr<cv::Mat>& result, absl::StatusCode code,
                 const std::string& fragment, const std::string& path) {
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), code) << result.status();
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(fragment));
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(path));
}

TEST(DecodeFile, GivesRgbAtTheRequestedSize) {
  cv::Mat bgr(40, 60, CV_8UC3, cv::Scalar(/*b=*/10, /*g=*/20, /*r=*/250));
  std::string path = WriteImage("red.png", bgr);
  absl::StatusOr<cv::Mat> rgb = DecodeFile(path, {/*size=*/32});
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_EQ(rgb->type(), CV_8UC3);
  EXPECT_EQ(rgb->size(), cv::Size(32, 32));
  EXPECT_EQ(rgb->at<cv::Vec3b>(5, 5), cv::Vec3b(250, 20, 10));
}

TEST(DecodeFile, GreyRgbaSixteenBitAndOneBitBecomeEightBitRgb) {
  std::vector<std::string> paths = {
      WriteImage("grey.png", cv::Mat(20, 20, CV_8UC1, cv::Scalar(77))),
      WriteImage("rgba.png", cv::Mat(20, 20, CV_8UC4, cv::Scalar(77, 77, 77, 10))),
      WriteImage("sixteen.png", cv::Mat(20, 20, CV_16UC3, cv::Scalar(77 * 257, 77 * 257, 77 * 257))),
      WriteImage("grey.jpg", cv::Mat(20, 20, CV_8UC1, cv::Scalar(77))),
      WriteImage("grey.bmp", cv::Mat(20, 20, CV_8UC1, cv::Scalar(77))),
  };
  for (const std::string& path : paths) {
    absl::StatusOr<cv::Mat> rgb = DecodeFile(path, {/*size=*/10});
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    EXPECT_EQ(rgb->type(), CV_8UC3) << path;
    EXPECT_EQ(rgb->size(), cv::Size(10, 10)) << path;
    cv::Vec3b pixel = rgb->at<cv::Vec3b>(3, 3);
    for (int c = 0; c < 3; ++c) EXPECT_NEAR(pixel[c], 77, 2) << path;
  }
  cv::Mat bits(16, 16, CV_8UC1, cv::Scalar(0));
  bits(cv::Rect(0, 0, 8, 16)).setTo(255);
  std::string path = WriteImage("bilevel.png", bits, {cv::IMWRITE_PNG_BILEVEL, 1});
  absl::StatusOr<cv::Mat> rgb = DecodeFile(path, {/*size=*/16});
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_EQ(rgb->at<cv::Vec3b>(2, 2), cv::Vec3b(255, 255, 255));
  EXPECT_EQ(rgb->at<cv::Vec3b>(2, 12), cv::Vec3b(0, 0, 0));
}

TEST(DecodeFile, CenterCropKeepsTheMiddleAndResizeSquashes) {
  // Three vertical stripes, blue | green | red in BGR terms: red | green | blue in RGB.
  cv::Mat bgr(200, 600, CV_8UC3);
  bgr(cv::Rect(0, 0, 200, 200)).setTo(cv::Scalar(255, 0, 0));
  bgr(cv::Rect(200, 0, 200, 200)).setTo(cv::Scalar(0, 255, 0));
  bgr(cv::Rect(400, 0, 200, 200)).setTo(cv::Scalar(0, 0, 255));
  std::string path = WriteImage("stripes.png", bgr);

  absl::StatusOr<cv::Mat> cropped = DecodeFile(path, {/*size=*/100, /*center_crop=*/true});
  ASSERT_TRUE(cropped.ok()) << cropped.status();
  EXPECT_EQ(cropped->size(), cv::Size(100, 100));
  EXPECT_EQ(cv::mean(*cropped), cv::Scalar(0, 255, 0, 0));

  absl::StatusOr<cv::Mat> squashed = DecodeFile(path, {/*size=*/90, /*center_crop=*/false});
  ASSERT_TRUE(squashed.ok()) << squashed.status();
  EXPECT_EQ(squashed->size(), cv::Size(90, 90));
  EXPECT_EQ(squashed->at<cv::Vec3b>(45, 5), cv::Vec3b(0, 0, 255));
  EXPECT_EQ(squashed->at<cv::Vec3b>(45, 45), cv::Vec3b(0, 255, 0));
  EXPECT_EQ(squashed->at<cv::Vec3b>(45, 85), cv::Vec3b(255, 0, 0));
}

TEST(ReducedDecodeFactor, LargestThatKeepsTheShorterSideAtLeastTheTarget) {
  DecodeOptions options{/*size=*/224};
  EXPECT_EQ(ReducedDecodeFactor(512, 512, options), 2);
  EXPECT_EQ(ReducedDecodeFactor(1024, 768, options), 2);
  EXPECT_EQ(ReducedDecodeFactor(1024, 896, options), 4);
  EXPECT_EQ(ReducedDecodeFactor(4000, 3000, options), 8);
  EXPECT_EQ(ReducedDecodeFactor(447, 2000, options), 1);
  EXPECT_EQ(ReducedDecodeFactor(100, 100, options), 1);
  EXPECT_EQ(ReducedDecodeFactor(0, 100, options), 1);
}

TEST(AutoInterpolation, AreaOnlyFromTwoTimesShrinking) {
  EXPECT_EQ(AutoInterpolation({256, 256}, {224, 224}), cv::INTER_LINEAR);
  EXPECT_EQ(AutoInterpolation({447, 300}, {224, 224}), cv::INTER_LINEAR);
  EXPECT_EQ(AutoInterpolation({448, 448}, {224, 224}), cv::INTER_AREA);
  EXPECT_EQ(AutoInterpolation({100, 600}, {224, 224}), cv::INTER_AREA);  // Either side.
  EXPECT_EQ(AutoInterpolation({100, 100}, {224, 224}), cv::INTER_LINEAR);
}

TEST(DecodeFile, ReducedJpegDecodeMatchesFullDecodeAndResize) {
  // OpenCV's reduced decoding gives the expected sizes (the fast path relies on it).
  std::string path = WriteImage("scene.jpg", Scene(1024, 768), {cv::IMWRITE_JPEG_QUALITY, 95});
  std::string bytes = ReadBytes(path);
  cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1, bytes.data());
  EXPECT_EQ(cv::imdecode(buffer, cv::IMREAD_REDUCED_COLOR_4).size(), cv::Size(256, 192));

  for (bool center_crop : {false, true}) {
    for (int size : {224, 160, 96}) {
      DecodeOptions options{size, center_crop};
      ASSERT_GT(ReducedDecodeFactor(1024, 768, options), 1);
      absl::StatusOr<cv::Mat> fast = DecodeFile(path, options);
      ASSERT_TRUE(fast.ok()) << fast.status();
      absl::StatusOr<cv::Mat> full = ReadImageRgb(path);
      ASSERT_TRUE(full.ok()) << full.status();
      EXPECT_EQ(full->size(), cv::Size(1024, 768));
      absl::StatusOr<cv::Mat> slow = ResizeImage(*full, options);
      ASSERT_TRUE(slow.ok()) << slow.status();
      ASSERT_EQ(fast->size(), slow->size());
      EXPECT_LT(MeanAbsDiff(*fast, *slow), 2.0) << "size " << size << " crop " << center_crop;
    }
  }
}

TEST(DecodeFile, AcceptsBytesAfterTheJpegEndMarker) {
  std::string path = WriteImage("trailing.jpg", Scene(64, 48));
  WriteBytes(path, ReadBytes(path) + "trailing bytes some cameras add");
  absl::StatusOr<cv::Mat> rgb = DecodeFile(path, {/*size=*/32});
  EXPECT_TRUE(rgb.ok()) << rgb.status();
}

TEST(DecodeFile, MissingEmptyFolderAndNonImageFilesAreErrorsNamingThem) {
  std::string missing = TestTempPath("no_such_image.jpg");
  ExpectError(DecodeFile(missing, {}), absl::StatusCode::kNotFound, "no such file", missing);

  std::string empty = TestTempPath("empty.jpg");
  WriteBytes(empty, "");
  ExpectError(DecodeFile(empty, {}), absl::StatusCode::kInvalidArgument, "empty", empty);

  std::string folder = TestTempPath("a_folder.png");
  fs::create_directories(folder);
  ExpectError(DecodeFile(folder, {}), absl::StatusCode::kInvalidArgument, "folder", folder);

  std::string text = TestTempPath("notes.jpg");
  WriteBytes(text, "these are not the pixels you are looking for\n");
  ExpectError(DecodeFile(text, {}), absl::StatusCode::kInvalidArgument, "not a readable image", text);
}

TEST(DecodeFile, TruncatedJpegAndPngAreErrors) {
  for (const std::string& name : {std::string("cut.jpg"), std::string("cut.png")}) {
    std::string path = WriteImage(name, Scene(64, 48));
    std::string bytes = ReadBytes(path);
    for (size_t keep : {bytes.size() - 2, bytes.size() / 2, size_t{20}, size_t{9}, size_t{3}}) {
      WriteBytes(path, bytes.substr(0, keep));
      absl::StatusOr<cv::Mat> result = DecodeFile(path, {/*size=*/32});
      ASSERT_FALSE(result.ok()) << name << " cut to " << keep;
      EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument) << result.status();
      EXPECT_THAT(std::string(result.status().message()), HasSubstr(path));
    }
  }
}

TEST(DecodeFile, CorruptJpegStructureIsAnError) {
  std::string path = WriteImage("corrupt.jpg", Scene(64, 48));
  std::string bytes = ReadBytes(path);
  bytes[2] = 0x12;  // where the first marker should be
  WriteBytes(path, bytes);
  ExpectError(DecodeFile(path, {}), absl::StatusCode::kInvalidArgument, "corrupt JPEG", path);
}

// Replaces the first SOF0 frame's size of a JPEG, or the IHDR size of a PNG.
std::string WithSize(std::string bytes, uint32_t width, uint32_t height) {
  if (bytes[0] == '\xFF') {
    size_t sof = bytes.find("\xFF\xC0");
    EXPECT_NE(sof, std::string::npos);
    bytes[sof + 5] = static_cast<char>(height >> 8);
    bytes[sof + 6] = static_cast<char>(height & 0xFF);
    bytes[sof + 7] = static_cast<char>(width >> 8);
    bytes[sof + 8] = static_cast<char>(width & 0xFF);
  } else {
    for (int i = 0; i < 4; ++i) {
      bytes[16 + i] = static_cast<char>((width >> (24 - 8 * i)) & 0xFF);
      bytes[20 + i] = static_cast<char>((height >> (24 - 8 * i)) & 0xFF);
    }
  }
  return bytes;
}

TEST(DecodeFile, AbsurdDimensionsAreRefusedBeforeDecoding) {
  for (const std::string& name : {std::string("huge.jpg"), std::string("huge.png")}) {
    std::string path = WriteImage(name, Scene(32, 32));
    WriteBytes(path, WithSize(ReadBytes(path), /*width=*/40000, /*height=*/32));
    ExpectError(DecodeFile(path, {}), absl::StatusCode::kInvalidArgument, "at most 30000 pixels a side",
                path);
    WriteBytes(path, WithSize(ReadBytes(path), /*width=*/32, /*height=*/0));
    ExpectError(DecodeFile(path, {}), absl::StatusCode::kInvalidArgument, "size 0", path);
  }
}

TEST(DecodeFile, BadOptionsAreErrors) {
  std::string path = WriteImage("ok.png", Scene(16, 16));
  for (int size : {0, -3, 40000}) {
    absl::StatusOr<cv::Mat> result = DecodeFile(path, {size});
    ASSERT_FALSE(result.ok());
    EXPECT_THAT(std::string(result.status().message()), HasSubstr("decode size"));
  }
  DecodeOptions options;
  options.interpolation = 99;
  absl::StatusOr<cv::Mat> result = DecodeFile(path, options);
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("interpolation"));
}

TEST(ResizeImage, ResizesCropsAndNeverSharesData) {
  cv::Mat rgb = Scene(50, 30);
  absl::StatusOr<cv::Mat> same = ResizeImage(rgb, {/*size=*/30, /*center_crop=*/true});
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->size(), cv::Size(30, 30));
  // Shorter side already 30: the crop is columns [10, 40) of the original, copied.
  EXPECT_EQ(cv::norm(*same, rgb(cv::Rect(10, 0, 30, 30)), cv::NORM_INF), 0);
  EXPECT_NE(same->data, rgb.data);

  cv::Mat square = Scene(20, 20);
  absl::StatusOr<cv::Mat> copy = ResizeImage(square, {/*size=*/20});
  ASSERT_TRUE(copy.ok());
  EXPECT_EQ(cv::norm(*copy, square, cv::NORM_INF), 0);
  EXPECT_NE(copy->data, square.data);

  absl::StatusOr<cv::Mat> larger = ResizeImage(square, {/*size=*/64, /*center_crop=*/true});
  ASSERT_TRUE(larger.ok());
  EXPECT_EQ(larger->size(), cv::Size(64, 64));
}

TEST(ResizeImage, EmptyWrongTypeAndBadOptionsAreErrors) {
  EXPECT_FALSE(ResizeImage(cv::Mat(), {}).ok());
  EXPECT_FALSE(ResizeImage(cv::Mat(8, 8, CV_8UC1), {}).ok());
  EXPECT_FALSE(ResizeImage(cv::Mat(8, 8, CV_32FC3), {}).ok());
  EXPECT_FALSE(ResizeImage(cv::Mat(8, 8, CV_8UC3), {/*size=*/0}).ok());
  absl::StatusOr<cv::Mat> result = ResizeImage(cv::Mat(8, 8, CV_8UC4), {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("CV_8UC3"));
}

}  // namespace
}  // namespace fauna
