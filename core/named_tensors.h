// Named tensors: a state dict, as read from and written to tensor files.
#ifndef FAUNA_CORE_NAMED_TENSORS_H_
#define FAUNA_CORE_NAMED_TENSORS_H_

#include <map>
#include <string>

#include <ATen/core/Tensor.h>

namespace fauna {

// Tensors by name, in name order (the keys of a PyTorch state dict).
using NamedTensors = std::map<std::string, at::Tensor>;

}  // namespace fauna

#endif  // FAUNA_CORE_NAMED_TENSORS_H_
