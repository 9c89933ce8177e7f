// Gaussian noise, and the AFHQ study's "dirty data": a dataset in which an exact fraction of the
// images (5, 10, 15 or 20%) carry Gaussian noise, the same images and the same noise every time.
#ifndef FAUNA_DATA_AUGMENT_NOISE_H_
#define FAUNA_DATA_AUGMENT_NOISE_H_

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/image_source.h"

namespace fauna {

// Largest noise standard deviation accepted, in 8-bit pixel levels.
inline constexpr double kMaxNoiseSigma = 255.0;

// Adds independent N(0, sigma^2) noise to every channel of every pixel of a CV_8UC3 image,
// rounding and clipping to [0, 255]. `sigma` is in pixel levels (0..255; 25 is clearly visible).
// Takes one draw from `rng` (the seed of the noise), whatever the image size.
absl::Status AddGaussianNoise(cv::Mat& image, double sigma, std::mt19937_64& rng);

// Adds Gaussian noise with probability `p` (one draw, then AddGaussianNoise's draw either way).
absl::Status RandomGaussianNoise(cv::Mat& image, double sigma, double p, std::mt19937_64& rng);

// The indices, sorted, of exactly llround(fraction * n) of the n items, chosen by a permutation
// seeded from (seed, n) alone. Subsets for one seed are nested: the 5% subset lies within the 10%
// one, so a sweep over fractions only ever adds dirty images. `fraction` in [0, 1], n >= 0.
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<int64_t> dirty, NoisySubset(source.size(), 0.10, seed));
absl::StatusOr<std::vector<int64_t>> NoisySubset(int64_t n, double fraction, uint64_t seed);

// An ImageSource adapter: the items of NoisySubset(base.size(), fraction, seed) come with
// Gaussian noise of `sigma` added, drawn from (seed, index) alone, so that every epoch, thread and
// run sees the same dirty dataset. Other items pass through untouched; labels never change.
// LoadResized adds the noise after the base's own (reduced) decode and resize, so the noise has
// `sigma` levels at the size the model sees and clean items are the clean run's pixels.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<NoisySource> dirty,
//                    NoisySource::Create(train, /*fraction=*/0.05, /*sigma=*/25, /*seed=*/1));
class NoisySource : public ImageSource {
 public:
  static absl::StatusOr<std::unique_ptr<NoisySource>> Create(
      std::shared_ptr<const ImageSource> base, double fraction, double sigma, uint64_t seed);

  const std::vector<std::string>& class_names() const override { return base_->class_names(); }
  int64_t size() const override { return base_->size(); }
  int64_t label(int64_t index) const override { return base_->label(index); }
  // The base's description, with " +noise(sigma=S)" for a noisy item.
  std::string describe(int64_t index) const override;
  absl::StatusOr<cv::Mat> Load(int64_t index) const override;
  absl::StatusOr<cv::Mat> LoadResized(int64_t index, const DecodeOptions& options) const override;

  // Whether item `index` is one of the noisy ones.
  bool noisy(int64_t index) const;
  // The noisy items, sorted.
  const std::vector<int64_t>& noisy_indices() const { return noisy_indices_; }

 private:
  // `image` with item `index`'s noise when it is a noisy one.
  absl::StatusOr<cv::Mat> AddNoise(int64_t index, cv::Mat image) const;

  NoisySource(std::shared_ptr<const ImageSource> base, std::vector<int64_t> noisy_indices,
              double sigma, uint64_t seed)
      : base_(std::move(base)), noisy_indices_(std::move(noisy_indices)), sigma_(sigma),
        seed_(seed) {}

  std::shared_ptr<const ImageSource> base_;
  std::vector<int64_t> noisy_indices_;
  double sigma_;
  uint64_t seed_;
};

}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_NOISE_H_
