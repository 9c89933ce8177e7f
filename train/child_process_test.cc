#include "train/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/test_tmp.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;

TEST(RunChild, AppendsBothOutputsToTheLogAndReportsTheExitCode) {
  const std::string log = TestTempPath("child_exit.log");
  absl::StatusOr<ChildExit> exit =
      RunChild({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"}, log);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_FALSE(exit->ok());
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_EQ(exit->signal, 0);
  EXPECT_EQ(exit->ToString(), "exit code 3");

  // A second run appends; arguments arrive as given, one each, spaces and all.
  exit = RunChild({"/bin/sh", "-c", "printf '[%s]' \"$@\"; echo", "sh", "a b", "", "--x=1"}, log);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ok());
  EXPECT_EQ(exit->ToString(), "exit code 0");
  absl::StatusOr<std::string> text = ReadFile(log);
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_EQ(*text, "out\nerr\n[a b][][--x=1]\n");
}

TEST(RunChild, StandardInputIsEmpty) {
  const std::string log = TestTempPath("child_stdin.log");
  absl::StatusOr<ChildExit> exit = RunChild({"/bin/sh", "-c", "wc -c"}, log);
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_TRUE(exit->ok());
  absl::StatusOr<std::string> text = ReadFile(log);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "0\n");
}

TEST(RunChild, ReportsASignal) {
  absl::StatusOr<ChildExit> exit =
      RunChild({"/bin/sh", "-c", "kill -9 $$"}, TestTempPath("child_signal.log"));
  ASSERT_TRUE(exit.ok()) << exit.status();
  EXPECT_FALSE(exit->ok());
  EXPECT_EQ(exit->signal, SIGKILL);
  EXPECT_THAT(exit->ToString(), HasSubstr("killed by signal 9"));
}

TEST(RunChild, OnlyTheGivenDescriptorIsInherited) {
  const std::string path = TestTempPath("child_inherit.lock");
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(fd, 0);
  const std::string check = "test -e /proc/self/fd/" + std::to_string(fd);
  const std::string log = TestTempPath("child_inherit.log");
  absl::StatusOr<ChildExit> without = RunChild({"/bin/sh", "-c", check}, log);
  ASSERT_TRUE(without.ok());
  EXPECT_EQ(without->exit_code, 1);  // Closed on exec.
  absl::StatusOr<ChildExit> with = RunChild({"/bin/sh", "-c", check}, log, fd);
  ASSERT_TRUE(with.ok());
  EXPECT_TRUE(with->ok());
  ::close(fd);
}

TEST(RunChild, ProgramsThatCannotRunAndBadLogsAreErrors) {
  const std::string log = TestTempPath("child_bad.log");
  absl::StatusOr<ChildExit> exit = RunChild({"/no/such/trainer", "--seed=1"}, log);
  EXPECT_EQ(exit.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(exit.status().message(), HasSubstr("cannot run /no/such/trainer"));

  // A file that is not executable.
  const std::string script = TestTempPath("not_executable.sh");
  ASSERT_TRUE(WriteFileAtomically(script, "#!/bin/sh\nexit 0\n").ok());
  exit = RunChild({script}, log);
  EXPECT_EQ(exit.status().code(), absl::StatusCode::kPermissionDenied);

  exit = RunChild({"/bin/true"}, TestTempPath("no/such/folder/log.txt"));
  EXPECT_EQ(exit.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(exit.status().message(), HasSubstr("cannot open log"));

  exit = RunChild({}, log);
  EXPECT_EQ(exit.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace fauna
