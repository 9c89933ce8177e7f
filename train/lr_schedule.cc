#include "train/lr_schedule.h"

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
  return absl::OkStatus();
}

double LearningRateAt(const LrSchedule& schedule, int64_t epoch, int64_t iteration) {
  double lr = schedule.base_lr;
  if (schedule.step_epochs > 0) {
    lr *= std::pow(schedule.gamma, static_cast<double>(epoch / schedule.step_epochs));
  }
  return lr / (1.0 + schedule.decay * static_cast<double>(iteration));
}

}  // namespace fauna
