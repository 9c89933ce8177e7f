// Early stopping on a validation score (the AFHQ study's VGG runs: patience 5): remembers the best
// epoch and says when `patience` epochs in a row brought no improvement.
#ifndef FAUNA_TRAIN_EARLY_STOPPING_H_
#define FAUNA_TRAIN_EARLY_STOPPING_H_

#include <cstdint>
#include <limits>

#include <absl/status/statusor.h>
#include <nlohmann/json.hpp>

namespace fauna {

// Example:
//   EarlyStopping stopping(/*patience=*/5);
//   for (int64_t epoch = 1; ...; ++epoch) {
//     if (stopping.Update(epoch, val_acc)) SaveBest();
//     if (stopping.ShouldStop()) break;
//   }
class EarlyStopping {
 public:
  // `patience` 0 never stops. An improvement must exceed the best by more than `min_delta`.
  explicit EarlyStopping(int64_t patience = 0, double min_delta = 0.0)
      : patience_(patience), min_delta_(min_delta) {}

  // Records `score` (higher is better) for `epoch`; true when it is the new best. A NaN score is
  // never the best.
  bool Update(int64_t epoch, double score);

  // True once `patience` > 0 epochs have passed since the best one.
  bool ShouldStop() const { return patience_ > 0 && epochs_since_best_ >= patience_; }

  // 0 before any epoch improved.
  int64_t best_epoch() const { return best_epoch_; }
  double best_score() const { return best_score_; }
  int64_t epochs_since_best() const { return epochs_since_best_; }

  // The state, for checkpoints; FromJson(ToJson()) is the same object.
  nlohmann::json ToJson() const;
  static absl::StatusOr<EarlyStopping> FromJson(const nlohmann::json& json);

 private:
  int64_t patience_;
  double min_delta_;
  int64_t best_epoch_ = 0;
  double best_score_ = -std::numeric_limits<double>::infinity();
  int64_t epochs_since_best_ = 0;
};

}  // namespace fauna

#endif  // FAUNA_TRAIN_EARLY_STOPPING_H_
