// Helpers shared by the model tests.
#ifndef FAUNA_MODELS_TEST_UTIL_H_
#define FAUNA_MODELS_TEST_UTIL_H_

#include <cstdint>
#include <map>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

#include "absl/status/statusor.h"

namespace fauna::testing {

// The runfiles path of a file written by models/testdata/make_parity_files.py.
std::string ParityFile(const std::string& name);

// Key -> "dtype d0,d1,..." for every line "key dtype d0,d1,..." of a torchvision key list.
absl::StatusOr<std::map<std::string, std::string>> ReadKeysFile(const std::string& path);

// Key -> "dtype d0,d1,..." for every parameter and buffer of `module`, in the key-file format.
std::map<std::string, std::string> ModuleKeys(const torch::nn::Module& module);

// The number of parameter elements (buffers not counted), as torchvision's parameter counts.
int64_t CountParameters(const torch::nn::Module& module);

// max |actual - expected| / max |expected|.
double MaxRelativeError(const at::Tensor& actual, const at::Tensor& expected);

}  // namespace fauna::testing

#endif  // FAUNA_MODELS_TEST_UTIL_H_
