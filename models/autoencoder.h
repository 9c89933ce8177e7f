// The AFHQ study's convolutional autoencoder (seeds/000, section E): a shallow convolutional
// encoder, a fully connected bottleneck that sets the latent size, and a mirrored decoder, trained
// on reconstruction (mean squared error); its latent code feeds an SVM. The study pre-trains
// without the FC layer and then fine-tunes with it: latent_dim 0 builds that FC-free network, whose
// weights load into the full one (LoadStateDict with strict = false reports only the FC keys).
//
// The study gives no layer sizes; fauna's defaults: three stages of 3x3 convolution (32, 64, 128
// channels), ReLU and 2x2 max pool; a 256-wide latent code; 2x2 stride-2 transposed convolutions
// back up.
#ifndef FAUNA_MODELS_AUTOENCODER_H_
#define FAUNA_MODELS_AUTOENCODER_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "models/backbone.h"

namespace fauna {

// Options of a ConvAutoencoder (and of its encoder and decoder).
//
// Example:
//   ConvAutoencoder ae(ConvAutoencoderOptions().image_size(64).latent_dim(32));
//   at::Tensor loss = ae->reconstruction_loss(images);  // images: [N, 3, 64, 64]
struct ConvAutoencoderOptions {
  // Height and width of the images the decoder produces; a multiple of 2^channels.size().
  TORCH_ARG(int64_t, image_size) = 224;
  TORCH_ARG(int64_t, in_channels) = 3;
  // Output channels of each encoder stage (before the width multiplier).
  TORCH_ARG(std::vector<int64_t>, channels) = std::vector<int64_t>{32, 64, 128};
  // Size of the FC bottleneck; 0 leaves the FC layers out (the code is the flattened last
  // feature map).
  TORCH_ARG(int64_t, latent_dim) = 256;
  // Multiplies every channel count (rounded, at least 1); not the latent size.
  TORCH_ARG(double, width) = 1.0;
  // A sigmoid on the reconstruction, for images in [0, 1]; off for normalised images.
  TORCH_ARG(bool, sigmoid_output) = false;
};

// OK when `options` describe an autoencoder; otherwise an invalid-argument error naming the bad
// value.
absl::Status ValidateConvAutoencoderOptions(const ConvAutoencoderOptions& options);

// The encoder, usable alone as a feature extractor. Children: conv (Conv2d, ReLU, MaxPool2d per
// stage) and, when latent_dim > 0, fc. Any input size works: the last feature map is average-pooled
// to image_size / 2^stages when its size differs.
class ConvEncoderImpl : public BackboneImpl {
 public:
  explicit ConvEncoderImpl(const ConvAutoencoderOptions& options = ConvAutoencoderOptions());

  // The latent code [N, feature_dim()].
  at::Tensor forward(at::Tensor x) override { return features(x); }
  at::Tensor features(at::Tensor x) override;
  // latent_dim, or channels * code_size^2 without the FC layer.
  int64_t feature_dim() const override { return feature_dim_; }
  std::string head_name() const override { return ""; }

  // Side of the last feature map: image_size / 2^stages.
  int64_t code_size() const { return code_size_; }
  // Channels of the last feature map.
  int64_t code_channels() const { return code_channels_; }

 private:
  ConvAutoencoderOptions options_;
  int64_t code_size_ = 0;
  int64_t code_channels_ = 0;
  int64_t feature_dim_ = 0;
  torch::nn::Sequential conv_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ConvEncoder);

// The decoder: fc (when latent_dim > 0) and ReLU, then deconv (ConvTranspose2d 2x2 stride 2 per
// stage, ReLU between them) back to [N, in_channels, image_size, image_size].
class ConvDecoderImpl : public torch::nn::Module {
 public:
  explicit ConvDecoderImpl(const ConvAutoencoderOptions& options = ConvAutoencoderOptions());

  // A latent code [N, latent size] to an image batch.
  at::Tensor forward(at::Tensor code);

 private:
  ConvAutoencoderOptions options_;
  int64_t code_size_ = 0;
  int64_t code_channels_ = 0;
  torch::nn::Linear fc_{nullptr};
  torch::nn::Sequential deconv_{nullptr};
};
TORCH_MODULE(ConvDecoder);

// Encoder and decoder: children `encoder` and `decoder`. Initialised with PyTorch's defaults.
// Invalid options throw c10::ValueError.
class ConvAutoencoderImpl : public BackboneImpl {
 public:
  explicit ConvAutoencoderImpl(const ConvAutoencoderOptions& options = ConvAutoencoderOptions());

  // The reconstruction [N, in_channels, image_size, image_size].
  at::Tensor forward(at::Tensor x) override;
  // The latent code, as encoder()->forward(x).
  at::Tensor features(at::Tensor x) override;
  int64_t feature_dim() const override;
  std::string head_name() const override { return ""; }

  // Mean squared error between forward(x) and x; x must be [N, in_channels, image_size,
  // image_size] (c10::ValueError otherwise).
  at::Tensor reconstruction_loss(const at::Tensor& x);

  // The encoder, shared with this module: keep it to extract features after training.
  ConvEncoder encoder() const { return encoder_; }
  ConvDecoder decoder() const { return decoder_; }

 private:
  ConvAutoencoderOptions options_;
  ConvEncoder encoder_{nullptr};
  ConvDecoder decoder_{nullptr};
};
TORCH_MODULE(ConvAutoencoder);

}  // namespace fauna

#endif  // FAUNA_MODELS_AUTOENCODER_H_
