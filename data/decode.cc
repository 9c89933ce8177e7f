#include "data/decode.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/cv_status.h"
#include "core/status.h"
#include "data/image_file.h"

namespace fauna {
namespace {

int ChooseInterpolation(const cv::Size& from, const cv::Size& to, int requested) {
  return requested == kAutoInterpolation ? AutoInterpolation(from, to) : requested;
}

}  // namespace

int AutoInterpolation(const cv::Size& from, const cv::Size& to) {
  const bool big_shrink = from.width >= 2 * static_cast<int64_t>(to.width) ||
                          from.height >= 2 * static_cast<int64_t>(to.height);
  return big_shrink ? cv::INTER_AREA : cv::INTER_LINEAR;
}

absl::Status ValidateDecodeOptions(const DecodeOptions& options) {
  if (options.size <= 0 || options.size > kMaxImageSide) {
    return absl::InvalidArgumentError("decode size must be in [1, " +
                                      std::to_string(kMaxImageSide) + "], got " +
                                      std::to_string(options.size));
  }
  if (options.interpolation != kAutoInterpolation &&
      (options.interpolation < cv::INTER_NEAREST || options.interpolation > cv::INTER_LINEAR_EXACT)) {
    return absl::InvalidArgumentError("unknown interpolation " +
                                      std::to_string(options.interpolation) +
                                      " (use -1 for automatic, or cv::INTER_NEAREST..INTER_LINEAR_EXACT)");
  }
  return absl::OkStatus();
}

int ReducedDecodeFactor(int width, int height, const DecodeOptions& options) {
  const int shorter = std::min(width, height);
  if (options.size <= 0 || shorter <= 0) return 1;
  for (int factor : {8, 4, 2}) {
    if (shorter / factor >= options.size) return factor;
  }
  return 1;
}

absl::StatusOr<cv::Mat> DecodeBytes(const std::string& bytes, const std::string& name,
                                    const DecodeOptions& options) {
  RETURN_IF_ERROR(ValidateDecodeOptions(options));
  ASSIGN_OR_RETURN(ImageHeader header, ParseImageHeader(bytes, name));
  const int factor = header.format == ImageHeader::Format::kJpeg
                         ? ReducedDecodeFactor(static_cast<int>(header.width), static_cast<int>(header.height), options)
                         : 1;
  ASSIGN_OR_RETURN(cv::Mat rgb, DecodeImageRgb(bytes, name, header, factor));
  absl::StatusOr<cv::Mat> resized = ResizeImage(rgb, options);
  if (!resized.ok()) return Annotate(resized.status(), name);
  return resized;
}

absl::StatusOr<cv::Mat> DecodeFile(const std::string& path, const DecodeOptions& options) {
  RETURN_IF_ERROR(ValidateDecodeOptions(options));
  ASSIGN_OR_RETURN(std::string bytes, ReadImageFileBytes(path));
  return DecodeBytes(bytes, path, options);
}

absl::StatusOr<cv::Mat> ResizeImage(const cv::Mat& rgb, const DecodeOptions& options) {
  RETURN_IF_ERROR(ValidateDecodeOptions(options));
  if (rgb.empty()) return absl::InvalidArgumentError("cannot resize an empty image");
  if (rgb.type() != CV_8UC3) {
    return absl::InvalidArgumentError("expected an 8-bit 3-channel image (CV_8UC3), got type " +
                                      std::to_string(rgb.type()));
  }
  return GuardCv("resizing an image", [&]() -> cv::Mat {
    const int size = options.size;
    const cv::Size from = rgb.size();
    cv::Size to(size, size);
    if (options.center_crop) {
      // torchvision's Resize(size): the shorter side becomes `size`, the longer one
      // int(size * longer / shorter).
      if (from.width <= from.height) {
        to = cv::Size(size, static_cast<int>(static_cast<int64_t>(size) * from.height / from.width));
      } else {
        to = cv::Size(static_cast<int>(static_cast<int64_t>(size) * from.width / from.height), size);
      }
    }
    cv::Mat resized;
    if (to == from) {
      resized = rgb.clone();
    } else {
      cv::resize(rgb, resized, to, 0, 0, ChooseInterpolation(from, to, options.interpolation));
    }
    if (!options.center_crop || to == cv::Size(size, size)) return resized;
    // torchvision's CenterCrop: offsets rounded half to even, as Python's round().
    const int top = static_cast<int>(std::nearbyint((to.height - size) / 2.0));
    const int left = static_cast<int>(std::nearbyint((to.width - size) / 2.0));
    return resized(cv::Rect(left, top, size, size)).clone();
  });
}

}  // namespace fauna
