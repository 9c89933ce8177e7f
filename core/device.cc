#include "core/device.h"

#include <ATen/Context.h>

#include "absl/strings/numbers.h"

namespace fauna {
namespace {

constexpr char kCudaHint[] =
    "use --device=cpu, or build with a CUDA LibTorch (--repo_env=FAUNA_LIBTORCH=<dir>, see "
    "README)";

std::string Plural(int n, const char* word) {
  return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
}

}  // namespace

CudaInfo QueryCuda() {
  CudaInfo info;
  info.compiled = at::hasCUDA();
  info.device_count = info.compiled ? static_cast<int>(at::getNumGPUs()) : 0;
  return info;
}

absl::StatusOr<DeviceChoice> ResolveDevice(std::string_view flag, const CudaInfo& cuda) {
  const std::string value(flag);
  const std::string why_no_cuda =
      !cuda.compiled ? "this LibTorch was built without CUDA" : "no CUDA device is visible";
  if (value == "cpu") return DeviceChoice{c10::Device(c10::kCPU), "device: cpu (asked for)"};
  if (value == "auto") {
    if (cuda.compiled && cuda.device_count > 0) {
      return DeviceChoice{c10::Device(c10::kCUDA, 0),
                          "device: cuda:0 (auto; " + Plural(cuda.device_count, "GPU") + " visible)"};
    }
    return DeviceChoice{c10::Device(c10::kCPU), "device: cpu (auto; " + why_no_cuda + ")"};
  }
  if (value == "cuda" || value.rfind("cuda:", 0) == 0) {
    int index = 0;
    if (value != "cuda" && (!absl::SimpleAtoi(value.substr(5), &index) || index < 0)) {
      return absl::InvalidArgumentError("--device=" + value + ": expected cuda:N with N >= 0");
    }
    if (!cuda.compiled || cuda.device_count == 0) {
      return absl::FailedPreconditionError("--device=" + value + ": " + why_no_cuda + "; " +
                                           kCudaHint);
    }
    if (index >= cuda.device_count) {
      return absl::InvalidArgumentError("--device=" + value + ": only " +
                                        Plural(cuda.device_count, "CUDA device") + " visible");
    }
    return DeviceChoice{c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(index)),
                        "device: cuda:" + std::to_string(index) + " (asked for)"};
  }
  return absl::InvalidArgumentError("--device=" + value + ": expected auto, cpu, cuda or cuda:N");
}

}  // namespace fauna
