#include "data/augment/augmented_source.h"

#include <memory>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "core/seed.h"
#include "data/augment/test_images.h"

namespace fauna {
namespace {

using ::fauna::augment_test::Same;

using ::testing::HasSubstr;

// Random images, labels index % 2; item `failing` fails to load, item `grey` is not RGB.
class MatSource : public ImageSource {
 public:
  explicit MatSource(int count, int failing = -1, int grey = -1) : failing_(failing), grey_(grey) {
    for (int i = 0; i < count; ++i) {
      cv::Mat image(6, 8, CV_8UC3);
      cv::RNG(i + 1).fill(image, cv::RNG::UNIFORM, 0, 256);
      images_.push_back(image);
    }
  }
  const std::vector<std::string>& class_names() const override { return classes_; }
  int64_t size() const override { return static_cast<int64_t>(images_.size()); }
  int64_t label(int64_t index) const override { return index % 2; }
  std::string describe(int64_t index) const override { return "mat:" + std::to_string(index); }
  absl::StatusOr<cv::Mat> Load(int64_t index) const override {
    if (index == failing_) return absl::DataLossError("mat:" + std::to_string(index) + " broken");
    if (index == grey_) return cv::Mat(6, 8, CV_8UC1, cv::Scalar(3));
    return images_[index].clone();
  }

 private:
  std::vector<cv::Mat> images_;
  int failing_;
  int grey_;
  std::vector<std::string> classes_ = {"even", "odd"};
};

Pipeline Parse(const std::string& spec) {
  absl::StatusOr<Pipeline> pipeline = Pipeline::Parse(spec);
  EXPECT_TRUE(pipeline.ok()) << pipeline.status();
  return *pipeline;
}

TEST(AugmentedSource, KCopiesPerImageDrawnFromSeedCopyAndIndex) {
  auto base = std::make_shared<MatSource>(4);
  Pipeline pipeline = Parse("hflip, noise(sigma=20)");
  absl::StatusOr<std::unique_ptr<AugmentedSource>> source =
      AugmentedSource::Create(base, /*copies=*/5, pipeline, /*seed=*/11);
  ASSERT_TRUE(source.ok()) << source.status();
  const AugmentedSource& augmented = **source;
  ASSERT_EQ(augmented.size(), 20);
  EXPECT_EQ(augmented.class_names(), base->class_names());
  for (int64_t m = 0; m < 20; ++m) {
    const int64_t i = m / 5;
    const int j = static_cast<int>(m % 5);
    EXPECT_EQ(augmented.base_index(m), i);
    EXPECT_EQ(augmented.copy(m), j);
    EXPECT_EQ(augmented.label(m), i % 2);
    EXPECT_EQ(augmented.describe(m), "mat:" + std::to_string(i) + " [copy " + std::to_string(j) +
                                         "/5]");
    absl::StatusOr<cv::Mat> image = augmented.Load(m);
    ASSERT_TRUE(image.ok()) << image.status();
    std::mt19937_64 rng = MakeGenerator(11, j, i);
    absl::StatusOr<cv::Mat> expected = pipeline.Apply(*base->Load(i), rng);
    ASSERT_TRUE(expected.ok());
    EXPECT_TRUE(Same(*image, *expected)) << m;
    EXPECT_TRUE(Same(*image, *augmented.Load(m))) << m;
  }
  // The five copies of one image differ from each other.
  for (int j = 1; j < 5; ++j) EXPECT_FALSE(Same(*augmented.Load(0), *augmented.Load(j)));
}

TEST(AugmentedSource, KeepOriginalMakesCopyZeroTheBaseImage) {
  auto base = std::make_shared<MatSource>(3);
  absl::StatusOr<std::unique_ptr<AugmentedSource>> source = AugmentedSource::Create(
      base, /*copies=*/2, Parse("noise(sigma=30)"), /*seed=*/1, /*keep_original=*/true);
  ASSERT_TRUE(source.ok());
  for (int64_t i = 0; i < 3; ++i) {
    EXPECT_TRUE(Same(*(*source)->Load(2 * i), *base->Load(i)));
    EXPECT_FALSE(Same(*(*source)->Load(2 * i + 1), *base->Load(i)));
  }
}

TEST(AugmentedSource, BadArgumentsAndBadItemsAreErrors) {
  auto base = std::make_shared<MatSource>(3, /*failing=*/1, /*grey=*/2);
  EXPECT_EQ(AugmentedSource::Create(nullptr, 2, Pipeline(), 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  for (int copies : {0, -1, 1001}) {
    absl::Status status = AugmentedSource::Create(base, copies, Pipeline(), 1).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(status.message()), HasSubstr("copies"));
  }
  absl::StatusOr<std::unique_ptr<AugmentedSource>> source =
      AugmentedSource::Create(base, 2, Parse("hflip"), 1);
  ASSERT_TRUE(source.ok());
  EXPECT_EQ((*source)->Load(-1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*source)->Load(6).status().code(), absl::StatusCode::kOutOfRange);
  absl::StatusOr<cv::Mat> broken = (*source)->Load(3);  // base item 1
  ASSERT_FALSE(broken.ok());
  EXPECT_THAT(std::string(broken.status().message()), HasSubstr("mat:1 broken"));
  absl::StatusOr<cv::Mat> grey = (*source)->Load(4);  // base item 2, not RGB
  ASSERT_FALSE(grey.ok());
  EXPECT_THAT(std::string(grey.status().message()), HasSubstr("mat:2"));
  EXPECT_THAT(std::string(grey.status().message()), HasSubstr("CV_8UC3"));
}

}  // namespace
}  // namespace fauna
