#include "core/torch_status.h"

#include <string>

#include "absl/strings/strip.h"

namespace fauna {

absl::Status TorchErrorToStatus(const c10::Error& error, std::string_view context) {
  std::string message =
      std::string(context) + ": " +
      std::string(absl::StripTrailingAsciiWhitespace(error.what_without_backtrace()));
  if (dynamic_cast<const c10::ValueError*>(&error) != nullptr ||
      dynamic_cast<const c10::IndexError*>(&error) != nullptr ||
      dynamic_cast<const c10::TypeError*>(&error) != nullptr) {
    return absl::InvalidArgumentError(message);
  }
  if (dynamic_cast<const c10::NotImplementedError*>(&error) != nullptr) {
    return absl::UnimplementedError(message);
  }
  return absl::InternalError(message);
}

}  // namespace fauna
