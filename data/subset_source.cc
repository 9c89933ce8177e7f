#include "data/subset_source.h"

#include <utility>

#include "core/status.h"

namespace fauna {

absl::StatusOr<std::unique_ptr<SubsetSource>> SubsetSource::Create(
    std::shared_ptr<const ImageSource> base, std::vector<int64_t> indices) {
  if (base == nullptr) return absl::InvalidArgumentError("a subset needs a base source");
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= base->size()) {
      return absl::InvalidArgumentError("subset item " + std::to_string(i) + " is index " +
                                        std::to_string(indices[i]) + ", outside [0, " +
                                        std::to_string(base->size()) + ") of the base source");
    }
  }
  return std::unique_ptr<SubsetSource>(new SubsetSource(std::move(base), std::move(indices)));
}

absl::StatusOr<cv::Mat> SubsetSource::Load(int64_t index) const {
  RETURN_IF_ERROR(CheckIndex(index, "a subset"));
  return base_->Load(indices_[index]);
}

absl::StatusOr<cv::Mat> SubsetSource::LoadResized(int64_t index,
                                                  const DecodeOptions& options) const {
  RETURN_IF_ERROR(CheckIndex(index, "a subset"));
  return base_->LoadResized(indices_[index], options);
}

}  // namespace fauna
