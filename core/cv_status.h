// The boundary between OpenCV's exceptions and fauna's absl::Status.
#ifndef FAUNA_CORE_CV_STATUS_H_
#define FAUNA_CORE_CV_STATUS_H_

#include <string_view>
#include <utility>

#include <opencv2/core.hpp>

#include "absl/status/status.h"
#include "core/status.h"

namespace fauna {

// Converts an OpenCV error into a status, "context: message". Bad arguments, sizes and formats are
// invalid arguments; out of memory is resource exhausted; everything else is internal.
absl::Status CvErrorToStatus(const cv::Exception& error, std::string_view context);

// Runs `fn`, turning a cv::Exception (or any std::exception) into a status. Returns absl::Status
// for a `fn` that returns nothing or a Status, absl::StatusOr<R> for one that returns R or
// StatusOr<R>.
//
// Example:
//   ASSIGN_OR_RETURN(cv::Mat image, GuardCv("decode", [&] { return cv::imdecode(bytes, flags); }));
template <typename Fn>
auto GuardCv(std::string_view context, Fn&& fn) {
  return internal::CallAndCatch<cv::Exception>(
      std::forward<Fn>(fn),
      [context](const cv::Exception& e) { return CvErrorToStatus(e, context); }, context);
}

}  // namespace fauna

#endif  // FAUNA_CORE_CV_STATUS_H_
