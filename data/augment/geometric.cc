#include "data/augment/geometric.h"

#include <algorithm>
#include <cmath>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/cv_status.h"
#include "core/status.h"
#include "data/augment/common.h"

namespace fauna {

using augment::CheckProbability;
using augment::CheckRgb;

namespace {

constexpr int kMaxSide = 30000;

cv::Mat Resized(const cv::Mat& image, cv::Size to) {
  if (image.size() == to) return image.clone();
  const bool shrinking = to.width <= image.cols && to.height <= image.rows;
  cv::Mat out;
  cv::resize(image, out, to, 0, 0, shrinking ? cv::INTER_AREA : cv::INTER_LINEAR);
  return out;
}

}  // namespace

absl::Status HorizontalFlip(cv::Mat& image) {
  RETURN_IF_ERROR(CheckRgb(image, "horizontal flip"));
  return GuardCv("horizontal flip", [&] { cv::flip(image, image, /*flipCode=*/1); });
}

absl::Status VerticalFlip(cv::Mat& image) {
  RETURN_IF_ERROR(CheckRgb(image, "vertical flip"));
  return GuardCv("vertical flip", [&] { cv::flip(image, image, /*flipCode=*/0); });
}

absl::StatusOr<AffineWarp> DrawRandomFlip(const cv::Mat& image, double p, bool horizontal,
                                          std::mt19937_64& rng) {
  const char* what = horizontal ? "horizontal flip" : "vertical flip";
  RETURN_IF_ERROR(CheckProbability(p, what));
  RETURN_IF_ERROR(CheckRgb(image, what));
  if (Bernoulli(rng, p)) return FlipWarp(image.size(), horizontal);
  AffineWarp identity;
  identity.exact = true;
  return identity;
}

absl::Status RandomHorizontalFlip(cv::Mat& image, double p, std::mt19937_64& rng) {
  ASSIGN_OR_RETURN(AffineWarp warp, DrawRandomFlip(image, p, /*horizontal=*/true, rng));
  return warp.identity() ? absl::OkStatus() : HorizontalFlip(image);
}

absl::Status RandomVerticalFlip(cv::Mat& image, double p, std::mt19937_64& rng) {
  ASSIGN_OR_RETURN(AffineWarp warp, DrawRandomFlip(image, p, /*horizontal=*/false, rng));
  return warp.identity() ? absl::OkStatus() : VerticalFlip(image);
}

AffineWarp RotationWarp(const cv::Size& size, double degrees, Border border, Sampling sampling) {
  // The centre of the pixel grid, so that a quarter turn of a square maps pixels onto pixels.
  const cv::Point2f centre((size.width - 1) / 2.0f, (size.height - 1) / 2.0f);
  const cv::Mat matrix = cv::getRotationMatrix2D(centre, degrees, /*scale=*/1.0);
  AffineWarp warp;
  warp.forward = cv::Matx23d(matrix);
  warp.sampling = sampling;
  warp.border = border;
  return warp;
}

AffineWarp FlipWarp(const cv::Size& size, bool horizontal) {
  AffineWarp warp;
  warp.forward = horizontal ? cv::Matx23d(-1, 0, size.width - 1, 0, 1, 0)
                            : cv::Matx23d(1, 0, 0, 0, -1, size.height - 1);
  warp.exact = true;
  return warp;
}

absl::StatusOr<AffineWarp> Compose(const AffineWarp& first, const AffineWarp& then) {
  if (!first.exact && !then.exact) {
    return absl::InvalidArgumentError(
        "cannot compose two resampling warps into one (each has its own border)");
  }
  auto homogeneous = [](const cv::Matx23d& m) {
    return cv::Matx33d(m(0, 0), m(0, 1), m(0, 2), m(1, 0), m(1, 1), m(1, 2), 0, 0, 1);
  };
  const cv::Matx33d product = homogeneous(then.forward) * homogeneous(first.forward);
  AffineWarp composed = first.exact ? then : first;
  composed.forward = cv::Matx23d(product(0, 0), product(0, 1), product(0, 2), product(1, 0),
                                 product(1, 1), product(1, 2));
  composed.exact = first.exact && then.exact;
  return composed;
}

absl::StatusOr<cv::Mat> Warped(const cv::Mat& image, const AffineWarp& warp) {
  RETURN_IF_ERROR(CheckRgb(image, "affine warp"));
  return GuardCv("affine warp", [&] {
    cv::Mat warped;
    cv::warpAffine(image, warped, cv::Mat(warp.forward), image.size(),
                   warp.sampling == Sampling::kNearest ? cv::INTER_NEAREST : cv::INTER_LINEAR,
                   warp.border == Border::kReflect ? cv::BORDER_REFLECT_101 : cv::BORDER_CONSTANT,
                   cv::Scalar(0, 0, 0));
    return warped;
  });
}

absl::Status ApplyWarp(cv::Mat& image, const AffineWarp& warp) {
  ASSIGN_OR_RETURN(image, Warped(image, warp));
  return absl::OkStatus();
}

absl::Status Rotate(cv::Mat& image, double degrees, Border border, Sampling sampling) {
  RETURN_IF_ERROR(CheckRgb(image, "rotation"));
  if (!std::isfinite(degrees)) return absl::InvalidArgumentError("rotation angle must be finite");
  return ApplyWarp(image, RotationWarp(image.size(), degrees, border, sampling));
}

absl::StatusOr<AffineWarp> DrawRandomRotation(const cv::Mat& image, double max_degrees,
                                              Border border, Sampling sampling,
                                              std::mt19937_64& rng) {
  RETURN_IF_ERROR(augment::CheckInRange(max_degrees, 0, 180, "rotation max_degrees"));
  RETURN_IF_ERROR(CheckRgb(image, "rotation"));
  return RotationWarp(image.size(), Uniform(rng, -max_degrees, max_degrees), border, sampling);
}

absl::Status RandomRotation(cv::Mat& image, double max_degrees, Border border,
                            std::mt19937_64& rng, Sampling sampling) {
  ASSIGN_OR_RETURN(AffineWarp warp, DrawRandomRotation(image, max_degrees, border, sampling, rng));
  return ApplyWarp(image, warp);
}

AffineWarp TranslationWarp(int dx, int dy, Border border) {
  AffineWarp warp;
  warp.forward = cv::Matx23d(1, 0, dx, 0, 1, dy);
  warp.sampling = Sampling::kNearest;
  warp.border = border;
  return warp;
}

absl::StatusOr<AffineWarp> DrawRandomTranslation(const cv::Mat& image, int max_pixels,
                                                 Border border, std::mt19937_64& rng) {
  RETURN_IF_ERROR(augment::CheckInRange(max_pixels, 0, kMaxSide, "translation pixels"));
  RETURN_IF_ERROR(CheckRgb(image, "translation"));
  const int dx = static_cast<int>(UniformIndex(rng, 2 * max_pixels + 1)) - max_pixels;
  const int dy = static_cast<int>(UniformIndex(rng, 2 * max_pixels + 1)) - max_pixels;
  return TranslationWarp(dx, dy, border);
}

absl::Status ValidateResizedCropOptions(const ResizedCropOptions& options) {
  if (options.height <= 0 || options.width <= 0 || options.height > kMaxSide ||
      options.width > kMaxSide) {
    return absl::InvalidArgumentError("resized crop output size must be in [1, 30000], got " +
                                      std::to_string(options.height) + "x" +
                                      std::to_string(options.width));
  }
  if (!(options.min_scale > 0)) {
    return absl::InvalidArgumentError("resized crop scale must be above 0, got " +
                                      std::to_string(options.min_scale));
  }
  RETURN_IF_ERROR(augment::CheckRange(options.min_scale, options.max_scale, 0, 1,
                                      "resized crop scale"));
  if (!(options.min_ratio > 0)) {
    return absl::InvalidArgumentError("resized crop ratio must be above 0, got " +
                                      std::to_string(options.min_ratio));
  }
  return augment::CheckRange(options.min_ratio, options.max_ratio, 0, 1e6, "resized crop ratio");
}

absl::StatusOr<cv::Rect> SampleResizedCropBox(cv::Size size, const ResizedCropOptions& options,
                                              std::mt19937_64& rng) {
  RETURN_IF_ERROR(ValidateResizedCropOptions(options));
  if (size.width <= 0 || size.height <= 0) {
    return absl::InvalidArgumentError("resized crop of an empty image");
  }
  const double area = static_cast<double>(size.width) * size.height;
  const double log_min = std::log(options.min_ratio);
  const double log_max = std::log(options.max_ratio);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target_area = area * Uniform(rng, options.min_scale, options.max_scale);
    const double ratio = std::exp(Uniform(rng, log_min, log_max));
    const int w = static_cast<int>(std::lround(std::sqrt(target_area * ratio)));
    const int h = static_cast<int>(std::lround(std::sqrt(target_area / ratio)));
    if (w > 0 && h > 0 && w <= size.width && h <= size.height) {
      const int top = static_cast<int>(UniformIndex(rng, size.height - h + 1));
      const int left = static_cast<int>(UniformIndex(rng, size.width - w + 1));
      return cv::Rect(left, top, w, h);
    }
  }
  // Fallback: the centre, trimmed to the allowed ratios.
  const double in_ratio = static_cast<double>(size.width) / size.height;
  int w = size.width;
  int h = size.height;
  if (in_ratio < options.min_ratio) {
    h = std::max(1, static_cast<int>(std::lround(w / options.min_ratio)));
  } else if (in_ratio > options.max_ratio) {
    w = std::max(1, static_cast<int>(std::lround(h * options.max_ratio)));
  }
  return cv::Rect((size.width - w) / 2, (size.height - h) / 2, w, h);
}

absl::Status RandomResizedCrop(cv::Mat& image, const ResizedCropOptions& options,
                               std::mt19937_64& rng) {
  RETURN_IF_ERROR(ValidateResizedCropOptions(options));
  RETURN_IF_ERROR(CheckRgb(image, "resized crop"));
  ASSIGN_OR_RETURN(cv::Rect box, SampleResizedCropBox(image.size(), options, rng));
  return GuardCv("resized crop", [&] {
    image = Resized(image(box), cv::Size(options.width, options.height));
  });
}

}  // namespace fauna
