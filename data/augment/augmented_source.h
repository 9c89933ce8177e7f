// Offline augmentation as an ImageSource: each image of a base source yields k augmented copies
// (the endangered-animal study's fivefold training set), drawn from (seed, copy, index) alone.
#ifndef FAUNA_DATA_AUGMENT_AUGMENTED_SOURCE_H_
#define FAUNA_DATA_AUGMENT_AUGMENTED_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "absl/status/statusor.h"
#include "data/augment/pipeline.h"
#include "data/image_source.h"

namespace fauna {

// k * N items: item m is copy j = m % k of base image i = m / k (the copies of one image are
// neighbours), augmented by `pipeline` with the generator MakeGenerator(seed, j, i). With
// keep_original, copy 0 is the base image untouched and copies 1..k-1 are augmented. Labels are
// the base's. Apply it to a training split only, after splitting: copies of one image in both
// training and test would leak.
//
// Example (the study's 5x training set):
//   ASSIGN_OR_RETURN(Pipeline pipeline, Pipeline::Parse("hflip, rotate(degrees=20)"));
//   ASSIGN_OR_RETURN(std::unique_ptr<AugmentedSource> train5x,
//                    AugmentedSource::Create(train, /*copies=*/5, pipeline, /*seed=*/1));
class AugmentedSource : public ImageSource {
 public:
  // Fails on a null base or copies outside [1, 1000].
  static absl::StatusOr<std::unique_ptr<AugmentedSource>> Create(
      std::shared_ptr<const ImageSource> base, int copies, Pipeline pipeline, uint64_t seed,
      bool keep_original = false);

  const std::vector<std::string>& class_names() const override { return base_->class_names(); }
  int64_t size() const override { return base_->size() * copies_; }
  int64_t label(int64_t index) const override { return base_->label(base_index(index)); }
  // "<base description> [copy j/k]".
  std::string describe(int64_t index) const override;
  // The augmented copy; an index out of range or a failing base image is an error.
  absl::StatusOr<cv::Mat> Load(int64_t index) const override;

  // The base image item `index` is a copy of, and which copy it is.
  int64_t base_index(int64_t index) const { return index / copies_; }
  int copy(int64_t index) const { return static_cast<int>(index % copies_); }
  int copies() const { return copies_; }

 private:
  AugmentedSource(std::shared_ptr<const ImageSource> base, int copies, Pipeline pipeline,
                  uint64_t seed, bool keep_original)
      : base_(std::move(base)), copies_(copies), pipeline_(std::move(pipeline)), seed_(seed),
        keep_original_(keep_original) {}

  std::shared_ptr<const ImageSource> base_;
  int copies_;
  Pipeline pipeline_;
  uint64_t seed_;
  bool keep_original_;
};

}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_AUGMENTED_SOURCE_H_
