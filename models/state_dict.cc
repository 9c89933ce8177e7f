#include "models/state_dict.h"

#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "core/status.h"
#include "core/tensor_file.h"
#include "core/torch_status.h"

namespace fauna {
namespace {

// At most this many keys of one kind are named in an error message.
constexpr size_t kMaxKeysListed = 12;

std::string ShapeString(const at::Tensor& t) {
  std::string out = "[";
  for (int64_t i = 0; i < t.dim(); ++i) {
    if (i > 0) out += ", ";
    out += std::to_string(t.size(i));
  }
  return out + "]";
}

// "3 missing keys (a, b, c)", at most kMaxKeysListed named.
std::string ListKeys(const std::vector<std::string>& keys, const std::string& what) {
  std::string out = std::to_string(keys.size()) + " " + what + " (";
  for (size_t i = 0; i < keys.size() && i < kMaxKeysListed; ++i) {
    if (i > 0) out += ", ";
    out += keys[i];
  }
  if (keys.size() > kMaxKeysListed) {
    out += ", ... and " + std::to_string(keys.size() - kMaxKeysListed) + " more";
  }
  return out + ")";
}

bool UnderPrefix(const std::string& key, const std::vector<std::string>& prefixes) {
  for (const std::string& prefix : prefixes) {
    if (key == prefix) return true;
    if (key.size() > prefix.size() && key.compare(0, prefix.size(), prefix) == 0 &&
        key[prefix.size()] == '.') {
      return true;
    }
  }
  return false;
}

}  // namespace

NamedTensors StateDict(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    out.emplace(item.key(), item.value());
  }
  for (const auto& item : module.named_buffers(/*recurse=*/true)) {
    out.emplace(item.key(), item.value());
  }
  return out;
}

absl::StatusOr<LoadReport> LoadStateDict(torch::nn::Module& module, const NamedTensors& tensors,
                                         const LoadOptions& options) {
  NamedTensors target = StateDict(module);
  LoadReport report;
  std::vector<std::string> mismatched;
  std::vector<std::pair<at::Tensor, at::Tensor>> copies;
  for (const auto& [key, destination] : target) {
    auto it = tensors.find(key);
    if (it == tensors.end()) {
      report.missing.push_back(key);
      continue;
    }
    const at::Tensor& source = it->second;
    if (!source.defined()) {
      mismatched.push_back(key + ": the file's tensor is undefined");
    } else if (source.sizes() != destination.sizes()) {
      if (UnderPrefix(key, options.reinit_prefixes)) {
        report.reinitialized.push_back(key);
      } else {
        mismatched.push_back(key + ": file " + ShapeString(source) + ", model " +
                             ShapeString(destination));
      }
    } else {
      report.loaded.push_back(key);
      copies.emplace_back(destination, source);
    }
  }
  for (const auto& [key, tensor] : tensors) {
    if (target.find(key) == target.end()) report.unexpected.push_back(key);
  }

  std::vector<std::string> problems;
  if (!mismatched.empty()) problems.push_back(ListKeys(mismatched, "shape mismatches"));
  if (options.strict && !report.missing.empty()) {
    problems.push_back(ListKeys(report.missing, "missing keys"));
  }
  if (options.strict && !report.unexpected.empty()) {
    problems.push_back(ListKeys(report.unexpected, "unexpected keys"));
  }
  if (!problems.empty()) {
    std::string message = "state dict does not fit the model: ";
    for (size_t i = 0; i < problems.size(); ++i) {
      if (i > 0) message += "; ";
      message += problems[i];
    }
    if (!mismatched.empty() && options.reinit_prefixes.empty()) {
      message += " (to train a new head, pass its name in LoadOptions::reinit_prefixes)";
    }
    return absl::InvalidArgumentError(message);
  }

  RETURN_IF_ERROR(GuardTorch("loading the state dict", [&] {
    c10::NoGradGuard no_grad;
    for (auto& [destination, source] : copies) destination.copy_(source);
  }));
  return report;
}

absl::Status SaveWeights(const torch::nn::Module& module, const std::string& path) {
  NamedTensors tensors;
  for (const auto& [key, tensor] : StateDict(module)) tensors.emplace(key, tensor.detach());
  return WriteTensorFile(path, tensors);
}

absl::StatusOr<LoadReport> LoadWeights(torch::nn::Module& module, const std::string& path,
                                       const LoadOptions& options) {
  ASSIGN_OR_RETURN(NamedTensors tensors, ReadTensorFile(path));
  absl::StatusOr<LoadReport> report = LoadStateDict(module, tensors, options);
  if (!report.ok()) return Annotate(report.status(), path);
  return report;
}

}  // namespace fauna
