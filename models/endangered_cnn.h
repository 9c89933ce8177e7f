// The small CNNs of the endangered-animal study (seeds/002): a baseline of 3 convolutions and
// 3 linear layers, and Models 0-4, as named configurations of one module.
//
// What the study states, and what each configuration takes from it:
//   - every convolution is 3x3 with padding 1, followed by [batch norm], ReLU and a 2x2 max pool;
//   - the first linear layer is Linear(256 * 14 * 14, 512) for 224x224 inputs;
//   - Model 0 (and Model 1, which changes only the training) has four stages 3 -> 64 -> 128 ->
//     256 -> 256 with batch norm; Model 2 adds batch norm to the dense layers and increases the
//     dropout; Model 3 (and Model 4, which changes only the training) has the 128 -> 128 middle
//     stage: 64, 128, 128, 256. Models 3/4 are the study's published code: dropout 0.4 before each
//     hidden linear layer 512, 256, 128, batch norm after each, then Linear(128, 11).
// Choices where the study is silent: the baseline's middle convolution (128 channels) and hidden
// layers (512, 128), no batch norm or dropout in the baseline, and Model 0/1's dropout (0.25, as
// the study says Model 2 "increased" it to 0.4).
//
// State-dict keys follow the study's PyTorch code: `convolutional_layers.N` and
// `fully_connection_layers.N`, so its saved weights for Models 3/4 load as they are.
#ifndef FAUNA_MODELS_ENDANGERED_CNN_H_
#define FAUNA_MODELS_ENDANGERED_CNN_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/backbone.h"

namespace fauna {

// Options of an EndangeredCnn; the defaults are Model 4 (and 3).
//
// Example:
//   ASSIGN_OR_RETURN(EndangeredCnnOptions options, EndangeredCnnConfig("model4"));
//   EndangeredCnn model(options.width(0.5));
struct EndangeredCnnOptions {
  // Output channels of each convolution stage (before the width multiplier).
  TORCH_ARG(std::vector<int64_t>, conv_channels) = std::vector<int64_t>{64, 128, 128, 256};
  // Batch norm after each convolution.
  TORCH_ARG(bool, conv_batch_norm) = true;
  // Widths of the hidden linear layers (before the width multiplier).
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{512, 256, 128};
  // Batch norm after each hidden linear layer.
  TORCH_ARG(bool, fc_batch_norm) = true;
  // Dropout probability before each hidden linear layer.
  TORCH_ARG(double, dropout) = 0.4;
  TORCH_ARG(int64_t, num_classes) = 11;
  // Multiplies every channel count and hidden width (rounded, at least 1).
  TORCH_ARG(double, width) = 1.0;
  // The convolution output is adaptively max-pooled to pooled_size x pooled_size before the
  // linear layers: 14 reproduces the study at 224x224 (identity for four stages, one more 2x2 max
  // pool for the baseline's three) and lets any input size work.
  TORCH_ARG(int64_t, pooled_size) = 14;
  TORCH_ARG(int64_t, in_channels) = 3;
};

// The names EndangeredCnnConfig knows: "baseline", "model0" .. "model4".
std::vector<std::string> EndangeredCnnConfigNames();

// The options of one of the study's models (see the file comment); an unknown name is an
// invalid-argument error listing the known ones.
absl::StatusOr<EndangeredCnnOptions> EndangeredCnnConfig(const std::string& name);

// OK when `options` describe a network; otherwise an invalid-argument error naming the bad value.
absl::Status ValidateEndangeredCnnOptions(const EndangeredCnnOptions& options);

// The study's CNN. Initialised with PyTorch's defaults, as the study was. Note that batch norm on
// the dense layers needs more than one image per batch in training mode. Invalid options throw
// c10::ValueError.
class EndangeredCnnImpl : public BackboneImpl {
 public:
  explicit EndangeredCnnImpl(const EndangeredCnnOptions& options = EndangeredCnnOptions());

  // Logits [N, num_classes]: the last linear layer on features(x).
  at::Tensor forward(at::Tensor x) override;
  // The last hidden layer's output after its ReLU, [N, hidden.back() * width].
  at::Tensor features(at::Tensor x) override;
  int64_t feature_dim() const override { return feature_dim_; }
  std::string head_name() const override { return head_name_; }

  const EndangeredCnnOptions& options() const { return options_; }

 private:
  EndangeredCnnOptions options_;
  int64_t feature_dim_ = 0;
  std::string head_name_;
  torch::nn::Sequential convolutional_layers_{nullptr};
  torch::nn::Sequential fully_connection_layers_{nullptr};
  // The last element of fully_connection_layers_.
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(EndangeredCnn);

}  // namespace fauna

#endif  // FAUNA_MODELS_ENDANGERED_CNN_H_
