#include "core/torch_save.h"

#include <zlib.h>

#include <cstdint>
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

// Zip records: signatures and fixed sizes of the end record, a central directory entry and a
// local header; a saturated field, which means ZIP64 sizes; the longest archive comment.
constexpr uint32_t kEndSignature = 0x06054b50;
constexpr uint32_t kCentralSignature = 0x02014b50;
constexpr uint32_t kLocalSignature = 0x04034b50;
constexpr size_t kEndBytes = 22;
constexpr size_t kCentralBytes = 46;
constexpr size_t kLocalBytes = 30;
constexpr uint32_t kZip64 = 0xFFFFFFFF;
constexpr size_t kMaxCommentBytes = 0xFFFF;

uint32_t Le16(const std::string& bytes, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(bytes[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(bytes[at + 1])) << 8;
}

uint32_t Le32(const std::string& bytes, size_t at) {
  return Le16(bytes, at) | Le16(bytes, at + 2) << 16;
}

// Checks the zip archive around the pickle before LibTorch reads it: its end record and central
// directory, and the CRC-32 of every stored record. LibTorch's zip reader (its bundled miniz) is
// built without CRC checks, so a damaged byte inside a record reached the unpickler as is: one in
// data.pkl could make it allocate and zero 3 GB for a string before failing. What cannot be
// checked here (ZIP64 sizes over 4 GB, compressed records) is left to LibTorch.
absl::Status CheckZipRecords(const std::string& bytes, const std::string& path) {
  const auto damaged = [&path](const std::string& what) {
    return absl::InvalidArgumentError(path + ": not a readable torch.save file (" + what + ")");
  };
  size_t end = std::string::npos;
  if (bytes.size() >= kEndBytes) {
    const size_t last = bytes.size() - kEndBytes;
    const size_t lowest = last > kMaxCommentBytes ? last - kMaxCommentBytes : 0;
    for (size_t at = last; end == std::string::npos; --at) {
      if (Le32(bytes, at) == kEndSignature) end = at;
      if (at == lowest) break;
    }
  }
  if (end == std::string::npos) {
    return damaged("no zip end record: cut short, or not a zip archive");
  }
  const uint32_t entries = Le16(bytes, end + 10);
  const uint32_t directory_bytes = Le32(bytes, end + 12);
  const uint32_t directory = Le32(bytes, end + 16);
  if (entries == 0xFFFF || directory_bytes == kZip64 || directory == kZip64) {
    return absl::OkStatus();  // ZIP64 sizes: left to LibTorch.
  }
  if (uint64_t{directory} + directory_bytes > end) {
    return damaged("the zip central directory lies outside the file");
  }
  size_t at = directory;
  for (uint32_t i = 0; i < entries; ++i) {
    if (at + kCentralBytes > end || Le32(bytes, at) != kCentralSignature) {
      return damaged("zip central directory entry " + std::to_string(i) + " is damaged");
    }
    const uint32_t method = Le16(bytes, at + 10);
    const uint32_t crc = Le32(bytes, at + 16);
    const uint32_t stored_bytes = Le32(bytes, at + 20);
    const uint32_t record_bytes = Le32(bytes, at + 24);
    const size_t name_bytes = Le16(bytes, at + 28);
    const uint32_t local = Le32(bytes, at + 42);
    if (at + kCentralBytes + name_bytes > end) {
      return damaged("zip central directory entry " + std::to_string(i) + " is damaged");
    }
    const std::string name = bytes.substr(at + kCentralBytes, name_bytes);
    at += kCentralBytes + name_bytes + Le16(bytes, at + 30) + Le16(bytes, at + 32);
    if (method != 0 || stored_bytes == kZip64 || record_bytes == kZip64 || local == kZip64) {
      continue;
    }
    if (stored_bytes != record_bytes || uint64_t{local} + kLocalBytes > bytes.size() ||
        Le32(bytes, local) != kLocalSignature) {
      return damaged("the zip header of record " + name + " is damaged");
    }
    const uint64_t data = uint64_t{local} + kLocalBytes + Le16(bytes, local + 26) +
                          Le16(bytes, local + 28);
    if (data + record_bytes > bytes.size()) {
      return damaged("record " + name + " runs past the end of the file");
    }
    const auto* record = reinterpret_cast<const Bytef*>(bytes.data() + data);
    if (crc32_z(0, record, record_bytes) != crc) {
      return damaged("record " + name + " is damaged: its CRC-32 does not match");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<NamedTensors> ReadTorchSave(const std::string& path) {
  ASSIGN_OR_RETURN(std::string bytes, ReadFile(path));
  if (bytes.empty()) return absl::InvalidArgumentError(path + ": empty file");
  RETURN_IF_ERROR(CheckZipRecords(bytes, path));
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
