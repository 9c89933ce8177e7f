#include "data/subset_source.h"

#include <memory>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "core/status.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;

// Item i is a 4x4 image of value i, label i % 2.
class CountingSource : public ImageSource {
 public:
  const std::vector<std::string>& class_names() const override { return names_; }
  int64_t size() const override { return 10; }
  int64_t label(int64_t index) const override { return index % 2; }
  std::string describe(int64_t index) const override { return "item" + std::to_string(index); }
  absl::StatusOr<cv::Mat> Load(int64_t index) const override {
    RETURN_IF_ERROR(CheckIndex(index, "counting"));
    return cv::Mat(4, 4, CV_8UC3, cv::Scalar::all(static_cast<double>(index)));
  }

 private:
  std::vector<std::string> names_ = {"even", "odd"};
};

TEST(SubsetSource, ViewsTheChosenItemsInOrder) {
  auto base = std::make_shared<CountingSource>();
  absl::StatusOr<std::unique_ptr<SubsetSource>> subset = SubsetSource::Create(base, {7, 2, 7});
  ASSERT_TRUE(subset.ok()) << subset.status();
  const SubsetSource& view = **subset;
  EXPECT_EQ(view.size(), 3);
  EXPECT_EQ(view.class_names(), base->class_names());
  EXPECT_EQ(view.label(0), 1);
  EXPECT_EQ(view.label(1), 0);
  EXPECT_EQ(view.describe(2), "item7");
  absl::StatusOr<cv::Mat> image = view.Load(1);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->at<cv::Vec3b>(0, 0)[0], 2);
  DecodeOptions options;
  options.size = 2;
  absl::StatusOr<cv::Mat> small = view.LoadResized(0, options);
  ASSERT_TRUE(small.ok()) << small.status();
  EXPECT_EQ(small->rows, 2);
  EXPECT_EQ(small->at<cv::Vec3b>(1, 1)[2], 7);
}

TEST(SubsetSource, RejectsIndicesOutsideTheBase) {
  auto base = std::make_shared<CountingSource>();
  EXPECT_THAT(std::string(SubsetSource::Create(base, {0, 10}).status().message()),
              HasSubstr("subset item 1 is index 10, outside [0, 10)"));
  EXPECT_FALSE(SubsetSource::Create(base, {-1}).ok());
  EXPECT_FALSE(SubsetSource::Create(nullptr, {}).ok());
}

TEST(SubsetSource, LoadOutsideTheSubsetIsAnError) {
  absl::StatusOr<std::unique_ptr<SubsetSource>> subset =
      SubsetSource::Create(std::make_shared<CountingSource>(), {1});
  ASSERT_TRUE(subset.ok());
  EXPECT_EQ((*subset)->Load(1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_FALSE((*subset)->LoadResized(-1, DecodeOptions()).ok());
}

}  // namespace
}  // namespace fauna
