#include "core/status.h"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/strings/str_replace.h"
#include "absl/strings/strip.h"

namespace fauna {

absl::Status Annotate(const absl::Status& status, std::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), std::string(context) + ": " + std::string(status.message()));
}

absl::Status ErrnoToStatus(int error, const std::string& what) {
  std::string message = what + ": " + std::strerror(error);
  switch (error) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(message);
    case EACCES:
    case EPERM:
    case EROFS:
      return absl::PermissionDeniedError(message);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(message);
    case EISDIR:
      return absl::FailedPreconditionError(message);
    default:
      return absl::InternalError(message);
  }
}

std::string ErrorLine(const absl::Status& status) {
  std::string message(absl::StripTrailingAsciiWhitespace(status.message()));
  if (message.empty()) message = absl::StatusCodeToString(status.code());
  absl::StrReplaceAll({{"\r\n", "; "}, {"\n", "; "}, {"\r", "; "}}, &message);
  return "error: " + message;
}

int ExitCode(const absl::Status& status) {
  if (status.ok()) return 0;
  std::fflush(stdout);
  std::fprintf(stderr, "%s\n", ErrorLine(status).c_str());
  return 1;
}

}  // namespace fauna
