// Geometric augmentations of 8-bit RGB images: flips, rotation, whole-pixel translation and
// torchvision's random resized crop. Each works in place on a CV_8UC3 image and draws only from the generator it is given, so
// a generator made with MakeGenerator(seed, epoch, index) gives the same image on any thread.
#ifndef FAUNA_DATA_AUGMENT_GEOMETRIC_H_
#define FAUNA_DATA_AUGMENT_GEOMETRIC_H_

#include <random>

#include <opencv2/core/mat.hpp>
#include <opencv2/core/matx.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// Mirrors `image` left to right.
absl::Status HorizontalFlip(cv::Mat& image);

// Mirrors `image` top to bottom.
absl::Status VerticalFlip(cv::Mat& image);

// Mirrors `image` left to right with probability `p` in [0, 1] (one draw from `rng` either way).
absl::Status RandomHorizontalFlip(cv::Mat& image, double p, std::mt19937_64& rng);

// Mirrors `image` top to bottom with probability `p` in [0, 1] (one draw from `rng` either way).
absl::Status RandomVerticalFlip(cv::Mat& image, double p, std::mt19937_64& rng);

// What a rotation or translation puts where the moved image does not reach.
enum class Border {
  kReflect,   // the image mirrored about its edge (cv::BORDER_REFLECT_101)
  kConstant,  // black (torchvision's fill=0)
};

// How a warp samples the source image.
enum class Sampling {
  kBilinear,  // smooth (Keras's ImageDataGenerator, the studies' augmentation)
  kNearest,   // the nearest pixel: twice as fast, and torchvision RandomRotation's default
};

// An affine warp that keeps the image's size: output pixel `forward * (x, y, 1)` shows input
// pixel (x, y), pixel centres on integer coordinates (cv::warpAffine's convention).
struct AffineWarp {
  cv::Matx23d forward = cv::Matx23d(1, 0, 0, 0, 1, 0);
  Sampling sampling = Sampling::kBilinear;
  Border border = Border::kConstant;
  // Maps the pixel grid onto itself (the identity, a flip): no resampling and no border, so it
  // composes with any warp into one that gives the same image up to rounding.
  bool exact = false;

  bool identity() const { return forward == cv::Matx23d(1, 0, 0, 0, 1, 0); }
};

// The warp of Rotate for a `size` image.
AffineWarp RotationWarp(const cv::Size& size, double degrees, Border border, Sampling sampling);

// The exact warp of HorizontalFlip or VerticalFlip for a `size` image.
AffineWarp FlipWarp(const cv::Size& size, bool horizontal);

// `first`, then `then`: one warp. Its sampling and border are those of the warp that is not exact
// (at most one may be not exact: two resamplings with a border each do not compose).
absl::StatusOr<AffineWarp> Compose(const AffineWarp& first, const AffineWarp& then);

// `image` warped by `warp` (cv::warpAffine), as a new image.
absl::StatusOr<cv::Mat> Warped(const cv::Mat& image, const AffineWarp& warp);

// Applies `warp` to `image` in place (Warped).
absl::Status ApplyWarp(cv::Mat& image, const AffineWarp& warp);

// Rotates `image` by `degrees` (counter-clockwise, about its centre), keeping its size.
// `degrees` must be finite.
absl::Status Rotate(cv::Mat& image, double degrees, Border border,
                    Sampling sampling = Sampling::kBilinear);

// Rotates `image` by an angle drawn uniformly from [-max_degrees, max_degrees], max_degrees in
// [0, 180] (torchvision's RandomRotation(max_degrees)).
absl::Status RandomRotation(cv::Mat& image, double max_degrees, Border border,
                            std::mt19937_64& rng, Sampling sampling = Sampling::kBilinear);

// The warp RandomHorizontalFlip (`horizontal`) or RandomVerticalFlip would apply to `image`: the
// flip or the identity, from the same single draw.
absl::StatusOr<AffineWarp> DrawRandomFlip(const cv::Mat& image, double p, bool horizontal,
                                          std::mt19937_64& rng);

// The warp RandomRotation would apply to `image`, drawn from `rng` exactly as it draws: so
// RandomRotation == DrawRandomRotation + ApplyWarp, and the warp can be fused with later work
// (see WarpToTensorInto in data/augment/warp_to_tensor.h).
absl::StatusOr<AffineWarp> DrawRandomRotation(const cv::Mat& image, double max_degrees,
                                              Border border, Sampling sampling,
                                              std::mt19937_64& rng);

// The warp that shifts an image `dx` pixels right and `dy` down, keeping its size; `border` fills
// what the shift uncovers. Nearest sampling: whole pixels move, none is interpolated.
AffineWarp TranslationWarp(int dx, int dy, Border border);

// The warp of a shift by whole pixels drawn uniformly from [-max_pixels, max_pixels] on each axis
// (x first), max_pixels in [0, 30000]: torchvision's RandomCrop(size, padding=max_pixels) on an
// image of that size (fill 0 for kConstant, padding_mode="reflect" for kReflect), the usual
// augmentation of small images (CIFAR, Fashion-MNIST).
absl::StatusOr<AffineWarp> DrawRandomTranslation(const cv::Mat& image, int max_pixels,
                                                 Border border, std::mt19937_64& rng);

// torchvision's RandomResizedCrop: a box covering a random fraction of the area in [min_scale,
// max_scale] with an aspect ratio (width / height) log-uniform in [min_ratio, max_ratio], resized
// to height x width.
struct ResizedCropOptions {
  int height = 224;
  int width = 224;
  double min_scale = 0.08;
  double max_scale = 1.0;
  double min_ratio = 3.0 / 4.0;
  double max_ratio = 4.0 / 3.0;
};

// OK when sizes are positive (at most 30000), 0 < min_scale <= max_scale <= 1 and
// 0 < min_ratio <= max_ratio.
absl::Status ValidateResizedCropOptions(const ResizedCropOptions& options);

// The box RandomResizedCrop cuts from an image of `size`: up to ten draws for a box that fits,
// then torchvision's fallback (the whole image, or its centre trimmed to the nearest allowed
// ratio).
absl::StatusOr<cv::Rect> SampleResizedCropBox(cv::Size size, const ResizedCropOptions& options,
                                              std::mt19937_64& rng);

// Replaces `image` by a random box of it resized to options.height x options.width (INTER_AREA
// when shrinking, INTER_LINEAR when enlarging).
//
// Example:
//   std::mt19937_64 rng = MakeGenerator(seed, epoch, index);
//   RETURN_IF_ERROR(RandomResizedCrop(image, {/*height=*/224, /*width=*/224}, rng));
absl::Status RandomResizedCrop(cv::Mat& image, const ResizedCropOptions& options,
                               std::mt19937_64& rng);

}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_GEOMETRIC_H_
