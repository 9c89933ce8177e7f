#include "data/augment/noise.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include <opencv2/core.hpp>

#include "core/cv_status.h"
#include "core/seed.h"
#include "core/status.h"
#include "data/augment/common.h"

namespace fauna {
namespace {

// Generator streams of their own: "epochs" that no training run reaches, so the dirty subset and
// its noise never coincide with an augmentation draw of the same seed.
constexpr uint64_t kSubsetStream = 0x6e6f697379000001ull;
constexpr uint64_t kNoiseStream = 0x6e6f697379000002ull;

absl::Status CheckSigma(double sigma) {
  return augment::CheckInRange(sigma, 0.0, kMaxNoiseSigma, "gaussian noise sigma");
}

}  // namespace

absl::Status AddGaussianNoise(cv::Mat& image, double sigma, std::mt19937_64& rng) {
  RETURN_IF_ERROR(CheckSigma(sigma));
  RETURN_IF_ERROR(augment::CheckRgb(image, "gaussian noise"));
  const uint64_t noise_seed = rng();
  if (sigma == 0) return absl::OkStatus();
  return GuardCv("gaussian noise", [&] {
    cv::RNG generator(noise_seed);
    cv::Mat noisy;
    image.convertTo(noisy, CV_32FC3);
    cv::Mat noise(image.size(), CV_32FC3);
    generator.fill(noise, cv::RNG::NORMAL, cv::Scalar::all(0), cv::Scalar::all(sigma));
    noisy += noise;
    noisy.convertTo(image, CV_8UC3);  // rounds and saturates
  });
}

absl::Status RandomGaussianNoise(cv::Mat& image, double sigma, double p, std::mt19937_64& rng) {
  RETURN_IF_ERROR(augment::CheckProbability(p, "gaussian noise"));
  RETURN_IF_ERROR(CheckSigma(sigma));
  RETURN_IF_ERROR(augment::CheckRgb(image, "gaussian noise"));
  const bool apply = Bernoulli(rng, p);
  std::mt19937_64 noise_rng(rng());
  return apply ? AddGaussianNoise(image, sigma, noise_rng) : absl::OkStatus();
}

absl::StatusOr<std::vector<int64_t>> NoisySubset(int64_t n, double fraction, uint64_t seed) {
  if (n < 0) return absl::InvalidArgumentError("noisy subset of a negative number of items");
  RETURN_IF_ERROR(augment::CheckInRange(fraction, 0.0, 1.0, "noisy fraction"));
  const int64_t count = std::llround(fraction * static_cast<double>(n));
  std::vector<int64_t> order(static_cast<size_t>(n));
  std::iota(order.begin(), order.end(), int64_t{0});
  std::mt19937_64 rng(DeriveSeed(seed, kSubsetStream, static_cast<uint64_t>(n)));
  for (int64_t i = 0; i < count; ++i) {  // the first `count` steps of a Fisher-Yates shuffle
    std::swap(order[i], order[i + UniformIndex(rng, n - i)]);
  }
  order.resize(static_cast<size_t>(count));
  std::sort(order.begin(), order.end());
  return order;
}

absl::StatusOr<std::unique_ptr<NoisySource>> NoisySource::Create(
    std::shared_ptr<const ImageSource> base, double fraction, double sigma, uint64_t seed) {
  if (base == nullptr) return absl::InvalidArgumentError("noisy source without a base source");
  RETURN_IF_ERROR(CheckSigma(sigma));
  ASSIGN_OR_RETURN(std::vector<int64_t> indices, NoisySubset(base->size(), fraction, seed));
  return std::unique_ptr<NoisySource>(
      new NoisySource(std::move(base), std::move(indices), sigma, seed));
}

bool NoisySource::noisy(int64_t index) const {
  return std::binary_search(noisy_indices_.begin(), noisy_indices_.end(), index);
}

std::string NoisySource::describe(int64_t index) const {
  std::string where = base_->describe(index);
  if (noisy(index)) where += " +noise(sigma=" + std::to_string(sigma_) + ")";
  return where;
}

absl::StatusOr<cv::Mat> NoisySource::AddNoise(int64_t index, cv::Mat image) const {
  if (!noisy(index)) return image;
  image = image.clone();  // the base may hand out shared or read-only pixels
  std::mt19937_64 rng = MakeGenerator(seed_, kNoiseStream, static_cast<uint64_t>(index));
  RETURN_IF_ERROR(Annotate(AddGaussianNoise(image, sigma_, rng), base_->describe(index)));
  return image;
}

absl::StatusOr<cv::Mat> NoisySource::Load(int64_t index) const {
  ASSIGN_OR_RETURN(cv::Mat image, base_->Load(index));
  return AddNoise(index, std::move(image));
}

absl::StatusOr<cv::Mat> NoisySource::LoadResized(int64_t index,
                                                 const DecodeOptions& options) const {
  ASSIGN_OR_RETURN(cv::Mat image, base_->LoadResized(index, options));
  return AddNoise(index, std::move(image));
}

}  // namespace fauna
