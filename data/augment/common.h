// What every augmentation shares: argument checks with clear messages, and (from core/random.h)
// random draws that are the same with every standard library.
#ifndef FAUNA_DATA_AUGMENT_COMMON_H_
#define FAUNA_DATA_AUGMENT_COMMON_H_

#include <string>

#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"
#include "core/random.h"

namespace fauna {
namespace augment {

// OK for a non-empty CV_8UC3 image; otherwise an invalid-argument error starting with `what`.
inline absl::Status CheckRgb(const cv::Mat& image, const std::string& what) {
  if (image.empty()) return absl::InvalidArgumentError(what + ": empty image");
  if (image.type() != CV_8UC3) {
    return absl::InvalidArgumentError(what + ": expected an 8-bit RGB image (CV_8UC3), got type " +
                                      std::to_string(image.type()));
  }
  return absl::OkStatus();
}

// OK for a finite `value` in [low, high]; otherwise an invalid-argument error naming `what`.
inline absl::Status CheckInRange(double value, double low, double high, const std::string& what) {
  if (!(value >= low && value <= high)) {  // false for NaN too
    return absl::InvalidArgumentError(what + " must be in [" + std::to_string(low) + ", " +
                                      std::to_string(high) + "], got " + std::to_string(value));
  }
  return absl::OkStatus();
}

// OK for a probability in [0, 1].
inline absl::Status CheckProbability(double p, const std::string& what) {
  return CheckInRange(p, 0.0, 1.0, what + " probability");
}

// OK for a range low <= high within [min, max].
inline absl::Status CheckRange(double low, double high, double min, double max,
                               const std::string& what) {
  if (!(low >= min && high <= max && low <= high)) {
    return absl::InvalidArgumentError(what + " range must satisfy " + std::to_string(min) +
                                      " <= low <= high <= " + std::to_string(max) + ", got [" +
                                      std::to_string(low) + ", " + std::to_string(high) + "]");
  }
  return absl::OkStatus();
}

}  // namespace augment
}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_COMMON_H_
