#include "train/autoencoder_svm.h"

#include <filesystem>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/metrics_sink.h"
#include "core/test_tmp.h"
#include "data/dataset.h"
#include "models/autoencoder.h"
#include "models/state_dict.h"

namespace fauna {
namespace {

using ::testing::UnorderedElementsAre;
using ::testing::HasSubstr;

// 96 synthetic images of 16 px (76 / 10 / 10), each stage two epochs of a small network.
Dataset TinyData() {
  DatasetOptions options;
  options.synthetic_count = 96;
  options.image_size = 16;
  options.normalization = "unit";
  options.cache_dir = TestTempPath("cache");
  options.threads = 1;
  absl::StatusOr<Dataset> data = OpenDataset(options, "");
  EXPECT_TRUE(data.ok()) << data.status();
  return *std::move(data);
}

AutoencoderSvmOptions TinyOptions(const std::string& run_dir) {
  AutoencoderSvmOptions options;
  options.model = ConvAutoencoderOptions().image_size(16).channels({8, 16}).latent_dim(12);
  options.pretrain_epochs = 2;
  options.finetune_epochs = 2;
  options.pretrain_batch_size = 16;
  options.batch_size = 32;
  options.lr = 3e-3;
  options.pretrain_lr = 3e-3;
  options.workers = 1;
  options.progress = false;
  options.seed = 5;
  options.run_dir = TestTempPath(run_dir);
  std::filesystem::create_directories(options.run_dir);
  options.config = {{"test", "tiny"}};
  return options;
}

std::vector<double> Losses(const std::vector<nlohmann::json>& history, const std::string& stage) {
  std::vector<double> losses;
  for (const nlohmann::json& line : history) {
    if (line.at("stage") == stage) losses.push_back(line.at("loss").get<double>());
  }
  return losses;
}

TEST(AutoencoderSvm, PretrainedWeightsLoadWithOnlyTheFcKeysMissing) {
  const ConvAutoencoderOptions full_options =
      ConvAutoencoderOptions().image_size(16).channels({8, 16}).latent_dim(12);
  ConvAutoencoder pretrained(ConvAutoencoderOptions(full_options).latent_dim(0));
  ConvAutoencoder full(full_options);
  absl::StatusOr<LoadReport> report = LoadPretrainedAutoencoder(*full, StateDict(*pretrained));
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_THAT(report->missing, UnorderedElementsAre("encoder.fc.weight", "encoder.fc.bias",
                                                    "decoder.fc.weight", "decoder.fc.bias"));
  EXPECT_TRUE(report->unexpected.empty());
  EXPECT_EQ(report->loaded.size(), StateDict(*pretrained).size());
  EXPECT_TRUE(StateDict(*full).at("encoder.conv.0.weight")
                  .equal(StateDict(*pretrained).at("encoder.conv.0.weight")));

  // Weights of another network are refused, naming the keys.
  ConvAutoencoder wider(ConvAutoencoderOptions(full_options).latent_dim(0).width(2));
  EXPECT_FALSE(LoadPretrainedAutoencoder(*full, StateDict(*wider)).ok());
  NamedTensors partial = StateDict(*pretrained);
  partial.erase("decoder.deconv.0.weight");
  absl::StatusOr<LoadReport> missing = LoadPretrainedAutoencoder(*full, partial);
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("decoder.deconv.0.weight"));
}

TEST(AutoencoderSvm, RunsTheFourStagesAndTheLossDecreases) {
  const Dataset data = TinyData();
  AutoencoderSvmOptions options = TinyOptions("run_full");
  options.pretrain_epochs = 4;
  options.epoch_svm = true;
  absl::StatusOr<AutoencoderSvmResult> result = TrainAutoencoderSvm(data, data.train, options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_TRUE(result->finished);
  const std::vector<double> pretrain = Losses(result->history, "pretrain");
  const std::vector<double> finetune = Losses(result->history, "finetune");
  ASSERT_EQ(pretrain.size(), 4u);
  ASSERT_EQ(finetune.size(), 2u);
  EXPECT_LT(pretrain.back(), pretrain.front());
  EXPECT_LT(finetune.back(), pretrain.front());
  EXPECT_EQ(result->pretrain_loss, pretrain.back());
  EXPECT_EQ(result->finetune_loss, finetune.back());
  EXPECT_TRUE(result->history.back().contains("svm_val_acc"));
  EXPECT_EQ(result->transfer["new"].size(), 4u);
  EXPECT_EQ(result->train_count, data.train.size);
  EXPECT_EQ(result->test_count, data.test.size);
  for (const double accuracy : {result->train_acc, result->val_acc, result->test_acc}) {
    EXPECT_GE(accuracy, 0);
    EXPECT_LE(accuracy, 1);
  }
  EXPECT_EQ(result->svm["code_dim"], 12);
  for (const char* file : {"pretrain.safetensors", "autoencoder.safetensors", "svm.safetensors",
                           "codes/train.safetensors", "codes/test.safetensors", "stages.json",
                           "checkpoint_pretrain.pt", "checkpoint_finetune.pt"}) {
    EXPECT_TRUE(std::filesystem::exists(options.run_dir + "/" + file)) << file;
  }
  absl::StatusOr<std::vector<nlohmann::json>> lines =
      ReadJsonLines(options.run_dir + "/metrics.jsonl");
  ASSERT_TRUE(lines.ok()) << lines.status();
  ASSERT_EQ(lines->size(), 7u);  // 4 + 2 epochs and the SVM's line.
  EXPECT_EQ(lines->back()["test_acc"], result->test_acc);
}

// A run stopped after `stop_after` training epochs (as a kill there would), then resumed until it
// ends (stopping again at each further stop), gives an uninterrupted run's numbers exactly.
TEST(AutoencoderSvm, InterruptedRunsResumeToTheSameNumbers) {
  const Dataset data = TinyData();
  AutoencoderSvmOptions straight = TinyOptions("run_straight");
  absl::StatusOr<AutoencoderSvmResult> expected = TrainAutoencoderSvm(data, data.train, straight);
  ASSERT_TRUE(expected.ok()) << expected.status();

  for (const int stop_after : {1, 2, 3}) {
    SCOPED_TRACE(stop_after);
    AutoencoderSvmOptions options = TinyOptions("run_stopped_" + std::to_string(stop_after));
    int epochs = 0;
    options.keep_going = [&epochs, stop_after](const nlohmann::json&) {
      return ++epochs != stop_after;
    };
    absl::StatusOr<AutoencoderSvmResult> first = TrainAutoencoderSvm(data, data.train, options);
    ASSERT_TRUE(first.ok()) << first.status();
    EXPECT_FALSE(first->finished);
    EXPECT_EQ(first->stop_reason, "stopped by the caller");
    options.resume = true;
    options.keep_going = nullptr;
    absl::StatusOr<AutoencoderSvmResult> resumed = TrainAutoencoderSvm(data, data.train, options);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    EXPECT_TRUE(resumed->finished);
    EXPECT_EQ(resumed->resumed_after, stop_after);
    EXPECT_EQ(Losses(resumed->history, "pretrain"), Losses(expected->history, "pretrain"));
    EXPECT_EQ(Losses(resumed->history, "finetune"), Losses(expected->history, "finetune"));
    EXPECT_EQ(resumed->train_acc, expected->train_acc);
    EXPECT_EQ(resumed->val_acc, expected->val_acc);
    EXPECT_EQ(resumed->test_acc, expected->test_acc);
  }
  // A finished run resumed trains nothing and gives its numbers again.
  straight.resume = true;
  absl::StatusOr<AutoencoderSvmResult> again = TrainAutoencoderSvm(data, data.train, straight);
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->resumed_after, 4);
  EXPECT_EQ(again->test_acc, expected->test_acc);
  // Another configuration is refused on resume.
  straight.config = {{"test", "other"}};
  EXPECT_THAT(std::string(TrainAutoencoderSvm(data, data.train, straight).status().message()),
              HasSubstr("another configuration"));
}

TEST(AutoencoderSvm, BadOptionsAndDataAreRefused) {
  const Dataset data = TinyData();
  const auto refused = [&data](const AutoencoderSvmOptions& options, const std::string& what) {
    absl::StatusOr<AutoencoderSvmResult> result = TrainAutoencoderSvm(data, data.train, options);
    ASSERT_FALSE(result.ok()) << what;
    EXPECT_THAT(std::string(result.status().message()), HasSubstr(what));
  };
  AutoencoderSvmOptions options = TinyOptions("run_bad");
  options.lr = -1;
  refused(options, "lr");
  options = TinyOptions("run_bad");
  options.beta1 = 1;
  refused(options, "beta1");
  options = TinyOptions("run_bad");
  options.pretrain_epochs = -1;
  refused(options, "pretrain_epochs");
  options = TinyOptions("run_bad");
  options.model.latent_dim(0);
  refused(options, "latent_dim");
  options = TinyOptions("run_bad");
  options.svm.gamma = "wide";
  refused(options, "gamma");
  options = TinyOptions("run_bad");
  options.run_dir = TestTempPath("no_such_folder");
  refused(options, "is not a folder");
  options = TinyOptions("run_bad");
  options.model.image_size(32);
  refused(options, "the autoencoder takes 3x32x32");
  EXPECT_FALSE(ParsePretrainParts("some").ok());
  EXPECT_EQ(*ParsePretrainParts("train"), PretrainParts::kTrain);
}

}  // namespace
}  // namespace fauna
