#include "models/feature_layer.h"

#include <string>
#include <vector>

#include "core/torch_status.h"
#include "models/registry.h"

namespace fauna {
namespace {

// What a model of each kind has instead of `layer`, for the error message.
std::string OtherLayerHint(FeatureLayer layer) {
  return layer == FeatureLayer::kPenultimate
             ? "it has no classification head; its layer is bottleneck"
             : "it is a classifier (bottleneck is the autoencoder's code); its layer is "
               "penultimate";
}

}  // namespace

std::vector<std::string> FeatureLayerNames() { return {"penultimate", "bottleneck"}; }

absl::StatusOr<FeatureLayer> ParseFeatureLayer(const std::string& name) {
  if (name == "penultimate") return FeatureLayer::kPenultimate;
  if (name == "bottleneck") return FeatureLayer::kBottleneck;
  return absl::InvalidArgumentError("unknown feature layer \"" + name +
                                    "\" (known: penultimate, bottleneck)");
}

std::string FeatureLayerName(FeatureLayer layer) {
  return layer == FeatureLayer::kPenultimate ? "penultimate" : "bottleneck";
}

absl::Status CheckFeatureLayer(const std::string& model_name, FeatureLayer layer) {
  const ModelInfo* info = FindModel(model_name);
  if (info == nullptr) return ValidateModelConfig(model_name, ModelConfig());  // Names the known.
  const bool has = layer == FeatureLayer::kPenultimate ? info->classifier : !info->classifier;
  if (has) return absl::OkStatus();
  return absl::InvalidArgumentError(model_name + " has no " + FeatureLayerName(layer) +
                                    " layer: " + OtherLayerHint(layer));
}

absl::StatusOr<at::Tensor> ForwardFeatures(Backbone model, const at::Tensor& images,
                                           FeatureLayer layer) {
  const bool classifier = !model->head_name().empty();
  if (classifier != (layer == FeatureLayer::kPenultimate)) {
    return absl::InvalidArgumentError("the model has no " + FeatureLayerName(layer) +
                                      " layer: " + OtherLayerHint(layer));
  }
  return GuardTorch("features of the " + FeatureLayerName(layer) + " layer", [&] {
    // features() already gives [N, D] for every fauna model; flatten keeps that a guarantee.
    return model->features(images).flatten(/*start_dim=*/1);
  });
}

}  // namespace fauna
