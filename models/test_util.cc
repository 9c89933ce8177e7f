#include "models/test_util.h"

#include <fstream>
#include <sstream>

#include <ATen/ATen.h>
#include <c10/core/ScalarType.h>

#include "absl/status/status.h"

namespace fauna::testing {
namespace {

std::string Describe(const at::Tensor& t) {
  std::string dtype = c10::toString(t.scalar_type());
  // c10 says "Float", "Long"; torch says float32, int64.
  if (dtype == "Float") dtype = "float32";
  if (dtype == "Long") dtype = "int64";
  std::string shape;
  for (int64_t i = 0; i < t.dim(); ++i) {
    if (i > 0) shape += ",";
    shape += std::to_string(t.size(i));
  }
  return dtype + " " + shape;
}

}  // namespace

std::string ParityFile(const std::string& name) { return "models/testdata/" + name; }

absl::StatusOr<std::map<std::string, std::string>> ReadKeysFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError("cannot open " + path);
  std::map<std::string, std::string> keys;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string key, dtype, shape;
    fields >> key >> dtype >> shape;  // a scalar has an empty shape
    keys[key] = dtype + " " + shape;
  }
  return keys;
}

std::map<std::string, std::string> ModuleKeys(const torch::nn::Module& module) {
  std::map<std::string, std::string> keys;
  for (const auto& item : module.named_parameters()) keys[item.key()] = Describe(item.value());
  for (const auto& item : module.named_buffers()) keys[item.key()] = Describe(item.value());
  return keys;
}

int64_t CountParameters(const torch::nn::Module& module) {
  int64_t count = 0;
  for (const at::Tensor& p : module.parameters()) count += p.numel();
  return count;
}

double MaxRelativeError(const at::Tensor& actual, const at::Tensor& expected) {
  return (actual - expected).abs().max().item<double>() / expected.abs().max().item<double>();
}

}  // namespace fauna::testing
