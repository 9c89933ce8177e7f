#include "core/cv_status.h"

#include <string>


namespace fauna {

absl::Status CvErrorToStatus(const cv::Exception& error, std::string_view context) {
  // error.err is the bare description; error.msg adds OpenCV's version and source location.
  std::string message = std::string(context) + ": " + (error.err.empty() ? error.msg : error.err);
  switch (error.code) {
    case cv::Error::StsBadArg:
    case cv::Error::StsBadSize:
    case cv::Error::StsBadFlag:
    case cv::Error::StsOutOfRange:
    case cv::Error::StsUnmatchedSizes:
    case cv::Error::StsUnmatchedFormats:
    case cv::Error::StsUnsupportedFormat:
    case cv::Error::BadNumChannels:
    case cv::Error::BadDepth:
    case cv::Error::StsAssert:
      return absl::InvalidArgumentError(message);
    case cv::Error::StsNoMem:
      return absl::ResourceExhaustedError(message);
    default:
      return absl::InternalError(message);
  }
}

}  // namespace fauna
