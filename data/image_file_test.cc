#include "data/image_file.h"

#include <sys/stat.h>
#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace fauna {
namespace {

using ::testing::HasSubstr;

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/image_file_test";
  std::filesystem::create_directories(path);
  return path;
}

std::string TempPath(const std::string& name) { return TempDir() + "/" + name; }

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A 48x32 BGR image with four flat quadrants, so that lossy formats keep their colours.
cv::Mat Quadrants() {
  cv::Mat bgr(32, 48, CV_8UC3);
  bgr(cv::Rect(0, 0, 24, 16)).setTo(cv::Scalar(200, 30, 10));   // B=200 G=30 R=10
  bgr(cv::Rect(24, 0, 24, 16)).setTo(cv::Scalar(10, 200, 30));
  bgr(cv::Rect(0, 16, 24, 16)).setTo(cv::Scalar(30, 10, 200));
  bgr(cv::Rect(24, 16, 24, 16)).setTo(cv::Scalar(128, 128, 128));
  return bgr;
}

void ExpectPixelNear(const cv::Mat& rgb, int x, int y, cv::Vec3b expected, int tolerance) {
  const cv::Vec3b got = rgb.at<cv::Vec3b>(y, x);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(got[c], expected[c], tolerance) << "pixel (" << x << "," << y << ") channel " << c;
  }
}

std::string Be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string PngChunk(const std::string& type, const std::string& data) {
  const std::string body = type + data;
  const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(body.data()),
                          static_cast<uInt>(body.size()));
  return Be32(static_cast<uint32_t>(data.size())) + body + Be32(static_cast<uint32_t>(crc));
}

const char kPngSignature[] = "\x89PNG\r\n\x1a\n";

std::string PngHeader(uint32_t width, uint32_t height, char color_type) {
  return std::string(kPngSignature, 8) +
         PngChunk("IHDR", Be32(width) + Be32(height) + std::string{8, color_type, 0, 0, 0});
}

// A 4x2 palette PNG (colour type 3) that cv::imwrite cannot write: index i has colour palette[i].
std::string PalettePng() {
  const std::string palette = std::string("\xff\x00\x00", 3) + std::string("\x00\xff\x00", 3) +
                              std::string("\x00\x00\xff", 3);
  std::string rows;
  for (int y = 0; y < 2; ++y) {
    rows += '\0';  // Filter: none.
    for (int x = 0; x < 4; ++x) rows += static_cast<char>((x + y) % 3);
  }
  uLongf size = compressBound(static_cast<uLong>(rows.size()));
  std::string compressed(size, '\0');
  compress(reinterpret_cast<Bytef*>(compressed.data()), &size,
           reinterpret_cast<const Bytef*>(rows.data()), static_cast<uLong>(rows.size()));
  compressed.resize(size);
  return PngHeader(4, 2, 3) + PngChunk("PLTE", palette) + PngChunk("IDAT", compressed) +
         PngChunk("IEND", "");
}

TEST(ReadImageRgb, ReadsEveryFormatAsRgb) {
  const cv::Mat bgr = Quadrants();
  // Lossless formats come back exactly; JPEG and lossy WebP within a small tolerance.
  const std::vector<std::pair<std::string, int>> formats = {
      {"png", 0}, {"bmp", 0}, {"jpg", 12}, {"webp", 12}};
  for (const auto& [ext, tolerance] : formats) {
    SCOPED_TRACE(ext);
    const std::string path = TempPath("quadrants." + ext);
    ASSERT_TRUE(cv::imwrite(path, bgr));
    absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    EXPECT_EQ(rgb->type(), CV_8UC3);
    EXPECT_EQ(rgb->cols, 48);
    EXPECT_EQ(rgb->rows, 32);
    ExpectPixelNear(*rgb, 8, 8, {10, 30, 200}, tolerance);  // RGB order: R=10 G=30 B=200.
    ExpectPixelNear(*rgb, 36, 8, {30, 200, 10}, tolerance);
    ExpectPixelNear(*rgb, 8, 24, {200, 10, 30}, tolerance);
    ExpectPixelNear(*rgb, 36, 24, {128, 128, 128}, tolerance);
  }
}

TEST(ReadImageRgb, UpperCaseExtensionAndNoExtensionAreRead) {
  // The content decides the format, not the name.
  const std::string path = TempPath("no_extension");
  ASSERT_TRUE(cv::imwrite(TempPath("q.png"), Quadrants()));
  std::filesystem::copy_file(TempPath("q.png"), path,
                             std::filesystem::copy_options::overwrite_existing);
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ExpectPixelNear(*rgb, 8, 8, {10, 30, 200}, 0);
}

TEST(ReadImageRgb, GrayBecomesThreeEqualChannels) {
  cv::Mat gray(10, 12, CV_8UC1);
  for (int y = 0; y < gray.rows; ++y) {
    for (int x = 0; x < gray.cols; ++x) gray.at<uint8_t>(y, x) = static_cast<uint8_t>(20 * x + y);
  }
  for (const std::string ext : {"png", "bmp"}) {
    const std::string path = TempPath("gray." + ext);
    ASSERT_TRUE(cv::imwrite(path, gray));
    absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    ASSERT_EQ(rgb->type(), CV_8UC3);
    const uint8_t v = gray.at<uint8_t>(3, 7);
    ExpectPixelNear(*rgb, 7, 3, {v, v, v}, 0);
  }
}

TEST(ReadImageRgb, AlphaIsDropped) {
  cv::Mat bgra(6, 6, CV_8UC4, cv::Scalar(50, 100, 150, 0));  // Fully transparent.
  bgra(cv::Rect(0, 0, 3, 3)).setTo(cv::Scalar(1, 2, 3, 255));
  const std::string path = TempPath("rgba.png");
  ASSERT_TRUE(cv::imwrite(path, bgra));
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ASSERT_EQ(rgb->type(), CV_8UC3);
  ExpectPixelNear(*rgb, 0, 0, {3, 2, 1}, 0);
  ExpectPixelNear(*rgb, 5, 5, {150, 100, 50}, 0);  // Colour kept where alpha was 0.
}

TEST(ReadImageRgb, SixteenBitIsScaledToEightBit) {
  cv::Mat color16(4, 4, CV_16UC3, cv::Scalar(257 * 10, 257 * 100, 65535));
  cv::Mat gray16(4, 4, CV_16UC1, cv::Scalar(257 * 77));
  ASSERT_TRUE(cv::imwrite(TempPath("color16.png"), color16));
  ASSERT_TRUE(cv::imwrite(TempPath("gray16.png"), gray16));
  absl::StatusOr<cv::Mat> color = ReadImageRgb(TempPath("color16.png"));
  ASSERT_TRUE(color.ok()) << color.status();
  ASSERT_EQ(color->type(), CV_8UC3);
  ExpectPixelNear(*color, 1, 1, {255, 100, 10}, 0);
  absl::StatusOr<cv::Mat> gray = ReadImageRgb(TempPath("gray16.png"));
  ASSERT_TRUE(gray.ok()) << gray.status();
  ASSERT_EQ(gray->type(), CV_8UC3);
  ExpectPixelNear(*gray, 2, 2, {77, 77, 77}, 0);
}

TEST(ReadImageRgb, PaletteIsExpanded) {
  const std::string path = TempPath("palette.png");
  WriteBytes(path, PalettePng());
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ASSERT_EQ(rgb->type(), CV_8UC3);
  ASSERT_EQ(rgb->size(), cv::Size(4, 2));
  ExpectPixelNear(*rgb, 0, 0, {255, 0, 0}, 0);
  ExpectPixelNear(*rgb, 1, 0, {0, 255, 0}, 0);
  ExpectPixelNear(*rgb, 2, 0, {0, 0, 255}, 0);
  ExpectPixelNear(*rgb, 0, 1, {0, 255, 0}, 0);
}

TEST(ReadImageRgb, ReducedDecodeShrinksEachSide) {
  cv::Mat big(64, 96, CV_8UC3, cv::Scalar(40, 80, 120));
  for (const std::string ext : {"jpg", "png"}) {
    const std::string path = TempPath("big." + ext);
    ASSERT_TRUE(cv::imwrite(path, big));
    for (int reduce : {1, 2, 4, 8}) {
      absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path, reduce);
      ASSERT_TRUE(rgb.ok()) << rgb.status();
      EXPECT_EQ(rgb->type(), CV_8UC3);
      EXPECT_EQ(rgb->cols, 96 / reduce) << ext << " reduce " << reduce;
      EXPECT_EQ(rgb->rows, 64 / reduce) << ext << " reduce " << reduce;
      ExpectPixelNear(*rgb, 0, 0, {120, 80, 40}, 4);
    }
  }
}

TEST(ReadImageRgb, BadReduceIsAnError) {
  ASSERT_TRUE(cv::imwrite(TempPath("r.png"), Quadrants()));
  for (int reduce : {0, 3, 16, -2}) {
    absl::StatusOr<cv::Mat> rgb = ReadImageRgb(TempPath("r.png"), reduce);
    EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("reduce must be 1, 2, 4 or 8"));
  }
}

TEST(ReadImageRgb, JpegExifOrientationIsApplied) {
  cv::Mat wide(20, 40, CV_8UC3, cv::Scalar(0, 0, 0));
  wide(cv::Rect(0, 0, 10, 20)).setTo(cv::Scalar(255, 255, 255));  // White on the left.
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", wide, jpeg));
  // APP1 Exif segment, big-endian TIFF, one IFD entry: Orientation (0x0112) = 6 (rotate 90 CW).
  const std::string app1 = std::string("\xff\xe1\x00\x22" "Exif\0\0" "MM\0\x2a\0\0\0\x08"
                                       "\0\x01" "\x01\x12\0\x03\0\0\0\x01\0\x06\0\0" "\0\0\0\0",
                                       36);
  std::string bytes(jpeg.begin(), jpeg.end());
  bytes.insert(2, app1);
  const std::string path = TempPath("rotated.jpg");
  WriteBytes(path, bytes);
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_EQ(rgb->size(), cv::Size(20, 40));
  ExpectPixelNear(*rgb, 10, 3, {255, 255, 255}, 16);  // The white left edge is now on top.
  ExpectPixelNear(*rgb, 10, 36, {0, 0, 0}, 16);
}

TEST(ReadImageRgb, MissingFileIsNotFound) {
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(TempPath("does_not_exist.jpg"));
  EXPECT_EQ(rgb.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("does_not_exist.jpg"));
}

TEST(ReadImageRgb, FolderIsAnError) {
  std::filesystem::create_directories(TempPath("folder.png"));
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(TempPath("folder.png"));
  EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("folder.png: is a folder"));
}

TEST(ReadImageRgb, PipesAndDevicesAreErrors) {
  const std::string fifo = TempPath("pipe.jpg");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  for (const std::string& path : {fifo, std::string("/dev/zero")}) {
    absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
    EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("is not a regular file"));
  }
}

TEST(ReadImageRgb, EmptyFileIsAnError) {
  WriteBytes(TempPath("empty.png"), "");
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(TempPath("empty.png"));
  EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("empty.png: empty file"));
}

TEST(ReadImageRgb, TextFileNamedJpgIsNotAnImage) {
  WriteBytes(TempPath("notes.jpg"), "these are field notes, not a photo\n");
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(TempPath("notes.jpg"));
  EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("notes.jpg: not a readable image"));
}

TEST(ReadImageRgb, TruncatedFilesAreErrors) {
  cv::Mat noisy(64, 64, CV_8UC3);
  cv::randu(noisy, 0, 255);
  for (const std::string ext : {"jpg", "png", "bmp", "webp"}) {
    const std::string whole_path = TempPath("whole." + ext);
    ASSERT_TRUE(cv::imwrite(whole_path, noisy));
    const std::string whole = ReadBytes(whole_path);
    ASSERT_TRUE(ReadImageRgb(whole_path).ok());
    // Cut inside the pixel data, inside the header, and just after the signature.
    for (double keep : {0.9, 0.5, 0.02}) {
      const std::string path = TempPath("cut." + ext);
      WriteBytes(path, whole.substr(0, static_cast<size_t>(whole.size() * keep)));
      absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
      EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument) << ext << " " << keep;
      EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("cut." + ext + ": not a readable"))
          << ext << " " << keep;
    }
  }
}

TEST(ReadImageRgb, JpegWithBytesAfterTheEndMarkerIsRead) {
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", Quadrants(), jpeg));
  std::string bytes(jpeg.begin(), jpeg.end());
  bytes += std::string(100, '\0');  // Some cameras pad their files.
  WriteBytes(TempPath("padded.jpg"), bytes);
  EXPECT_TRUE(ReadImageRgb(TempPath("padded.jpg")).ok());
}

TEST(ReadImageRgb, AbsurdPngHeaderIsRejectedBeforeDecoding) {
  // Sides within the limit but 400 megapixels; and one side over the limit. No pixel data: a
  // decoder would fail differently, so the message shows the header check caught it.
  for (const auto& [width, height] :
       std::vector<std::pair<uint32_t, uint32_t>>{{20000, 20000}, {30001, 1}, {1, 4000000000u}}) {
    const std::string path = TempPath("huge.png");
    WriteBytes(path, PngHeader(width, height, 0) + PngChunk("IEND", ""));
    absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
    EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(rgb.status().message()),
                HasSubstr("huge.png: image of " + std::to_string(width) + "x" +
                          std::to_string(height) + " pixels is too large"));
  }
}

TEST(ReadImageRgb, AbsurdJpegHeaderIsRejected) {
  std::vector<uchar> jpeg;
  ASSERT_TRUE(cv::imencode(".jpg", Quadrants(), jpeg));
  std::string bytes(jpeg.begin(), jpeg.end());
  // Patch the frame header (SOF0: FF C0, length, precision, height, width) to 60000x60000.
  const size_t sof = bytes.find("\xff\xc0");
  ASSERT_NE(sof, std::string::npos);
  bytes[sof + 5] = bytes[sof + 7] = static_cast<char>(0xEA);
  bytes[sof + 6] = bytes[sof + 8] = static_cast<char>(0x60);
  WriteBytes(TempPath("huge.jpg"), bytes);
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(TempPath("huge.jpg"));
  EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rgb.status().message()),
              HasSubstr("huge.jpg: image of 60000x60000 pixels is too large"));
}

TEST(ReadImageRgb, AbsurdBmpHeaderIsRejected) {
  std::vector<uchar> bmp;
  ASSERT_TRUE(cv::imencode(".bmp", Quadrants(), bmp));
  std::string bytes(bmp.begin(), bmp.end());
  // Height at offset 22, little-endian: -25000 (top-down) with width 48 is fine; width 40000 not.
  bytes[18] = static_cast<char>(40000 & 0xFF);
  bytes[19] = static_cast<char>(40000 >> 8);
  WriteBytes(TempPath("huge.bmp"), bytes);
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(TempPath("huge.bmp"));
  EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rgb.status().message()),
              HasSubstr("huge.bmp: image of 40000x32 pixels is too large"));
}

TEST(ReadImageRgb, OversizedImageIsRejectedAfterDecodingToo) {
  // TIFF has no header check here; the decoded size is checked.
  const cv::Mat strip(1, kMaxImageSide + 1, CV_8UC1, cv::Scalar(9));
  const std::string path = TempPath("strip.tiff");
  ASSERT_TRUE(cv::imwrite(path, strip));
  absl::StatusOr<cv::Mat> rgb = ReadImageRgb(path);
  EXPECT_EQ(rgb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(rgb.status().message()), HasSubstr("strip.tiff: image of 30001x1"));
  // One pixel less is fine.
  ASSERT_TRUE(cv::imwrite(path, strip(cv::Rect(0, 0, kMaxImageSide, 1))));
  EXPECT_TRUE(ReadImageRgb(path).ok());
}

TEST(DecodeImageRgb, DecodesBytesAndNamesThemInErrors) {
  std::vector<uchar> png;
  ASSERT_TRUE(cv::imencode(".png", Quadrants(), png));
  absl::StatusOr<cv::Mat> rgb = DecodeImageRgb(std::string(png.begin(), png.end()), "mem");
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ExpectPixelNear(*rgb, 8, 8, {10, 30, 200}, 0);
  absl::StatusOr<cv::Mat> bad = DecodeImageRgb("GIF89a...", "entry 7");
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("entry 7: not a readable image"));
  EXPECT_THAT(std::string(DecodeImageRgb("", "entry 8").status().message()),
              HasSubstr("entry 8: empty file"));
}

TEST(HasImageExtension, KnowsTheImageExtensionsInAnyCase) {
  for (const std::string yes : {"a.jpg", "a.JPG", "dir/b.jpeg", "c.Png", "d.bmp", "e.WEBP",
                                "x.y/z.png"}) {
    EXPECT_TRUE(HasImageExtension(yes)) << yes;
  }
  for (const std::string no : {"a.txt", "jpg", "dir.jpg/readme", "a.jpg.txt", ".DS_Store", "a.gif",
                               "a.", "a.tiff"}) {
    EXPECT_FALSE(HasImageExtension(no)) << no;
  }
}

}  // namespace
}  // namespace fauna
