#include "core/device.h"

#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#ifdef FAUNA_LIBTORCH_HAS_CUDA
#include <ATen/ATen.h>
#include <torch/cuda.h>
#endif

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

// What QueryCuda reports must match the LibTorch this test was built against: third_party defines
// FAUNA_LIBTORCH_HAS_CUDA exactly when it links libtorch_cuda.
#ifdef FAUNA_LIBTORCH_HAS_CUDA
TEST(QueryCuda, CountsTheUsableGpus) {
  const CudaInfo info = QueryCuda();
  EXPECT_TRUE(info.compiled);
  ASSERT_EQ(info.device_count, static_cast<int>(torch::cuda::device_count()));
  // Every device counted holds a tensor; the next index is no device.
  for (int i = 0; i < info.device_count; ++i) {
    EXPECT_EQ(at::zeros({1}, at::TensorOptions().device(at::kCUDA, i)).device().index(), i);
  }
  EXPECT_ANY_THROW(at::zeros({1}, at::TensorOptions().device(at::kCUDA, info.device_count)));
  EXPECT_EQ(ResolveDevice("cuda:" + std::to_string(info.device_count), info).status().code(),
            absl::StatusCode::kInvalidArgument);
}
#else
TEST(QueryCuda, BuildWithoutCudaHasNoGpuAndSaysSo) {
  const CudaInfo info = QueryCuda();
  EXPECT_FALSE(info.compiled);
  EXPECT_EQ(info.device_count, 0);
  absl::Status status = ResolveDevice("cuda", info).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("--device=cuda: this LibTorch was built "
                                                       "without CUDA; use --device=cpu"));
  absl::StatusOr<DeviceChoice> automatic = ResolveDevice("auto", info);
  ASSERT_TRUE(automatic.ok());
  EXPECT_EQ(automatic->device, c10::Device(c10::kCPU));
}
#endif

}  // namespace
}  // namespace fauna
