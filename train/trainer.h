// The training loop: epochs of minibatch training with Adam or SGD and a learning-rate schedule,
// validation after every epoch, early stopping on validation accuracy, the best-on-validation
// weights kept and evaluated on the test part at the end. Every epoch is appended to
// <run_dir>/metrics.jsonl and checkpointed atomically to <run_dir>/checkpoint.pt, so a run killed
// at any moment resumes (TrainerOptions::resume) and ends with the same numbers as an
// uninterrupted one. A NaN or Inf loss stops the run cleanly. With a DistributedContext of several
// ranks, each trains on its part of every batch and gradients are averaged (data parallelism);
// before every evaluation all ranks take rank 0's buffers (batch norm's running statistics), so
// they validate, keep and save one model, and the reported accuracies are those of the saved
// weights.
#ifndef FAUNA_TRAIN_TRAINER_H_
#define FAUNA_TRAIN_TRAINER_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <absl/status/statusor.h>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "data/loader.h"
#include "eval/confusion_matrix.h"
#include "models/backbone.h"
#include "train/distributed.h"
#include "train/lr_schedule.h"
#include "train/optimizer.h"

namespace fauna {

struct TrainerOptions {
  int64_t epochs = 10;
  // Early stopping: stop after this many epochs without a better validation accuracy (0: never).
  int64_t patience = 0;
  // Images per optimiser step over all ranks (each rank takes batch_size / world_size).
  int64_t batch_size = 64;
  int workers = 2;
  OptimizerConfig optimizer;
  // Its base_lr is optimizer.lr; its epochs and steps_per_epoch are the run's (set by Train).
  LrSchedule schedule;
  // Train only the classification head (ModelConfig's head_name()) for this many first epochs.
  int64_t freeze_backbone_epochs = 0;
  // Where metrics.jsonl and checkpoint.pt go (must exist).
  std::string run_dir;
  // Continue from <run_dir>/checkpoint.pt, which must have been written with the same `config`
  // (without one yet, the run starts from the beginning).
  bool resume = false;
  // A failed item is an error rather than skipped with a warning.
  bool strict = false;
  // Progress bars on stderr.
  bool progress = true;
  uint64_t seed = 0;
  c10::Device device = c10::Device(c10::kCPU);
  // The run's resolved configuration: kept in every checkpoint and compared on resume.
  nlohmann::json config = nlohmann::json::object();
};

// Checks the options (positive epochs and batch size, batch divisible by the world size, ...).
absl::Status ValidateTrainerOptions(const TrainerOptions& options, int world_size = 1);

// The training images each epoch leaves out, over all ranks: each rank's short last batch whenever
// the rank also has a full batch (a part smaller than one batch is kept whole, except a lone image,
// which would leave every epoch empty: Train refuses it). Batch norm in training mode normalises a
// batch by its own statistics; over a few images (two images with 1x1 feature maps make every
// channel +-1) its gradients can grow up to ~1/sqrt(eps) times, and one such step at each epoch's
// end wrecked ResNet-50's weights under SGD (Fashion-MNIST, batch 16, last batch 2: test accuracy
// 0.10 after one epoch, 0.81 without that batch). The order changes every epoch, so no image is
// left out for good. Train drops exactly these; `train` names their number at start.
int64_t TrainImagesLeftOutPerEpoch(int64_t train_size, int64_t batch_size, int world_size = 1);

// One epoch's numbers, as written to metrics.jsonl.
struct EpochRecord {
  int64_t epoch = 0;
  double lr = 0;  // At the epoch's first step.
  double train_loss = 0, train_acc = 0, val_loss = 0, val_acc = 0;
  double seconds = 0;       // Training and validation.
  double images_per_s = 0;  // Training images (all ranks) per second of training.
  nlohmann::json ToJson() const;
  static absl::StatusOr<EpochRecord> FromJson(const nlohmann::json& json);
};

// Loss and accuracy of a model on a data part.
struct Evaluation {
  double loss = 0;
  double accuracy = 0;
  int64_t count = 0;
  // Row = true class, column = prediction.
  ConfusionMatrix confusion = ConfusionMatrix({});
};

struct TrainResult {
  std::vector<EpochRecord> history;
  int64_t best_epoch = 0;  // 0 when no epoch had a finite validation accuracy.
  Evaluation test;         // Of the best weights; NaN loss and accuracy without them.
  // "completed 15 epochs", "early stopping: ...", "non-finite training loss (nan) at ...".
  std::string stop_reason;
  bool diverged = false;
  int64_t resumed_after_epoch = 0;  // 0 for a fresh run.
  double wall_seconds = 0;          // Of this process (not counting a run before a resume).
  double train_images_per_s = 0;    // Over the epochs this process trained.
  SkippedItems skipped;             // Training items skipped on this rank.
};

// Trains `model` (on options.device) on data.train, validating on data.val, and evaluates the
// best weights on data.test; `model` ends holding the best weights. `distributed` may be null
// (one process). Errors: bad options (batches too small for the model's batch norm among them), a
// checkpoint that does not match on resume, an item failure with strict, a failed write, a lost
// peer.
absl::StatusOr<TrainResult> Train(Backbone model, const Dataset& data,
                                  const TrainerOptions& options,
                                  DistributedContext* distributed = nullptr);

// Loss and accuracy of `model` on `part` (eval mode, no gradients). With several ranks each
// evaluates every world_size-th item and the sums are exchanged, so every rank gets the totals.
absl::StatusOr<Evaluation> Evaluate(Backbone model, const DataPart& part,
                                    const std::vector<std::string>& class_names,
                                    int64_t batch_size, int workers, c10::Device device,
                                    DistributedContext* distributed = nullptr);

}  // namespace fauna

#endif  // FAUNA_TRAIN_TRAINER_H_
