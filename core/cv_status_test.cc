#include "core/cv_status.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

namespace fauna {
namespace {

using ::testing::HasSubstr;

TEST(GuardCv, ReturnsValueWhenNothingThrows) {
  absl::StatusOr<int> rows = GuardCv("make", [] { return cv::Mat(4, 5, CV_8UC3).rows; });
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ(*rows, 4);
}

TEST(GuardCv, ResizingAnEmptyImageIsAnInvalidArgument) {
  absl::Status status = GuardCv("resize", [] {
    cv::Mat out;
    cv::resize(cv::Mat(), out, cv::Size(8, 8));
  });
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("resize: "));
}

TEST(CvErrorToStatus, MapsOutOfMemory) {
  cv::Exception no_mem(cv::Error::StsNoMem, "no memory", "f", "file.cc", 1);
  EXPECT_EQ(CvErrorToStatus(no_mem, "alloc").code(), absl::StatusCode::kResourceExhausted);
  cv::Exception other(cv::Error::StsError, "odd", "f", "file.cc", 1);
  absl::Status status = CvErrorToStatus(other, "ctx");
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_EQ(status.message(), "ctx: odd");
}

}  // namespace
}  // namespace fauna
