#include "models/resnet.h"

#include <array>
#include <string>
#include <utility>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <torch/nn/init.h>

namespace fauna {
namespace {

// Blocks per stage for each supported depth; depths below 50 use basic blocks.
struct ResNetLayout {
  int64_t depth;
  bool bottleneck;
  std::array<int64_t, 4> blocks;
};

constexpr std::array<ResNetLayout, 5> kResNetLayouts = {{
    {18, false, {2, 2, 2, 2}},
    {34, false, {3, 4, 6, 3}},
    {50, true, {3, 4, 6, 3}},
    {101, true, {3, 4, 23, 3}},
    {152, true, {3, 8, 36, 3}},
}};

const ResNetLayout* FindLayout(int64_t depth) {
  for (const ResNetLayout& layout : kResNetLayouts) {
    if (layout.depth == depth) return &layout;
  }
  return nullptr;
}

torch::nn::Conv2d Conv(int64_t in, int64_t out, int64_t kernel, int64_t stride, int64_t padding) {
  return torch::nn::Conv2d(
      torch::nn::Conv2dOptions(in, out, kernel).stride(stride).padding(padding).bias(false));
}

// The 1x1 projection shortcut (downsample.0, downsample.1), or an empty holder when the identity
// fits.
torch::nn::Sequential MakeDownsample(int64_t in_planes, int64_t out_planes, int64_t stride) {
  if (stride == 1 && in_planes == out_planes) return torch::nn::Sequential(nullptr);
  return torch::nn::Sequential(Conv(in_planes, out_planes, /*kernel=*/1, stride, /*padding=*/0),
                               torch::nn::BatchNorm2d(out_planes));
}

// One stage: `blocks` blocks of type Block, the first with `stride`. Updates `in_planes`.
template <typename Block>
torch::nn::Sequential MakeStage(int64_t& in_planes, int64_t planes, int64_t blocks,
                                int64_t stride) {
  torch::nn::Sequential stage;
  for (int64_t i = 0; i < blocks; ++i) {
    stage->push_back(Block(in_planes, planes, i == 0 ? stride : 1));
    in_planes = planes * Block::Impl::kExpansion;
  }
  return stage;
}

}  // namespace

absl::Status ValidateResNetOptions(const ResNetOptions& options) {
  if (FindLayout(options.depth()) == nullptr) {
    return absl::InvalidArgumentError("unknown ResNet depth " + std::to_string(options.depth()) +
                                      " (known: 18, 34, 50, 101, 152)");
  }
  if (!(options.width() > 0)) {
    return absl::InvalidArgumentError("ResNet width must be > 0, got " +
                                      std::to_string(options.width()));
  }
  if (options.num_classes() < 1) {
    return absl::InvalidArgumentError("ResNet num_classes must be >= 1, got " +
                                      std::to_string(options.num_classes()));
  }
  if (!(options.dropout() >= 0 && options.dropout() < 1)) {
    return absl::InvalidArgumentError("ResNet dropout must be in [0, 1), got " +
                                      std::to_string(options.dropout()));
  }
  if (options.in_channels() < 1) {
    return absl::InvalidArgumentError("ResNet in_channels must be >= 1, got " +
                                      std::to_string(options.in_channels()));
  }
  return absl::OkStatus();
}

BasicBlockImpl::BasicBlockImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : conv1_(Conv(in_planes, planes, /*kernel=*/3, stride, /*padding=*/1)),
      bn1_(planes),
      conv2_(Conv(planes, planes, /*kernel=*/3, /*stride=*/1, /*padding=*/1)),
      bn2_(planes),
      downsample_(MakeDownsample(in_planes, planes * kExpansion, stride)) {
  register_module("conv1", conv1_);
  register_module("bn1", bn1_);
  register_module("conv2", conv2_);
  register_module("bn2", bn2_);
  if (!downsample_.is_empty()) register_module("downsample", downsample_);
}

// The ReLUs and the residual sum work in place, as torchvision's do: batch norm's backward needs
// its input, not its output, so overwriting the output is safe under autograd, and it saves an
// allocation and a pass over memory per step.
at::Tensor BasicBlockImpl::forward(at::Tensor x) {
  at::Tensor identity = downsample_.is_empty() ? x : downsample_->forward(x);
  at::Tensor out = bn1_->forward(conv1_->forward(x)).relu_();
  out = bn2_->forward(conv2_->forward(out));
  out += identity;
  return out.relu_();
}

BottleneckImpl::BottleneckImpl(int64_t in_planes, int64_t planes, int64_t stride)
    : conv1_(Conv(in_planes, planes, /*kernel=*/1, /*stride=*/1, /*padding=*/0)),
      bn1_(planes),
      conv2_(Conv(planes, planes, /*kernel=*/3, stride, /*padding=*/1)),
      bn2_(planes),
      conv3_(Conv(planes, planes * kExpansion, /*kernel=*/1, /*stride=*/1, /*padding=*/0)),
      bn3_(planes * kExpansion),
      downsample_(MakeDownsample(in_planes, planes * kExpansion, stride)) {
  register_module("conv1", conv1_);
  register_module("bn1", bn1_);
  register_module("conv2", conv2_);
  register_module("bn2", bn2_);
  register_module("conv3", conv3_);
  register_module("bn3", bn3_);
  if (!downsample_.is_empty()) register_module("downsample", downsample_);
}

at::Tensor BottleneckImpl::forward(at::Tensor x) {
  at::Tensor identity = downsample_.is_empty() ? x : downsample_->forward(x);
  at::Tensor out = bn1_->forward(conv1_->forward(x)).relu_();
  out = bn2_->forward(conv2_->forward(out)).relu_();
  out = bn3_->forward(conv3_->forward(out));
  out += identity;
  return out.relu_();
}

ResNetImpl::ResNetImpl(const ResNetOptions& options) : options_(options) {
  const absl::Status valid = ValidateResNetOptions(options);
  TORCH_CHECK_VALUE(valid.ok(), std::string(valid.message()));
  const ResNetLayout& layout = *FindLayout(options.depth());
  const double width = options.width();

  int64_t in_planes = ScaleWidth(64, width);
  conv1_ = register_module(
      "conv1", options.small_input_stem()
                   ? Conv(options.in_channels(), in_planes, /*kernel=*/3, /*stride=*/1,
                          /*padding=*/1)
                   : Conv(options.in_channels(), in_planes, /*kernel=*/7, /*stride=*/2,
                          /*padding=*/3));
  bn1_ = register_module("bn1", torch::nn::BatchNorm2d(in_planes));
  std::array<torch::nn::Sequential*, 4> stages = {&layer1_, &layer2_, &layer3_, &layer4_};
  for (int i = 0; i < 4; ++i) {
    const int64_t planes = ScaleWidth(int64_t{64} << i, width);
    const int64_t stride = i == 0 ? 1 : 2;
    *stages[i] = layout.bottleneck
                     ? MakeStage<Bottleneck>(in_planes, planes, layout.blocks[i], stride)
                     : MakeStage<BasicBlock>(in_planes, planes, layout.blocks[i], stride);
    register_module("layer" + std::to_string(i + 1), *stages[i]);
  }
  feature_dim_ = in_planes;
  fc_ = register_module("fc", torch::nn::Linear(feature_dim_, options.num_classes()));

  // torchvision's initialisation; fc keeps nn.Linear's default.
  torch::NoGradGuard no_grad;
  for (const std::shared_ptr<torch::nn::Module>& module : modules(/*include_self=*/false)) {
    if (auto* conv = module->as<torch::nn::Conv2dImpl>()) {
      torch::nn::init::kaiming_normal_(conv->weight, /*a=*/0, torch::kFanOut, torch::kReLU);
    } else if (auto* bn = module->as<torch::nn::BatchNorm2dImpl>()) {
      bn->weight.fill_(1);
      bn->bias.zero_();
    }
  }
}

at::Tensor ResNetImpl::features(at::Tensor x) {
  x = bn1_->forward(conv1_->forward(x)).relu_();
  if (!options_.small_input_stem()) {
    x = at::max_pool2d(x, /*kernel_size=*/{3, 3}, /*stride=*/{2, 2}, /*padding=*/{1, 1});
  }
  x = layer1_->forward(x);
  x = layer2_->forward(x);
  x = layer3_->forward(x);
  x = layer4_->forward(x);
  return at::adaptive_avg_pool2d(x, {1, 1}).flatten(/*start_dim=*/1);
}

at::Tensor ResNetImpl::forward(at::Tensor x) {
  x = features(x);
  if (options_.dropout() > 0) x = at::dropout(x, options_.dropout(), is_training());
  return fc_->forward(x);
}

}  // namespace fauna
