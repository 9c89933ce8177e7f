#include "models/vgg.h"

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/init.h>
#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/pooling.h>

namespace fauna {
namespace {

// A max pool in a configuration table.
constexpr int64_t kPool = 0;

// torchvision's configurations: output channels of each 3x3 convolution, kPool for a 2x2 max
// pool.
struct VggLayout {
  int64_t depth;
  std::vector<int64_t> layers;
};

const std::array<VggLayout, 4>& Layouts() {
  static const auto* layouts = new std::array<VggLayout, 4>{{
      {11, {64, kPool, 128, kPool, 256, 256, kPool, 512, 512, kPool, 512, 512, kPool}},
      {13, {64, 64, kPool, 128, 128, kPool, 256, 256, kPool, 512, 512, kPool, 512, 512, kPool}},
      {16, {64, 64, kPool, 128, 128, kPool, 256, 256, 256, kPool, 512, 512, 512, kPool, 512, 512,
            512, kPool}},
      {19, {64, 64, kPool, 128, 128, kPool, 256, 256, 256, 256, kPool, 512, 512, 512, 512, kPool,
            512, 512, 512, 512, kPool}},
  }};
  return *layouts;
}

const VggLayout* FindLayout(int64_t depth) {
  for (const VggLayout& layout : Layouts()) {
    if (layout.depth == depth) return &layout;
  }
  return nullptr;
}

// Appends the activation; Identity for linear, so that state-dict indices do not depend on it.
void PushActivation(torch::nn::Sequential& sequential, Activation activation) {
  switch (activation) {
    case Activation::kReLU:
      sequential->push_back(torch::nn::ReLU(torch::nn::ReLUOptions(/*inplace=*/true)));
      return;
    case Activation::kTanh:
      sequential->push_back(torch::nn::Tanh());
      return;
    case Activation::kSigmoid:
      sequential->push_back(torch::nn::Sigmoid());
      return;
    case Activation::kLinear:
      sequential->push_back(torch::nn::Identity());
      return;
  }
}

}  // namespace

absl::StatusOr<Activation> ParseActivation(const std::string& name) {
  for (Activation a : {Activation::kReLU, Activation::kTanh, Activation::kSigmoid,
                       Activation::kLinear}) {
    if (ActivationName(a) == name) return a;
  }
  return absl::InvalidArgumentError("unknown activation \"" + name +
                                    "\" (known: relu, tanh, sigmoid, linear)");
}

std::string ActivationName(Activation activation) {
  switch (activation) {
    case Activation::kReLU:
      return "relu";
    case Activation::kTanh:
      return "tanh";
    case Activation::kSigmoid:
      return "sigmoid";
    case Activation::kLinear:
      return "linear";
  }
  return "unknown";
}

absl::Status ValidateVggOptions(const VggOptions& options) {
  if (FindLayout(options.depth()) == nullptr) {
    return absl::InvalidArgumentError("unknown VGG depth " + std::to_string(options.depth()) +
                                      " (known: 11, 13, 16, 19)");
  }
  if (!(options.width() > 0)) {
    return absl::InvalidArgumentError("VGG width must be > 0, got " +
                                      std::to_string(options.width()));
  }
  if (options.num_classes() < 1) {
    return absl::InvalidArgumentError("VGG num_classes must be >= 1, got " +
                                      std::to_string(options.num_classes()));
  }
  if (!(options.dropout() >= 0 && options.dropout() < 1)) {
    return absl::InvalidArgumentError("VGG dropout must be in [0, 1), got " +
                                      std::to_string(options.dropout()));
  }
  if (options.in_channels() < 1) {
    return absl::InvalidArgumentError("VGG in_channels must be >= 1, got " +
                                      std::to_string(options.in_channels()));
  }
  return absl::OkStatus();
}

VggImpl::VggImpl(const VggOptions& options) : options_(options) {
  const absl::Status valid = ValidateVggOptions(options);
  TORCH_CHECK_VALUE(valid.ok(), std::string(valid.message()));
  const VggLayout& layout = *FindLayout(options.depth());

  features_ = torch::nn::Sequential();
  int64_t channels = options.in_channels();
  for (const int64_t layer : layout.layers) {
    if (layer == kPool) {
      features_->push_back(torch::nn::MaxPool2d(torch::nn::MaxPool2dOptions(2).stride(2)));
      continue;
    }
    const int64_t out = ScaleWidth(layer, options.width());
    features_->push_back(
        torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, out, /*kernel_size=*/3).padding(1)));
    if (options.batch_norm()) features_->push_back(torch::nn::BatchNorm2d(out));
    PushActivation(features_, options.activation());
    channels = out;
  }
  register_module("features", features_);

  const int64_t hidden = ScaleWidth(4096, options.width());
  classifier_ = torch::nn::Sequential();
  classifier_->push_back(torch::nn::Linear(channels * 7 * 7, hidden));
  PushActivation(classifier_, options.activation());
  classifier_->push_back(torch::nn::Dropout(options.dropout()));
  classifier_->push_back(torch::nn::Linear(hidden, hidden));
  PushActivation(classifier_, options.activation());
  classifier_->push_back(torch::nn::Dropout(options.dropout()));
  classifier_->push_back(torch::nn::Linear(hidden, options.num_classes()));
  register_module("classifier", classifier_);
  feature_dim_ = hidden;

  torch::NoGradGuard no_grad;
  for (const std::shared_ptr<torch::nn::Module>& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2dImpl>()) {
      torch::nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
      conv->bias.zero_();
    } else if (auto* bn = module->as<torch::nn::BatchNorm2dImpl>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    } else if (auto* linear = module->as<torch::nn::LinearImpl>()) {
      linear->weight.normal_(/*mean=*/0, /*std=*/0.01);
      linear->bias.zero_();
    }
  }
}

at::Tensor VggImpl::features(at::Tensor x) {
  x = features_->forward(x);
  x = at::adaptive_avg_pool2d(x, {7, 7}).flatten(/*start_dim=*/1);
  auto layer = classifier_->begin();
  for (int i = 0; i <= 4; ++i, ++layer) x = layer->forward(x);  // classifier.0 .. classifier.4
  return x;
}

at::Tensor VggImpl::forward(at::Tensor x) {
  x = features(x);
  x = classifier_[5]->as<torch::nn::DropoutImpl>()->forward(x);
  return classifier_[6]->as<torch::nn::LinearImpl>()->forward(x);
}

}  // namespace fauna
