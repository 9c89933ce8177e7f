#include "models/autoencoder.h"

#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/pooling.h>

namespace fauna {
namespace {

void CheckOptions(const ConvAutoencoderOptions& options) {
  const absl::Status valid = ValidateConvAutoencoderOptions(options);
  TORCH_CHECK_VALUE(valid.ok(), std::string(valid.message()));
}

int64_t CodeSize(const ConvAutoencoderOptions& options) {
  return options.image_size() >> options.channels().size();
}

}  // namespace

absl::Status ValidateConvAutoencoderOptions(const ConvAutoencoderOptions& options) {
  const size_t stages = options.channels().size();
  if (stages == 0 || stages > 8) {
    return absl::InvalidArgumentError("ConvAutoencoder needs 1 to 8 stages, got " +
                                      std::to_string(stages));
  }
  for (const int64_t c : options.channels()) {
    if (c < 1) {
      return absl::InvalidArgumentError("ConvAutoencoder channels must be >= 1, got " +
                                        std::to_string(c));
    }
  }
  const int64_t factor = int64_t{1} << stages;
  if (options.image_size() < factor || options.image_size() % factor != 0) {
    return absl::InvalidArgumentError(
        "ConvAutoencoder image_size must be a positive multiple of " + std::to_string(factor) +
        " (2^" + std::to_string(stages) + " stages), got " + std::to_string(options.image_size()));
  }
  if (options.latent_dim() < 0) {
    return absl::InvalidArgumentError("ConvAutoencoder latent_dim must be >= 0, got " +
                                      std::to_string(options.latent_dim()));
  }
  if (!(options.width() > 0)) {
    return absl::InvalidArgumentError("ConvAutoencoder width must be > 0, got " +
                                      std::to_string(options.width()));
  }
  if (options.in_channels() < 1) {
    return absl::InvalidArgumentError("ConvAutoencoder in_channels must be >= 1, got " +
                                      std::to_string(options.in_channels()));
  }
  return absl::OkStatus();
}

ConvEncoderImpl::ConvEncoderImpl(const ConvAutoencoderOptions& options) : options_(options) {
  CheckOptions(options);
  conv_ = torch::nn::Sequential();
  int64_t channels = options.in_channels();
  for (const int64_t c : options.channels()) {
    const int64_t out = ScaleWidth(c, options.width());
    conv_->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out, /*kernel_size=*/3).padding(1)));
    conv_->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
    conv_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
    channels = out;
  }
  register_module("conv", conv_);
  code_size_ = CodeSize(options);
  code_channels_ = channels;
  feature_dim_ = channels * code_size_ * code_size_;
  if (options.latent_dim() > 0) {
    fc_ = register_module("fc", torch::nn::Linear(feature_dim_, options.latent_dim()));
    feature_dim_ = options.latent_dim();
  }
}

at::Tensor ConvEncoderImpl::features(at::Tensor x) {
  x = conv_->forward(x);
  if (x.size(2) != code_size_ || x.size(3) != code_size_) {
    x = at::adaptive_avg_pool2d(x, {code_size_, code_size_});
  }
  x = x.flatten(/*start_dim=*/1);
  return fc_.is_empty() ? x : fc_->forward(x);
}

ConvDecoderImpl::ConvDecoderImpl(const ConvAutoencoderOptions& options) : options_(options) {
  CheckOptions(options);
  std::vector<int64_t> channels = {options.in_channels()};
  for (const int64_t c : options.channels()) channels.push_back(ScaleWidth(c, options.width()));
  code_size_ = CodeSize(options);
  code_channels_ = channels.back();
  if (options.latent_dim() > 0) {
    fc_ = register_module(
        "fc", torch::nn::Linear(options.latent_dim(), code_channels_ * code_size_ * code_size_));
  }
  deconv_ = torch::nn::Sequential();
  for (size_t i = channels.size() - 1; i > 0; --i) {
    deconv_->push_back(torch::nn::ConvTranspose2d(
        torch::nn::ConvTranspose2dOptions(channels[i], channels[i - 1], /*kernel_size=*/2)
            .stride(2)));
    if (i > 1) deconv_->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
  }
  if (options.sigmoid_output()) deconv_->push_back(torch::nn::Sigmoid());
  register_module("deconv", deconv_);
}

at::Tensor ConvDecoderImpl::forward(at::Tensor code) {
  if (!fc_.is_empty()) code = at::relu(fc_->forward(code));
  return deconv_->forward(code.view({code.size(0), code_channels_, code_size_, code_size_}));
}

ConvAutoencoderImpl::ConvAutoencoderImpl(const ConvAutoencoderOptions& options)
    : options_(options) {
  CheckOptions(options);
  encoder_ = register_module("encoder", ConvEncoder(options));
  decoder_ = register_module("decoder", ConvDecoder(options));
}

at::Tensor ConvAutoencoderImpl::forward(at::Tensor x) {
  return decoder_->forward(encoder_->forward(x));
}

at::Tensor ConvAutoencoderImpl::features(at::Tensor x) { return encoder_->forward(x); }

int64_t ConvAutoencoderImpl::feature_dim() const { return encoder_->feature_dim(); }

at::Tensor ConvAutoencoderImpl::reconstruction_loss(const at::Tensor& x) {
  const int64_t s = options_.image_size();
  TORCH_CHECK_VALUE(x.dim() == 4 && x.size(1) == options_.in_channels() && x.size(2) == s &&
                        x.size(3) == s,
                    "reconstruction_loss needs images [N, ", options_.in_channels(), ", ", s, ", ",
                    s, "], got ", x.sizes());
  return at::mse_loss(forward(x), x);
}

}  // namespace fauna
