#include "train/trainer.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/seed.h"
#include "core/test_tmp.h"
#include "core/named_tensors.h"
#include "core/status.h"
#include "models/registry.h"
#include "models/state_dict.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

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

Dataset MakeData(bool poison = false) {
  Dataset data;
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

TEST(TrainImagesLeftOutPerEpoch, AShortLastBatchWheneverThereIsAFullOne) {
  EXPECT_EQ(TrainImagesLeftOutPerEpoch(53330, 16), 2);  // The Fashion-MNIST case.
  EXPECT_EQ(TrainImagesLeftOutPerEpoch(50, 16), 2);
  EXPECT_EQ(TrainImagesLeftOutPerEpoch(16, 16), 0);
  EXPECT_EQ(TrainImagesLeftOutPerEpoch(15, 16), 0);  // Smaller than a batch: trained on whole.
  EXPECT_EQ(TrainImagesLeftOutPerEpoch(1, 16), 1);   // A lone image breaks batch norm.
  EXPECT_EQ(TrainImagesLeftOutPerEpoch(50, 16, 2), 2);  // 25 a rank in batches of 8: 1 each.
}

TEST(Trainer, TrainsOnFullBatchesOnly) {
  Dataset data = MakeData();
  data.train = MakePart(16 * 3 + 2, 1);
  const auto built = std::make_shared<std::atomic<int64_t>>(0);
  const ExampleWriter write = data.train.write_example;
  data.train.write_example = [built, write](int64_t index, int64_t epoch,
                                            const at::Tensor& image) {
    built->fetch_add(1);
    return write(index, epoch, image);
  };
  TrainerOptions options = MakeOptions("full_batches");
  options.epochs = 2;
  absl::StatusOr<TrainResult> result = Train(MakeModel(), data, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(built->load(), 2 * 16 * 3);  // The 2 images over 3 batches wait for another epoch.
}

TEST(Trainer, ALoneTrainImageIsAnErrorNotAnEmptyEpoch) {
  Dataset data = MakeData();
  data.train = MakePart(1, 1);
  absl::StatusOr<TrainResult> result = Train(MakeModel(), data, MakeOptions("lone_image"));
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("the train part: every epoch would be empty"));
}

TEST(Trainer, BatchNormOverOneValuePerChannelIsAClearError) {
  // ResNet-18 shrinks 16 px images to 1x1 maps: one image is one value per channel.
  TrainerOptions options = MakeOptions("batch_of_one");
  options.batch_size = 1;
  options.epochs = 1;
  absl::StatusOr<TrainResult> result = Train(MakeModel(), MakeData(), options);
  EXPECT_EQ(result.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(result.status().message()),
              HasSubstr("batches of 1 image(s) per rank are too few for this model's batch "
                        "norm in training (training step: Expected more than 1 value per channel"));
  // A model without batch norm trains on batches of one.
  ModelConfig config;
  config.num_classes = kClasses;
  config.width = 1.0 / 16;
  absl::StatusOr<Backbone> plain = CreateModel("endangered_baseline", config);
  ASSERT_TRUE(plain.ok()) << plain.status();
  Dataset data = MakeData();
  data.train = MakePart(8, 1);
  options.run_dir = TestTempPath("batch_of_one_plain");
  std::filesystem::create_directories(options.run_dir);
  absl::StatusOr<TrainResult> trained = Train(*plain, data, options);
  EXPECT_TRUE(trained.ok()) << trained.status();
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

// The weights of the last epoch of the run in `run_dir` (the model of its checkpoint) and the
// best-on-validation ones kept beside them.
struct CheckpointWeights {
  NamedTensors last;
  NamedTensors best;
};

absl::StatusOr<CheckpointWeights> ReadCheckpointWeights(const std::string& run_dir,
                                                        const TrainerOptions& options) {
  Backbone model = MakeModel();
  ASSIGN_OR_RETURN(std::unique_ptr<torch::optim::Optimizer> optimizer,
                   MakeOptimizer(model->parameters(), options.optimizer));
  ASSIGN_OR_RETURN(CheckpointExtras extras,
                   LoadCheckpoint(run_dir + "/checkpoint.pt", *model, *optimizer));
  return CheckpointWeights{StateDict(*model), std::move(extras.best_weights)};
}

// The names of the tensors that differ between `a` and `b` (in value or shape), and of those in
// only one of them.
std::vector<std::string> Differences(const NamedTensors& a, const NamedTensors& b) {
  std::vector<std::string> names;
  for (const auto& [name, tensor] : a) {
    const auto other = b.find(name);
    if (other == b.end() || !at::equal(tensor, other->second)) names.push_back(name);
  }
  for (const auto& [name, tensor] : b) {
    if (a.count(name) == 0) names.push_back(name);
  }
  return names;
}

TEST(Trainer, EarlyStoppingKeepsTheBestWeights) {
  TrainerOptions options = MakeOptions("early");
  options.epochs = 30;
  options.patience = 1;
  options.optimizer.lr = 1e-6;  // Too small to learn: stops on the first epoch that is no better.
  Backbone model = MakeModel();
  absl::StatusOr<TrainResult> result = Train(model, MakeData(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_THAT(result->stop_reason, HasSubstr("early stopping"));
  const int64_t last_epoch = static_cast<int64_t>(result->history.size());
  EXPECT_LT(last_epoch, 30);
  // The best epoch is not the last one, so keeping the best weights is something to check.
  ASSERT_GE(result->best_epoch, 1);
  ASSERT_LT(result->best_epoch, last_epoch);
  double best_val_acc = 0;
  for (const EpochRecord& record : result->history) {
    best_val_acc = std::max(best_val_acc, record.val_acc);
  }
  EXPECT_EQ(result->history[result->best_epoch - 1].val_acc, best_val_acc);

  const NamedTensors returned = StateDict(*model);
  absl::StatusOr<CheckpointWeights> checkpoint = ReadCheckpointWeights(options.run_dir, options);
  ASSERT_TRUE(checkpoint.ok()) << checkpoint.status();
  // The model ends holding the best weights, and they are not the last epoch's (whose batch-norm
  // statistics at least moved on).
  EXPECT_THAT(Differences(returned, checkpoint->best), ::testing::IsEmpty());
  EXPECT_THAT(Differences(returned, checkpoint->last), ::testing::Not(::testing::IsEmpty()));

  // Independently of how the trainer keeps them: the same run stopped after the best epoch
  // (training is deterministic) ends its last epoch with exactly those weights.
  TrainerOptions until_best = MakeOptions("early_until_best");
  until_best.epochs = result->best_epoch;
  until_best.patience = options.patience;
  until_best.optimizer = options.optimizer;
  ASSERT_TRUE(Train(MakeModel(), MakeData(), until_best).ok());
  absl::StatusOr<CheckpointWeights> at_best = ReadCheckpointWeights(until_best.run_dir, until_best);
  ASSERT_TRUE(at_best.ok()) << at_best.status();
  EXPECT_THAT(Differences(returned, at_best->last), ::testing::IsEmpty());
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
