#include "train/run_lock.h"

#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/test_tmp.h"

namespace fauna {
namespace {

TEST(RunLock, OneHolderAtATimeUntilDestroyed) {
  const std::string dir = TestTempPath("");
  {
    RunLock first;
    absl::StatusOr<bool> taken = first.Take(dir, "a.lock", /*wait=*/false);
    ASSERT_TRUE(taken.ok()) << taken.status();
    EXPECT_TRUE(*taken);
    EXPECT_GE(first.fd(), 0);
    RunLock second;
    absl::StatusOr<bool> busy = second.Take(dir, "a.lock", /*wait=*/false);
    ASSERT_TRUE(busy.ok());
    EXPECT_FALSE(*busy);
    EXPECT_EQ(second.fd(), -1);
    RunLock other;
    EXPECT_TRUE(*other.Take(dir, "b.lock", /*wait=*/false));  // Another file: free.
  }
  RunLock again;
  EXPECT_TRUE(*again.Take(dir, "a.lock", /*wait=*/false));  // Released when destroyed.
}

TEST(RunLock, AFolderThatIsNotThereIsAnError) {
  RunLock lock;
  absl::StatusOr<bool> taken = lock.Take("/nonexistent/folder", "x.lock", /*wait=*/false);
  ASSERT_FALSE(taken.ok());
  EXPECT_THAT(taken.status().message(), ::testing::HasSubstr("cannot open /nonexistent/folder"));
}

TEST(AppendLogLine, AppendsLines) {
  const std::string path = TestTempPath("log.txt");
  ASSERT_TRUE(AppendLogLine(path, "one").ok());
  ASSERT_TRUE(AppendLogLine(path, "two").ok());
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), "one\ntwo\n");
  EXPECT_FALSE(AppendLogLine("/nonexistent/folder/log.txt", "x").ok());
  EXPECT_EQ(LocalTimeNow().size(), 19u);
}

}  // namespace
}  // namespace fauna
