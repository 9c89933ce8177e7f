// Every fauna model by name: "resnet18" .. "resnet152" and their "_cifar" variants (the
// small-image stem), "vgg11" .. "vgg19" and their "_bn" variants, "endangered_baseline",
// "endangered_model0" .. "endangered_model4", "autoencoder".
#ifndef FAUNA_MODELS_REGISTRY_H_
#define FAUNA_MODELS_REGISTRY_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "models/backbone.h"

namespace fauna {

// The options CreateModel passes on; each architecture reads the ones it has.
struct ModelConfig {
  // Length of the logits (classifiers).
  int64_t num_classes = 1000;
  // Width multiplier of every channel count and hidden width; 1.0 is the published network.
  double width = 1.0;
  // Dropout in front of the classification layers; unset means the architecture's default
  // (ResNet none, VGG 0.5, the endangered models as the study had them).
  std::optional<double> dropout;
  // VGG's non-linearity: "relu", "tanh", "sigmoid" or "linear".
  std::string activation = "relu";
  int64_t in_channels = 3;
  // Autoencoder only: the image side it reconstructs and its bottleneck (0: no FC layer).
  int64_t image_size = 224;
  int64_t latent_dim = 256;
};

// A registered model.
struct ModelInfo {
  std::string name;
  // One line: the architecture and where it comes from.
  std::string description;
  // Whether forward() gives class logits (false for the autoencoder, which reconstructs images).
  bool classifier = true;
};

// The registered model `name`, or nullptr.
const ModelInfo* FindModel(const std::string& name);

// Every registered model, in a fixed order.
const std::vector<ModelInfo>& ListModels();

// The names of ListModels().
std::vector<std::string> ModelNames();

// Builds the model `name` with `config`. An unknown name or an invalid option is an
// invalid-argument error saying which; so is an option the model does not have (an activation
// other than ReLU on a model other than VGG, a dropout on the autoencoder), rather than ignored.
//
// Example:
//   ModelConfig config;
//   config.num_classes = 3;
//   ASSIGN_OR_RETURN(Backbone model, CreateModel("resnet50", config));
absl::StatusOr<Backbone> CreateModel(const std::string& name,
                                     const ModelConfig& config = ModelConfig());

// The error CreateModel(name, config) would give, without building the model (e.g. to refuse bad
// options before loading data); OK when it would build.
absl::Status ValidateModelConfig(const std::string& name, const ModelConfig& config);

// The feature_dim() that CreateModel(name, config) will have, without building it (e.g. to size
// a head first).
absl::StatusOr<int64_t> ModelFeatureDim(const std::string& name,
                                        const ModelConfig& config = ModelConfig());

}  // namespace fauna

#endif  // FAUNA_MODELS_REGISTRY_H_
