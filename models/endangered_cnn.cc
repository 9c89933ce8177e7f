#include "models/endangered_cnn.h"

#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/pooling.h>

namespace fauna {

std::vector<std::string> EndangeredCnnConfigNames() {
  return {"baseline", "model0", "model1", "model2", "model3", "model4"};
}

absl::StatusOr<EndangeredCnnOptions> EndangeredCnnConfig(const std::string& name) {
  EndangeredCnnOptions options;  // Models 3 and 4
  if (name == "baseline") {
    return options.conv_channels({32, 128, 256})
        .conv_batch_norm(false)
        .hidden({512, 128})
        .fc_batch_norm(false)
        .dropout(0);
  }
  if (name == "model0" || name == "model1") {
    return options.conv_channels({64, 128, 256, 256}).fc_batch_norm(false).dropout(0.25);
  }
  if (name == "model2") return options.conv_channels({64, 128, 256, 256});
  if (name == "model3" || name == "model4") return options;
  std::string known;
  for (const std::string& n : EndangeredCnnConfigNames()) known += (known.empty() ? "" : ", ") + n;
  return absl::InvalidArgumentError("unknown endangered-study model \"" + name +
                                    "\" (known: " + known + ")");
}

absl::Status ValidateEndangeredCnnOptions(const EndangeredCnnOptions& options) {
  if (options.conv_channels().empty()) {
    return absl::InvalidArgumentError("EndangeredCnn needs at least one convolution stage");
  }
  for (const int64_t c : options.conv_channels()) {
    if (c < 1) {
      return absl::InvalidArgumentError("EndangeredCnn conv_channels must be >= 1, got " +
                                        std::to_string(c));
    }
  }
  for (const int64_t h : options.hidden()) {
    if (h < 1) {
      return absl::InvalidArgumentError("EndangeredCnn hidden widths must be >= 1, got " +
                                        std::to_string(h));
    }
  }
  if (!(options.width() > 0)) {
    return absl::InvalidArgumentError("EndangeredCnn width must be > 0, got " +
                                      std::to_string(options.width()));
  }
  if (options.num_classes() < 1) {
    return absl::InvalidArgumentError("EndangeredCnn num_classes must be >= 1, got " +
                                      std::to_string(options.num_classes()));
  }
  if (!(options.dropout() >= 0 && options.dropout() < 1)) {
    return absl::InvalidArgumentError("EndangeredCnn dropout must be in [0, 1), got " +
                                      std::to_string(options.dropout()));
  }
  if (options.pooled_size() < 1) {
    return absl::InvalidArgumentError("EndangeredCnn pooled_size must be >= 1, got " +
                                      std::to_string(options.pooled_size()));
  }
  if (options.in_channels() < 1) {
    return absl::InvalidArgumentError("EndangeredCnn in_channels must be >= 1, got " +
                                      std::to_string(options.in_channels()));
  }
  return absl::OkStatus();
}

EndangeredCnnImpl::EndangeredCnnImpl(const EndangeredCnnOptions& options) : options_(options) {
  const absl::Status valid = ValidateEndangeredCnnOptions(options);
  TORCH_CHECK_VALUE(valid.ok(), std::string(valid.message()));

  convolutional_layers_ = torch::nn::Sequential();
  int64_t channels = options.in_channels();
  for (const int64_t c : options.conv_channels()) {
    const int64_t out = ScaleWidth(c, options.width());
    convolutional_layers_->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out, /*kernel_size=*/3).padding(1)));
    if (options.conv_batch_norm()) convolutional_layers_->push_back(torch::nn::BatchNorm2d(out));
    convolutional_layers_->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
    convolutional_layers_->push_back(
        torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
    channels = out;
  }
  register_module("convolutional_layers", convolutional_layers_);

  fully_connection_layers_ = torch::nn::Sequential();
  int64_t in = channels * options.pooled_size() * options.pooled_size();
  for (const int64_t h : options.hidden()) {
    const int64_t out = ScaleWidth(h, options.width());
    fully_connection_layers_->push_back(torch::nn::Dropout(options.dropout()));
    fully_connection_layers_->push_back(torch::nn::Linear(in, out));
    if (options.fc_batch_norm()) fully_connection_layers_->push_back(torch::nn::BatchNorm1d(out));
    fully_connection_layers_->push_back(
        torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
    in = out;
  }
  feature_dim_ = in;
  head_name_ = "fully_connection_layers." + std::to_string(fully_connection_layers_->size());
  head_ = torch::nn::Linear(in, options.num_classes());
  fully_connection_layers_->push_back(head_);
  register_module("fully_connection_layers", fully_connection_layers_);
}

at::Tensor EndangeredCnnImpl::features(at::Tensor x) {
  x = convolutional_layers_->forward(x);
  const int64_t s = options_.pooled_size();
  x = std::get<0>(at::adaptive_max_pool2d(x, {s, s})).flatten(/*start_dim=*/1);
  auto layer = fully_connection_layers_->begin();
  for (size_t i = 0; i + 1 < fully_connection_layers_->size(); ++i, ++layer) {
    x = layer->forward(x);
  }
  return x;
}

at::Tensor EndangeredCnnImpl::forward(at::Tensor x) { return head_->forward(features(x)); }

}  // namespace fauna
