#include "data/concat_source.h"

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

// `count` 2x2 images of value base + i, labels i % 2.
class RangeSource : public ImageSource {
 public:
  RangeSource(int base, int count, std::vector<std::string> names = {"a", "b"})
      : base_(base), count_(count), names_(std::move(names)) {}
  const std::vector<std::string>& class_names() const override { return names_; }
  int64_t size() const override { return count_; }
  int64_t label(int64_t index) const override { return index % 2; }
  std::string describe(int64_t index) const override { return std::to_string(base_ + index); }
  absl::StatusOr<cv::Mat> Load(int64_t index) const override {
    RETURN_IF_ERROR(CheckIndex(index, "range"));
    return cv::Mat(2, 2, CV_8UC3, cv::Scalar::all(static_cast<double>(base_ + index)));
  }

 private:
  int base_;
  int count_;
  std::vector<std::string> names_;
};

TEST(ConcatSource, ItemsFollowEachOther) {
  auto concat = ConcatSource::Create({std::make_shared<RangeSource>(10, 3),
                                      std::make_shared<RangeSource>(50, 0),
                                      std::make_shared<RangeSource>(100, 2)});
  ASSERT_TRUE(concat.ok()) << concat.status();
  const ConcatSource& all = **concat;
  EXPECT_EQ(all.size(), 5);
  EXPECT_EQ(all.start(2), 3);
  std::vector<std::string> described;
  for (int64_t i = 0; i < all.size(); ++i) described.push_back(all.describe(i));
  EXPECT_EQ(described, (std::vector<std::string>{"10", "11", "12", "100", "101"}));
  EXPECT_EQ(all.label(3), 0);
  absl::StatusOr<cv::Mat> image = all.Load(4);
  ASSERT_TRUE(image.ok());
  EXPECT_EQ(image->at<cv::Vec3b>(0, 0)[0], 101);
  DecodeOptions options;
  options.size = 4;
  absl::StatusOr<cv::Mat> resized = all.LoadResized(1, options);
  ASSERT_TRUE(resized.ok()) << resized.status();
  EXPECT_EQ(resized->cols, 4);
  EXPECT_EQ(all.Load(5).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(ConcatSource, RejectsMismatchedOrMissingParts) {
  EXPECT_FALSE(ConcatSource::Create({}).ok());
  EXPECT_FALSE(ConcatSource::Create({nullptr}).ok());
  absl::Status mismatch = ConcatSource::Create({std::make_shared<RangeSource>(0, 1),
                                                std::make_shared<RangeSource>(0, 1,
                                                    std::vector<std::string>{"a", "c"})})
                              .status();
  EXPECT_THAT(std::string(mismatch.message()), HasSubstr("[a, b] and [a, c]"));
}

}  // namespace
}  // namespace fauna
