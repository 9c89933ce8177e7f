// The boundary between LibTorch's exceptions and fauna's absl::Status.
#ifndef FAUNA_CORE_TORCH_STATUS_H_
#define FAUNA_CORE_TORCH_STATUS_H_

#include <string_view>
#include <utility>

#include <c10/util/Exception.h>

#include "absl/status/status.h"
#include "core/status.h"

namespace fauna {

// Converts a LibTorch error into a status, "context: message" without LibTorch's backtrace.
// Value, index and type errors are invalid arguments; not-implemented errors are unimplemented;
// everything else is internal.
absl::Status TorchErrorToStatus(const c10::Error& error, std::string_view context);

// Runs `fn`, turning a c10::Error (or any std::exception) into a status. Returns absl::Status for
// a `fn` that returns nothing or a Status, absl::StatusOr<R> for one that returns R or StatusOr<R>.
//
// Example:
//   ASSIGN_OR_RETURN(torch::Tensor y, GuardTorch("forward", [&] { return model->forward(x); }));
template <typename Fn>
auto GuardTorch(std::string_view context, Fn&& fn) {
  return internal::CallAndCatch<c10::Error>(
      std::forward<Fn>(fn),
      [context](const c10::Error& e) { return TorchErrorToStatus(e, context); }, context);
}

}  // namespace fauna

#endif  // FAUNA_CORE_TORCH_STATUS_H_
