// Dicts of tensors in PyTorch's torch.save format (a zip archive holding a pickle).
#ifndef FAUNA_CORE_TORCH_SAVE_H_
#define FAUNA_CORE_TORCH_SAVE_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/named_tensors.h"

namespace fauna {

// Reads a file written by Python's `torch.save(dict(model.state_dict()), path)`: a plain dict from
// strings to tensors. An OrderedDict (a bare `model.state_dict()`), another kind of object, or a
// damaged file gives a clear error, never a crash. The zip archive's structure and the CRC-32 of
// each record are checked before LibTorch reads it (LibTorch's own reader skips the CRCs), so
// damage to the bytes is an error at once; a file crafted with matching CRCs still reaches
// LibTorch 1.13's unpickler, which may then allocate as much memory as the pickle asks for.
absl::StatusOr<NamedTensors> ReadTorchSave(const std::string& path);

// Writes `tensors` as a dict that Python's `torch.load(path)` returns, atomically.
//
// Example (Python, afterwards):
//   model.load_state_dict(torch.load("fauna_weights.pt"))
absl::Status WriteTorchSave(const std::string& path, const NamedTensors& tensors);

}  // namespace fauna

#endif  // FAUNA_CORE_TORCH_SAVE_H_
