#include "data/part_rows.h"

#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/test_tmp.h"
#include "data/dataset.h"
#include "data/loader.h"

namespace fauna {
namespace {

Dataset SmallSynthetic() {
  DatasetOptions options;
  options.synthetic_count = 40;
  options.image_size = 16;
  options.normalization = "unit";
  options.cache_dir = TestTempPath("cache");
  options.threads = 2;
  absl::StatusOr<Dataset> data = OpenDataset(options, "");
  EXPECT_TRUE(data.ok()) << data.status();
  return *std::move(data);
}

TEST(PartRows, PixelsInThePartsOrder) {
  const Dataset data = SmallSynthetic();
  PartRowsOptions options;
  options.batch_size = 7;  // Batches that do not divide the part.
  absl::StatusOr<PartRows> rows =
      ReadPartRows("train", data.train, data.class_names, PixelRows(/*grey=*/false), options);
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->skipped, 0);
  EXPECT_EQ(rows->set.features.sizes(), (at::IntArrayRef{data.train.size, 3 * 16 * 16}));
  EXPECT_TRUE(at::equal(rows->set.labels, at::tensor(data.train.labels, at::kLong)));
  EXPECT_EQ(rows->set.classes, data.class_names);
  // Row i is item i, as the loader makes it.
  for (int64_t i : {int64_t{0}, data.train.size - 1}) {
    absl::StatusOr<Example> example =
        MakeExample(data.train.image_shape, data.train.write_example, i, /*epoch=*/0);
    ASSERT_TRUE(example.ok());
    EXPECT_TRUE(at::equal(rows->set.features[i], example->image.flatten())) << i;
  }
  EXPECT_GE(rows->set.features.min().item<float>(), 0.0f);
  EXPECT_LE(rows->set.features.max().item<float>(), 1.0f);
}

TEST(PartRows, GreyKeepsTheFirstChannel) {
  const Dataset data = SmallSynthetic();
  absl::StatusOr<PartRows> rows =
      ReadPartRows("val", data.val, data.class_names, PixelRows(/*grey=*/true), {});
  ASSERT_TRUE(rows.ok()) << rows.status();
  EXPECT_EQ(rows->set.features.sizes(), (at::IntArrayRef{data.val.size, 16 * 16}));
}

TEST(PartRows, AnExtractorsErrorIsReturned) {
  const Dataset data = SmallSynthetic();
  const RowExtractor failing = [](const at::Tensor&) -> absl::StatusOr<at::Tensor> {
    return absl::InternalError("network broke");
  };
  absl::StatusOr<PartRows> rows = ReadPartRows("test", data.test, data.class_names, failing, {});
  EXPECT_EQ(rows.status(), absl::InternalError("network broke"));
}

}  // namespace
}  // namespace fauna
