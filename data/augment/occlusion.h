// Hiding parts of an image: random occlusion boxes (torchvision's RandomErasing) and partial views
// that keep only a side, a quadrant or a window of the picture, for the endangered-animal study's
// partial-image test.
#ifndef FAUNA_DATA_AUGMENT_OCCLUSION_H_
#define FAUNA_DATA_AUGMENT_OCCLUSION_H_

#include <random>
#include <string>

#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// What fills an occlusion box.
enum class OcclusionFill {
  kGray,   // 128 in every channel
  kBlack,  // 0
  kNoise,  // uniform random bytes
};

// A box covering a fraction of the area in [min_area, max_area] with an aspect ratio (height /
// width, as torchvision's RandomErasing) log-uniform in [min_ratio, max_ratio], applied with
// probability p. The defaults are RandomErasing's.
struct OcclusionOptions {
  double p = 1.0;
  double min_area = 0.02;
  double max_area = 0.33;
  double min_ratio = 0.3;
  double max_ratio = 3.3;
  OcclusionFill fill = OcclusionFill::kGray;
};

// OK when p is in [0, 1], 0 < min_area <= max_area <= 1 and 0 < min_ratio <= max_ratio.
absl::Status ValidateOcclusionOptions(const OcclusionOptions& options);

// Fills a random box of `image` (CV_8UC3) as `options` say and returns it; an empty box when the
// draw with probability p said no, or when ten draws found no box that fits (as RandomErasing).
absl::StatusOr<cv::Rect> RandomOcclusion(cv::Mat& image, const OcclusionOptions& options,
                                         std::mt19937_64& rng);

// Which part of the image a partial view keeps.
enum class PartialRegion {
  kLeft,        // the left `keep` of the width, full height
  kRight,
  kTop,         // the top `keep` of the height, full width
  kBottom,
  kCenter,      // a centred window with both sides scaled by sqrt(keep)
  kRandomSide,  // one of left, right, top, bottom, drawn uniformly
  kRandomWindow,  // a window with both sides scaled by sqrt(keep), at a random place
  kTopLeft,       // a window with both sides scaled by sqrt(keep) in the top-left corner: with
  kTopRight,      // keep 0.25, the quadrant
  kBottomLeft,
  kBottomRight,
};

// Parses "left", "right", "top", "bottom", "center", "side", "window", "top_left", "top_right",
// "bottom_left" or "bottom_right".
absl::StatusOr<PartialRegion> ParsePartialRegion(const std::string& name);

// Keeps `keep` (in (0, 1]) of the image's area from `region`; with resize_back, the kept part is
// resized to the image's original size (so a model sees the usual input size).
struct PartialViewOptions {
  PartialRegion region = PartialRegion::kLeft;
  double keep = 0.5;
  bool resize_back = true;
};

// OK when keep is in (0, 1].
absl::Status ValidatePartialViewOptions(const PartialViewOptions& options);

// The box of an image of `size` that the partial view keeps (at least 1 x 1 pixel). Draws from
// `rng` only for the random regions.
absl::StatusOr<cv::Rect> PartialViewBox(cv::Size size, const PartialViewOptions& options,
                                        std::mt19937_64& rng);

// Replaces `image` by its partial view.
//
// Example (the left half, stretched back to full size):
//   RETURN_IF_ERROR(PartialView(image, {PartialRegion::kLeft, /*keep=*/0.5}, rng));
absl::Status PartialView(cv::Mat& image, const PartialViewOptions& options, std::mt19937_64& rng);

}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_OCCLUSION_H_
