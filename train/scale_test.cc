#include "train/scale.h"

#include <gtest/gtest.h>

namespace fauna {
namespace {

TEST(Scale, AutoIsPaperOnAGpuAndSmallOtherwise) {
  absl::StatusOr<Scale> cpu = ResolveScale("auto", /*gpu=*/false);
  ASSERT_TRUE(cpu.ok());
  EXPECT_EQ(cpu->name, "small");
  EXPECT_EQ(cpu->reason, "auto: no GPU in use");
  EXPECT_EQ(cpu->image_size, 64);
  absl::StatusOr<Scale> gpu = ResolveScale("auto", /*gpu=*/true);
  ASSERT_TRUE(gpu.ok());
  EXPECT_EQ(gpu->name, "paper");
  EXPECT_EQ(gpu->max_epochs, 0);
}

TEST(Scale, NamedScalesShrinkInOrder) {
  absl::StatusOr<Scale> paper = ResolveScale("paper", false);
  absl::StatusOr<Scale> small = ResolveScale("small", false);
  absl::StatusOr<Scale> ci = ResolveScale("ci", true);
  ASSERT_TRUE(paper.ok() && small.ok() && ci.ok());
  EXPECT_EQ(paper->image_size, 224);
  EXPECT_GT(paper->width, small->width);
  EXPECT_GT(small->width, ci->width);
  EXPECT_GT(small->synthetic_count, ci->synthetic_count);
  EXPECT_EQ(ci->reason, "asked for");
}

TEST(Scale, UnknownScaleIsAnError) {
  absl::StatusOr<Scale> bad = ResolveScale("huge", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("paper, small, ci or auto"), std::string::npos);
}

}  // namespace
}  // namespace fauna
