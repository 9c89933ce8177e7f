// A view of some items of another source, in a given order: the train, val or test part of a
// split, ready for a loader or a decoded cache of its own.
#ifndef FAUNA_DATA_SUBSET_SOURCE_H_
#define FAUNA_DATA_SUBSET_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <opencv2/core/mat.hpp>

#include "data/image_source.h"

namespace fauna {

// Item i of the subset is item indices[i] of the base; class names are the base's.
//
// Example:
//   ASSIGN_OR_RETURN(auto parts, StratifiedSplit(Labels(*all), {0.8, 0.1, 0.1}, seed));
//   ASSIGN_OR_RETURN(auto train, SubsetSource::Create(all, parts[0]));
class SubsetSource : public ImageSource {
 public:
  // InvalidArgument for a null base or an index outside [0, base->size()). Repeated indices are
  // allowed (oversampling).
  static absl::StatusOr<std::unique_ptr<SubsetSource>> Create(
      std::shared_ptr<const ImageSource> base, std::vector<int64_t> indices);

  const std::vector<std::string>& class_names() const override { return base_->class_names(); }
  int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
  int64_t label(int64_t index) const override { return base_->label(indices_[index]); }
  std::string describe(int64_t index) const override { return base_->describe(indices_[index]); }
  absl::StatusOr<cv::Mat> Load(int64_t index) const override;
  absl::StatusOr<cv::Mat> LoadResized(int64_t index, const DecodeOptions& options) const override;

  // The base index of each item.
  const std::vector<int64_t>& indices() const { return indices_; }

 private:
  SubsetSource(std::shared_ptr<const ImageSource> base, std::vector<int64_t> indices)
      : base_(std::move(base)), indices_(std::move(indices)) {}

  std::shared_ptr<const ImageSource> base_;
  std::vector<int64_t> indices_;
};

}  // namespace fauna

#endif  // FAUNA_DATA_SUBSET_SOURCE_H_
