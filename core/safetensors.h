// The safetensors format (huggingface.co/docs/safetensors): an 8-byte little-endian header length
// N, N bytes of JSON mapping each tensor's name to {"dtype", "shape", "data_offsets": [begin,
// end]} (offsets into the data that follows; an optional "__metadata__" maps strings to strings),
// then the raw little-endian data.
#ifndef FAUNA_CORE_SAFETENSORS_H_
#define FAUNA_CORE_SAFETENSORS_H_

#include <cstdint>
#include <map>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/named_tensors.h"

namespace fauna {

// Headers longer than this are refused, as in the reference implementation.
inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

// The contents of a safetensors file.
struct SafetensorsContents {
  NamedTensors tensors;
  std::map<std::string, std::string> metadata;
};

// Reads a whole safetensors file into CPU tensors. Every malformed file gives an error naming the
// file and the fault: truncated, a header length beyond the file, invalid JSON, an unknown or
// unsupported dtype, a shape whose size does not match its offsets, offsets out of range,
// overlapping or leaving bytes unaccounted for. Reads never go out of bounds.
// Supported dtypes: F64, F32, F16, BF16, I64, I32, I16, I8, U8, BOOL.
absl::StatusOr<SafetensorsContents> ReadSafetensors(const std::string& path);

// Writes `tensors` (any device, any strides; saved contiguous from the CPU) and `metadata` to
// `path` atomically. Tensor names must be non-empty and not "__metadata__".
//
// Example:
//   RETURN_IF_ERROR(WriteSafetensors("model.safetensors", {{"fc.weight", w}, {"fc.bias", b}}));
absl::Status WriteSafetensors(const std::string& path, const NamedTensors& tensors,
                              const std::map<std::string, std::string>& metadata = {});

}  // namespace fauna

#endif  // FAUNA_CORE_SAFETENSORS_H_
