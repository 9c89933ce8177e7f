#include "data/concat_source.h"

#include <algorithm>
#include <utility>

#include "core/status.h"

namespace fauna {

absl::StatusOr<std::unique_ptr<ConcatSource>> ConcatSource::Create(
    std::vector<std::shared_ptr<const ImageSource>> parts) {
  if (parts.empty()) return absl::InvalidArgumentError("nothing to concatenate");
  for (size_t k = 0; k < parts.size(); ++k) {
    if (parts[k] == nullptr) {
      return absl::InvalidArgumentError("part " + std::to_string(k) + " to concatenate is null");
    }
    if (parts[k]->class_names() != parts[0]->class_names()) {
      auto join = [](const std::vector<std::string>& names) {
        std::string text;
        for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
        return text;
      };
      return absl::InvalidArgumentError(
          "parts to concatenate have different classes: [" + join(parts[0]->class_names()) +
          "] and [" + join(parts[k]->class_names()) + "]");
    }
  }
  return std::unique_ptr<ConcatSource>(new ConcatSource(std::move(parts)));
}

ConcatSource::ConcatSource(std::vector<std::shared_ptr<const ImageSource>> parts)
    : parts_(std::move(parts)), starts_{0} {
  for (const auto& part : parts_) starts_.push_back(starts_.back() + part->size());
}

std::pair<const ImageSource*, int64_t> ConcatSource::Locate(int64_t index) const {
  const size_t k = std::upper_bound(starts_.begin(), starts_.end(), index) - starts_.begin() - 1;
  return {parts_[k].get(), index - starts_[k]};
}

int64_t ConcatSource::label(int64_t index) const {
  auto [part, local] = Locate(index);
  return part->label(local);
}

std::string ConcatSource::describe(int64_t index) const {
  auto [part, local] = Locate(index);
  return part->describe(local);
}

absl::StatusOr<cv::Mat> ConcatSource::Load(int64_t index) const {
  RETURN_IF_ERROR(CheckIndex(index, "concatenated sources"));
  auto [part, local] = Locate(index);
  return part->Load(local);
}

absl::StatusOr<cv::Mat> ConcatSource::LoadResized(int64_t index,
                                                  const DecodeOptions& options) const {
  RETURN_IF_ERROR(CheckIndex(index, "concatenated sources"));
  auto [part, local] = Locate(index);
  return part->LoadResized(local, options);
}

}  // namespace fauna
