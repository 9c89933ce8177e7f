// Decoding image files into 8-bit RGB at a training size. JPEGs much larger than the target are
// decoded at 1/2, 1/4 or 1/8 scale by libjpeg itself (OpenCV's IMREAD_REDUCED_COLOR_*), which is
// several times faster than a full decode and a resize, and gives nearly the same pixels.
#ifndef FAUNA_DATA_DECODE_H_
#define FAUNA_DATA_DECODE_H_

#include <cstdint>
#include <string>

#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/image_file.h"

namespace fauna {

// Chooses the interpolation from the size change (see AutoInterpolation).
inline constexpr int kAutoInterpolation = -1;

// cv::INTER_AREA when shrinking by 2x or more along a side, where bilinear sampling would skip
// pixels and alias; cv::INTER_LINEAR otherwise. Below 2x the two differ by a few levels, and
// INTER_AREA at a non-integer ratio costs 5x more (0.37 ms against 0.07 ms for 256 -> 224 px).
int AutoInterpolation(const cv::Size& from, const cv::Size& to);

// How an image becomes a `size` x `size` training image.
struct DecodeOptions {
  // Side of the output, in pixels (> 0).
  int size = 224;
  // false: resize to size x size, ignoring the aspect ratio (the studies' "resize to 224x224").
  // true: resize the shorter side to `size` keeping the aspect ratio, then cut the centre
  // size x size square (torchvision's Resize(size) + CenterCrop(size)).
  bool center_crop = false;
  // kAutoInterpolation, or one of cv::INTER_NEAREST, INTER_LINEAR, INTER_CUBIC, INTER_AREA,
  // INTER_LANCZOS4.
  int interpolation = kAutoInterpolation;
};

// OK when `options` are usable; otherwise an invalid-argument error saying which field is wrong.
absl::Status ValidateDecodeOptions(const DecodeOptions& options);

// The libjpeg scale denominator (1, 2, 4 or 8) that DecodeBytes uses for a `width` x `height`
// JPEG: the largest one that still leaves the shorter side at least `options.size`, so the final
// resize never enlarges.
int ReducedDecodeFactor(int width, int height, const DecodeOptions& options);

// Decodes an encoded image held in memory (see DecodeImageRgb in data/image_file.h: every format
// OpenCV reads becomes 8-bit RGB) into a `options.size` x `options.size` CV_8UC3 RGB image, JPEGs
// at reduced size where ReducedDecodeFactor allows. `name` names the data in errors.
absl::StatusOr<cv::Mat> DecodeBytes(const std::string& bytes, const std::string& name,
                                    const DecodeOptions& options);

// Reads and decodes the image file at `path` (see DecodeBytes). A missing, empty, truncated,
// non-image or absurdly large (see ReadImageRgb) file is an error naming it.
//
// Example:
//   ASSIGN_OR_RETURN(cv::Mat rgb, DecodeFile(path, {/*size=*/224, /*center_crop=*/true}));
absl::StatusOr<cv::Mat> DecodeFile(const std::string& path, const DecodeOptions& options);

// Resizes (and, with options.center_crop, centre-crops) an in-memory CV_8UC3 image to
// options.size x options.size. The result never shares data with `rgb`. An empty image, another
// type than CV_8UC3 or bad options are invalid-argument errors.
absl::StatusOr<cv::Mat> ResizeImage(const cv::Mat& rgb, const DecodeOptions& options);

}  // namespace fauna

#endif  // FAUNA_DATA_DECODE_H_
