#include "data/augment/to_tensor.h"

#include <array>
#include <cmath>
#include <cstdint>
#include <string>

#include <ATen/ATen.h>
#include <opencv2/core.hpp>

#include "core/status.h"
#include "core/torch_status.h"
#include "data/augment/common.h"
#include "data/augment/plane_rows.h"

namespace fauna {
namespace {

// Writes one image into `out` (3 planes of rows * cols floats).
void Fill(const cv::Mat& rgb, const LevelTable& table, float* out) {
  PlaneRowWriter writer(out, rgb.rows, rgb.cols);
  for (int y = 0; y < rgb.rows; ++y) {
    const uint8_t* pixel = rgb.ptr<uint8_t>(y);
    const std::array<float*, 3> row = writer.Row(y);
    float* red = row[0];
    float* green = row[1];
    float* blue = row[2];
    for (int x = 0; x < rgb.cols; ++x) {
      red[x] = table.value[0][pixel[3 * x]];
      green[x] = table.value[1][pixel[3 * x + 1]];
      blue[x] = table.value[2][pixel[3 * x + 2]];
    }
    writer.Store(y);
  }
}

}  // namespace

LevelTable MakeLevelTable(const Normalization& normalization) {
  LevelTable table;
  for (int c = 0; c < 3; ++c) {
    const float scale = 1.0f / (255.0f * normalization.std[c]);
    const float bias = -normalization.mean[c] / normalization.std[c];
    table.scale[c] = scale;
    table.bias[c] = bias;
    for (int level = 0; level < 256; ++level) table.value[c][level] = level * scale + bias;
  }
  return table;
}

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
  at::Tensor out;
  RETURN_IF_ERROR(GuardTorch("to tensor", [&] { out = at::empty({3, rgb.rows, rgb.cols}); }));
  RETURN_IF_ERROR(ToTensorInto(rgb, normalization, out));
  return out;
}

absl::Status CheckTensorDestination(const cv::Mat& rgb, const at::Tensor& destination) {
  if (destination.defined() && destination.scalar_type() == at::kFloat &&
      destination.device().is_cpu() && destination.is_contiguous() && destination.dim() == 3 &&
      destination.size(0) == 3 && destination.size(1) == rgb.rows &&
      destination.size(2) == rgb.cols) {
    return absl::OkStatus();
  }
  return absl::FailedPreconditionError(
      "to tensor: a " + std::to_string(rgb.cols) + "x" + std::to_string(rgb.rows) +
      " image needs a contiguous float32 CPU tensor of shape [3, " + std::to_string(rgb.rows) +
      ", " + std::to_string(rgb.cols) + "] to go into, got " +
      (destination.defined() ? destination.toString() + " " + c10::str(destination.sizes())
                             : std::string("an undefined tensor")));
}

absl::Status ToTensorInto(const cv::Mat& rgb, const Normalization& normalization,
                          const at::Tensor& destination) {
  RETURN_IF_ERROR(ValidateNormalization(normalization));
  RETURN_IF_ERROR(augment::CheckRgb(rgb, "to tensor"));
  RETURN_IF_ERROR(CheckTensorDestination(rgb, destination));
  return GuardTorch("to tensor", [&] {
    Fill(rgb, MakeLevelTable(normalization), destination.data_ptr<float>());
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
    const LevelTable table = MakeLevelTable(normalization);
    float* data = out.data_ptr<float>();
    const int64_t item = 3 * static_cast<int64_t>(rows) * cols;
    for (size_t i = 0; i < images.size(); ++i) Fill(images[i], table, data + i * item);
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
