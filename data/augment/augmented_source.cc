#include "data/augment/augmented_source.h"

#include <utility>

#include "core/seed.h"
#include "core/status.h"

namespace fauna {

absl::StatusOr<std::unique_ptr<AugmentedSource>> AugmentedSource::Create(
    std::shared_ptr<const ImageSource> base, int copies, Pipeline pipeline, uint64_t seed,
    bool keep_original) {
  if (base == nullptr) return absl::InvalidArgumentError("augmented source without a base source");
  if (copies < 1 || copies > 1000) {
    return absl::InvalidArgumentError("augmented copies must be in [1, 1000], got " +
                                      std::to_string(copies));
  }
  return std::unique_ptr<AugmentedSource>(
      new AugmentedSource(std::move(base), copies, std::move(pipeline), seed, keep_original));
}

std::string AugmentedSource::describe(int64_t index) const {
  return base_->describe(base_index(index)) + " [copy " + std::to_string(copy(index)) + "/" +
         std::to_string(copies_) + "]";
}

absl::StatusOr<cv::Mat> AugmentedSource::Load(int64_t index) const {
  RETURN_IF_ERROR(CheckIndex(index, "the augmented set"));
  const int64_t base = base_index(index);
  const int j = copy(index);
  ASSIGN_OR_RETURN(cv::Mat image, base_->Load(base));
  if (keep_original_ && j == 0) return image;
  std::mt19937_64 rng = MakeGenerator(seed_, static_cast<uint64_t>(j), static_cast<uint64_t>(base));
  absl::StatusOr<cv::Mat> augmented = pipeline_.Apply(image, rng);
  if (!augmented.ok()) return Annotate(augmented.status(), base_->describe(base));
  return augmented;
}

}  // namespace fauna
