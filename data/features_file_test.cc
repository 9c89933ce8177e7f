#include "data/features_file.h"

#include <limits>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/safetensors.h"
#include "core/test_tmp.h"

namespace fauna {
namespace {

FeatureSet ThreeRows() {
  FeatureSet set;
  set.features = at::arange(6, at::kFloat).reshape({3, 2});
  set.labels = at::tensor({0, 1, 1}, at::kLong);
  set.classes = {"cat", "dog"};
  set.paths = {"a.png", "b.png", "c.png"};
  set.model = "vgg16";
  set.layer = "penultimate";
  return set;
}

TEST(FeaturesFile, RoundTrips) {
  const std::string path = TestTempPath("round_trip.safetensors");
  ASSERT_TRUE(WriteFeatureSet(path, ThreeRows()).ok());
  absl::StatusOr<FeatureSet> read = ReadFeatureSet(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->features.equal(ThreeRows().features));
  EXPECT_TRUE(read->labels.equal(ThreeRows().labels));
  EXPECT_EQ(read->classes, ThreeRows().classes);
  EXPECT_EQ(read->paths, ThreeRows().paths);
  EXPECT_EQ(read->model, "vgg16");
  EXPECT_EQ(read->layer, "penultimate");
}

TEST(FeaturesFile, RefusesWhatHeadsCannotUse) {
  struct Case {
    const char* name;
    void (*damage)(FeatureSet&);
    const char* message;
  };
  const Case cases[] = {
      {"nan", [](FeatureSet& s) { s.features[1][1] = std::numeric_limits<float>::quiet_NaN(); },
       "feature [1, 1] is nan"},
      {"empty", [](FeatureSet& s) { s.features = at::zeros({0, 2}); s.labels = at::zeros({0}, at::kLong); s.paths.clear(); },
       "no rows"},
      {"label", [](FeatureSet& s) { s.labels[2] = 2; }, "label 2 outside the 2 classes"},
      {"count", [](FeatureSet& s) { s.labels = at::zeros({2}, at::kLong); }, "2 labels for 3"},
      {"double", [](FeatureSet& s) { s.features = s.features.to(at::kDouble); }, "float32"},
      {"paths", [](FeatureSet& s) { s.paths.pop_back(); }, "2 paths for 3 rows"},
      {"classes", [](FeatureSet& s) { s.classes.clear(); }, "no class names"},
  };
  for (const Case& c : cases) {
    FeatureSet set = ThreeRows();
    c.damage(set);
    absl::Status status = WriteFeatureSet(TestTempPath("bad.safetensors"), set);
    EXPECT_FALSE(status.ok()) << c.name;
    EXPECT_NE(status.message().find(c.message), std::string::npos) << c.name << ": " << status;
  }
}

TEST(FeaturesFile, RefusesOtherSafetensorsFiles) {
  const std::string path = TestTempPath("weights.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"fc.weight", at::ones({2, 2})}}).ok());
  absl::Status status = ReadFeatureSet(path).status();
  EXPECT_NE(status.message().find("not a features file"), std::string::npos) << status;
}

TEST(FeaturesFile, ChecksCompatibilityAndSelectsRows) {
  FeatureSet a = ThreeRows(), b = ThreeRows();
  EXPECT_TRUE(CheckCompatible(a, "train", b, "test").ok());
  b.classes = {"dog", "cat"};
  EXPECT_NE(CheckCompatible(a, "train", b, "test").message().find("different classes"),
            std::string::npos);
  b = ThreeRows();
  b.features = at::zeros({3, 5});
  EXPECT_NE(CheckCompatible(a, "train", b, "test").message().find("2 features per row"),
            std::string::npos);
  FeatureSet picked = SelectRows(a, at::tensor({2, 0}, at::kLong));
  EXPECT_EQ(picked.paths, (std::vector<std::string>{"c.png", "a.png"}));
  EXPECT_TRUE(picked.labels.equal(at::tensor({1, 0}, at::kLong)));
  EXPECT_TRUE(picked.features[0].equal(a.features[2]));
}

}  // namespace
}  // namespace fauna
