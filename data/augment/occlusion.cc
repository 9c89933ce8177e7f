#include "data/augment/occlusion.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/cv_status.h"
#include "core/status.h"
#include "data/augment/common.h"

namespace fauna {

absl::Status ValidateOcclusionOptions(const OcclusionOptions& options) {
  RETURN_IF_ERROR(augment::CheckProbability(options.p, "occlusion"));
  if (!(options.min_area > 0)) {
    return absl::InvalidArgumentError("occlusion area must be above 0, got " +
                                      std::to_string(options.min_area));
  }
  RETURN_IF_ERROR(augment::CheckRange(options.min_area, options.max_area, 0, 1, "occlusion area"));
  if (!(options.min_ratio > 0)) {
    return absl::InvalidArgumentError("occlusion ratio must be above 0, got " +
                                      std::to_string(options.min_ratio));
  }
  return augment::CheckRange(options.min_ratio, options.max_ratio, 0, 1e6, "occlusion ratio");
}

absl::StatusOr<cv::Rect> RandomOcclusion(cv::Mat& image, const OcclusionOptions& options,
                                         std::mt19937_64& rng) {
  RETURN_IF_ERROR(ValidateOcclusionOptions(options));
  RETURN_IF_ERROR(augment::CheckRgb(image, "occlusion"));
  if (!Bernoulli(rng, options.p)) return cv::Rect();
  const double area = static_cast<double>(image.cols) * image.rows;
  const double log_min = std::log(options.min_ratio);
  const double log_max = std::log(options.max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double box_area = area * Uniform(rng, options.min_area, options.max_area);
    const double ratio = std::exp(Uniform(rng, log_min, log_max));
    const int h = static_cast<int>(std::lround(std::sqrt(box_area * ratio)));
    const int w = static_cast<int>(std::lround(std::sqrt(box_area / ratio)));
    if (h <= 0 || w <= 0 || h >= image.rows || w >= image.cols) continue;
    const int top = static_cast<int>(UniformIndex(rng, image.rows - h + 1));
    const int left = static_cast<int>(UniformIndex(rng, image.cols - w + 1));
    const cv::Rect box(left, top, w, h);
    const uint64_t noise_seed = rng();
    RETURN_IF_ERROR(GuardCv("occlusion", [&] {
      cv::Mat target = image(box);
      switch (options.fill) {
        case OcclusionFill::kGray:
          target.setTo(cv::Scalar::all(128));
          break;
        case OcclusionFill::kBlack:
          target.setTo(cv::Scalar::all(0));
          break;
        case OcclusionFill::kNoise: {
          cv::RNG generator(noise_seed);
          cv::Mat noise(target.size(), CV_8UC3);
          generator.fill(noise, cv::RNG::UNIFORM, cv::Scalar::all(0), cv::Scalar::all(256));
          noise.copyTo(target);
          break;
        }
      }
    }));
    return box;
  }
  return cv::Rect();
}

absl::StatusOr<PartialRegion> ParsePartialRegion(const std::string& name) {
  if (name == "left") return PartialRegion::kLeft;
  if (name == "right") return PartialRegion::kRight;
  if (name == "top") return PartialRegion::kTop;
  if (name == "bottom") return PartialRegion::kBottom;
  if (name == "center") return PartialRegion::kCenter;
  if (name == "side") return PartialRegion::kRandomSide;
  if (name == "window") return PartialRegion::kRandomWindow;
  if (name == "top_left") return PartialRegion::kTopLeft;
  if (name == "top_right") return PartialRegion::kTopRight;
  if (name == "bottom_left") return PartialRegion::kBottomLeft;
  if (name == "bottom_right") return PartialRegion::kBottomRight;
  return absl::InvalidArgumentError("unknown partial view region '" + name +
                                    "' (left, right, top, bottom, center, side, window, top_left, "
                                    "top_right, bottom_left or bottom_right)");
}

absl::Status ValidatePartialViewOptions(const PartialViewOptions& options) {
  if (!(options.keep > 0 && options.keep <= 1)) {
    return absl::InvalidArgumentError("partial view keep must be in (0, 1], got " +
                                      std::to_string(options.keep));
  }
  return absl::OkStatus();
}

absl::StatusOr<cv::Rect> PartialViewBox(cv::Size size, const PartialViewOptions& options,
                                        std::mt19937_64& rng) {
  RETURN_IF_ERROR(ValidatePartialViewOptions(options));
  if (size.width <= 0 || size.height <= 0) {
    return absl::InvalidArgumentError("partial view of an empty image");
  }
  auto scaled = [](int side, double factor) {
    return std::clamp(static_cast<int>(std::lround(side * factor)), 1, side);
  };
  PartialRegion region = options.region;
  if (region == PartialRegion::kRandomSide) {
    static constexpr PartialRegion kSides[] = {PartialRegion::kLeft, PartialRegion::kRight,
                                               PartialRegion::kTop, PartialRegion::kBottom};
    region = kSides[UniformIndex(rng, 4)];
  }
  const int w = scaled(size.width, options.keep);
  const int h = scaled(size.height, options.keep);
  const int window_w = scaled(size.width, std::sqrt(options.keep));
  const int window_h = scaled(size.height, std::sqrt(options.keep));
  switch (region) {
    case PartialRegion::kLeft:
      return cv::Rect(0, 0, w, size.height);
    case PartialRegion::kRight:
      return cv::Rect(size.width - w, 0, w, size.height);
    case PartialRegion::kTop:
      return cv::Rect(0, 0, size.width, h);
    case PartialRegion::kBottom:
      return cv::Rect(0, size.height - h, size.width, h);
    case PartialRegion::kCenter:
      return cv::Rect((size.width - window_w) / 2, (size.height - window_h) / 2, window_w,
                      window_h);
    case PartialRegion::kTopLeft:
      return cv::Rect(0, 0, window_w, window_h);
    case PartialRegion::kTopRight:
      return cv::Rect(size.width - window_w, 0, window_w, window_h);
    case PartialRegion::kBottomLeft:
      return cv::Rect(0, size.height - window_h, window_w, window_h);
    case PartialRegion::kBottomRight:
      return cv::Rect(size.width - window_w, size.height - window_h, window_w, window_h);
    case PartialRegion::kRandomWindow:
    case PartialRegion::kRandomSide: {
      const int top = static_cast<int>(UniformIndex(rng, size.height - window_h + 1));
      const int left = static_cast<int>(UniformIndex(rng, size.width - window_w + 1));
      return cv::Rect(left, top, window_w, window_h);
    }
  }
  return absl::InternalError("unhandled partial view region");
}

absl::Status PartialView(cv::Mat& image, const PartialViewOptions& options, std::mt19937_64& rng) {
  RETURN_IF_ERROR(ValidatePartialViewOptions(options));
  RETURN_IF_ERROR(augment::CheckRgb(image, "partial view"));
  ASSIGN_OR_RETURN(cv::Rect box, PartialViewBox(image.size(), options, rng));
  return GuardCv("partial view", [&] {
    cv::Mat kept = image(box);
    cv::Mat out;
    if (!options.resize_back || box.size() == image.size()) {
      out = kept.clone();
    } else {
      cv::resize(kept, out, image.size(), 0, 0, cv::INTER_LINEAR);
    }
    image = out;
  });
}

}  // namespace fauna
