#include "train/early_stopping.h"

#include <cmath>
#include <string>

namespace fauna {

bool EarlyStopping::Update(int64_t epoch, double score) {
  if (!std::isnan(score) && (best_epoch_ == 0 || score > best_score_ + min_delta_)) {
    best_epoch_ = epoch;
    best_score_ = score;
    epochs_since_best_ = 0;
    return true;
  }
  ++epochs_since_best_;
  return false;
}

nlohmann::json EarlyStopping::ToJson() const {
  return {{"patience", patience_},
          {"min_delta", min_delta_},
          {"best_epoch", best_epoch_},
          {"best_score", best_epoch_ > 0 ? best_score_ : 0.0},
          {"epochs_since_best", epochs_since_best_}};
}

absl::StatusOr<EarlyStopping> EarlyStopping::FromJson(const nlohmann::json& json) {
  try {
    EarlyStopping stopping(json.at("patience").get<int64_t>(), json.at("min_delta").get<double>());
    stopping.best_epoch_ = json.at("best_epoch").get<int64_t>();
    if (stopping.best_epoch_ > 0) stopping.best_score_ = json.at("best_score").get<double>();
    stopping.epochs_since_best_ = json.at("epochs_since_best").get<int64_t>();
    return stopping;
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(std::string("bad early-stopping state: ") + e.what());
  }
}

}  // namespace fauna
