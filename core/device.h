// Device choice: --device=auto|cpu|cuda|cuda:N.
#ifndef FAUNA_CORE_DEVICE_H_
#define FAUNA_CORE_DEVICE_H_

#include <string>
#include <string_view>

#include <c10/core/Device.h>

#include "absl/status/statusor.h"

namespace fauna {

// What this process can use: whether LibTorch was built with CUDA, and how many GPUs it sees.
struct CudaInfo {
  bool compiled = false;
  int device_count = 0;
};

// The CudaInfo of this process's LibTorch.
CudaInfo QueryCuda();

// A device and the one line that explains the choice.
struct DeviceChoice {
  c10::Device device = c10::Device(c10::kCPU);
  std::string explanation;
};

// Resolves a --device value: "auto" takes CUDA device 0 when there is one, else the CPU; "cpu";
// "cuda" or "cuda:N", which are errors where `cuda` has no such device.
absl::StatusOr<DeviceChoice> ResolveDevice(std::string_view flag, const CudaInfo& cuda);

}  // namespace fauna

#endif  // FAUNA_CORE_DEVICE_H_
