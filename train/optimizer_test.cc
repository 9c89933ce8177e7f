#include "train/optimizer.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

// Minimises (w - 3)^2 for a few steps and returns w.
double Minimise(const OptimizerConfig& config, int steps) {
  at::Tensor w = at::zeros({1}).requires_grad_(true);
  absl::StatusOr<std::unique_ptr<torch::optim::Optimizer>> optimizer = MakeOptimizer({w}, config);
  EXPECT_TRUE(optimizer.ok()) << optimizer.status();
  for (int i = 0; i < steps; ++i) {
    (*optimizer)->zero_grad();
    (w - 3).pow(2).sum().backward();
    (*optimizer)->step();
  }
  return w.item<double>();
}

TEST(Optimizer, AdamAndSgdMinimise) {
  OptimizerConfig adam;
  adam.lr = 0.1;
  EXPECT_NEAR(Minimise(adam, 300), 3.0, 0.05);
  OptimizerConfig sgd;
  sgd.name = "sgd";
  sgd.lr = 0.05;
  EXPECT_NEAR(Minimise(sgd, 300), 3.0, 1e-3);
}

TEST(Optimizer, AdamFirstStepIsLrTimesSignOfGradient) {
  OptimizerConfig adam;
  adam.lr = 0.01;
  EXPECT_NEAR(Minimise(adam, 1), 0.01, 1e-6);
}

TEST(Optimizer, SetLearningRateChangesTheStep) {
  at::Tensor w = at::zeros({1}).requires_grad_(true);
  OptimizerConfig sgd;
  sgd.name = "sgd";
  sgd.momentum = 0;
  sgd.lr = 1.0;
  auto optimizer = MakeOptimizer({w}, sgd);
  ASSERT_TRUE(optimizer.ok());
  SetLearningRate(**optimizer, 0.25);
  (w * 2).sum().backward();
  (*optimizer)->step();
  EXPECT_DOUBLE_EQ(w.item<double>(), -0.5);
}

TEST(Optimizer, RejectsBadConfigs) {
  OptimizerConfig bad;
  bad.name = "rmsprop";
  EXPECT_NE(ValidateOptimizerConfig(bad).message().find("unknown optimizer 'rmsprop'"),
            std::string::npos);
  bad = OptimizerConfig();
  bad.lr = -1;
  EXPECT_FALSE(MakeOptimizer({}, bad).ok());
  bad = OptimizerConfig();
  bad.beta2 = 1.0;
  EXPECT_FALSE(ValidateOptimizerConfig(bad).ok());
  bad = OptimizerConfig();
  bad.weight_decay = -0.1;
  EXPECT_FALSE(ValidateOptimizerConfig(bad).ok());
  bad = OptimizerConfig();
  bad.name = "sgd";
  bad.momentum = 0;
  bad.nesterov = true;
  EXPECT_FALSE(ValidateOptimizerConfig(bad).ok());
}

}  // namespace
}  // namespace fauna
