// The learning rate over a run: constant, or step decay (multiplied by `gamma` every
// `step_epochs` epochs: the endangered study halves it every 10), optionally with Keras's
// per-iteration inverse-time `decay` (the AFHQ study's "decay 1e-6") on top.
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
};

// OK when base_lr > 0, step_epochs >= 0, gamma in (0, 1] and decay >= 0 (all finite).
absl::Status ValidateLrSchedule(const LrSchedule& schedule);

// The rate for a step of epoch `epoch` (0-based) after `iteration` optimiser steps in all:
//   base_lr * gamma^(epoch / step_epochs) / (1 + decay * iteration).
//
// Example:
//   LearningRateAt({/*base_lr=*/1e-3, /*step_epochs=*/10}, /*epoch=*/25, /*iteration=*/0)
//   // 2.5e-4
double LearningRateAt(const LrSchedule& schedule, int64_t epoch, int64_t iteration);

}  // namespace fauna

#endif  // FAUNA_TRAIN_LR_SCHEDULE_H_
