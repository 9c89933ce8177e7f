// ResNet (He et al. 2015) as torchvision builds it: the same modules under the same names, so a
// torchvision state dict loads key for key, and the same initialisation.
#ifndef FAUNA_MODELS_RESNET_H_
#define FAUNA_MODELS_RESNET_H_

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "models/backbone.h"

namespace fauna {

// Options of a ResNet. depth picks the block type and counts from a table: 18 and 34 use basic
// blocks, 50, 101 and 152 bottleneck blocks.
//
// Example:
//   ResNet model(ResNetOptions(/*depth=*/50).num_classes(3).dropout(0.2));
struct ResNetOptions {
  explicit ResNetOptions(int64_t depth = 50) : depth_(depth) {}

  // 18, 34, 50, 101 or 152.
  TORCH_ARG(int64_t, depth);
  // The length of the logits; the head `fc` is Linear(feature_dim, num_classes).
  TORCH_ARG(int64_t, num_classes) = 1000;
  // Multiplies every channel count (rounded, at least 1); 1.0 is torchvision's network.
  TORCH_ARG(double, width) = 1.0;
  // Dropout probability in front of `fc` (a functional call, so the state dict is unchanged);
  // 0 disables it.
  TORCH_ARG(double, dropout) = 0.0;
  // Channels of the input image.
  TORCH_ARG(int64_t, in_channels) = 3;
  // The stem for small images (CIFAR, Fashion-MNIST; the usual "ResNet-18 for CIFAR"): conv1 is
  // 3x3 with stride 1 and there is no max pool, so layer1 sees the image at full resolution
  // instead of a quarter of it (torchvision's 7x7 stride-2 conv1 and max pool leave layer4 one
  // pixel of a 32 px image). 16x the residual layers' compute at the same image size; conv1's
  // weights are [C, in, 3, 3], so torchvision's conv1 does not load into it.
  TORCH_ARG(bool, small_input_stem) = false;
};

// OK when `options` describe a ResNet; otherwise an invalid-argument error naming the bad value.
absl::Status ValidateResNetOptions(const ResNetOptions& options);

// torchvision's BasicBlock: two 3x3 convolutions with batch norm and an identity (or a 1x1
// `downsample` projection) shortcut. Children: conv1, bn1, conv2, bn2[, downsample.0, .1].
class BasicBlockImpl : public torch::nn::Module {
 public:
  // The output has `planes` channels; `stride` 2 halves the resolution.
  BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride);

  at::Tensor forward(at::Tensor x);

  // Output channels per `planes`.
  static constexpr int64_t kExpansion = 1;

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(BasicBlock);

// torchvision's Bottleneck (ResNet v1.5: the stride is on the 3x3 convolution): 1x1, 3x3, 1x1
// convolutions with batch norm, output 4 * `planes` channels. Children: conv1, bn1, conv2, bn2,
// conv3, bn3[, downsample.0, .1].
class BottleneckImpl : public torch::nn::Module {
 public:
  BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride);

  at::Tensor forward(at::Tensor x);

  // Output channels per `planes`.
  static constexpr int64_t kExpansion = 4;

 private:
  torch::nn::Conv2d conv1_;
  torch::nn::BatchNorm2d bn1_;
  torch::nn::Conv2d conv2_;
  torch::nn::BatchNorm2d bn2_;
  torch::nn::Conv2d conv3_;
  torch::nn::BatchNorm2d bn3_;
  torch::nn::Sequential downsample_{nullptr};
};
TORCH_MODULE(Bottleneck);

// A ResNet classifier. State-dict keys are torchvision's: conv1, bn1, layer1..layer4 (blocks
// "0", "1", ...), fc. Convolutions are initialised Kaiming-normal (fan_out, ReLU), batch norms
// to weight 1 and bias 0, `fc` as nn.Linear's default, exactly as torchvision does. Any input of
// at least 32x32 pixels (8x8 with small_input_stem) works (global average pooling). Invalid
// options throw c10::ValueError; check them first with ValidateResNetOptions, or create models
// through the registry.
class ResNetImpl : public BackboneImpl {
 public:
  explicit ResNetImpl(const ResNetOptions& options = ResNetOptions());

  // Logits [N, num_classes]: fc(dropout(features(x))).
  at::Tensor forward(at::Tensor x) override;
  // The globally average-pooled output of layer4, [N, feature_dim()].
  at::Tensor features(at::Tensor x) override;
  // 512 * width (basic blocks) or 2048 * width (bottlenecks), as scaled.
  int64_t feature_dim() const override { return feature_dim_; }
  std::string head_name() const override { return "fc"; }

  const ResNetOptions& options() const { return options_; }

 private:
  ResNetOptions options_;
  int64_t feature_dim_ = 0;
  torch::nn::Conv2d conv1_{nullptr};
  torch::nn::BatchNorm2d bn1_{nullptr};
  torch::nn::Sequential layer1_{nullptr};
  torch::nn::Sequential layer2_{nullptr};
  torch::nn::Sequential layer3_{nullptr};
  torch::nn::Sequential layer4_{nullptr};
  torch::nn::Linear fc_{nullptr};
};
TORCH_MODULE(ResNet);

}  // namespace fauna

#endif  // FAUNA_MODELS_RESNET_H_
