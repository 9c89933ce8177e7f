// Several sources with the same classes, one after another: an AFHQ-style dataset's train/ and
// val/ folders as one source, so that one split and one manifest cover both.
#ifndef FAUNA_DATA_CONCAT_SOURCE_H_
#define FAUNA_DATA_CONCAT_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <opencv2/core/mat.hpp>

#include "data/image_source.h"

namespace fauna {

// Items of parts[0], then of parts[1], ...
//
// Example:
//   ASSIGN_OR_RETURN(auto all, ConcatSource::Create({std::move(train), std::move(val)}));
class ConcatSource : public ImageSource {
 public:
  // InvalidArgument for no parts, a null part, or parts whose class names differ (naming both).
  static absl::StatusOr<std::unique_ptr<ConcatSource>> Create(
      std::vector<std::shared_ptr<const ImageSource>> parts);

  const std::vector<std::string>& class_names() const override {
    return parts_.front()->class_names();
  }
  int64_t size() const override { return starts_.back(); }
  int64_t label(int64_t index) const override;
  std::string describe(int64_t index) const override;
  absl::StatusOr<cv::Mat> Load(int64_t index) const override;
  absl::StatusOr<cv::Mat> LoadResized(int64_t index, const DecodeOptions& options) const override;

  // The first index of part k (k = parts count gives size()).
  int64_t start(size_t k) const { return starts_[k]; }

 private:
  explicit ConcatSource(std::vector<std::shared_ptr<const ImageSource>> parts);
  // The part holding `index` (in range) and the index within it.
  std::pair<const ImageSource*, int64_t> Locate(int64_t index) const;

  std::vector<std::shared_ptr<const ImageSource>> parts_;
  std::vector<int64_t> starts_;  // parts_.size() + 1 entries.
};

}  // namespace fauna

#endif  // FAUNA_DATA_CONCAT_SOURCE_H_
