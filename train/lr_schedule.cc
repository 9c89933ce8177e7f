#include "train/lr_schedule.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace fauna {

absl::Status ValidateLrSchedule(const LrSchedule& schedule) {
  if (!(std::isfinite(schedule.base_lr) && schedule.base_lr > 0)) {
    return absl::InvalidArgumentError("the learning rate must be > 0, not " +
                                      std::to_string(schedule.base_lr));
  }
  if (schedule.step_epochs < 0) {
    return absl::InvalidArgumentError("the step decay period must be >= 0 epochs, not " +
                                      std::to_string(schedule.step_epochs));
  }
  if (!(schedule.gamma > 0 && schedule.gamma <= 1)) {
    return absl::InvalidArgumentError("the step decay factor must be in (0, 1], not " +
                                      std::to_string(schedule.gamma));
  }
  if (!(std::isfinite(schedule.decay) && schedule.decay >= 0)) {
    return absl::InvalidArgumentError("the inverse-time decay must be >= 0, not " +
                                      std::to_string(schedule.decay));
  }
  if (schedule.cosine && schedule.step_epochs > 0) {
    return absl::InvalidArgumentError(
        "cosine annealing and step decay do not combine: choose one (step decay every " +
        std::to_string(schedule.step_epochs) + " epochs was given)");
  }
  if (schedule.warmup_epochs < 0) {
    return absl::InvalidArgumentError("the warm-up must be >= 0 epochs, not " +
                                      std::to_string(schedule.warmup_epochs));
  }
  if (schedule.cosine || schedule.warmup_epochs > 0) {
    if (schedule.epochs <= 0 || schedule.steps_per_epoch <= 0) {
      return absl::InvalidArgumentError(
          "cosine annealing and warm-up need the run's epochs and steps per epoch (> 0)");
    }
    if (schedule.warmup_epochs >= schedule.epochs) {
      return absl::InvalidArgumentError(
          "the warm-up (" + std::to_string(schedule.warmup_epochs) +
          " epochs) must be shorter than the run (" + std::to_string(schedule.epochs) +
          " epochs)");
    }
  }
  return absl::OkStatus();
}

double LearningRateAt(const LrSchedule& schedule, int64_t epoch, int64_t iteration) {
  double lr = schedule.base_lr;
  if (schedule.step_epochs > 0) {
    lr *= std::pow(schedule.gamma, static_cast<double>(epoch / schedule.step_epochs));
  }
  const double warmup_steps =
      static_cast<double>(schedule.warmup_epochs * schedule.steps_per_epoch);
  const double step = static_cast<double>(iteration);
  if (step < warmup_steps) lr *= (step + 1.0) / warmup_steps;
  if (schedule.cosine) {
    const double total = static_cast<double>(schedule.epochs * schedule.steps_per_epoch);
    const double span = total - warmup_steps;  // > 0 once validated; 0 only with no steps.
    const double t = span > 0 ? std::clamp((step - warmup_steps) / span, 0.0, 1.0) : 1.0;
    lr *= 0.5 * (1.0 + std::cos(M_PI * t));
  }
  return lr / (1.0 + schedule.decay * static_cast<double>(iteration));
}

}  // namespace fauna
