// The interface every fauna model shares: a module with an output (logits for a classifier, the
// reconstruction for an autoencoder), a feature vector for heads such as an SVM or a GMM, and the
// name of its classification head in the state dict.
#ifndef FAUNA_MODELS_BACKBONE_H_
#define FAUNA_MODELS_BACKBONE_H_

#include <cstdint>
#include <memory>
#include <string>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

namespace fauna {

// A model that turns an image batch [N, C, H, W] into an output and a feature vector.
// Implementations: ResNetImpl, VggImpl, EndangeredCnnImpl, ConvEncoderImpl, ConvAutoencoderImpl.
//
// Example:
//   Backbone model = AsBackbone(ResNet(ResNetOptions(/*depth=*/50).num_classes(3)));
//   at::Tensor f = model->features(images);  // [N, model->feature_dim()]
class BackboneImpl : public torch::nn::Module {
 public:
  // The model's output: class logits [N, num_classes] for a classifier, the reconstruction for an
  // autoencoder, the latent code for an encoder.
  virtual at::Tensor forward(at::Tensor x) = 0;

  // The feature vector [N, feature_dim()] a head is trained on: for a classifier, the input of
  // its last linear layer (before any dropout in front of it).
  virtual at::Tensor features(at::Tensor x) = 0;

  // The length of features(x) for one image.
  virtual int64_t feature_dim() const = 0;

  // The state-dict name of the last linear layer (its keys are head_name() + ".weight" and
  // ".bias"), e.g. "fc" or "classifier.6"; empty for a model without a classification head.
  virtual std::string head_name() const = 0;
};

// A shared handle to any BackboneImpl (see AsBackbone).
TORCH_MODULE(Backbone);

// The same module as a Backbone: `holder` is a ResNet, Vgg, EndangeredCnn, ConvEncoder or
// ConvAutoencoder (any holder whose module derives from BackboneImpl).
template <typename Impl>
Backbone AsBackbone(const torch::nn::ModuleHolder<Impl>& holder) {
  return Backbone(std::shared_ptr<BackboneImpl>(holder.ptr()));
}

// A channel count scaled by a width multiplier: round(channels * width), at least 1.
int64_t ScaleWidth(int64_t channels, double width);

}  // namespace fauna

#endif  // FAUNA_MODELS_BACKBONE_H_
