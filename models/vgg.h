// VGG (Simonyan & Zisserman 2014) as torchvision builds it: `features.N`, `avgpool`,
// `classifier.0/3/6`, so torchvision's vgg11..vgg19 and their _bn variants load key for key.
#ifndef FAUNA_MODELS_VGG_H_
#define FAUNA_MODELS_VGG_H_

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/backbone.h"

namespace fauna {

// The non-linearity after every convolution and hidden linear layer of a VGG. torchvision uses
// ReLU; the AFHQ study's grid search also tried tanh, sigmoid and none (linear).
enum class Activation { kReLU, kTanh, kSigmoid, kLinear };

// "relu", "tanh", "sigmoid" or "linear"; anything else is an invalid-argument error.
absl::StatusOr<Activation> ParseActivation(const std::string& name);

// The name ParseActivation reads back.
std::string ActivationName(Activation activation);

// Options of a VGG. depth picks torchvision's configuration table: 11 (A), 13 (B), 16 (D) or
// 19 (E).
//
// Example (the AFHQ study's best VGG16 for 3 classes):
//   Vgg model(VggOptions(/*depth=*/16).num_classes(3).dropout(0.1));
struct VggOptions {
  explicit VggOptions(int64_t depth = 16) : depth_(depth) {}

  // 11, 13, 16 or 19.
  TORCH_ARG(int64_t, depth);
  // Batch norm after every convolution (torchvision's vgg16_bn and friends).
  TORCH_ARG(bool, batch_norm) = false;
  TORCH_ARG(int64_t, num_classes) = 1000;
  // Multiplies every convolution's channels and the hidden width 4096 (rounded, at least 1).
  TORCH_ARG(double, width) = 1.0;
  // Dropout probability after each hidden linear layer (classifier.2 and classifier.5).
  TORCH_ARG(double, dropout) = 0.5;
  TORCH_ARG(Activation, activation) = Activation::kReLU;
  TORCH_ARG(int64_t, in_channels) = 3;
};

// OK when `options` describe a VGG; otherwise an invalid-argument error naming the bad value.
absl::Status ValidateVggOptions(const VggOptions& options);

// A VGG classifier: `features` (convolutions, optional batch norm, activations, max pools),
// adaptive average pooling to 7x7 (so any input of at least 32x32 works), and `classifier`
// (Linear, activation, Dropout, Linear, activation, Dropout, Linear). Initialised as
// torchvision does: convolutions Kaiming-normal (fan_out, ReLU) with zero bias, batch norm weight 1
// and bias 0, linear layers normal(0, 0.01) with zero bias. Invalid options throw c10::ValueError.
class VggImpl : public BackboneImpl {
 public:
  explicit VggImpl(const VggOptions& options = VggOptions());

  // Logits [N, num_classes]: classifier.6(dropout(features(x))).
  at::Tensor forward(at::Tensor x) override;
  // The penultimate fully connected layer's output after its activation (classifier.4), the
  // features the AFHQ study gives its SVM: [N, 4096 * width].
  at::Tensor features(at::Tensor x) override;
  int64_t feature_dim() const override { return feature_dim_; }
  std::string head_name() const override { return "classifier.6"; }

  const VggOptions& options() const { return options_; }

 private:
  VggOptions options_;
  int64_t feature_dim_ = 0;
  torch::nn::Sequential features_{nullptr};
  torch::nn::Sequential classifier_{nullptr};
};
TORCH_MODULE(Vgg);

}  // namespace fauna

#endif  // FAUNA_MODELS_VGG_H_
