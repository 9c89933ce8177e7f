#include "data/augment/to_tensor.h"

#include <cmath>
#include <cstdint>
#include <string>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include "core/status.h"
#include "core/torch_status.h"
#include "data/augment/common.h"

namespace fauna {
namespace {

// Writes one image into `out` (3 planes of rows * cols floats): x * scale[c] + bias[c].
void Fill(const cv::Mat& rgb, const float scale[3], const float bias[3], float* out) {
  const int64_t plane = static_cast<int64_t>(rgb.rows) * rgb.cols;
  float* red = out;
  float* green = out + plane;
  float* blue = out + 2 * plane;
  for (int y = 0; y < rgb.rows; ++y) {
    const uint8_t* pixel = rgb.ptr<uint8_t>(y);
    const int64_t row = static_cast<int64_t>(y) * rgb.cols;
    for (int x = 0; x < rgb.cols; ++x) {
      red[row + x] = pixel[3 * x] * scale[0] + bias[0];
      green[row + x] = pixel[3 * x + 1] * scale[1] + bias[1];
      blue[row + x] = pixel[3 * x + 2] * scale[2] + bias[2];
    }
  }
}

void Coefficients(const Normalization& normalization, float scale[3], float bias[3]) {
  for (int c = 0; c < 3; ++c) {
    scale[c] = 1.0f / (255.0f * normalization.std[c]);
    bias[c] = -normalization.mean[c] / normalization.std[c];
  }
}

}  // namespace

absl::Status ValidateNormalization(const Normalization& normalization) {
  for (int c = 0; c < 3; ++c) {
    if (!std::isfinite(normalization.mean[c])) {
      return absl::InvalidArgumentError("normalisation mean " + std::to_string(c) +
                                        " is not finite");
    }
    if (!(std::isfinite(normalization.std[c]) && normalization.std[c] > 0)) {
      return absl::InvalidArgumentError("normalisation std " + std::to_string(c) +
                                        " must be finite and above 0, got " +
                                        std::to_string(normalization.std[c]));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<at::Tensor> ToTensor(const cv::Mat& rgb, const Normalization& normalization) {
  RETURN_IF_ERROR(ValidateNormalization(normalization));
  RETURN_IF_ERROR(augment::CheckRgb(rgb, "to tensor"));
  return GuardTorch("to tensor", [&] {
    at::Tensor out = at::empty({3, rgb.rows, rgb.cols}, at::kFloat);
    float scale[3], bias[3];
    Coefficients(normalization, scale, bias);
    Fill(rgb, scale, bias, out.data_ptr<float>());
    return out;
  });
}

absl::StatusOr<at::Tensor> ToBatch(const std::vector<cv::Mat>& images,
                                   const Normalization& normalization) {
  RETURN_IF_ERROR(ValidateNormalization(normalization));
  if (images.empty()) return absl::InvalidArgumentError("cannot batch an empty list of images");
  for (size_t i = 0; i < images.size(); ++i) {
    RETURN_IF_ERROR(augment::CheckRgb(images[i], "batch image " + std::to_string(i)));
    if (images[i].size() != images[0].size()) {
      return absl::InvalidArgumentError(
          "batch image " + std::to_string(i) + " is " + std::to_string(images[i].cols) + "x" +
          std::to_string(images[i].rows) + ", image 0 is " + std::to_string(images[0].cols) + "x" +
          std::to_string(images[0].rows));
    }
  }
  return GuardTorch("to batch", [&] {
    const int rows = images[0].rows;
    const int cols = images[0].cols;
    at::Tensor out =
        at::empty({static_cast<int64_t>(images.size()), 3, rows, cols}, at::kFloat);
    float scale[3], bias[3];
    Coefficients(normalization, scale, bias);
    float* data = out.data_ptr<float>();
    const int64_t item = 3 * static_cast<int64_t>(rows) * cols;
    for (size_t i = 0; i < images.size(); ++i) Fill(images[i], scale, bias, data + i * item);
    return out;
  });
}

absl::StatusOr<cv::Mat> ToImage(const at::Tensor& chw, const Normalization& normalization) {
  RETURN_IF_ERROR(ValidateNormalization(normalization));
  if (!chw.defined()) return absl::InvalidArgumentError("to image: undefined tensor");
  if (chw.dim() != 3 || chw.size(0) != 3 || chw.size(1) <= 0 || chw.size(2) <= 0) {
    return absl::InvalidArgumentError("to image: expected a [3, H, W] tensor, got " +
                                      std::to_string(chw.dim()) + " dimensions");
  }
  if (!at::isFloatingType(chw.scalar_type())) {
    return absl::InvalidArgumentError("to image: expected a floating-point tensor");
  }
  return GuardTorch("to image", [&] {
    at::Tensor planes = chw.to(at::kCPU, at::kFloat).contiguous();
    const int rows = static_cast<int>(planes.size(1));
    const int cols = static_cast<int>(planes.size(2));
    const float* data = planes.data_ptr<float>();
    const int64_t plane = static_cast<int64_t>(rows) * cols;
    cv::Mat rgb(rows, cols, CV_8UC3);
    for (int y = 0; y < rows; ++y) {
      uint8_t* pixel = rgb.ptr<uint8_t>(y);
      for (int x = 0; x < cols; ++x) {
        for (int c = 0; c < 3; ++c) {
          const float value = data[c * plane + static_cast<int64_t>(y) * cols + x];
          const float level = (value * normalization.std[c] + normalization.mean[c]) * 255.0f;
          pixel[3 * x + c] = cv::saturate_cast<uint8_t>(level);
        }
      }
    }
    return rgb;
  });
}

}  // namespace fauna
