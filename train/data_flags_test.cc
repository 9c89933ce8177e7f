#include "train/data_flags.h"

#include <string>

#include <gflags/gflags.h>
#include <gtest/gtest.h>

#include "core/runtime.h"
#include "data/dataset.h"
#include "train/scale.h"

namespace fauna {
namespace {

Scale NamedScale(const std::string& name) {
  absl::StatusOr<Scale> scale = ResolveScale(name, /*gpu=*/false);
  EXPECT_TRUE(scale.ok()) << scale.status();
  return *scale;
}

std::string DefaultOf(const char* flag) {
  gflags::CommandLineFlagInfo info;
  EXPECT_TRUE(gflags::GetCommandLineFlagInfo(flag, &info)) << flag;
  return info.default_value;
}

// The defaults the four binaries had before they shared these flags.
TEST(DataFlags, DefaultsAreTheBinariesFormerOnes) {
  EXPECT_EQ(DefaultOf("data"), "synthetic");
  EXPECT_EQ(DefaultOf("data_root"), "");
  EXPECT_EQ(DefaultOf("split"), "80/10/10");
  EXPECT_EQ(DefaultOf("synthetic_classes"), "3");
  EXPECT_EQ(DefaultOf("synthetic_count"), "0");
  EXPECT_EQ(DefaultOf("synthetic_difficulty"), "0.5");
  EXPECT_EQ(DefaultOf("noise_fraction"), "0");
  EXPECT_EQ(DefaultOf("noise_sigma"), "25");
  EXPECT_EQ(DefaultOf("cache_dir"), "");
}

TEST(DataFlags, DefaultsMapToDatasetOptionsAsBefore) {
  gflags::FlagSaver saver;
  const DatasetOptions options = DatasetOptionsFromFlags(NamedScale("ci"), /*image_size=*/0);
  EXPECT_EQ(options.data, "synthetic");
  EXPECT_EQ(options.data_root, "");
  EXPECT_EQ(options.split, "80/10/10");
  EXPECT_EQ(options.image_size, 32);
  EXPECT_EQ(options.synthetic_classes, 3);
  EXPECT_EQ(options.synthetic_count, 480);
  EXPECT_EQ(options.synthetic_difficulty, 0.5);
  EXPECT_EQ(options.noise_fraction, 0);
  EXPECT_EQ(options.noise_sigma, 25);
  EXPECT_EQ(options.cache_dir, DecodedCacheDir(""));
  // What no shared flag sets keeps DatasetOptions' default, for each binary to set.
  const DatasetOptions defaults;
  EXPECT_EQ(options.augment, defaults.augment);
  EXPECT_EQ(options.eval_augment, defaults.eval_augment);
  EXPECT_EQ(options.normalization, defaults.normalization);
  EXPECT_EQ(options.seed, defaults.seed);
  EXPECT_EQ(options.threads, defaults.threads);
}

TEST(DataFlags, FlagsGivenReachTheOptions) {
  gflags::FlagSaver saver;
  FLAGS_data = "/data/afhq";
  FLAGS_data_root = "/data";
  FLAGS_split = "70/30/0";
  FLAGS_synthetic_classes = 11;
  FLAGS_synthetic_count = 120;
  FLAGS_synthetic_difficulty = 0.25;
  FLAGS_noise_fraction = 0.1;
  FLAGS_noise_sigma = 40;
  FLAGS_cache_dir = "/tmp/fauna_caches";
  const DatasetOptions options = DatasetOptionsFromFlags(NamedScale("small"), /*image_size=*/48);
  EXPECT_EQ(options.data, "/data/afhq");
  EXPECT_EQ(options.data_root, "/data");
  EXPECT_EQ(options.split, "70/30/0");
  EXPECT_EQ(options.image_size, 48);
  EXPECT_EQ(options.synthetic_classes, 11);
  EXPECT_EQ(options.synthetic_count, 120);
  EXPECT_EQ(options.synthetic_difficulty, 0.25);
  EXPECT_EQ(options.noise_fraction, 0.1);
  EXPECT_EQ(options.noise_sigma, 40);
  EXPECT_EQ(options.cache_dir, "/tmp/fauna_caches");
}

TEST(DataFlags, ZeroImageSizeAndSyntheticCountTakeTheScales) {
  gflags::FlagSaver saver;
  for (const char* name : {"paper", "small", "ci"}) {
    const Scale scale = NamedScale(name);
    FLAGS_synthetic_count = 0;
    DatasetOptions options = DatasetOptionsFromFlags(scale, /*image_size=*/0);
    EXPECT_EQ(options.image_size, scale.image_size) << name;
    EXPECT_EQ(options.synthetic_count, scale.synthetic_count) << name;
    // Below 0 as at 0, as the binaries' own `> 0` tests did.
    FLAGS_synthetic_count = -5;
    options = DatasetOptionsFromFlags(scale, /*image_size=*/-1);
    EXPECT_EQ(options.image_size, scale.image_size) << name;
    EXPECT_EQ(options.synthetic_count, scale.synthetic_count) << name;
  }
}

TEST(DataFlags, FashionMnistAtTheSmallScaleGets32PxThroughScaleForData) {
  gflags::FlagSaver saver;
  FLAGS_data = "fashion_mnist";
  const Scale scale = ScaleForData(NamedScale("small"), FLAGS_data);
  const DatasetOptions options = DatasetOptionsFromFlags(scale, /*image_size=*/0);
  EXPECT_EQ(options.data, "fashion_mnist");
  EXPECT_EQ(options.image_size, 32);
  // A size given still wins, and other data keep the small scale's 64 px.
  EXPECT_EQ(DatasetOptionsFromFlags(scale, /*image_size=*/28).image_size, 28);
  EXPECT_EQ(DatasetOptionsFromFlags(ScaleForData(NamedScale("small"), "synthetic"),
                                    /*image_size=*/0)
                .image_size,
            64);
}

}  // namespace
}  // namespace fauna
