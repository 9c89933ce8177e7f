// The studies' optimisers by name: Adam (lr, betas, weight decay) and SGD (lr, momentum, weight
// decay), with weight decay as PyTorch applies it (an L2 term added to the gradient).
#ifndef FAUNA_TRAIN_OPTIMIZER_H_
#define FAUNA_TRAIN_OPTIMIZER_H_

#include <memory>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <absl/status/statusor.h>
#include <torch/optim/optimizer.h>

namespace fauna {

struct OptimizerConfig {
  std::string name = "adam";  // adam | sgd
  double lr = 1e-3;
  double beta1 = 0.9;         // Adam
  double beta2 = 0.999;       // Adam
  double eps = 1e-8;          // Adam
  double momentum = 0.9;      // SGD
  bool nesterov = false;      // SGD
  double weight_decay = 0.0;  // both
};

// OK for a known name and finite settings in range (lr > 0, betas and momentum in [0, 1),
// eps > 0, weight decay >= 0, Nesterov only with momentum); otherwise InvalidArgument naming it.
absl::Status ValidateOptimizerConfig(const OptimizerConfig& config);

// The optimiser over `parameters`.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<torch::optim::Optimizer> optimizer,
//                    MakeOptimizer(model->parameters(), {"adam", /*lr=*/1e-4}));
absl::StatusOr<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(
    std::vector<at::Tensor> parameters, const OptimizerConfig& config);

// Sets the learning rate of every parameter group.
void SetLearningRate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace fauna

#endif  // FAUNA_TRAIN_OPTIMIZER_H_
