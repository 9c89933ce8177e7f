#include "core/device.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

using ::testing::HasSubstr;

constexpr CudaInfo kNoCudaBuild{/*compiled=*/false, /*device_count=*/0};
constexpr CudaInfo kCudaBuildNoGpu{/*compiled=*/true, /*device_count=*/0};
constexpr CudaInfo kTwoGpus{/*compiled=*/true, /*device_count=*/2};

TEST(ResolveDevice, AutoPrefersCuda) {
  absl::StatusOr<DeviceChoice> gpu = ResolveDevice("auto", kTwoGpus);
  ASSERT_TRUE(gpu.ok());
  EXPECT_EQ(gpu->device, c10::Device(c10::kCUDA, 0));
  EXPECT_THAT(gpu->explanation, HasSubstr("2 GPUs"));

  absl::StatusOr<DeviceChoice> cpu = ResolveDevice("auto", kNoCudaBuild);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->device, c10::Device(c10::kCPU));
  EXPECT_THAT(cpu->explanation, HasSubstr("built without CUDA"));

  absl::StatusOr<DeviceChoice> no_gpu = ResolveDevice("auto", kCudaBuildNoGpu);
  ASSERT_TRUE(no_gpu.ok());
  EXPECT_THAT(no_gpu->explanation, HasSubstr("no CUDA device"));
}

TEST(ResolveDevice, CpuIsAlwaysThere) {
  absl::StatusOr<DeviceChoice> cpu = ResolveDevice("cpu", kTwoGpus);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->device, c10::Device(c10::kCPU));
}

TEST(ResolveDevice, CudaByIndex) {
  absl::StatusOr<DeviceChoice> second = ResolveDevice("cuda:1", kTwoGpus);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->device, c10::Device(c10::kCUDA, 1));
  EXPECT_EQ(ResolveDevice("cuda", kTwoGpus)->device, c10::Device(c10::kCUDA, 0));
}

TEST(ResolveDevice, CudaWithoutCudaIsAClearError) {
  absl::Status status = ResolveDevice("cuda", kNoCudaBuild).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("built without CUDA"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("--device=cpu"));
  EXPECT_EQ(ResolveDevice("cuda:0", kCudaBuildNoGpu).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(ResolveDevice, BadValuesAreInvalidArguments) {
  for (const char* bad : {"gpu", "", "CPU", "cuda:", "cuda:x", "cuda:-1"}) {
    EXPECT_EQ(ResolveDevice(bad, kTwoGpus).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
  absl::Status too_far = ResolveDevice("cuda:2", kTwoGpus).status();
  EXPECT_EQ(too_far.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(too_far.message()), HasSubstr("only 2 CUDA devices"));
}

TEST(QueryCuda, AgreesWithItself) {
  CudaInfo info = QueryCuda();
  if (!info.compiled) {
    EXPECT_EQ(info.device_count, 0);
  }
  EXPECT_GE(info.device_count, 0);
}

}  // namespace
}  // namespace fauna
