// A sequence of augmentations applied to one image with one generator, built from a short spec
// string (a flag or a recipe line) and checked when built, so that a bad parameter is an error at
// start-up rather than halfway through an epoch.
#ifndef FAUNA_DATA_AUGMENT_PIPELINE_H_
#define FAUNA_DATA_AUGMENT_PIPELINE_H_

#include <functional>
#include <random>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/augment/geometric.h"
#include "data/augment/to_tensor.h"

namespace fauna {

// Augmentations in order. Copyable; Apply() is const and may run on many threads at once (each
// with its own generator).
//
// A spec is a comma-separated list of steps, each `name` or `name(key=value, ...)`; ranges are
// `low:high`. Steps and their keys (defaults in brackets):
//   hflip(p [0.5])                         RandomHorizontalFlip
//   vflip(p [0.5])                         RandomVerticalFlip
//   rotate(degrees [15], border [constant] | reflect, sampling [bilinear] | nearest)
//                                          RandomRotation
//   translate(pixels [4], border [constant] | reflect)
//                                          RandomCrop(size, padding=pixels): a whole-pixel shift
//   resized_crop(size [224] | height, width, scale [0.08:1], ratio [0.75:1.3333])
//                                          RandomResizedCrop
//   resize(size [224], center_crop [false])                 ResizeImage
//   noise(sigma [25], p [1])               RandomGaussianNoise, sigma in pixel levels
//   occlude(p [1], area [0.02:0.33], ratio [0.3:3.3], fill [gray] | black | noise)
//                                          RandomOcclusion
//   partial(region [left] | right | top | bottom | center | side | window | top_left | top_right
//           | bottom_left | bottom_right, keep [0.5], resize_back [true])
//                                          PartialView (a quadrant: top_left with keep=0.25)
// "" and "none" are the empty pipeline.
//
// Example:
//   ASSIGN_OR_RETURN(Pipeline train, Pipeline::Parse(
//       "resized_crop(size=224), hflip, vflip(p=0.5), rotate(degrees=15)"));
//   std::mt19937_64 rng = MakeGenerator(seed, epoch, index);
//   ASSIGN_OR_RETURN(cv::Mat augmented, train.Apply(image, rng));
class Pipeline {
 public:
  // One step: changes the image in place, drawing from the generator only.
  using Transform = std::function<absl::Status(cv::Mat& image, std::mt19937_64& rng)>;

  // The empty pipeline (Apply copies the image).
  Pipeline() = default;

  // Builds a pipeline from `spec` (see above). Unknown steps or keys, malformed numbers and
  // parameters out of range are invalid-argument errors naming the step.
  static absl::StatusOr<Pipeline> Parse(const std::string& spec);

  // Appends a step of your own; `description` stands for it in spec().
  Pipeline& Add(std::string description, Transform transform);

  // A step that is an affine warp (a rotation): draws its warp for an image without applying it.
  using WarpDraw =
      std::function<absl::StatusOr<AffineWarp>(const cv::Mat& image, std::mt19937_64& rng)>;

  // Appends a warp step. `draw` gives its warp for an image; Apply applies it with ApplyWarp, or
  // with `transform` when given (a faster way to the same image, such as cv::flip); ApplyInto
  // composes it with the warps next to it. `exact`: every warp it draws is exact (a flip).
  Pipeline& AddWarp(std::string description, WarpDraw draw, bool exact = false,
                    Transform transform = nullptr);

  // Runs every step on `image` in place. A failing step (say, an image of the wrong type) is an
  // error naming it.
  absl::Status ApplyInPlace(cv::Mat& image, std::mt19937_64& rng) const;

  // Runs every step on a copy of `image` (which may be a read-only view, such as
  // DecodedCache::Get) and returns the copy.
  absl::StatusOr<cv::Mat> Apply(const cv::Mat& image, std::mt19937_64& rng) const;

  // Apply, then ToTensorInto(`destination`), for a loader's ExampleWriter. The warp steps that end
  // the pipeline (flips and at most one rotation or translation: all of "hflip, vflip,
  // rotate(degrees=15)") are composed into one warp and handed to WarpToTensorInto, which fuses
  // a nearest-sampled warp with the conversion: the same draws, and the same image up to the
  // warp's rounding, in 60% of the time; `image` is not copied unless steps before them need it.
  absl::Status ApplyInto(const cv::Mat& image, std::mt19937_64& rng,
                         const Normalization& normalization, const at::Tensor& destination) const;

  // The canonical spec, every parameter spelled out; Parse(spec()) builds the same pipeline.
  std::string spec() const;

  size_t size() const { return steps_.size(); }
  bool empty() const { return steps_.empty(); }

 private:
  struct Step {
    std::string description;
    Transform transform;
    WarpDraw warp;       // Set for warp steps only.
    bool exact = false;  // A warp step whose warps are all exact.
  };
  // Runs steps [0, end) on `image` in place.
  absl::Status RunSteps(cv::Mat& image, std::mt19937_64& rng, size_t end) const;

  std::vector<Step> steps_;
};

}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_PIPELINE_H_
