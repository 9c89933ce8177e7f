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
}

}  // namespace
}  // namespace fauna
