// Named layers whose activations become a features file (data/features_file.h), the seam between
// a network and the heads of the studies (SVM, k-means, GMM):
//   penultimate  a classifier's input to its last Linear (BackboneImpl::features): VGG's fc7 after
//                its activation (4096 * width), ResNet's globally pooled layer4 (2048 * width for
//                ResNet-50), the endangered CNNs' last hidden layer after its ReLU;
//   bottleneck   the convolutional autoencoder's latent code, flattened (latent_dim, or the last
//                feature map's channels * side^2 without the FC layer).
// LibTorch's C++ modules have no forward hooks, so a layer is reached through the model's own
// features() and the name is checked against what the model is.
#ifndef FAUNA_MODELS_FEATURE_LAYER_H_
#define FAUNA_MODELS_FEATURE_LAYER_H_

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "models/backbone.h"

namespace fauna {

// A layer ForwardFeatures can return.
enum class FeatureLayer { kPenultimate, kBottleneck };

// "penultimate" and "bottleneck", in FeatureLayer's order.
std::vector<std::string> FeatureLayerNames();

// The FeatureLayer called `name`; InvalidArgument naming the known layers otherwise.
absl::StatusOr<FeatureLayer> ParseFeatureLayer(const std::string& name);

// The name ParseFeatureLayer reads back.
std::string FeatureLayerName(FeatureLayer layer);

// Whether the registered model `model_name` (models/registry.h) has `layer`, without building it:
// penultimate for classifiers, bottleneck for the autoencoder. InvalidArgument naming the layer the
// model does have otherwise (or the unknown model).
absl::Status CheckFeatureLayer(const std::string& model_name, FeatureLayer layer);

// The activations of `layer` for `images` [N, C, H, W]: float [N, D] on the model's device, one row
// per image. A classifier (a model with a head_name()) has only the penultimate layer, a model
// without a classification head (the autoencoder, its encoder) only the bottleneck; asking for
// the other is InvalidArgument, and a LibTorch error (an image too small) is a status too. The
// model is run as it is: for features, put it in eval mode and call this under a NoGradGuard.
//
// Example:
//   model->eval();
//   c10::NoGradGuard no_grad;
//   ASSIGN_OR_RETURN(at::Tensor features,
//                    ForwardFeatures(model, batch.images, FeatureLayer::kPenultimate));
//   // For VGG16: [N, 4096 * width], and model->forward(x) == the last Linear of `features`.
absl::StatusOr<at::Tensor> ForwardFeatures(Backbone model, const at::Tensor& images,
                                           FeatureLayer layer);

}  // namespace fauna

#endif  // FAUNA_MODELS_FEATURE_LAYER_H_
