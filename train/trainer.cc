#include "train/trainer.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include <ATen/ATen.h>
#include <c10/core/GradMode.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "core/atomic_file.h"
#include "core/metrics_sink.h"
#include "core/progress.h"
#include "core/seed.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "core/torch_status.h"
#include "models/state_dict.h"
#include "train/checkpoint.h"
#include "train/early_stopping.h"

namespace fauna {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// The stream of DeriveSeed(seed, epoch, .) that seeds dropout, one per rank.
constexpr uint64_t kDropoutStream = uint64_t{1} << 40;

std::string Format(const char* format, double value) {
  char text[64];
  std::snprintf(text, sizeof(text), format, value);
  return text;
}

// The first key whose value differs between two configurations, or "".
std::string FirstDifference(const nlohmann::json& a, const nlohmann::json& b) {
  for (const auto& [key, value] : a.items()) {
    if (!b.contains(key) || b.at(key) != value) return key;
  }
  for (const auto& [key, value] : b.items()) {
    if (!a.contains(key)) return key;
  }
  return "";
}

NamedTensors CloneState(const torch::nn::Module& module) {
  NamedTensors copy;
  for (const auto& [name, tensor] : StateDict(module)) copy[name] = tensor.detach().clone();
  return copy;
}

// The forward pass of a training step. LibTorch's batch norm refuses a batch with one value per
// channel (one image whose maps have shrunk to 1x1, or batch norm over vectors): that becomes an
// error naming the batch size instead of a LibTorch exception.
absl::StatusOr<at::Tensor> TrainingForward(Backbone& model, const at::Tensor& images) {
  absl::StatusOr<at::Tensor> logits =
      GuardTorch("training step", [&] { return model->forward(images); });
  if (!logits.ok() && absl::StrContains(logits.status().message(),
                                        "Expected more than 1 value per channel when training")) {
    return absl::InvalidArgumentError(absl::StrCat(
        "batches of ", images.size(0), " image(s) per rank are too few for this model's batch "
        "norm in training (", logits.status().message(), "): use a larger --batch_size"));
  }
  return logits;
}

}  // namespace

nlohmann::json EpochRecord::ToJson() const {
  return ReplaceNonFinite({{"epoch", epoch},
                           {"lr", lr},
                           {"train_loss", train_loss},
                           {"train_acc", train_acc},
                           {"val_loss", val_loss},
                           {"val_acc", val_acc},
                           {"seconds", seconds},
                           {"images_per_s", images_per_s}});
}

absl::StatusOr<EpochRecord> EpochRecord::FromJson(const nlohmann::json& json) {
  EpochRecord record;
  for (const char* key : {"epoch", "lr", "train_loss", "train_acc", "val_loss", "val_acc",
                          "seconds", "images_per_s"}) {
    if (!json.is_object() || !json.contains(key)) {
      return absl::InvalidArgumentError(std::string("bad epoch record: no ") + key);
    }
  }
  ASSIGN_OR_RETURN(const double epoch, NumberFromJson(json.at("epoch")));
  record.epoch = static_cast<int64_t>(epoch);
  ASSIGN_OR_RETURN(record.lr, NumberFromJson(json.at("lr")));
  ASSIGN_OR_RETURN(record.train_loss, NumberFromJson(json.at("train_loss")));
  ASSIGN_OR_RETURN(record.train_acc, NumberFromJson(json.at("train_acc")));
  ASSIGN_OR_RETURN(record.val_loss, NumberFromJson(json.at("val_loss")));
  ASSIGN_OR_RETURN(record.val_acc, NumberFromJson(json.at("val_acc")));
  ASSIGN_OR_RETURN(record.seconds, NumberFromJson(json.at("seconds")));
  ASSIGN_OR_RETURN(record.images_per_s, NumberFromJson(json.at("images_per_s")));
  return record;
}

int64_t TrainImagesLeftOutPerEpoch(int64_t train_size, int64_t batch_size, int world_size) {
  const int64_t per_rank = train_size / world_size;
  const int64_t rank_batch = batch_size / world_size;
  if (rank_batch < 1) return 0;  // Refused by ValidateTrainerOptions.
  const bool drops_short_batch = per_rank >= rank_batch || per_rank == 1;
  return drops_short_batch ? per_rank % rank_batch * world_size : 0;
}

absl::Status ValidateTrainerOptions(const TrainerOptions& options, int world_size) {
  if (options.epochs < 1) return absl::InvalidArgumentError("--epochs must be >= 1");
  if (options.patience < 0) return absl::InvalidArgumentError("--patience must be >= 0");
  if (options.batch_size < 1) return absl::InvalidArgumentError("--batch_size must be >= 1");
  if (options.batch_size % world_size != 0) {
    return absl::InvalidArgumentError("--batch_size=" + std::to_string(options.batch_size) +
                                      " does not divide among " + std::to_string(world_size) +
                                      " ranks");
  }
  if (options.workers < 0) return absl::InvalidArgumentError("--workers must be >= 0");
  if (options.freeze_backbone_epochs < 0) {
    return absl::InvalidArgumentError("--freeze_backbone_epochs must be >= 0");
  }
  if (options.run_dir.empty()) return absl::InvalidArgumentError("no run folder given");
  RETURN_IF_ERROR(ValidateOptimizerConfig(options.optimizer));
  LrSchedule schedule = options.schedule;
  schedule.base_lr = options.optimizer.lr;
  schedule.epochs = options.epochs;
  schedule.steps_per_epoch = 1;  // Train sets the loader's count; any positive one checks alike.
  return ValidateLrSchedule(schedule);
}

absl::StatusOr<Evaluation> Evaluate(Backbone model, const DataPart& part,
                                    const std::vector<std::string>& class_names,
                                    int64_t batch_size, int workers, c10::Device device,
                                    DistributedContext* distributed) {
  const int world = distributed != nullptr ? distributed->world_size() : 1;
  const int rank = distributed != nullptr ? distributed->rank() : 0;
  std::vector<int64_t> mine;
  for (int64_t i = rank; i < part.size; i += world) mine.push_back(i);
  double loss_sum = 0;
  ConfusionMatrix confusion(class_names);
  if (!mine.empty()) {
    LoaderOptions loader_options;
    loader_options.batch_size = batch_size;
    loader_options.workers = workers;
    loader_options.shuffle = false;
    Loader loader(static_cast<int64_t>(mine.size()), part.image_shape,
                  [&part, mine](int64_t index, int64_t epoch, const at::Tensor& image) {
                    return part.write_example(mine[index], epoch, image);
                  },
                  loader_options);
    RETURN_IF_ERROR(loader.StartEpoch(0));
    model->eval();
    c10::NoGradGuard no_grad;
    while (true) {
      ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
      if (!batch) break;
      const at::Tensor logits = model->forward(batch->images.to(device));
      loss_sum += at::cross_entropy_loss(logits, batch->labels.to(device), /*weight=*/{},
                                         at::Reduction::Sum)
                      .item<double>();
      RETURN_IF_ERROR(confusion.Add(batch->labels, logits.argmax(1)));
    }
  }
  std::vector<double> sums = confusion.AsVector();
  sums.push_back(loss_sum);
  if (distributed != nullptr) RETURN_IF_ERROR(distributed->AllReduceSum(sums));
  const double total_loss = sums.back();
  sums.pop_back();
  Evaluation evaluation;
  ASSIGN_OR_RETURN(evaluation.confusion, ConfusionMatrix::FromVector(class_names, sums));
  evaluation.count = evaluation.confusion.total();
  evaluation.loss = evaluation.count > 0 ? total_loss / evaluation.count : kNaN;
  evaluation.accuracy = evaluation.count > 0 ? evaluation.confusion.accuracy() : kNaN;
  return evaluation;
}

absl::StatusOr<TrainResult> Train(Backbone model, const Dataset& data,
                                  const TrainerOptions& options,
                                  DistributedContext* distributed) {
  const auto start = std::chrono::steady_clock::now();
  const int world = distributed != nullptr ? distributed->world_size() : 1;
  const int rank = distributed != nullptr ? distributed->rank() : 0;
  const bool primary = rank == 0;
  RETURN_IF_ERROR(ValidateTrainerOptions(options, world));
  const std::string head = model->head_name();
  if (options.freeze_backbone_epochs > 0 && head.empty()) {
    return absl::InvalidArgumentError("--freeze_backbone_epochs needs a model with a head");
  }
  model->to(options.device);
  ASSIGN_OR_RETURN(std::unique_ptr<torch::optim::Optimizer> optimizer,
                   MakeOptimizer(model->parameters(), options.optimizer));
  LrSchedule schedule = options.schedule;
  schedule.base_lr = options.optimizer.lr;

  TrainResult result;
  EarlyStopping stopping(options.patience);
  NamedTensors best;
  int64_t first_epoch = 1;
  int64_t step = 0;
  const std::string checkpoint_path = options.run_dir + "/checkpoint.pt";
  const std::string metrics_path = options.run_dir + "/metrics.jsonl";
  bool resume = options.resume;
  if (resume && !std::filesystem::exists(checkpoint_path)) {  // Killed before its first epoch.
    if (primary) {
      std::fprintf(stderr, "no checkpoint at %s yet: starting from the beginning\n",
                   checkpoint_path.c_str());
    }
    resume = false;
  }
  if (resume) {
    ASSIGN_OR_RETURN(CheckpointExtras extras,
                     LoadCheckpoint(checkpoint_path, *model, *optimizer));
    const nlohmann::json& meta = extras.meta;
    if (meta.value("config", nlohmann::json()) != options.config) {
      return absl::FailedPreconditionError(
          checkpoint_path + " belongs to a run with another configuration (" +
          FirstDifference(meta.value("config", nlohmann::json::object()), options.config) +
          " differs); start a new run, or resume with the same flags");
    }
    ASSIGN_OR_RETURN(stopping, EarlyStopping::FromJson(meta.at("early_stopping")));
    for (const nlohmann::json& record : meta.at("history")) {
      ASSIGN_OR_RETURN(EpochRecord epoch_record, EpochRecord::FromJson(record));
      result.history.push_back(epoch_record);
    }
    first_epoch = meta.at("epoch").get<int64_t>() + 1;
    step = meta.at("step").get<int64_t>();
    best = std::move(extras.best_weights);
    result.resumed_after_epoch = first_epoch - 1;
    if (primary) {  // Epochs logged after the checkpoint are done again: drop their lines.
      std::string lines;
      for (const EpochRecord& record : result.history) lines += record.ToJson().dump() + "\n";
      RETURN_IF_ERROR(WriteFileAtomically(metrics_path, lines));
      std::fprintf(stderr, "resuming after epoch %lld of %s\n",
                   static_cast<long long>(first_epoch - 1), checkpoint_path.c_str());
    }
  } else {
    if (distributed != nullptr) RETURN_IF_ERROR(distributed->BroadcastParameters(*model));
    if (primary) RETURN_IF_ERROR(WriteFileAtomically(metrics_path, ""));
  }
  std::optional<MetricsSink> metrics;
  if (primary) {
    ASSIGN_OR_RETURN(MetricsSink sink, MetricsSink::Open(metrics_path));
    metrics.emplace(std::move(sink));
  }

  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size / world;
  loader_options.workers = options.workers;
  loader_options.seed = options.seed;
  loader_options.rank = rank;
  loader_options.world_size = world;
  loader_options.strict = options.strict;
  loader_options.drop_last =
      TrainImagesLeftOutPerEpoch(data.train.size, options.batch_size, world) > 0;
  RETURN_IF_ERROR(
      Annotate(ValidateLoaderOptions(loader_options, data.train.size), "the train part"));
  Loader loader(data.train.size, data.train.image_shape, data.train.write_example,
                loader_options);
  schedule.epochs = options.epochs;

  double train_seconds = 0;
  int64_t train_images = 0;
  int64_t epoch = first_epoch;
  for (; epoch <= options.epochs && !stopping.ShouldStop(); ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    at::manual_seed(DeriveSeed(options.seed, epoch, kDropoutStream + rank));
    const bool frozen = epoch <= options.freeze_backbone_epochs;
    for (auto& item : model->named_parameters()) {
      item.value().set_requires_grad(!frozen || item.key().rfind(head + ".", 0) == 0);
    }
    model->train();
    RETURN_IF_ERROR(loader.StartEpoch(epoch));
    schedule.steps_per_epoch = loader.batches_per_epoch();  // The same every epoch.
    EpochRecord record;
    record.epoch = epoch;
    record.lr = LearningRateAt(schedule, epoch - 1, step);
    std::optional<ProgressBar> progress;
    if (primary && options.progress) {
      ProgressOptions progress_options;
      progress_options.label = "epoch " + std::to_string(epoch) + "/" +
                               std::to_string(options.epochs) + (frozen ? " (head only)" : "");
      progress_options.total = loader.batches_per_epoch() * options.batch_size;
      progress_options.unit = "img";
      progress.emplace(std::move(progress_options));
    }
    double loss_sum = 0;
    double correct = 0;
    double seen = 0;
    while (true) {
      ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
      if (!batch) break;
      SetLearningRate(*optimizer, LearningRateAt(schedule, epoch - 1, step));
      optimizer->zero_grad();
      const at::Tensor labels = batch->labels.to(options.device);
      ASSIGN_OR_RETURN(const at::Tensor logits,
                       TrainingForward(model, batch->images.to(options.device)));
      const at::Tensor loss = at::cross_entropy_loss(logits, labels);
      const double n = static_cast<double>(labels.size(0));
      std::vector<double> sums = {loss.item<double>() * n,
                                  static_cast<double>(logits.argmax(1).eq(labels).sum()
                                                          .item<int64_t>()),
                                  n};
      if (distributed != nullptr) RETURN_IF_ERROR(distributed->AllReduceSum(sums));
      if (!std::isfinite(sums[0])) {  // Every rank sees the same sums, so all stop together.
        result.diverged = true;
        result.stop_reason = "non-finite training loss (" + Format("%g", sums[0] / sums[2]) +
                             ") at epoch " + std::to_string(epoch) + ", step " +
                             std::to_string(step + 1);
        loss_sum = kNaN;
        break;
      }
      loss.backward();
      if (distributed != nullptr) RETURN_IF_ERROR(distributed->AllReduceGradients(*model));
      optimizer->step();
      ++step;
      loss_sum += sums[0];
      correct += sums[1];
      seen += sums[2];
      if (progress) {
        progress->Update(static_cast<int64_t>(seen),
                         {{"loss", loss_sum / seen}, {"acc", correct / seen}});
      }
    }
    const double epoch_train_seconds = SecondsSince(epoch_start);
    if (progress) progress->Finish();
    train_seconds += epoch_train_seconds;
    train_images += static_cast<int64_t>(seen);
    record.train_loss = seen > 0 ? loss_sum / seen : kNaN;
    record.train_acc = seen > 0 ? correct / seen : kNaN;
    record.images_per_s = epoch_train_seconds > 0 ? seen / epoch_train_seconds : 0;
    if (result.diverged) {
      record.val_loss = record.val_acc = kNaN;
      record.seconds = SecondsSince(epoch_start);
      result.history.push_back(record);
      if (metrics) RETURN_IF_ERROR(metrics->Write(record.ToJson()));
      if (primary) std::fprintf(stderr, "stopping: %s\n", result.stop_reason.c_str());
      break;
    }
    // Each rank's batch-norm statistics saw only its part of every batch: take rank 0's, so that
    // every rank evaluates, keeps as best and checkpoints one and the same model.
    if (distributed != nullptr) RETURN_IF_ERROR(distributed->BroadcastBuffers(*model));
    ASSIGN_OR_RETURN(Evaluation val, Evaluate(model, data.val, data.class_names, options.batch_size,
                                              options.workers, options.device, distributed));
    record.val_loss = val.loss;
    record.val_acc = val.accuracy;
    record.seconds = SecondsSince(epoch_start);
    result.history.push_back(record);
    const bool improved = stopping.Update(epoch, val.accuracy);
    if (improved) best = CloneState(*model);
    if (primary) {  // The checkpoint first: a logged epoch always has one.
      nlohmann::json history = nlohmann::json::array();
      for (const EpochRecord& done : result.history) history.push_back(done.ToJson());
      const nlohmann::json meta = {{"epoch", epoch},
                                   {"step", step},
                                   {"early_stopping", stopping.ToJson()},
                                   {"history", std::move(history)},
                                   {"config", options.config}};
      RETURN_IF_ERROR(SaveCheckpoint(checkpoint_path, *model, *optimizer, {best, meta}));
      RETURN_IF_ERROR(metrics->Write(record.ToJson()));
      std::fprintf(stderr,
                   "epoch %lld/%lld%s: train loss %.4f acc %.4f, val loss %.4f acc %.4f, "
                   "lr %.3g, %.0f img/s, %.1f s%s\n",
                   static_cast<long long>(epoch), static_cast<long long>(options.epochs),
                   frozen ? " (head only)" : "", record.train_loss, record.train_acc,
                   record.val_loss, record.val_acc, record.lr, record.images_per_s,
                   record.seconds, improved ? " (best)" : "");
    }
  }
  if (result.stop_reason.empty()) {
    if (stopping.ShouldStop()) {
      result.stop_reason = "early stopping: no better validation accuracy in the " +
                           std::to_string(options.patience) + " epochs after epoch " +
                           std::to_string(stopping.best_epoch());
    } else {
      result.stop_reason = "completed " + std::to_string(options.epochs) + " epochs";
    }
  }

  result.best_epoch = stopping.best_epoch();
  if (!best.empty()) {
    RETURN_IF_ERROR(LoadStateDict(*model, best).status());
    ASSIGN_OR_RETURN(result.test, Evaluate(model, data.test, data.class_names, options.batch_size,
                                           options.workers, options.device, distributed));
  } else {
    result.test.loss = result.test.accuracy = kNaN;
    result.test.confusion = ConfusionMatrix(data.class_names);
  }
  result.skipped = loader.skipped();
  result.wall_seconds = SecondsSince(start);
  result.train_images_per_s = train_seconds > 0 ? train_images / train_seconds : 0;
  return result;
}

}  // namespace fauna
