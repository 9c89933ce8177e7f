// What every augmentation shares: argument checks with clear messages, and random draws that are
// the same with every standard library (std::uniform_real_distribution and friends are not
// specified exactly, so a seed would give other images with libc++ than with libstdc++).
#ifndef FAUNA_DATA_AUGMENT_COMMON_H_
#define FAUNA_DATA_AUGMENT_COMMON_H_

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"

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

// A uniform double in [0, 1) from the top 53 bits of one draw.
inline double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// A uniform double in [low, high).
inline double Uniform(std::mt19937_64& rng, double low, double high) {
  return low + (high - low) * Uniform01(rng);
}

// A uniform integer in [0, n) for n >= 1 (Lemire's multiply-shift; bias below 2^-40 for the sizes
// used here).
inline int64_t UniformIndex(std::mt19937_64& rng, int64_t n) {
  return static_cast<int64_t>((static_cast<unsigned __int128>(rng()) * static_cast<uint64_t>(n)) >> 64);
}

// True with probability p; always one draw, so later draws do not depend on the outcome.
inline bool Bernoulli(std::mt19937_64& rng, double p) { return Uniform01(rng) < p; }

}  // namespace augment
}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_COMMON_H_
