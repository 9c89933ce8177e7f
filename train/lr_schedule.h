// The learning rate over a run: constant, step decay (multiplied by `gamma` every `step_epochs`
// epochs: the endangered study halves it every 10) or cosine annealing to 0 over the run,
// optionally after a linear warm-up, and optionally with Keras's per-iteration inverse-time
// `decay` (the AFHQ study's "decay 1e-6") on top.
#ifndef FAUNA_TRAIN_LR_SCHEDULE_H_
#define FAUNA_TRAIN_LR_SCHEDULE_H_

#include <cstdint>

#include <absl/status/status.h>

namespace fauna {

struct LrSchedule {
  double base_lr = 1e-3;
  // 0: no step decay; else the rate is multiplied by `gamma` after every `step_epochs` epochs.
  int64_t step_epochs = 0;
  double gamma = 0.5;
  // Keras's `decay`: the rate is divided by (1 + decay * iterations done).
  double decay = 0.0;
  // Cosine annealing (SGDR without restarts): after the warm-up the rate falls step by step
  // from base_lr to 0 along half a cosine, reaching 0 at the end of epoch `epochs`. Not
  // combined with step decay.
  bool cosine = false;
  // Linear warm-up: over the first `warmup_epochs` epochs the rate climbs step by step from
  // base_lr / (warm-up steps) to base_lr (large rates, or Adam's early steps, then do not blow
  // up a freshly initialised network).
  int64_t warmup_epochs = 0;
  // The run's length, which cosine annealing and warm-up are measured in: set by the trainer.
  int64_t epochs = 0;
  int64_t steps_per_epoch = 0;
};

// OK when base_lr > 0, step_epochs >= 0, gamma in (0, 1], decay >= 0 (all finite), cosine is
// not combined with step decay, warmup_epochs >= 0 and, with cosine or warm-up, epochs and
// steps_per_epoch > 0 and the warm-up shorter than the run.
absl::Status ValidateLrSchedule(const LrSchedule& schedule);

// The rate for a step of epoch `epoch` (0-based) after `iteration` optimiser steps in all:
//   base_lr * gamma^(epoch / step_epochs) * warm-up * cosine / (1 + decay * iteration),
// where warm-up = min(1, (iteration + 1) / W) with W = warmup_epochs * steps_per_epoch, and
// cosine = (1 + cos(pi * (iteration - W) / (epochs * steps_per_epoch - W))) / 2 after it.
//
// Example:
//   LearningRateAt({/*base_lr=*/1e-3, /*step_epochs=*/10}, /*epoch=*/25, /*iteration=*/0)
//   // 2.5e-4
double LearningRateAt(const LrSchedule& schedule, int64_t epoch, int64_t iteration);

}  // namespace fauna

#endif  // FAUNA_TRAIN_LR_SCHEDULE_H_
