#include "train/early_stopping.h"

#include <cmath>

#include <gtest/gtest.h>

namespace fauna {
namespace {

TEST(EarlyStopping, StopsAfterPatienceEpochsWithoutImprovement) {
  EarlyStopping stopping(/*patience=*/2);
  EXPECT_TRUE(stopping.Update(1, 0.5));
  EXPECT_TRUE(stopping.Update(2, 0.6));
  EXPECT_FALSE(stopping.Update(3, 0.6));  // Equal is no improvement.
  EXPECT_FALSE(stopping.ShouldStop());
  EXPECT_FALSE(stopping.Update(4, 0.55));
  EXPECT_TRUE(stopping.ShouldStop());
  EXPECT_EQ(stopping.best_epoch(), 2);
  EXPECT_DOUBLE_EQ(stopping.best_score(), 0.6);
}

TEST(EarlyStopping, ZeroPatienceNeverStops) {
  EarlyStopping stopping;
  stopping.Update(1, 0.9);
  for (int epoch = 2; epoch < 50; ++epoch) stopping.Update(epoch, 0.1);
  EXPECT_FALSE(stopping.ShouldStop());
  EXPECT_EQ(stopping.best_epoch(), 1);
}

TEST(EarlyStopping, NanIsNeverBestAndMinDeltaCounts) {
  EarlyStopping stopping(/*patience=*/3, /*min_delta=*/0.01);
  EXPECT_FALSE(stopping.Update(1, NAN));
  EXPECT_EQ(stopping.best_epoch(), 0);
  EXPECT_TRUE(stopping.Update(2, 0.5));
  EXPECT_FALSE(stopping.Update(3, 0.505));
  EXPECT_TRUE(stopping.Update(4, 0.52));
}

TEST(EarlyStopping, StateRoundTripsThroughJson) {
  EarlyStopping stopping(/*patience=*/5);
  stopping.Update(1, 0.4);
  stopping.Update(2, 0.3);
  absl::StatusOr<EarlyStopping> copy = EarlyStopping::FromJson(stopping.ToJson());
  ASSERT_TRUE(copy.ok()) << copy.status();
  EXPECT_EQ(copy->best_epoch(), 1);
  EXPECT_DOUBLE_EQ(copy->best_score(), 0.4);
  EXPECT_EQ(copy->epochs_since_best(), 1);
  EXPECT_EQ(copy->ToJson(), stopping.ToJson());
  EXPECT_FALSE(EarlyStopping::FromJson(nlohmann::json{{"patience", 1}}).ok());
}

}  // namespace
}  // namespace fauna
