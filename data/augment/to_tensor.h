// The last step before a model: 8-bit RGB images become float CHW tensors scaled to [0, 1] and
// normalised per channel, (x / 255 - mean) / std, one at a time or as an NCHW batch.
#ifndef FAUNA_DATA_AUGMENT_TO_TENSOR_H_
#define FAUNA_DATA_AUGMENT_TO_TENSOR_H_

#include <array>
#include <vector>

#include <ATen/core/Tensor.h>
#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// Per-channel mean and standard deviation, in RGB order, of images scaled to [0, 1].
struct Normalization {
  std::array<float, 3> mean;
  std::array<float, 3> std;
};

// ImageNet's statistics, which every torchvision-pretrained model (and both studies) expects.
inline constexpr Normalization kImageNetNormalization = {{0.485f, 0.456f, 0.406f},
                                                         {0.229f, 0.224f, 0.225f}};

// No normalisation: pixels scaled to [0, 1] only.
inline constexpr Normalization kUnitNormalization = {{0.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 1.0f}};

// OK when every mean is finite and every std finite and above 0.
absl::Status ValidateNormalization(const Normalization& normalization);

// What a normalisation makes of each 8-bit level of each channel: value[c][x] = (x / 255 -
// mean[c]) / std[c], computed as x * scale + bias. A lookup is faster than the arithmetic on a
// stride-3 row, and gives the same floats.
struct LevelTable {
  float value[3][256];
  // value[c][x] is float(x) * scale[c] + bias[c], rounded after each step (vector code computes
  // it so and gets the same floats).
  float scale[3];
  float bias[3];
};
LevelTable MakeLevelTable(const Normalization& normalization);

// OK when `destination` is a contiguous float32 CPU tensor of shape [3, rgb.rows, rgb.cols];
// otherwise a failed-precondition error saying what is needed (a loader stops on it: the image
// does not fit its batch, see ExampleWriter).
absl::Status CheckTensorDestination(const cv::Mat& rgb, const at::Tensor& destination);

// A CV_8UC3 RGB image as a float32 [3, H, W] tensor, normalised.
//
// Example:
//   ASSIGN_OR_RETURN(at::Tensor x, ToTensor(rgb, kImageNetNormalization));
absl::StatusOr<at::Tensor> ToTensor(const cv::Mat& rgb, const Normalization& normalization);

// ToTensor into `destination`, a contiguous float32 CPU tensor of shape [3, H, W] (say, an item's
// place in a batch: see ExampleWriter in data/loader.h). Any other destination is an error.
absl::Status ToTensorInto(const cv::Mat& rgb, const Normalization& normalization,
                          const at::Tensor& destination);

// Images of one size as a float32 [N, 3, H, W] batch, normalised. An empty list, images of
// different sizes or of another type than CV_8UC3 are errors naming the offending image.
absl::StatusOr<at::Tensor> ToBatch(const std::vector<cv::Mat>& images,
                                   const Normalization& normalization);

// The inverse of ToTensor, for pictures and checks: a [3, H, W] floating tensor (on any device)
// back to a CV_8UC3 RGB image, rounded and clipped to [0, 255].
absl::StatusOr<cv::Mat> ToImage(const at::Tensor& chw, const Normalization& normalization);

}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_TO_TENSOR_H_
