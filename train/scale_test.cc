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

TEST(Scale, FashionMnistAtTheSmallScaleIs32PxAndTenEpochs) {
  absl::StatusOr<Scale> small = ResolveScale("small", false);
  ASSERT_TRUE(small.ok());
  const Scale fashion = ScaleForData(*small, "fashion_mnist");
  EXPECT_EQ(fashion.image_size, 32);
  EXPECT_EQ(fashion.max_epochs, 10);
  EXPECT_EQ(fashion.width, small->width);
  EXPECT_EQ(fashion.reason, "asked for; Fashion-MNIST: 32 px, at most 10 epochs");
  // Other data, and the other scales on Fashion-MNIST, are left as they are.
  EXPECT_EQ(ScaleForData(*small, "synthetic").image_size, 64);
  EXPECT_EQ(ScaleForData(*small, "/data/afhq").max_epochs, 15);
  absl::StatusOr<Scale> ci = ResolveScale("ci", false);
  absl::StatusOr<Scale> paper = ResolveScale("paper", false);
  ASSERT_TRUE(ci.ok() && paper.ok());
  EXPECT_EQ(ScaleForData(*ci, "fashion_mnist").image_size, 32);
  EXPECT_EQ(ScaleForData(*ci, "fashion_mnist").max_epochs, 3);
  EXPECT_EQ(ScaleForData(*paper, "fashion_mnist").image_size, 224);
}

}  // namespace
}  // namespace fauna
