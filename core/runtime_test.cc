#include "core/runtime.h"

#include <malloc.h>

#include <cstdlib>
#include <string>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/device.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;

class RuntimeTest : public ::testing::Test {
 protected:
  gflags::FlagSaver saver_;  // Restores the flags after each test.
};

TEST_F(RuntimeTest, AppliesSeedThreadsAndDevice) {
  FLAGS_seed = 17;
  FLAGS_threads = 1;
  FLAGS_device = "cpu";
  absl::StatusOr<Runtime> runtime = InitRuntime(/*quiet=*/true);
  ASSERT_TRUE(runtime.ok()) << runtime.status();
  EXPECT_EQ(runtime->seed, 17u);
  EXPECT_EQ(runtime->threads, 1);
  EXPECT_EQ(at::get_num_threads(), 1);
  EXPECT_EQ(runtime->device, c10::Device(c10::kCPU));
  EXPECT_EQ(runtime->summary, "device: cpu (asked for), seed 17, 1 thread");
  at::Tensor first = at::rand({8});

  ASSERT_TRUE(InitRuntime(/*quiet=*/true).ok());
  EXPECT_TRUE(at::equal(first, at::rand({8})));  // Same seed, same draws.
}

TEST_F(RuntimeTest, PrintsOneLine) {
  FLAGS_device = "auto";
  FLAGS_threads = 2;
  testing::internal::CaptureStderr();
  ASSERT_TRUE(InitRuntime().ok());
  std::string printed = testing::internal::GetCapturedStderr();
  EXPECT_THAT(printed, HasSubstr("device: "));
  EXPECT_THAT(printed, HasSubstr("seed 0, 2 threads\n"));
  EXPECT_EQ(printed.find('\n'), printed.size() - 1);
}

TEST_F(RuntimeTest, BadDeviceIsAnError) {
  FLAGS_device = "tpu";
  EXPECT_EQ(InitRuntime(/*quiet=*/true).status().code(), absl::StatusCode::kInvalidArgument);
  if (QueryCuda().device_count == 0) {
    FLAGS_device = "cuda";
    EXPECT_EQ(InitRuntime(/*quiet=*/true).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
}

TEST(ReuseFreedTensorMemory, KeepsALargeFreedBlockInTheHeap) {
  constexpr size_t kBytes = size_t{40} << 20;  // A batch of 64 images at 224 px, as float.
  auto free_in_heap = [] { return mallinfo2().fordblks; };
  ReuseFreedTensorMemory();
  const size_t before = free_in_heap();
  void* block = std::malloc(kBytes);
  ASSERT_NE(block, nullptr);
  static_cast<volatile char*>(block)[0] = 1;
  std::free(block);
  // Without the setting glibc would have unmapped the block; with it, it stays for the next batch.
  EXPECT_GE(free_in_heap(), before + kBytes / 2);
}

TEST(DefaultRunDir, FollowsBazelRun) {
  ASSERT_EQ(setenv("BUILD_WORKSPACE_DIRECTORY", "/work/fauna", 1), 0);
  EXPECT_EQ(DefaultRunDir("vgg16_best"), "/work/fauna/runs/vgg16_best");
  ASSERT_EQ(unsetenv("BUILD_WORKSPACE_DIRECTORY"), 0);
  EXPECT_EQ(DefaultRunDir("vgg16_best"), "runs/vgg16_best");
}

}  // namespace
}  // namespace fauna

namespace fauna {
namespace {

TEST(UserPath, RelativePathsAreTheTypingFoldersUnderBazelRun) {
  ::unsetenv("BUILD_WORKING_DIRECTORY");
  EXPECT_EQ(UserPath("runs/x.json"), "runs/x.json");
  ::setenv("BUILD_WORKING_DIRECTORY", "/home/me/fauna", 1);
  EXPECT_EQ(UserPath("runs/x.json"), "/home/me/fauna/runs/x.json");
  EXPECT_EQ(UserPath("/data/x.json"), "/data/x.json");
  EXPECT_EQ(UserPath(""), "");
  ::unsetenv("BUILD_WORKING_DIRECTORY");
}

TEST(DecodedCacheDir, TheFlagElseTheHomeCache) {
  ::unsetenv("BUILD_WORKING_DIRECTORY");
  EXPECT_EQ(DecodedCacheDir("/data/cache"), "/data/cache");
  ::setenv("BUILD_WORKING_DIRECTORY", "/home/me/fauna", 1);
  EXPECT_EQ(DecodedCacheDir("cache"), "/home/me/fauna/cache");
  ::unsetenv("BUILD_WORKING_DIRECTORY");
  const char* home = std::getenv("HOME");
  const std::string saved = home != nullptr ? home : "";
  ::setenv("HOME", "/home/me", 1);
  EXPECT_EQ(DecodedCacheDir(""), "/home/me/.cache/fauna/decoded");
  if (home != nullptr) ::setenv("HOME", saved.c_str(), 1);
}

}  // namespace
}  // namespace fauna
