// A training checkpoint in one file, written atomically (a temporary file renamed over the old
// one), so that a run killed at any moment resumes from its last complete epoch: the model, the
// optimiser (Adam's moments, SGD's momentum), the best-on-validation weights, the CPU random
// generator and a JSON record of everything else (epoch, step, early-stopping state, history,
// the run's configuration).
#ifndef FAUNA_TRAIN_CHECKPOINT_H_
#define FAUNA_TRAIN_CHECKPOINT_H_

#include <string>

#include <absl/status/statusor.h>
#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include "core/named_tensors.h"

namespace fauna {

// What a checkpoint holds besides the model and optimiser, which are read into existing objects.
struct CheckpointExtras {
  NamedTensors best_weights;  // May be empty.
  nlohmann::json meta;        // Any JSON object.
};

// Writes `path` atomically: on failure the previous checkpoint at `path` is untouched.
//
// Example:
//   RETURN_IF_ERROR(SaveCheckpoint(run_dir + "/checkpoint.pt", *model, *optimizer,
//                                  {best_weights, {{"epoch", epoch}}}));
absl::Status SaveCheckpoint(const std::string& path, const torch::nn::Module& model,
                            const torch::optim::Optimizer& optimizer,
                            const CheckpointExtras& extras);

// Reads `path` into `model` and `optimizer` (built as when the checkpoint was saved), restores the
// CPU generator, and returns the rest. NotFound for a missing file; DataLoss, naming the file, for
// a truncated or corrupt one or one whose model does not fit `model`.
absl::StatusOr<CheckpointExtras> LoadCheckpoint(const std::string& path, torch::nn::Module& model,
                                                torch::optim::Optimizer& optimizer);

}  // namespace fauna

#endif  // FAUNA_TRAIN_CHECKPOINT_H_
