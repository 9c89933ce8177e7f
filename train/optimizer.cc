#include "train/optimizer.h"

#include <cmath>
#include <utility>

#include <torch/optim/adam.h>
#include <torch/optim/sgd.h>

namespace fauna {
namespace {

absl::Status Check(bool ok, const std::string& what, double value) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError("optimizer " + what + ", not " + std::to_string(value));
}

}  // namespace

absl::Status ValidateOptimizerConfig(const OptimizerConfig& config) {
  if (config.name != "adam" && config.name != "sgd") {
    return absl::InvalidArgumentError("unknown optimizer '" + config.name + "' (adam or sgd)");
  }
  absl::Status status = Check(std::isfinite(config.lr) && config.lr > 0, "lr must be > 0",
                              config.lr);
  if (status.ok()) {
    status = Check(config.weight_decay >= 0 && std::isfinite(config.weight_decay),
                   "weight_decay must be >= 0", config.weight_decay);
  }
  if (status.ok() && config.name == "adam") {
    status = Check(config.beta1 >= 0 && config.beta1 < 1, "beta1 must be in [0, 1)", config.beta1);
    if (status.ok()) {
      status = Check(config.beta2 >= 0 && config.beta2 < 1, "beta2 must be in [0, 1)",
                     config.beta2);
    }
    if (status.ok()) {
      status = Check(std::isfinite(config.eps) && config.eps > 0, "eps must be > 0", config.eps);
    }
  }
  if (status.ok() && config.name == "sgd") {
    status = Check(config.momentum >= 0 && config.momentum < 1, "momentum must be in [0, 1)",
                   config.momentum);
    if (status.ok() && config.nesterov && config.momentum == 0) {
      return absl::InvalidArgumentError("optimizer nesterov needs momentum > 0");
    }
  }
  return status;
}

absl::StatusOr<std::unique_ptr<torch::optim::Optimizer>> MakeOptimizer(
    std::vector<at::Tensor> parameters, const OptimizerConfig& config) {
  if (absl::Status status = ValidateOptimizerConfig(config); !status.ok()) return status;
  if (config.name == "adam") {
    return std::unique_ptr<torch::optim::Optimizer>(new torch::optim::Adam(
        std::move(parameters), torch::optim::AdamOptions(config.lr)
                                   .betas({config.beta1, config.beta2})
                                   .eps(config.eps)
                                   .weight_decay(config.weight_decay)));
  }
  return std::unique_ptr<torch::optim::Optimizer>(new torch::optim::SGD(
      std::move(parameters), torch::optim::SGDOptions(config.lr)
                                 .momentum(config.momentum)
                                 .nesterov(config.nesterov)
                                 .weight_decay(config.weight_decay)));
}

void SetLearningRate(torch::optim::Optimizer& optimizer, double lr) {
  for (torch::optim::OptimizerParamGroup& group : optimizer.param_groups()) {
    group.options().set_lr(lr);
  }
}

}  // namespace fauna
