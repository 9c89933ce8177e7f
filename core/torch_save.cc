#include "core/torch_save.h"

#include <vector>

#include <ATen/core/Dict.h>
#include <ATen/core/ivalue.h>
#include <torch/csrc/jit/serialization/pickle.h>

#include "core/atomic_file.h"
#include "core/status.h"
#include "core/torch_status.h"

namespace fauna {
namespace {

constexpr char kExpectedForm[] =
    "fauna reads a plain dict of tensors, saved with torch.save(dict(model.state_dict()), path)";

}  // namespace

absl::StatusOr<NamedTensors> ReadTorchSave(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (bytes.empty()) return absl::InvalidArgumentError(path + ": empty file");
  const std::vector<char> data(bytes.begin(), bytes.end());
  absl::StatusOr<c10::IValue> loaded =
      GuardTorch(path + ": not a readable torch.save file", [&] { return torch::jit::pickle_load(data); });
  if (!loaded.ok()) {
    return absl::Status(loaded.status().code(),
                        std::string(loaded.status().message()) + " (" + kExpectedForm + ")");
  }
  if (!loaded->isGenericDict()) {
    return absl::InvalidArgumentError(path + ": holds a " + loaded->tagKind() +
                                      ", not a dict of tensors (" + kExpectedForm + ")");
  }
  NamedTensors tensors;
  for (const auto& item : loaded->toGenericDict()) {
    if (!item.key().isString()) {
      return absl::InvalidArgumentError(path + ": a dict key is a " + item.key().tagKind() +
                                        ", not a string");
    }
    const std::string name = item.key().toStringRef();
    if (!item.value().isTensor()) {
      return absl::InvalidArgumentError(path + ": '" + name + "' is a " + item.value().tagKind() +
                                        ", not a tensor");
    }
    tensors.emplace(name, item.value().toTensor());
  }
  return tensors;
}

absl::Status WriteTorchSave(const std::string& path, const NamedTensors& tensors) {
  ASSIGN_OR_RETURN(std::vector<char> bytes, GuardTorch("serialising " + path, [&] {
                     c10::Dict<std::string, at::Tensor> dict;
                     for (const auto& [name, tensor] : tensors) {
                       TORCH_CHECK_VALUE(tensor.defined(), "tensor '", name, "' is undefined");
                       dict.insert(name, tensor.detach().to(at::kCPU));
                     }
                     return torch::jit::pickle_save(c10::IValue(dict));
                   }));
  return WriteFileAtomically(path, std::string_view(bytes.data(), bytes.size()));
}

}  // namespace fauna
