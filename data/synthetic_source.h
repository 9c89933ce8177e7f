// The procedural synthetic animal-face set: fauna's embedded dataset wherever no real one is given.
// Every image is drawn on demand from (seed, index) alone, so a set of any size takes no memory
// and the same options always give the same bytes.
#ifndef FAUNA_DATA_SYNTHETIC_SOURCE_H_
#define FAUNA_DATA_SYNTHETIC_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "absl/status/statusor.h"
#include "data/image_source.h"

namespace fauna {

// What the synthetic set holds.
struct SyntheticOptions {
  // 3 (cat, dog, wild: the AFHQ study), 7 (cat, dog and five wild species: the study's clustering
  // set) or 11 (the endangered-animal study's species).
  int num_classes = 3;
  // Number of images; labels are balanced (label(i) = i % num_classes).
  int64_t count = 300;
  // Side of the square images, in pixels (16 to 2048).
  int image_size = 64;
  // Every draw descends from this seed: image i from DeriveSeed(seed, 0, i).
  uint64_t seed = 0;
  // In [0, 1]: 0 gives centred, upright, clean faces on plain backgrounds; 1 gives strong pose,
  // scale and colour variation, clutter, occlusion, blur and noise, and more faces that borrow a
  // feature (ears, coat pattern, colours) from another species.
  double difficulty = 0.5;
};

// The class names of the `num_classes`-class set, in label order (sorted, as a class folder
// export reads them back): 3: cat, dog, wild; 7: cat, dog, fox, leopard, lion, tiger, wolf;
// 11: african_elephant, amur_leopard, arctic_fox, cheetah, chimpanzee, jaguar, lion, orangutan,
// panda, panther, rhino. Empty for any other count.
const std::vector<std::string>& SyntheticClassNames(int num_classes);

// Animal-face-like images whose classes differ in shape and texture: face roundness, ear shape and
// size, snout length, coat colour, stripes, spots, rosettes, manes, trunks and horns. In the
// 3-class set, "wild" faces are drawn from the five wild species of the 7-class set. Each face
// varies in pose (rotation, offset), scale and colour, over a gradient background with clutter,
// sometimes partly occluded, blurred and noisy, as `difficulty` sets; features sit all over the
// face (ears on top, snout below, coat everywhere), so crops showing part of a face are harder.
//
// Example:
//   ASSIGN_OR_RETURN(auto source, SyntheticSource::Open({/*num_classes=*/7, /*count=*/700,
//                                                        /*image_size=*/64}));
//   ASSIGN_OR_RETURN(cv::Mat rgb, source->Load(0));  // A cat, 64x64.
class SyntheticSource : public ImageSource {
 public:
  // InvalidArgument for a class count other than 3, 7 or 11, a count below 1, an image size
  // outside [16, 2048], or a difficulty outside [0, 1].
  static absl::StatusOr<std::unique_ptr<SyntheticSource>> Open(const SyntheticOptions& options);

  const std::vector<std::string>& class_names() const override { return class_names_; }
  int64_t size() const override { return options_.count; }
  // index % num_classes.
  int64_t label(int64_t index) const override { return index % options_.num_classes; }
  // "synthetic:<classes>:<seed>:<difficulty>:<index>", e.g. "synthetic:3:0:0.5:17".
  std::string describe(int64_t index) const override;
  // Draws image `index` (image_size x image_size, CV_8UC3 RGB); OutOfRange for an index outside
  // [0, size()).
  absl::StatusOr<cv::Mat> Load(int64_t index) const override;

  const SyntheticOptions& options() const { return options_; }

 private:
  explicit SyntheticSource(const SyntheticOptions& options);

  SyntheticOptions options_;
  std::vector<std::string> class_names_;
};

}  // namespace fauna

#endif  // FAUNA_DATA_SYNTHETIC_SOURCE_H_
