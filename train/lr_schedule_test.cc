#include "train/lr_schedule.h"

#include <cmath>

#include <gtest/gtest.h>

namespace fauna {
namespace {

TEST(LrSchedule, ConstantByDefault) {
  LrSchedule schedule;
  schedule.base_lr = 0.01;
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 0, 0), 0.01);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 99, 12345), 0.01);
}

TEST(LrSchedule, StepDecayHalvesEveryPeriod) {
  LrSchedule schedule;
  schedule.base_lr = 1e-3;
  schedule.step_epochs = 10;
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 9, 0), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 10, 0), 5e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 25, 0), 2.5e-4);
}

TEST(LrSchedule, InverseTimeDecayPerIteration) {
  LrSchedule schedule;
  schedule.base_lr = 1e-4;
  schedule.decay = 1e-2;
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 0, 0), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 3, 100), 1e-4 / 2.0);
}

TEST(LrSchedule, CosineFallsFromBaseToZeroOverTheRun) {
  LrSchedule schedule;
  schedule.base_lr = 0.1;
  schedule.cosine = true;
  schedule.epochs = 4;
  schedule.steps_per_epoch = 25;  // 100 steps in all.
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 0, 0), 0.1);
  EXPECT_NEAR(LearningRateAt(schedule, 2, 50), 0.05, 1e-15);  // Half-way: half the rate.
  EXPECT_NEAR(LearningRateAt(schedule, 3, 75), 0.1 * (1 + std::cos(0.75 * M_PI)) / 2, 1e-15);
  EXPECT_GT(LearningRateAt(schedule, 3, 99), 0.0);  // The last step still learns a little.
  EXPECT_LT(LearningRateAt(schedule, 3, 99), 1e-4);
  EXPECT_EQ(LearningRateAt(schedule, 4, 100), 0.0);  // Past the end (never reached).
}

TEST(LrSchedule, WarmupClimbsLinearlyThenCosineStartsFromTheTop) {
  LrSchedule schedule;
  schedule.base_lr = 0.1;
  schedule.cosine = true;
  schedule.warmup_epochs = 1;
  schedule.epochs = 3;
  schedule.steps_per_epoch = 10;  // 10 warm-up steps, then 20 of cosine.
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 0, 0), 0.01);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 0, 4), 0.05);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 0, 9), 0.1);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 1, 10), 0.1);
  EXPECT_NEAR(LearningRateAt(schedule, 2, 20), 0.05, 1e-15);
}

TEST(LrSchedule, WarmupAloneThenConstant) {
  LrSchedule schedule;
  schedule.base_lr = 1e-3;
  schedule.warmup_epochs = 2;
  schedule.epochs = 10;
  schedule.steps_per_epoch = 5;
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 0, 0), 1e-4);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 2, 10), 1e-3);
  EXPECT_DOUBLE_EQ(LearningRateAt(schedule, 9, 49), 1e-3);
}

TEST(LrSchedule, RejectsBadSettings) {
  EXPECT_TRUE(ValidateLrSchedule(LrSchedule()).ok());
  LrSchedule bad;
  bad.base_lr = 0;
  EXPECT_FALSE(ValidateLrSchedule(bad).ok());
  bad = LrSchedule();
  bad.base_lr = NAN;
  EXPECT_FALSE(ValidateLrSchedule(bad).ok());
  bad = LrSchedule();
  bad.step_epochs = -1;
  EXPECT_FALSE(ValidateLrSchedule(bad).ok());
  bad = LrSchedule();
  bad.gamma = 1.5;
  EXPECT_FALSE(ValidateLrSchedule(bad).ok());
  bad = LrSchedule();
  bad.decay = -1e-6;
  EXPECT_NE(ValidateLrSchedule(bad).message().find("decay"), std::string::npos);

  LrSchedule cosine;
  cosine.cosine = true;
  EXPECT_NE(ValidateLrSchedule(cosine).message().find("steps per epoch"), std::string::npos);
  cosine.epochs = 10;
  cosine.steps_per_epoch = 100;
  EXPECT_TRUE(ValidateLrSchedule(cosine).ok());
  bad = cosine;
  bad.step_epochs = 3;
  EXPECT_NE(ValidateLrSchedule(bad).message().find("choose one"), std::string::npos);
  bad = cosine;
  bad.warmup_epochs = -1;
  EXPECT_FALSE(ValidateLrSchedule(bad).ok());
  bad = cosine;
  bad.warmup_epochs = 10;
  EXPECT_NE(ValidateLrSchedule(bad).message().find("shorter than the run"), std::string::npos);
  bad = LrSchedule();
  bad.warmup_epochs = 1;  // Warm-up alone needs the run's length too.
  EXPECT_FALSE(ValidateLrSchedule(bad).ok());
}

}  // namespace
}  // namespace fauna
