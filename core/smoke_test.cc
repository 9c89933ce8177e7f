#include <torch/types.h>
#include <opencv2/core.hpp>
#include <absl/status/status.h>
#include <gtest/gtest.h>
TEST(Smoke, Works) { EXPECT_EQ(torch::ones({2}).sum().item<float>(), 2.0f); cv::Mat m(2,2,CV_8U); EXPECT_TRUE(absl::OkStatus().ok()); }
// x
// y
