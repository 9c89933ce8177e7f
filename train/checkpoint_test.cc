#include "train/checkpoint.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/linear.h>

#include "core/atomic_file.h"
#include "core/test_tmp.h"
#include "train/optimizer.h"

namespace fauna {
namespace {

// One Adam step on a fixed batch, so the optimiser has state.
void Step(torch::nn::Linear& model, torch::optim::Optimizer& optimizer) {
  optimizer.zero_grad();
  model->forward(at::ones({4, 3})).pow(2).sum().backward();
  optimizer.step();
}

TEST(Checkpoint, ResumedTrainingMatchesUninterruptedTraining) {
  at::manual_seed(1);
  torch::nn::Linear model(3, 2);
  auto optimizer = MakeOptimizer(model->parameters(), OptimizerConfig());
  ASSERT_TRUE(optimizer.ok());
  Step(model, **optimizer);
  CheckpointExtras extras;
  extras.best_weights = {{"layer.weight", at::full({2, 2}, 7.0)}, {"layer.bias", at::zeros({2})}};
  extras.meta = {{"epoch", 3}, {"note", "hello"}};
  const std::string path = TestTempPath("ckpt.pt");
  ASSERT_TRUE(SaveCheckpoint(path, *model, **optimizer, extras).ok());
  const at::Tensor expected_random = at::rand({3});
  Step(model, **optimizer);
  const at::Tensor expected_weight = model->weight.clone();

  at::manual_seed(99);
  torch::nn::Linear restored(3, 2);
  auto restored_optimizer = MakeOptimizer(restored->parameters(), OptimizerConfig());
  ASSERT_TRUE(restored_optimizer.ok());
  absl::StatusOr<CheckpointExtras> loaded = LoadCheckpoint(path, *restored, **restored_optimizer);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->meta, extras.meta);
  ASSERT_EQ(loaded->best_weights.size(), 2u);
  EXPECT_TRUE(loaded->best_weights.at("layer.weight").equal(at::full({2, 2}, 7.0)));
  EXPECT_TRUE(at::rand({3}).equal(expected_random));  // The generator came back too.
  Step(restored, **restored_optimizer);  // Uses Adam's restored moments and step count.
  EXPECT_TRUE(restored->weight.equal(expected_weight));
}

TEST(Checkpoint, MissingCorruptAndMismatchedFilesAreClearErrors) {
  torch::nn::Linear model(3, 2);
  auto optimizer = MakeOptimizer(model->parameters(), OptimizerConfig());
  ASSERT_TRUE(optimizer.ok());
  EXPECT_EQ(LoadCheckpoint(TestTempPath("none.pt"), *model, **optimizer).status().code(),
            absl::StatusCode::kNotFound);

  const std::string path = TestTempPath("good.pt");
  ASSERT_TRUE(SaveCheckpoint(path, *model, **optimizer, {}).ok());
  absl::StatusOr<std::string> bytes = ReadFile(path);
  ASSERT_TRUE(bytes.ok());
  const std::string truncated_path = TestTempPath("truncated.pt");
  ASSERT_TRUE(WriteFileAtomically(truncated_path, bytes->substr(0, bytes->size() / 2)).ok());
  absl::Status truncated = LoadCheckpoint(truncated_path, *model, **optimizer).status();
  EXPECT_EQ(truncated.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(truncated.message().find("truncated.pt"), std::string::npos) << truncated;

  torch::nn::Linear other(5, 2);
  auto other_optimizer = MakeOptimizer(other->parameters(), OptimizerConfig());
  ASSERT_TRUE(other_optimizer.ok());
  EXPECT_EQ(LoadCheckpoint(path, *other, **other_optimizer).status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(Checkpoint, AFailedSaveLeavesThePreviousFile) {
  torch::nn::Linear model(3, 2);
  auto optimizer = MakeOptimizer(model->parameters(), OptimizerConfig());
  ASSERT_TRUE(optimizer.ok());
  EXPECT_FALSE(SaveCheckpoint(TestTempPath("no/such/dir/ckpt.pt"), *model, **optimizer, {}).ok());
}

}  // namespace
}  // namespace fauna
