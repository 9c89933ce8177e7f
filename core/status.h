// Status helpers shared by every fauna module: early-return macros, exception boundaries and the
// one-line error report of a binary.
#ifndef FAUNA_CORE_STATUS_H_
#define FAUNA_CORE_STATUS_H_

#include <exception>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Returns from the enclosing function with the status of `expr` when it is not OK.
//
// Example:
//   RETURN_IF_ERROR(WriteSafetensors(path, tensors));
#define RETURN_IF_ERROR(expr) \
  FAUNA_RETURN_IF_ERROR_IMPL_(FAUNA_STATUS_CONCAT_(fauna_status_, __COUNTER__), expr)

// __COUNTER__ gives nested uses (a lambda inside the argument) names of their own.
#define FAUNA_RETURN_IF_ERROR_IMPL_(status, expr)                   \
  do {                                                              \
    ::absl::Status status = ::fauna::internal::ToStatus(expr);      \
    if (!status.ok()) return status;                                \
  } while (false)

// Evaluates `rexpr` (an absl::StatusOr<T>); returns its status when it is not OK, otherwise moves
// the value into `lhs`, which may be a declaration.
//
// Example:
//   ASSIGN_OR_RETURN(NamedTensors tensors, ReadSafetensors(path));
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  FAUNA_ASSIGN_OR_RETURN_IMPL_(FAUNA_STATUS_CONCAT_(fauna_statusor_, __COUNTER__), lhs, rexpr)

#define FAUNA_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr) \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#define FAUNA_STATUS_CONCAT_(a, b) FAUNA_STATUS_CONCAT_INNER_(a, b)
#define FAUNA_STATUS_CONCAT_INNER_(a, b) a##b

namespace fauna {
namespace internal {

inline const absl::Status& ToStatus(const absl::Status& status) { return status; }
template <typename T>
const absl::Status& ToStatus(const absl::StatusOr<T>& status_or) {
  return status_or.status();
}

// The status type that wraps a result of type R: absl::Status for void and absl::Status,
// absl::StatusOr<T> for absl::StatusOr<T>, absl::StatusOr<R> otherwise.
template <typename R>
struct StatusTypeOf {
  using type = absl::StatusOr<R>;
};
template <>
struct StatusTypeOf<void> {
  using type = absl::Status;
};
template <>
struct StatusTypeOf<absl::Status> {
  using type = absl::Status;
};
template <typename T>
struct StatusTypeOf<absl::StatusOr<T>> {
  using type = absl::StatusOr<T>;
};

// Runs `fn`; an exception of type `Exception` becomes the status `to_status(exception)`, any other
// std::exception an internal error. Returns StatusTypeOf<result of fn>.
template <typename Exception, typename Fn, typename ToStatusFn>
auto CallAndCatch(Fn&& fn, ToStatusFn&& to_status, std::string_view context) ->
    typename StatusTypeOf<std::invoke_result_t<Fn>>::type {
  try {
    if constexpr (std::is_void_v<std::invoke_result_t<Fn>>) {
      std::forward<Fn>(fn)();
      return absl::OkStatus();
    } else {
      return std::forward<Fn>(fn)();
    }
  } catch (const Exception& e) {
    return to_status(e);
  } catch (const std::exception& e) {
    return absl::InternalError(std::string(context) + ": " + e.what());
  }
}

}  // namespace internal

// Prefixes the message of a non-OK `status` with `context` ("context: message"); OK stays OK.
absl::Status Annotate(const absl::Status& status, std::string_view context);

// A status for a failed system call: "what: <strerror(error)>", with a code that fits `error`
// (NotFound for ENOENT/ENOTDIR, PermissionDenied for EACCES/EPERM/EROFS, ResourceExhausted for
// ENOSPC/EDQUOT, FailedPrecondition for EISDIR, Internal otherwise).
//
// Example:
//   if (fd < 0) return ErrnoToStatus(errno, "cannot open " + path);
absl::Status ErrnoToStatus(int error, const std::string& what);

// The one line a binary prints for a failed status: "error: <message>", with any line breaks of
// the message folded into "; ".
std::string ErrorLine(const absl::Status& status);

// For the end of main(): prints ErrorLine(status) to stderr when `status` is not OK and returns the
// process exit code (0 for OK, 1 otherwise).
//
// Example:
//   int main(int argc, char** argv) { return fauna::ExitCode(Run(argc, argv)); }
int ExitCode(const absl::Status& status);

}  // namespace fauna

#endif  // FAUNA_CORE_STATUS_H_
