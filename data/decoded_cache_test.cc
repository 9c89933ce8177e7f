#include "data/decoded_cache.h"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/decode.h"
#include "core/test_tmp.h"

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

// A BGR image whose pixels depend on `seed`.
cv::Mat Picture(int seed, int width = 40, int height = 30) {
  cv::Mat image(height, width, CV_8UC3);
  cv::RNG rng(seed);
  rng.fill(image, cv::RNG::UNIFORM, 0, 256);
  return image;
}

// Image files in a folder, loaded with DecodeFileFullSize; labels cycle over two classes.
class FileSource : public ImageSource {
 public:
  explicit FileSource(std::vector<std::string> paths) : paths_(std::move(paths)) {}
  const std::vector<std::string>& class_names() const override { return classes_; }
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  int64_t label(int64_t index) const override { return index % 2; }
  std::string describe(int64_t index) const override { return paths_[index]; }
  absl::StatusOr<cv::Mat> Load(int64_t index) const override {
    return ReadImageRgb(paths_[index]);
  }

 private:
  std::vector<std::string> paths_;
  std::vector<std::string> classes_ = {"cat", "dog"};
};

// In-memory images with given labels; an empty Mat stands for an item whose Load() throws.
class MatSource : public ImageSource {
 public:
  MatSource(std::vector<cv::Mat> images, std::vector<int64_t> labels)
      : images_(std::move(images)), labels_(std::move(labels)) {}
  const std::vector<std::string>& class_names() const override { return classes_; }
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  int64_t label(int64_t index) const override { return labels_[index]; }
  std::string describe(int64_t index) const override { return "mat:" + std::to_string(index); }
  absl::StatusOr<cv::Mat> Load(int64_t index) const override {
    if (images_[index].empty()) throw std::runtime_error("no image here");
    return images_[index];
  }

 private:
  std::vector<cv::Mat> images_;
  std::vector<int64_t> labels_;
  std::vector<std::string> classes_ = {"a", "b", "c"};
};

// Writes `count` PNG files into a fresh folder `name`; item 2 is not an image.
std::vector<std::string> WriteFolder(const std::string& name, int count) {
  fs::path folder = TestTempPath(name);
  fs::remove_all(folder);
  fs::create_directories(folder);
  std::vector<std::string> paths;
  for (int i = 0; i < count; ++i) {
    std::string path = (folder / ("img" + std::to_string(i) + ".png")).string();
    if (i == 2) {
      WriteBytes(path, "not a picture");
    } else {
      EXPECT_TRUE(cv::imwrite(path, Picture(i)));
    }
    paths.push_back(path);
  }
  return paths;
}

DecodedCache BuildOk(const std::string& path, const ImageSource& source,
                     const DecodeOptions& options, int threads = 2) {
  absl::StatusOr<DecodedCache> cache = DecodedCache::OpenOrBuild(path, source, options, threads);
  EXPECT_TRUE(cache.ok()) << cache.status();
  if (!cache.ok()) std::abort();
  return *std::move(cache);
}

TEST(DecodedCache, BuildsThenReusesAndHoldsTheResizedImages) {
  FileSource source(WriteFolder("build", 5));
  std::string path = TestTempPath("build.fdc");
  DecodeOptions options{/*size=*/16};
  {
    DecodedCache cache = BuildOk(path, source, options);
    EXPECT_TRUE(cache.rebuilt());
    EXPECT_EQ(cache.rebuild_reason(), "no cache file");
    ASSERT_EQ(cache.size(), 5);
    EXPECT_EQ(cache.height(), 16);
    EXPECT_EQ(cache.width(), 16);
    EXPECT_EQ(cache.invalid_count(), 1);
  }
  DecodedCache cache = BuildOk(path, source, options);
  EXPECT_FALSE(cache.rebuilt());
  EXPECT_EQ(cache.rebuild_reason(), "");
  for (int64_t i = 0; i < 5; ++i) {
    EXPECT_EQ(cache.label(i), i % 2);
    if (i == 2) {
      EXPECT_FALSE(cache.valid(i));
      EXPECT_THAT(cache.error(i), HasSubstr(source.describe(2)));
      EXPECT_THAT(cache.error(i), HasSubstr("not a readable image"));
      EXPECT_EQ(cv::countNonZero(cache.Get(i).reshape(1)), 0);
      continue;
    }
    EXPECT_TRUE(cache.valid(i));
    EXPECT_EQ(cache.error(i), "");
    absl::StatusOr<cv::Mat> expected = DecodeFile(source.describe(i), options);
    ASSERT_TRUE(expected.ok());
    cv::Mat got = cache.Get(i);
    EXPECT_EQ(got.type(), CV_8UC3);
    EXPECT_EQ(cv::norm(got, *expected, cv::NORM_INF), 0) << i;
  }
  // Views, not copies.
  EXPECT_EQ(cache.Get(1).data, cache.Get(1).data);
  // No temporary files left beside the cache.
  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    EXPECT_THAT(entry.path().filename().string(), ::testing::Not(HasSubstr(".tmp.")));
  }
}

TEST(DecodedCache, OutOfRangeIndicesAreHarmless) {
  MatSource source({Picture(1)}, {2});
  DecodedCache cache = BuildOk(TestTempPath("range.fdc"), source, {/*size=*/8});
  EXPECT_TRUE(cache.Get(-1).empty());
  EXPECT_TRUE(cache.Get(1).empty());
  EXPECT_FALSE(cache.valid(7));
  EXPECT_EQ(cache.label(-3), -1);
  EXPECT_EQ(cache.label(0), 2);
  EXPECT_EQ(cache.error(9), "");
}

TEST(DecodedCache, ThreadCountDoesNotChangeTheFile) {
  std::vector<cv::Mat> images;
  for (int i = 0; i < 24; ++i) images.push_back(Picture(i, 20 + i, 25));
  std::vector<int64_t> labels(24, 1);
  images[5] = cv::Mat();  // Load() throws
  MatSource source(images, labels);
  DecodedCache one = BuildOk(TestTempPath("one.fdc"), source, {/*size=*/12}, /*threads=*/1);
  DecodedCache four = BuildOk(TestTempPath("four.fdc"), source, {/*size=*/12}, /*threads=*/4);
  EXPECT_EQ(ReadBytes(TestTempPath("one.fdc")), ReadBytes(TestTempPath("four.fdc")));
  EXPECT_FALSE(four.valid(5));
  EXPECT_THAT(four.error(5), HasSubstr("no image here"));
  EXPECT_EQ(four.invalid_count(), 1);
}

TEST(DecodedCache, TouchedRewrittenAddedOrRemovedFilesRebuild) {
  std::vector<std::string> paths = WriteFolder("touch", 4);
  std::string path = TestTempPath("touch.fdc");
  DecodeOptions options{/*size=*/10};
  BuildOk(path, FileSource(paths), options);
  EXPECT_FALSE(BuildOk(path, FileSource(paths), options).rebuilt());

  fs::last_write_time(paths[1], fs::last_write_time(paths[1]) + std::chrono::seconds(5));
  DecodedCache touched = BuildOk(path, FileSource(paths), options);
  EXPECT_EQ(touched.rebuild_reason(), "the items or the decode options changed");
  EXPECT_FALSE(BuildOk(path, FileSource(paths), options).rebuilt());

  // A rewritten file (new bytes, size and time) is decoded again.
  ASSERT_TRUE(cv::imwrite(paths[3], Picture(99, 60, 30)));
  DecodedCache rewritten = BuildOk(path, FileSource(paths), options);
  EXPECT_TRUE(rewritten.rebuilt());
  absl::StatusOr<cv::Mat> expected = DecodeFile(paths[3], options);
  ASSERT_TRUE(expected.ok());
  EXPECT_EQ(cv::norm(rewritten.Get(3), *expected, cv::NORM_INF), 0);

  std::vector<std::string> fewer(paths.begin(), paths.end() - 1);
  EXPECT_TRUE(BuildOk(path, FileSource(fewer), options).rebuilt());
  EXPECT_TRUE(BuildOk(path, FileSource(paths), options).rebuilt());
  EXPECT_FALSE(BuildOk(path, FileSource(paths), options).rebuilt());
}

TEST(DecodedCache, ChangedDecodeOptionsOrLabelsRebuild) {
  MatSource source({Picture(1), Picture(2)}, {0, 1});
  std::string path = TestTempPath("options.fdc");
  BuildOk(path, source, {/*size=*/8});
  EXPECT_FALSE(BuildOk(path, source, {/*size=*/8}).rebuilt());
  DecodedCache bigger = BuildOk(path, source, {/*size=*/9});
  EXPECT_TRUE(bigger.rebuilt());
  EXPECT_EQ(bigger.height(), 9);
  EXPECT_TRUE(BuildOk(path, source, {/*size=*/9, /*center_crop=*/true}).rebuilt());
  DecodeOptions nearest{/*size=*/9, /*center_crop=*/true, /*interpolation=*/cv::INTER_NEAREST};
  EXPECT_TRUE(BuildOk(path, source, nearest).rebuilt());
  EXPECT_FALSE(BuildOk(path, source, nearest).rebuilt());
  MatSource relabelled({Picture(1), Picture(2)}, {0, 2});
  DecodedCache cache = BuildOk(path, relabelled, nearest);
  EXPECT_TRUE(cache.rebuilt());
  EXPECT_EQ(cache.label(1), 2);
}

TEST(DecodedCache, CorruptOrForeignFilesAreRebuiltNotTrusted) {
  MatSource source({Picture(1), Picture(2), Picture(3)}, {0, 1, 2});
  std::string path = TestTempPath("corrupt.fdc");
  DecodeOptions options{/*size=*/8};
  BuildOk(path, source, options);
  const std::string good = ReadBytes(path);

  struct Damage {
    std::string name;
    std::string bytes;
    std::string reason;
  };
  std::string flipped_key = good;
  flipped_key[70] ^= 0x01;
  std::string flipped_version = good;
  flipped_version[8] ^= 0x02;
  std::string flipped_count = good;
  flipped_count[16] ^= 0x01;
  std::string flipped_errors = good;
  flipped_errors.back() ^= 0x20;
  std::vector<Damage> damages = {
      {"empty", "", "shorter than its header"},
      {"text", std::string(200, 'x'), "not a fauna decoded cache"},
      {"header only", good.substr(0, 64), "truncated"},
      {"half", good.substr(0, good.size() / 2), "truncated"},
      {"one byte short", good.substr(0, good.size() - 1), "truncated"},
      {"one byte long", good + "!", "truncated"},
      {"key", flipped_key, "checksum"},
      {"version", flipped_version, "version"},
      {"count", flipped_count, "truncated"},
      {"errors", flipped_errors, "checksum"},
  };
  for (const Damage& damage : damages) {
    WriteBytes(path, damage.bytes);
    DecodedCache cache = BuildOk(path, source, options);
    EXPECT_TRUE(cache.rebuilt()) << damage.name;
    EXPECT_THAT(cache.rebuild_reason(), HasSubstr("corrupt cache file")) << damage.name;
    EXPECT_THAT(cache.rebuild_reason(), HasSubstr(damage.reason)) << damage.name;
    EXPECT_EQ(ReadBytes(path), good) << damage.name;
  }
}

TEST(DecodedCache, EmptySourceGivesAnEmptyCache) {
  MatSource source({}, {});
  std::string path = TestTempPath("empty_source.fdc");
  EXPECT_EQ(BuildOk(path, source, {/*size=*/8}).size(), 0);
  EXPECT_FALSE(BuildOk(path, source, {/*size=*/8}).rebuilt());
}

TEST(DecodedCache, BadArgumentsAreErrors) {
  MatSource source({Picture(1)}, {0});
  absl::StatusOr<DecodedCache> result =
      DecodedCache::OpenOrBuild(TestTempPath("bad.fdc"), source, {/*size=*/0});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("decode size"));

  result = DecodedCache::OpenOrBuild("", source, {});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("empty"));

  std::string missing_folder = TestTempPath("no/such/folder/x.fdc");
  result = DecodedCache::OpenOrBuild(missing_folder, source, {/*size=*/8});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(result.status().message()), HasSubstr(missing_folder));

  std::string folder = TestTempPath("a_folder.fdc");
  fs::create_directories(folder);
  result = DecodedCache::OpenOrBuild(folder, source, {/*size=*/8});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("not a regular file"));

  MatSource bad_label({Picture(1), Picture(2)}, {0, 3});
  result = DecodedCache::OpenOrBuild(TestTempPath("bad_label.fdc"), bad_label, {/*size=*/8});
  ASSERT_FALSE(result.ok());
  EXPECT_THAT(std::string(result.status().message()), HasSubstr("label 3"));
  EXPECT_FALSE(fs::exists(TestTempPath("bad_label.fdc")));
}

}  // namespace
}  // namespace fauna
