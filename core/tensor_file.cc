#include "core/tensor_file.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "core/safetensors.h"
#include "core/status.h"
#include "core/torch_save.h"

namespace fauna {
namespace {

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

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
  if (EndsWith(path, ".pt") || EndsWith(path, ".pth")) return WriteTorchSave(path, tensors);
  return WriteSafetensors(path, tensors);
}

}  // namespace fauna
