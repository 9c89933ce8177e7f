#include "data/jpeg_decoder.h"
#include "data/jpeg_test_encoder.h"

#include <cstdint>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace fauna {
namespace {

using ::testing::HasSubstr;

std::string Encode(const cv::Mat& image, int quality = 90) {
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(".jpg", image, bytes, {cv::IMWRITE_JPEG_QUALITY, quality}));
  return std::string(bytes.begin(), bytes.end());
}

cv::Mat Texture(int rows, int cols, int type) {
  cv::Mat image(rows, cols, type);
  cv::randu(image, 0, 255);
  cv::GaussianBlur(image, image, cv::Size(5, 5), 1.5);
  return image;
}

// What OpenCV makes of the same bytes, as RGB.
cv::Mat OpenCvRgb(const std::string& bytes, int reduce) {
  const int flags = reduce == 1   ? cv::IMREAD_COLOR
                    : reduce == 2 ? cv::IMREAD_REDUCED_COLOR_2
                    : reduce == 4 ? cv::IMREAD_REDUCED_COLOR_4
                                  : cv::IMREAD_REDUCED_COLOR_8;
  cv::Mat bgr = cv::imdecode(std::vector<uchar>(bytes.begin(), bytes.end()), flags);
  cv::Mat rgb;
  cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
  return rgb;
}

void ExpectSame(const cv::Mat& a, const cv::Mat& b) {
  ASSERT_EQ(a.size(), b.size());
  ASSERT_EQ(a.type(), b.type());
  EXPECT_EQ(cv::norm(a, b, cv::NORM_INF), 0.0);
}

// The Exif APP1 payload of a TIFF with one IFD entry, Orientation = `value`.
std::string ExifPayload(int value, bool big_endian) {
  std::string tiff = big_endian ? std::string("MM\0\x2a\0\0\0\x08", 8)
                                : std::string("II\x2a\0\x08\0\0\0", 8);
  const char v = static_cast<char>(value);
  tiff += big_endian ? std::string("\0\x01" "\x01\x12" "\0\x03" "\0\0\0\x01" "\0", 11) + v +
                           std::string("\0\0" "\0\0\0\0", 6)
                     : std::string("\x01\0" "\x12\x01" "\x03\0" "\x01\0\0\0", 10) + v +
                           std::string("\0\0\0" "\0\0\0\0", 7);
  return std::string("Exif\0\0", 6) + tiff;
}

std::string WithApp1(const std::string& jpeg, const std::string& payload) {
  const size_t length = payload.size() + 2;
  std::string segment = "\xff\xe1";
  segment += static_cast<char>(length >> 8);
  segment += static_cast<char>(length & 0xff);
  segment += payload;
  std::string bytes = jpeg;
  bytes.insert(2, segment);
  return bytes;
}

// A 4-component (CMYK) JPEG, written with libjpeg itself since OpenCV cannot.
std::string CmykJpeg(int rows, int cols) {
  JpegEncodeOptions options;
  options.quality = 75;
  return EncodeJpegWithLibjpeg(std::vector<uint8_t>(4 * static_cast<size_t>(rows) * cols, 100),
                               cols, rows, 4, options);
}

TEST(DecodeJpegRgb, SamePixelsAsOpenCvAtEveryScale) {
  const std::string bytes = Encode(Texture(96, 128, CV_8UC3));
  for (int reduce : {1, 2, 4, 8}) {
    SCOPED_TRACE(reduce);
    absl::StatusOr<std::optional<cv::Mat>> rgb = DecodeJpegRgb(bytes, "t.jpg", reduce);
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    ASSERT_TRUE(rgb->has_value());
    EXPECT_EQ((*rgb)->size(), cv::Size(128 / reduce, 96 / reduce));
    ExpectSame(**rgb, OpenCvRgb(bytes, reduce));
  }
}

TEST(DecodeJpegRgb, ProgressiveJpegsToo) {
  std::vector<uchar> encoded;
  ASSERT_TRUE(cv::imencode(".jpg", Texture(64, 80, CV_8UC3), encoded,
                           {cv::IMWRITE_JPEG_PROGRESSIVE, 1}));
  const std::string bytes(encoded.begin(), encoded.end());
  for (int reduce : {1, 2}) {
    absl::StatusOr<std::optional<cv::Mat>> rgb = DecodeJpegRgb(bytes, "p.jpg", reduce);
    ASSERT_TRUE(rgb.ok() && rgb->has_value());
    ExpectSame(**rgb, OpenCvRgb(bytes, reduce));
  }
}

TEST(DecodeJpegRgb, ChannelOrderIsRgb) {
  cv::Mat bgr(32, 32, CV_8UC3, cv::Scalar(0, 0, 255));  // Pure red in OpenCV's BGR order.
  absl::StatusOr<std::optional<cv::Mat>> rgb = DecodeJpegRgb(Encode(bgr, 100), "red.jpg", 1);
  ASSERT_TRUE(rgb.ok() && rgb->has_value());
  const cv::Vec3b pixel = (*rgb)->at<cv::Vec3b>(16, 16);
  EXPECT_GT(pixel[0], 240);
  EXPECT_LT(pixel[1], 15);
  EXPECT_LT(pixel[2], 15);
}

TEST(DecodeJpegRgb, GrayscaleBecomesRgb) {
  const std::string bytes = Encode(Texture(40, 40, CV_8UC1));
  absl::StatusOr<std::optional<cv::Mat>> rgb = DecodeJpegRgb(bytes, "gray.jpg", 2);
  ASSERT_TRUE(rgb.ok() && rgb->has_value());
  EXPECT_EQ((*rgb)->type(), CV_8UC3);
  ExpectSame(**rgb, OpenCvRgb(bytes, 2));
  std::vector<cv::Mat> channels;
  cv::split(**rgb, channels);
  EXPECT_EQ(cv::norm(channels[0], channels[1], cv::NORM_INF), 0.0);
  EXPECT_EQ(cv::norm(channels[0], channels[2], cv::NORM_INF), 0.0);
}

TEST(DecodeJpegRgb, RotatingExifAndCmykAreLeftToOpenCv) {
  const std::string jpeg = Encode(Texture(20, 40, CV_8UC3));
  absl::StatusOr<std::optional<cv::Mat>> rotated =
      DecodeJpegRgb(WithApp1(jpeg, ExifPayload(6, true)), "rotated.jpg", 1);
  ASSERT_TRUE(rotated.ok()) << rotated.status();
  EXPECT_FALSE(rotated->has_value());

  absl::StatusOr<std::optional<cv::Mat>> upright =
      DecodeJpegRgb(WithApp1(jpeg, ExifPayload(1, false)), "upright.jpg", 1);
  ASSERT_TRUE(upright.ok() && upright->has_value());
  ExpectSame(**upright, OpenCvRgb(jpeg, 1));

  absl::StatusOr<std::optional<cv::Mat>> cmyk = DecodeJpegRgb(CmykJpeg(16, 16), "cmyk.jpg", 1);
  ASSERT_TRUE(cmyk.ok()) << cmyk.status();
  EXPECT_FALSE(cmyk->has_value());
}

TEST(ExifOrientation, ReadsBothByteOrders) {
  for (int value = 1; value <= 8; ++value) {
    EXPECT_EQ(ExifOrientation(ExifPayload(value, true)), value);
    EXPECT_EQ(ExifOrientation(ExifPayload(value, false)), value);
  }
}

TEST(ExifOrientation, AnythingUnreadableIsUpright) {
  EXPECT_EQ(ExifOrientation(""), 1);
  EXPECT_EQ(ExifOrientation("http://ns.adobe.com/xap/1.0/"), 1);  // XMP, also an APP1.
  EXPECT_EQ(ExifOrientation(ExifPayload(9, true)), 1);             // Out of range.
  std::string cut = ExifPayload(6, true);
  EXPECT_EQ(ExifOrientation(cut.substr(0, cut.size() - 10)), 1);  // Entry cut off.
  std::string bad_order = ExifPayload(6, true);
  bad_order[6] = 'X';
  EXPECT_EQ(ExifOrientation(bad_order), 1);
}

TEST(DecodeJpegRgb, GarbageIsAnErrorNamingTheFile) {
  std::string bytes = Encode(Texture(32, 32, CV_8UC3));
  bytes.replace(2, 40, std::string(40, '\x17'));  // Clobbers the first segments.
  absl::StatusOr<std::optional<cv::Mat>> rgb = DecodeJpegRgb(bytes, "bad.jpg", 1);
  EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("bad.jpg: not a readable image ("));
}

TEST(DecodeJpegRgb, BadReduceIsAnError) {
  absl::StatusOr<std::optional<cv::Mat>> rgb =
      DecodeJpegRgb(Encode(Texture(8, 8, CV_8UC3)), "r.jpg", 3);
  EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("reduce must be 1, 2, 4 or 8"));
}

}  // namespace
}  // namespace fauna
