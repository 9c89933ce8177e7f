#include "core/status.h"

#include <cerrno>
#include <stdexcept>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

using ::testing::HasSubstr;

absl::StatusOr<int> Half(int x) {
  if (x % 2 != 0) return absl::InvalidArgumentError("odd");
  return x / 2;
}

absl::StatusOr<int> Quarter(int x) {
  ASSIGN_OR_RETURN(int half, Half(x));
  ASSIGN_OR_RETURN(int quarter, Half(half));
  return quarter;
}

absl::Status CheckEven(int x) {
  RETURN_IF_ERROR(Half(x));
  RETURN_IF_ERROR(absl::OkStatus());
  return absl::OkStatus();
}

TEST(StatusMacros, AssignOrReturnPassesValuesAndErrors) {
  ASSERT_TRUE(Quarter(8).ok());
  EXPECT_EQ(*Quarter(8), 2);
  EXPECT_EQ(Quarter(6).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Quarter(3).status().message(), "odd");
}

TEST(StatusMacros, ReturnIfErrorTakesStatusAndStatusOr) {
  EXPECT_TRUE(CheckEven(4).ok());
  EXPECT_EQ(CheckEven(5).code(), absl::StatusCode::kInvalidArgument);
}

TEST(Annotate, PrefixesOnlyErrors) {
  EXPECT_TRUE(Annotate(absl::OkStatus(), "ctx").ok());
  absl::Status s = Annotate(absl::NotFoundError("gone"), "reading a.png");
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(s.message(), "reading a.png: gone");
}

TEST(ErrnoToStatus, MapsCommonErrors) {
  absl::Status missing = ErrnoToStatus(ENOENT, "cannot open a.png");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "cannot open a.png: No such file or directory");
  EXPECT_EQ(ErrnoToStatus(EACCES, "x").code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoToStatus(ENOSPC, "x").code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoToStatus(EISDIR, "x").code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(ErrnoToStatus(EIO, "x").code(), absl::StatusCode::kInternal);
}

TEST(ErrorLine, IsOneLine) {
  EXPECT_EQ(ErrorLine(absl::InternalError("first\nsecond\r\nthird\n")),
            "error: first; second; third");
  EXPECT_EQ(ErrorLine(absl::UnknownError("")), "error: UNKNOWN");
}

TEST(ExitCode, ZeroOnlyForOk) {
  EXPECT_EQ(ExitCode(absl::OkStatus()), 0);
  testing::internal::CaptureStderr();
  EXPECT_EQ(ExitCode(absl::NotFoundError("no such file: x.png")), 1);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "error: no such file: x.png\n");
}

TEST(CallAndCatch, PassesStatusResultsThrough) {
  auto to_status = [](const std::out_of_range& e) { return absl::OutOfRangeError(e.what()); };
  absl::Status status = internal::CallAndCatch<std::out_of_range>(
      [] { return absl::NotFoundError("inner"); }, to_status, "ctx");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  absl::StatusOr<int> status_or = internal::CallAndCatch<std::out_of_range>(
      []() -> absl::StatusOr<int> { return absl::DataLossError("inner"); }, to_status, "ctx");
  EXPECT_EQ(status_or.status().code(), absl::StatusCode::kDataLoss);
}

TEST(CallAndCatch, ConvertsExceptions) {
  auto to_status = [](const std::out_of_range& e) { return absl::OutOfRangeError(e.what()); };
  absl::StatusOr<int> value = internal::CallAndCatch<std::out_of_range>(
      [] { return 7; }, to_status, "ctx");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 7);

  absl::Status thrown = internal::CallAndCatch<std::out_of_range>(
      [] { throw std::out_of_range("index 9"); }, to_status, "ctx");
  EXPECT_EQ(thrown.code(), absl::StatusCode::kOutOfRange);

  absl::Status other = internal::CallAndCatch<std::out_of_range>(
      [] { throw std::runtime_error("boom"); }, to_status, "ctx");
  EXPECT_EQ(other.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(other.message()), HasSubstr("ctx: boom"));
}

}  // namespace
}  // namespace fauna
