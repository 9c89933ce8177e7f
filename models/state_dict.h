// State dicts of fauna models: named parameters and buffers under torchvision's key names, loaded
// with a clear account of every key that does not fit, and saved to or read from weight files
// (safetensors or torch.save).
#ifndef FAUNA_MODELS_STATE_DICT_H_
#define FAUNA_MODELS_STATE_DICT_H_

#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/named_tensors.h"

namespace fauna {

// How LoadStateDict treats keys that do not fit the model.
struct LoadOptions {
  // When true, a key the model has but the tensors lack ("missing") and a key the tensors have
  // but the model lacks ("unexpected") are errors; when false they are reported and skipped.
  // A shape mismatch is an error either way, unless `reinit_prefixes` covers it.
  bool strict = true;
  // Modules (state-dict prefixes such as "fc" or "classifier.6", matching "fc.weight" but not
  // "fc2.weight") whose tensors are left as the model has them (freshly initialised, for a new
  // model) when their shape differs: transfer learning to a head with another class count. Empty
  // by default, so a mismatched head is an error unless asked for.
  std::vector<std::string> reinit_prefixes;
};

// What LoadStateDict did, key by key (each list in key order).
struct LoadReport {
  std::vector<std::string> loaded;
  // In the model, not in the tensors (allowed only when not strict).
  std::vector<std::string> missing;
  // In the tensors, not in the model (allowed only when not strict).
  std::vector<std::string> unexpected;
  // Shape differs; kept at the model's values because `reinit_prefixes` covers it.
  std::vector<std::string> reinitialized;
};

// The module's parameters and buffers by their dotted names (e.g. "layer1.0.conv1.weight",
// "bn1.running_mean"): for fauna's models, exactly the keys of torchvision's state_dict(). The
// tensors share storage with the module.
NamedTensors StateDict(const torch::nn::Module& module);

// Copies `tensors` into the module's parameters and buffers (converting dtype and device as
// needed). Checks everything before it changes anything: on error the module is untouched, and
// the message lists every missing, unexpected and shape-mismatched key (shapes included).
//
// Example (ImageNet weights into a 3-class ResNet-50):
//   ResNet model(ResNetOptions(/*depth=*/50).num_classes(3));
//   ASSIGN_OR_RETURN(NamedTensors weights, ReadTensorFile("resnet50.pt"));
//   ASSIGN_OR_RETURN(LoadReport report,
//                    LoadStateDict(*model, weights, {.reinit_prefixes = {model->head_name()}}));
absl::StatusOr<LoadReport> LoadStateDict(torch::nn::Module& module, const NamedTensors& tensors,
                                         const LoadOptions& options = LoadOptions());

// Writes StateDict(module) to `path`: torch.save format for .pt and .pth (Python reads it with
// `model.load_state_dict(torch.load(path))`), safetensors otherwise.
absl::Status SaveWeights(const torch::nn::Module& module, const std::string& path);

// Reads a safetensors or torch.save file and loads it with LoadStateDict; errors name the file.
absl::StatusOr<LoadReport> LoadWeights(torch::nn::Module& module, const std::string& path,
                                       const LoadOptions& options = LoadOptions());

}  // namespace fauna

#endif  // FAUNA_MODELS_STATE_DICT_H_
