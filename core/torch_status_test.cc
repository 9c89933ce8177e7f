#include "core/torch_status.h"

#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(GuardTorch, ReturnsValueWhenNothingThrows) {
  absl::StatusOr<at::Tensor> sum = GuardTorch("sum", [] { return at::ones({3}).sum(); });
  ASSERT_TRUE(sum.ok());
  EXPECT_EQ(sum->item<float>(), 3.0f);
}

TEST(GuardTorch, ShapeMismatchBecomesAStatusWithoutBacktrace) {
  absl::Status status = GuardTorch("matmul", [] { (void)at::matmul(at::ones({2, 3}), at::ones({2, 3})); });
  ASSERT_FALSE(status.ok());
  EXPECT_THAT(std::string(status.message()), HasSubstr("matmul: "));
  EXPECT_THAT(std::string(status.message()), HasSubstr("cannot be multiplied"));
  EXPECT_THAT(std::string(status.message()), Not(HasSubstr("Exception raised from")));
}

TEST(TorchErrorToStatus, MapsErrorKinds) {
  absl::Status index = GuardTorch("select", [] { return at::ones({2}).select(0, 5); }).status();
  EXPECT_EQ(index.code(), absl::StatusCode::kInvalidArgument);
  absl::Status plain = GuardTorch("check", [] { TORCH_CHECK(false, "plain failure"); });
  EXPECT_EQ(plain.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(plain.message()), HasSubstr("check: plain failure"));
}

}  // namespace
}  // namespace fauna
