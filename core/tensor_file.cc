#include "core/tensor_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <absl/strings/match.h>

#include "core/safetensors.h"
#include "core/status.h"
#include "core/torch_save.h"

namespace fauna {

absl::StatusOr<TensorFileFormat> DetectTensorFileFormat(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    return ErrnoToStatus(errno, "cannot open " + path);
  }
  char magic[4] = {0, 0, 0, 0};
  size_t n = std::fread(magic, 1, sizeof(magic), file);
  std::fclose(file);
  if (n == 4 && std::memcmp(magic, "PK\x03\x04", 4) == 0) return TensorFileFormat::kTorchSave;
  return TensorFileFormat::kSafetensors;
}

absl::StatusOr<NamedTensors> ReadTensorFile(const std::string& path) {
  ASSIGN_OR_RETURN(TensorFileFormat format, DetectTensorFileFormat(path));
  if (format == TensorFileFormat::kTorchSave) return ReadTorchSave(path);
  ASSIGN_OR_RETURN(SafetensorsContents contents, ReadSafetensors(path));
  return std::move(contents.tensors);
}

absl::Status WriteTensorFile(const std::string& path, const NamedTensors& tensors) {
  if (absl::EndsWith(path, ".pt") || absl::EndsWith(path, ".pth")) return WriteTorchSave(path, tensors);
  return WriteSafetensors(path, tensors);
}

}  // namespace fauna
