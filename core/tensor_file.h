// One entry point for weight files, whatever their format.
#ifndef FAUNA_CORE_TENSOR_FILE_H_
#define FAUNA_CORE_TENSOR_FILE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/named_tensors.h"

namespace fauna {

// The formats fauna reads and writes.
enum class TensorFileFormat { kSafetensors, kTorchSave };

// The format a file's first bytes show: torch.save files are zip archives ("PK\x03\x04"); anything
// else is taken for safetensors, whose reader then checks it.
absl::StatusOr<TensorFileFormat> DetectTensorFileFormat(const std::string& path);

// Reads named tensors from a safetensors or torch.save file, recognised by content.
//
// Example:
//   ASSIGN_OR_RETURN(NamedTensors weights, ReadTensorFile(FLAGS_init_weights));
absl::StatusOr<NamedTensors> ReadTensorFile(const std::string& path);

// Writes named tensors in the format the extension names: .pt or .pth for torch.save, anything
// else for safetensors.
absl::Status WriteTensorFile(const std::string& path, const NamedTensors& tensors);

}  // namespace fauna

#endif  // FAUNA_CORE_TENSOR_FILE_H_
