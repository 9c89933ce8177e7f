#include "train/trainer.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/seed.h"
#include "core/test_tmp.h"
#include "models/registry.h"
#include "models/state_dict.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;

constexpr int64_t kClasses = 3;

// `n` 16x16 images whose class shows as a brighter channel, with noise; `poison` makes every
// image NaN.
DataPart MakePart(int64_t n, uint64_t seed, bool poison = false) {
  DataPart part;
  part.size = n;
  for (int64_t i = 0; i < n; ++i) part.labels.push_back(i % kClasses);
  part.image_shape = {3, 16, 16};
  part.write_example = [seed, poison](int64_t index, int64_t epoch,
                                      const at::Tensor& image) -> absl::StatusOr<int64_t> {
    at::Generator generator = at::detail::createCPUGenerator(DeriveSeed(seed, 0, index));
    const int64_t label = index % kClasses;
    image.copy_(at::randn({3, 16, 16}, generator));
    image[label] += 3.0;
    if (poison) image.fill_(NAN);
    return label;
  };
  return part;
}

TrainingData MakeData(bool poison = false) {
  TrainingData data;
  data.class_names = {"a", "b", "c"};
  data.train = MakePart(192, 1, poison);
  data.val = MakePart(30, 2);
  data.test = MakePart(30, 3);
  return data;
}

Backbone MakeModel() {
  at::manual_seed(0);
  ModelConfig config;
  config.num_classes = kClasses;
  config.width = 1.0 / 16;
  absl::StatusOr<Backbone> model = CreateModel("resnet18", config);
  EXPECT_TRUE(model.ok()) << model.status();
  return *model;
}

TrainerOptions MakeOptions(const std::string& run) {
  TrainerOptions options;
  options.run_dir = TestTempPath(run);
  std::filesystem::create_directories(options.run_dir);
  options.epochs = 3;
  options.batch_size = 16;
  options.workers = 1;
  options.optimizer.lr = 3e-3;
  options.progress = false;
  options.config = {{"test", 1}};
  return options;
}

TEST(Trainer, LearnsAndLogsEveryEpoch) {
  TrainerOptions options = MakeOptions("learns");
  absl::StatusOr<TrainResult> result = Train(MakeModel(), MakeData(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->history.size(), 3u);
  EXPECT_LT(result->history[2].train_loss, result->history[0].train_loss);
  EXPECT_GT(result->test.accuracy, 0.6);  // Chance is 1/3.
  EXPECT_EQ(result->test.count, 30);
  EXPECT_EQ(result->test.confusion.total(), 30);
  EXPECT_EQ(result->stop_reason, "completed 3 epochs");
  absl::StatusOr<std::string> metrics = ReadFile(options.run_dir + "/metrics.jsonl");
  ASSERT_TRUE(metrics.ok());
  EXPECT_EQ(std::count(metrics->begin(), metrics->end(), '\n'), 3);
  EXPECT_TRUE(std::filesystem::exists(options.run_dir + "/checkpoint.pt"));
}

TEST(Trainer, ResumingGivesTheSameNumbersAsOneRun) {
  TrainerOptions whole = MakeOptions("whole");
  absl::StatusOr<TrainResult> uninterrupted = Train(MakeModel(), MakeData(), whole);
  ASSERT_TRUE(uninterrupted.ok()) << uninterrupted.status();

  TrainerOptions first = MakeOptions("parts");
  first.epochs = 2;
  ASSERT_TRUE(Train(MakeModel(), MakeData(), first).ok());
  TrainerOptions rest = first;
  rest.epochs = 3;
  rest.resume = true;
  absl::StatusOr<TrainResult> resumed = Train(MakeModel(), MakeData(), rest);
  ASSERT_TRUE(resumed.ok()) << resumed.status();
  EXPECT_EQ(resumed->resumed_after_epoch, 2);
  ASSERT_EQ(resumed->history.size(), 3u);
  for (size_t e = 0; e < 3; ++e) {
    EXPECT_EQ(resumed->history[e].train_loss, uninterrupted->history[e].train_loss) << e;
    EXPECT_EQ(resumed->history[e].val_acc, uninterrupted->history[e].val_acc) << e;
  }
  EXPECT_EQ(resumed->test.loss, uninterrupted->test.loss);
  EXPECT_EQ(resumed->best_epoch, uninterrupted->best_epoch);
}

TEST(Trainer, ResumeChecksTheCheckpoint) {
  TrainerOptions options = MakeOptions("resume_errors");
  options.resume = true;
  options.epochs = 1;
  // No checkpoint yet (killed before the first epoch ended): starts from the beginning.
  absl::StatusOr<TrainResult> fresh = Train(MakeModel(), MakeData(), options);
  ASSERT_TRUE(fresh.ok()) << fresh.status();
  EXPECT_EQ(fresh->resumed_after_epoch, 0);
  const std::string checkpoint = options.run_dir + "/checkpoint.pt";
  ASSERT_TRUE(WriteFileAtomically(checkpoint + ".bak", *ReadFile(checkpoint)).ok());
  ASSERT_TRUE(WriteFileAtomically(checkpoint, "garbage").ok());
  EXPECT_EQ(Train(MakeModel(), MakeData(), options).status().code(), absl::StatusCode::kDataLoss);
  std::filesystem::rename(checkpoint + ".bak", checkpoint);
  options.config = {{"test", 2}};
  absl::Status mismatch = Train(MakeModel(), MakeData(), options).status();
  EXPECT_EQ(mismatch.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(mismatch.message()), HasSubstr("test differs"));
}

TEST(Trainer, NonFiniteLossStopsCleanly) {
  TrainerOptions options = MakeOptions("nan");
  absl::StatusOr<TrainResult> result = Train(MakeModel(), MakeData(/*poison=*/true), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->diverged);
  EXPECT_THAT(result->stop_reason, HasSubstr("non-finite training loss (nan) at epoch 1, step 1"));
  ASSERT_EQ(result->history.size(), 1u);
  EXPECT_TRUE(std::isnan(result->history[0].train_loss));
  EXPECT_TRUE(std::isnan(result->test.accuracy));
  EXPECT_EQ(result->best_epoch, 0);
  absl::StatusOr<std::string> metrics = ReadFile(options.run_dir + "/metrics.jsonl");
  ASSERT_TRUE(metrics.ok());
  EXPECT_THAT(*metrics, HasSubstr("\"train_loss\":\"NaN\""));
}

TEST(Trainer, EarlyStoppingKeepsTheBestWeights) {
  TrainerOptions options = MakeOptions("early");
  options.epochs = 30;
  options.patience = 1;
  options.optimizer.lr = 1e-6;  // Too small to improve: stops after the patience.
  absl::StatusOr<TrainResult> result = Train(MakeModel(), MakeData(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_LT(result->history.size(), 30u);
  EXPECT_THAT(result->stop_reason, HasSubstr("early stopping"));
  double best_val_acc = 0;
  for (const EpochRecord& record : result->history) {
    best_val_acc = std::max(best_val_acc, record.val_acc);
  }
  EXPECT_EQ(result->history[result->best_epoch - 1].val_acc, best_val_acc);
}

TEST(Trainer, FrozenBackboneTrainsOnlyTheHead) {
  TrainerOptions options = MakeOptions("frozen");
  options.epochs = 1;
  options.freeze_backbone_epochs = 1;
  Backbone model = MakeModel();
  const at::Tensor conv_before = StateDict(*model).at("conv1.weight").clone();
  const at::Tensor fc_before = StateDict(*model).at("fc.weight").clone();
  ASSERT_TRUE(Train(model, MakeData(), options).ok());
  EXPECT_TRUE(StateDict(*model).at("conv1.weight").equal(conv_before));
  EXPECT_FALSE(StateDict(*model).at("fc.weight").equal(fc_before));
}

TEST(Trainer, RejectsBadOptions) {
  TrainerOptions options = MakeOptions("bad");
  options.batch_size = 0;
  EXPECT_FALSE(Train(MakeModel(), MakeData(), options).ok());
  options = MakeOptions("bad");
  EXPECT_THAT(std::string(ValidateTrainerOptions(options, /*world_size=*/3).message()),
              HasSubstr("does not divide among 3 ranks"));
  options.optimizer.name = "adagrad";
  EXPECT_FALSE(ValidateTrainerOptions(options).ok());
  options = MakeOptions("bad");
  options.run_dir = "";
  EXPECT_FALSE(ValidateTrainerOptions(options).ok());
}

TEST(EpochRecord, RoundTripsThroughJsonWithNaN) {
  EpochRecord record;
  record.epoch = 4;
  record.train_loss = NAN;
  record.val_acc = 0.5;
  absl::StatusOr<EpochRecord> copy = EpochRecord::FromJson(record.ToJson());
  ASSERT_TRUE(copy.ok());
  EXPECT_TRUE(std::isnan(copy->train_loss));
  EXPECT_EQ(copy->val_acc, 0.5);
  EXPECT_FALSE(EpochRecord::FromJson(nlohmann::json{{"epoch", 1}}).ok());
}

}  // namespace
}  // namespace fauna
