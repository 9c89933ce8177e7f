#include "data/idx_source.h"

#include <zlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

namespace fauna {
namespace {

using ::testing::HasSubstr;

std::string NewDir(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/idx/" + name;
  std::filesystem::remove_all(path);
  std::filesystem::create_directories(path);
  return path;
}

std::string Be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

// Pixel (r, c) of image i.
uint8_t PixelValue(int i, int r, int c) { return static_cast<uint8_t>(i * 50 + r * 7 + c); }

std::string ImagesFile(uint32_t count, uint32_t rows, uint32_t cols) {
  std::string bytes = Be32(0x00000803) + Be32(count) + Be32(rows) + Be32(cols);
  for (uint32_t i = 0; i < count; ++i) {
    for (uint32_t r = 0; r < rows; ++r) {
      for (uint32_t c = 0; c < cols; ++c) bytes += static_cast<char>(PixelValue(i, r, c));
    }
  }
  return bytes;
}

std::string LabelsFile(const std::vector<uint8_t>& labels) {
  std::string bytes = Be32(0x00000801) + Be32(static_cast<uint32_t>(labels.size()));
  for (uint8_t label : labels) bytes += static_cast<char>(label);
  return bytes;
}

void WritePlain(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteGzip(const std::string& path, const std::string& bytes) {
  gzFile file = gzopen(path.c_str(), "wb");
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size())),
            static_cast<int>(bytes.size()));
  ASSERT_EQ(gzclose(file), Z_OK);
}

const std::vector<uint8_t> kLabels = {3, 0, 9, 3, 1};

std::vector<std::string> TenClasses() { return FashionMnistClassNames(); }

// Opens images/labels `bytes` written plainly under `dir`; returns the error message.
std::string OpenError(const std::string& dir, const std::string& images,
                      const std::string& labels) {
  WritePlain(dir + "/images", images);
  WritePlain(dir + "/labels", labels);
  absl::StatusOr<std::unique_ptr<IdxSource>> source =
      IdxSource::Open(dir + "/images", dir + "/labels", TenClasses(), "t");
  if (source.ok()) return "";
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument) << source.status();
  return std::string(source.status().message());
}

void ExpectSmallSet(const IdxSource& source) {
  ASSERT_EQ(source.size(), 5);
  EXPECT_EQ(source.rows(), 3);
  EXPECT_EQ(source.cols(), 4);
  EXPECT_EQ(source.class_names().size(), 10u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(source.label(i), kLabels[i]);
  EXPECT_EQ(source.describe(2), "idx:t:2");
  absl::StatusOr<cv::Mat> rgb = source.Load(2);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  ASSERT_EQ(rgb->type(), CV_8UC3);
  ASSERT_EQ(rgb->size(), cv::Size(4, 3));
  for (int r = 0; r < 3; ++r) {
    for (int c = 0; c < 4; ++c) {
      const uint8_t v = PixelValue(2, r, c);
      EXPECT_EQ(rgb->at<cv::Vec3b>(r, c), cv::Vec3b(v, v, v));
    }
  }
  EXPECT_EQ(source.pixels(4)[11], PixelValue(4, 2, 3));
  EXPECT_EQ(source.Load(5).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(source.Load(-1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(IdxSource, ReadsPlainFiles) {
  const std::string dir = NewDir("plain");
  WritePlain(dir + "/images", ImagesFile(5, 3, 4));
  WritePlain(dir + "/labels", LabelsFile(kLabels));
  absl::StatusOr<std::unique_ptr<IdxSource>> source =
      IdxSource::Open(dir + "/images", dir + "/labels", TenClasses(), "t");
  ASSERT_TRUE(source.ok()) << source.status();
  ExpectSmallSet(**source);
}

TEST(IdxSource, ReadsGzippedFiles) {
  const std::string dir = NewDir("gz");
  WriteGzip(dir + "/images.gz", ImagesFile(5, 3, 4));
  WriteGzip(dir + "/labels.gz", LabelsFile(kLabels));
  ASSERT_EQ(ReadBytes(dir + "/images.gz").substr(0, 2), "\x1f\x8b");  // Really gzipped.
  absl::StatusOr<std::unique_ptr<IdxSource>> source =
      IdxSource::Open(dir + "/images.gz", dir + "/labels.gz", TenClasses(), "t");
  ASSERT_TRUE(source.ok()) << source.status();
  ExpectSmallSet(**source);
}

TEST(OpenFashionMnist, PrefersGzippedFilesAndFallsBackToPlain) {
  const std::string dir = NewDir("fashion");
  WriteGzip(dir + "/train-images-idx3-ubyte.gz", ImagesFile(5, 3, 4));
  WriteGzip(dir + "/train-labels-idx1-ubyte.gz", LabelsFile(kLabels));
  WritePlain(dir + "/t10k-images-idx3-ubyte", ImagesFile(2, 3, 4));
  WritePlain(dir + "/t10k-labels-idx1-ubyte", LabelsFile({7, 8}));
  absl::StatusOr<std::unique_ptr<IdxSource>> train = OpenFashionMnist(dir, "train");
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ((*train)->size(), 5);
  EXPECT_EQ((*train)->describe(0), "idx:train:0");
  EXPECT_EQ((*train)->class_names()[(*train)->label(0)], "Dress");
  absl::StatusOr<std::unique_ptr<IdxSource>> test = OpenFashionMnist(dir, "test");
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ((*test)->size(), 2);
  EXPECT_EQ((*test)->class_names()[(*test)->label(1)], "Bag");
  EXPECT_EQ((*test)->describe(1), "idx:test:1");
}

TEST(OpenFashionMnist, BadSplitOrFolderIsAnError) {
  const std::string dir = NewDir("fashion_errors");
  absl::StatusOr<std::unique_ptr<IdxSource>> source = OpenFashionMnist(dir, "val");
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("train and test, not 'val'"));
  source = OpenFashionMnist(dir + "/nowhere", "train");
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("dataset-fashion-mnist"));
  source = OpenFashionMnist(dir, "train");  // The folder is there, the files are not.
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("train-images-idx3-ubyte"));
}

TEST(IdxSource, MissingFileIsNotFound) {
  const std::string dir = NewDir("missing");
  WritePlain(dir + "/images", ImagesFile(5, 3, 4));
  absl::StatusOr<std::unique_ptr<IdxSource>> source =
      IdxSource::Open(dir + "/images", dir + "/labels", TenClasses(), "t");
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr(dir + "/labels: no such file"));
  source = IdxSource::Open(dir, dir + "/labels", TenClasses(), "t");
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("is a folder"));
}

TEST(IdxSource, ShortOrEmptyHeaderIsAnError) {
  const std::string dir = NewDir("short");
  const std::string labels = LabelsFile(kLabels);
  EXPECT_THAT(OpenError(dir, "", labels), HasSubstr("images: too short for an IDX header (0"));
  EXPECT_THAT(OpenError(dir, std::string("\0\0\x08", 3), labels),
              HasSubstr("too short for an IDX header (3"));
  EXPECT_THAT(OpenError(dir, Be32(0x803) + Be32(5) + Be32(3), labels),
              HasSubstr("images: IDX header cut short (12 of 16 bytes)"));
  EXPECT_THAT(OpenError(dir, ImagesFile(5, 3, 4), Be32(0x801) + std::string(2, '\0')),
              HasSubstr("labels: IDX header cut short (6 of 8 bytes)"));
}

TEST(IdxSource, WrongMagicIsAnError) {
  const std::string dir = NewDir("magic");
  const std::string images = ImagesFile(5, 3, 4);
  const std::string labels = LabelsFile(kLabels);
  EXPECT_THAT(OpenError(dir, "GIF89a and some more bytes", labels),
              HasSubstr("images: magic number 0x47494638 is not that of an IDX image file "
                        "(0x00000803)"));
  EXPECT_THAT(OpenError(dir, labels, images),
              HasSubstr("images: magic number 0x00000801 is not that of an IDX image file "
                        "(0x00000803) (this is an IDX label file)"));
  // Both files swapped: the image file is checked first; then labels given an image file.
  EXPECT_THAT(OpenError(dir, images, images),
              HasSubstr("labels: magic number 0x00000803 is not that of an IDX label file "
                        "(0x00000801) (this is an IDX image file)"));
  // Floats (data type 0x0D) instead of unsigned bytes.
  EXPECT_THAT(OpenError(dir, Be32(0x00000D03) + images.substr(4), labels),
              HasSubstr("IDX data type 0x0000000d; only unsigned bytes"));
  // Two dimensions instead of three.
  EXPECT_THAT(OpenError(dir, Be32(0x00000802) + images.substr(4), labels),
              HasSubstr("magic number 0x00000802 is not that of an IDX image file"));
}

TEST(IdxSource, AbsurdDimensionsAreErrors) {
  const std::string dir = NewDir("dims");
  const std::string labels = LabelsFile(kLabels);
  EXPECT_THAT(OpenError(dir, Be32(0x803) + Be32(5) + Be32(0) + Be32(4), labels),
              HasSubstr("images of 0x4 pixels (each side must be 1 to 4096)"));
  EXPECT_THAT(OpenError(dir, Be32(0x803) + Be32(5) + Be32(3) + Be32(100000), labels),
              HasSubstr("images of 3x100000 pixels"));
  EXPECT_THAT(OpenError(dir, Be32(0x803) + Be32(0) + Be32(3) + Be32(4), LabelsFile({})),
              HasSubstr("the header says 0 images"));
  // 4 billion 4096x4096 images: refused from the header, nothing allocated.
  EXPECT_THAT(OpenError(dir, Be32(0x803) + Be32(0xFFFFFFFF) + Be32(4096) + Be32(4096), labels),
              HasSubstr("4294967295 images of 4096x4096 is more than"));
}

TEST(IdxSource, FileSizeMustMatchTheHeader) {
  const std::string dir = NewDir("size");
  const std::string images = ImagesFile(5, 3, 4);
  const std::string labels = LabelsFile(kLabels);
  EXPECT_THAT(OpenError(dir, images.substr(0, images.size() - 1), labels),
              HasSubstr("images: truncated: the header says 5 images of 3x4 (60 bytes of data) "
                        "but the file holds 59"));
  EXPECT_THAT(OpenError(dir, images + "xyz", labels),
              HasSubstr("images: longer than its header says (5 images of 3x4): 3 bytes after"));
  EXPECT_THAT(OpenError(dir, images, labels.substr(0, labels.size() - 2)),
              HasSubstr("labels: truncated: the header says 5 labels (5 bytes of data) but the "
                        "file holds 3"));
  EXPECT_THAT(OpenError(dir, images, labels + "\x01"),
              HasSubstr("labels: longer than its header says (5 labels): 1 bytes after"));
  // A header claiming far more images than the file holds fails without allocating them all.
  EXPECT_THAT(OpenError(dir, Be32(0x803) + Be32(1000000) + Be32(64) + Be32(64) + "tiny", labels),
              HasSubstr("the file holds 4"));
}

TEST(IdxSource, CountsMustAgree) {
  const std::string dir = NewDir("counts");
  EXPECT_THAT(OpenError(dir, ImagesFile(5, 3, 4), LabelsFile({1, 2, 3})),
              HasSubstr("labels: 3 labels for the 5 images of " + dir + "/images"));
}

TEST(IdxSource, LabelOutsideTheClassesIsAnError) {
  const std::string dir = NewDir("label_range");
  EXPECT_THAT(OpenError(dir, ImagesFile(5, 3, 4), LabelsFile({1, 2, 10, 3, 4})),
              HasSubstr("labels: label 10 of item 2 is not below the 10 classes"));
  absl::StatusOr<std::unique_ptr<IdxSource>> source =
      IdxSource::Open(dir + "/images", dir + "/labels", {}, "t");
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("no class names"));
}

TEST(IdxSource, BrokenGzipIsAnError) {
  const std::string dir = NewDir("broken_gz");
  WriteGzip(dir + "/labels.gz", LabelsFile(kLabels));
  WriteGzip(dir + "/whole.gz", ImagesFile(5, 3, 4));
  const std::string whole = ReadBytes(dir + "/whole.gz");
  // Cut inside the compressed stream.
  WritePlain(dir + "/cut.gz", whole.substr(0, whole.size() - 12));
  absl::StatusOr<std::unique_ptr<IdxSource>> source =
      IdxSource::Open(dir + "/cut.gz", dir + "/labels.gz", TenClasses(), "t");
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("cut.gz: "));
  // A wrong checksum in the gzip trailer (the CRC-32 is the 8th to 5th bytes from the end).
  std::string bad_crc = whole;
  bad_crc[bad_crc.size() - 8] = static_cast<char>(bad_crc[bad_crc.size() - 8] ^ 0x55);
  WritePlain(dir + "/crc.gz", bad_crc);
  source = IdxSource::Open(dir + "/crc.gz", dir + "/labels.gz", TenClasses(), "t");
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("crc.gz: broken gzip data"));
  // Garbage after the gzip magic.
  WritePlain(dir + "/garbage.gz", std::string("\x1f\x8b\x08\x00", 4) + std::string(40, 'x'));
  source = IdxSource::Open(dir + "/garbage.gz", dir + "/labels.gz", TenClasses(), "t");
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(source.status().message()), HasSubstr("garbage.gz: "));
}

// The real Fashion-MNIST of Debian's dataset-fashion-mnist, where installed.
TEST(OpenFashionMnist, ReadsTheDebianPackage) {
  if (!std::filesystem::exists(std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz")) {
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  }
  for (const auto& [split, count] :
       std::vector<std::pair<std::string, int64_t>>{{"train", 60000}, {"test", 10000}}) {
    absl::StatusOr<std::unique_ptr<IdxSource>> source = OpenFashionMnist(kFashionMnistDir, split);
    ASSERT_TRUE(source.ok()) << source.status();
    ASSERT_EQ((*source)->size(), count);
    EXPECT_EQ((*source)->rows(), 28);
    EXPECT_EQ((*source)->cols(), 28);
    std::vector<int64_t> histogram(10, 0);
    for (int64_t i = 0; i < count; ++i) ++histogram[(*source)->label(i)];
    EXPECT_EQ(histogram, std::vector<int64_t>(10, count / 10)) << split;
    absl::StatusOr<cv::Mat> rgb = (*source)->Load(count - 1);
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    EXPECT_EQ(rgb->size(), cv::Size(28, 28));
    EXPECT_GT(cv::sum(*rgb)[0], 0.0);  // Not a blank image.
  }
}

}  // namespace
}  // namespace fauna
