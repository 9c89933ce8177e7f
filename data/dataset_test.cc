#include "data/dataset.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/test_tmp.h"
#include "data/loader.h"
#include "data/synthetic_source.h"

namespace fauna {
namespace {

// Item `index` of `part` for `epoch`, as the loader would put it in a batch.
absl::StatusOr<Example> Make(const DataPart& part, int64_t index, int64_t epoch) {
  return MakeExample(part.image_shape, part.write_example, index, epoch);
}

using ::testing::HasSubstr;

DatasetOptions SmallSynthetic(const std::string& cache) {
  DatasetOptions options;
  options.synthetic_count = 60;
  options.image_size = 32;
  options.cache_dir = TestTempPath(cache);
  options.threads = 2;
  return options;
}

TEST(Dataset, SyntheticSplitsIntoStratifiedParts) {
  absl::StatusOr<Dataset> data = OpenDataset(SmallSynthetic("cache1"), "");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->class_names, (std::vector<std::string>{"cat", "dog", "wild"}));
  EXPECT_EQ(data->train.size, 48);
  EXPECT_EQ(data->val.size, 6);
  EXPECT_EQ(data->test.size, 6);
  EXPECT_EQ(std::count(data->test.labels.begin(), data->test.labels.end(), 2), 2);
  absl::StatusOr<Example> example = Make(data->train, 0, 0);
  ASSERT_TRUE(example.ok()) << example.status();
  EXPECT_EQ(example->image.sizes(), (at::IntArrayRef{3, 32, 32}));
  EXPECT_EQ(example->label, data->train.labels[0]);
  EXPECT_TRUE(data->description["manifest"].is_null());  // Synthetic items are not files.
  EXPECT_TRUE(data->train.paths.empty());
  EXPECT_EQ(data->description["sizes"]["train"], 48);
}

TEST(Dataset, ItemsTakeTheSizeTheAugmentationMakes) {
  DatasetOptions options = SmallSynthetic("cache_crop");
  options.augment = "hflip, resized_crop(size=20)";
  absl::StatusOr<Dataset> data = OpenDataset(options, "");
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.image_shape, (std::vector<int64_t>{3, 20, 20}));
  EXPECT_EQ(data->val.image_shape, (std::vector<int64_t>{3, 32, 32}));  // Not augmented.
  LoaderOptions loader_options;
  loader_options.batch_size = 16;
  Loader loader(data->train.size, data->train.image_shape, data->train.write_example,
                loader_options);
  ASSERT_TRUE(loader.StartEpoch(0).ok());
  absl::StatusOr<std::optional<Batch>> batch = loader.Next();
  ASSERT_TRUE(batch.ok()) << batch.status();
  EXPECT_EQ((*batch)->images.sizes(), (at::IntArrayRef{16, 3, 20, 20}));
  EXPECT_EQ(loader.skipped().count, 0);
}

TEST(Dataset, AugmentationDependsOnEpochAndIndexOnly) {
  DatasetOptions options = SmallSynthetic("cache2");
  options.augment = "hflip, rotate(degrees=30)";
  absl::StatusOr<Dataset> data = OpenDataset(options, "");
  ASSERT_TRUE(data.ok()) << data.status();
  at::Tensor a = Make(data->train, 3, 1)->image;
  at::Tensor b = Make(data->train, 3, 1)->image;
  at::Tensor c = Make(data->train, 3, 2)->image;
  EXPECT_TRUE(a.equal(b));
  EXPECT_FALSE(a.equal(c));
  // Val and test are never augmented.
  EXPECT_TRUE(Make(data->val, 0, 1)->image.equal(Make(data->val, 0, 2)->image));
}

TEST(Dataset, EvalAugmentViewsValAndTestOnlyWithDrawsFromSeedAndIndex) {
  DatasetOptions options = SmallSynthetic("cache_eval");
  options.augment = "hflip";
  absl::StatusOr<Dataset> plain = OpenDataset(options, "");
  ASSERT_TRUE(plain.ok()) << plain.status();
  EXPECT_FALSE(plain->description.contains("eval_augment"));  // Unset: described as before.
  options.eval_augment = "partial(region=window, keep=0.25)";
  absl::StatusOr<Dataset> viewed = OpenDataset(options, "");
  ASSERT_TRUE(viewed.ok()) << viewed.status();
  EXPECT_EQ(viewed->description["eval_augment"],
            "partial(region=window, keep=0.25, resize_back=true)");
  EXPECT_EQ(viewed->val.image_shape, (std::vector<int64_t>{3, 32, 32}));  // Resized back.
  // Training items keep `augment` only.
  EXPECT_TRUE(Make(viewed->train, 2, 1)->image.equal(Make(plain->train, 2, 1)->image));
  for (const auto& [viewed_part, plain_part] :
       {std::pair{&viewed->val, &plain->val}, std::pair{&viewed->test, &plain->test}}) {
    for (int64_t i = 0; i < viewed_part->size; ++i) {
      const at::Tensor view = Make(*viewed_part, i, 0)->image;
      EXPECT_FALSE(view.equal(Make(*plain_part, i, 0)->image)) << i;
      EXPECT_TRUE(view.equal(Make(*viewed_part, i, 0)->image)) << i;  // Same (seed, index).
      EXPECT_EQ(Make(*viewed_part, i, 0)->label, plain_part->labels[static_cast<size_t>(i)]);
    }
  }
  // Another epoch draws other windows.
  EXPECT_FALSE(Make(viewed->test, 0, 0)->image.equal(Make(viewed->test, 0, 1)->image));

  options.eval_augment = "partial(region=nowhere)";
  const absl::Status bad = OpenDataset(options, "").status();
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(bad.message()), HasSubstr("eval_augment"));
  EXPECT_THAT(std::string(bad.message()), HasSubstr("nowhere"));
}

// Writes an AFHQ-like tree root/{train,val}/{cat,dog,wild}/*.png from the synthetic set.
void WriteAfhq(const std::string& root, int per_split) {
  auto source = SyntheticSource::Open({/*num_classes=*/3, /*count=*/per_split * 2,
                                       /*image_size=*/32});
  ASSERT_TRUE(source.ok());
  for (int64_t i = 0; i < (*source)->size(); ++i) {
    const std::string folder = root + (i < per_split ? "/train/" : "/val/") +
                               (*source)->class_names()[(*source)->label(i)];
    std::filesystem::create_directories(folder);
    cv::Mat rgb = *(*source)->Load(i);
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    ASSERT_TRUE(cv::imwrite(folder + "/" + std::to_string(i) + ".png", bgr));
  }
}

TEST(Dataset, AfhqFolderKeepsItsValAsTestAndWritesARepeatableManifest) {
  const std::string root = TestTempPath("afhq");
  WriteAfhq(root, /*per_split=*/30);
  DatasetOptions options = SmallSynthetic("cache3");
  options.data = root;
  options.split = "80/20/0";
  const std::string manifest = TestTempPath("split.csv");
  absl::StatusOr<Dataset> data = OpenDataset(options, manifest);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.size, 24);
  EXPECT_EQ(data->val.size, 6);
  EXPECT_EQ(data->test.size, 30);
  EXPECT_EQ(data->description["manifest"], manifest);
  // Each item's file, in the part's order: its folder is its class.
  for (const DataPart* part : {&data->train, &data->val, &data->test}) {
    ASSERT_EQ(part->paths.size(), static_cast<size_t>(part->size));
    for (int64_t i = 0; i < part->size; ++i) {
      const std::filesystem::path path(part->paths[i]);
      EXPECT_TRUE(std::filesystem::is_regular_file(path)) << path;
      EXPECT_EQ(path.parent_path().filename(), data->class_names[part->labels[i]]) << path;
    }
  }
  EXPECT_THAT(data->test.paths[0], HasSubstr("/val/"));

  // Re-run as the README says, with nothing but --data=<the written split>.
  options.data = manifest;
  absl::StatusOr<Dataset> again = OpenDataset(options, "");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->train.labels, data->train.labels);
  EXPECT_EQ(again->val.labels, data->val.labels);
  EXPECT_EQ(again->test.size, 30);
  EXPECT_EQ(again->train.paths, data->train.paths);
  EXPECT_TRUE(Make(again->train, 5, 0)->image.equal(Make(data->train, 5, 0)->image));
}

TEST(Dataset, ManifestSplitColumnsAreCheckedByName) {
  const std::string root = TestTempPath("manifest_splits");
  WriteAfhq(root, /*per_split=*/12);
  std::string rows;  // The train/ images as train rows, the val/ images as test rows.
  int64_t count = 0;
  for (const char* split : {"train", "val"}) {
    for (const char* label : {"cat", "dog", "wild"}) {
      for (const auto& entry : std::filesystem::directory_iterator(root + "/" + split + "/" +
                                                                   label)) {
        rows += std::string(split) + "/" + label + "/" + entry.path().filename().string() + "," +
                label + "," + (std::string(split) == "train" ? "train" : "test") + "\n";
        ++count;
      }
    }
  }
  ASSERT_EQ(count, 24);
  std::ofstream(root + "/no_val.csv") << "path,label,split\n" << rows;
  DatasetOptions options = SmallSynthetic("cache_manifest_splits");
  options.data = root + "/no_val.csv";
  options.split = "75/25/0";
  absl::StatusOr<Dataset> data = OpenDataset(options, "");
  ASSERT_TRUE(data.ok()) << data.status();  // Val is carved out of train.
  EXPECT_EQ(data->train.size + data->val.size, 12);
  EXPECT_GT(data->val.size, 0);
  EXPECT_EQ(data->test.size, 12);

  std::ofstream(root + "/odd.csv") << "path,label,split\n" << rows << "val/cat/x.png,cat,holdout\n";
  options.data = root + "/odd.csv";
  EXPECT_THAT(std::string(OpenDataset(options, "").status().message()),
              HasSubstr("split 'holdout' is not train, val or test"));
  std::ofstream(root + "/no_test.csv") << "path,label,split\ntrain/cat/0.png,cat,train\n"
                                       << "train/dog/1.png,dog,val\n";
  options.data = root + "/no_test.csv";
  EXPECT_THAT(std::string(OpenDataset(options, "").status().message()),
              HasSubstr("needs train and test rows"));
}

TEST(Dataset, BadInputIsAClearError) {
  DatasetOptions options = SmallSynthetic("cache4");
  options.data = TestTempPath("no_such_dataset");
  EXPECT_EQ(OpenDataset(options, "").status().code(), absl::StatusCode::kNotFound);

  options = SmallSynthetic("cache4");
  options.split = "80/20";
  EXPECT_THAT(std::string(OpenDataset(options, "").status().message()),
              HasSubstr("three percentages"));
  options.split = "100/0/0";
  EXPECT_FALSE(OpenDataset(options, "").ok());
  options.split = "80/10/10";
  options.augment = "spin(degrees=3)";
  EXPECT_FALSE(OpenDataset(options, "").ok());
  options.augment = "";
  options.normalization = "zscore";
  EXPECT_FALSE(OpenDataset(options, "").ok());
  options.normalization = "imagenet";
  options.synthetic_count = 5;  // Too few for a test part.
  EXPECT_THAT(std::string(OpenDataset(options, "").status().message()), HasSubstr("empty"));

  const std::string one_class = TestTempPath("one_class/cat");
  std::filesystem::create_directories(one_class);
  ASSERT_TRUE(cv::imwrite(one_class + "/a.png", cv::Mat(8, 8, CV_8UC3, cv::Scalar::all(9))));
  options = SmallSynthetic("cache4");
  options.data = TestTempPath("one_class");
  EXPECT_FALSE(OpenDataset(options, "").ok());
}

// The items of `part` whose image differs from the same item of `clean` (the same data without
// noise), in order.
std::vector<int64_t> ChangedItems(const DataPart& part, const DataPart& clean) {
  std::vector<int64_t> changed;
  for (int64_t i = 0; i < part.size; ++i) {
    if (!Make(part, i, 0)->image.equal(Make(clean, i, 0)->image)) changed.push_back(i);
  }
  return changed;
}

TEST(Dataset, DirtyDataIsAnExactNestedFractionOfEveryPart) {
  DatasetOptions options = SmallSynthetic("cache_noise");
  options.synthetic_count = 200;  // Parts of 160, 20 and 20 items.
  absl::StatusOr<Dataset> clean = OpenDataset(options, "");
  ASSERT_TRUE(clean.ok()) << clean.status();
  EXPECT_FALSE(clean->description.contains("noise"));
  std::vector<std::vector<int64_t>> previous(3);
  std::set<std::string> caches = {clean->description["caches"][0]["path"].get<std::string>()};
  for (const double fraction : {0.05, 0.10, 0.15, 0.20}) {
    SCOPED_TRACE(fraction);
    options.noise_fraction = fraction;
    absl::StatusOr<Dataset> dirty = OpenDataset(options, "");
    ASSERT_TRUE(dirty.ok()) << dirty.status();
    const DataPart* parts[] = {&dirty->train, &dirty->val, &dirty->test};
    const DataPart* clean_parts[] = {&clean->train, &clean->val, &clean->test};
    for (size_t k = 0; k < 3; ++k) {
      const DataPart& part = *parts[k];
      const int64_t expected = std::llround(fraction * static_cast<double>(part.size));
      // Exactly that many items changed, and they are the ones the part names.
      const std::vector<int64_t> changed = ChangedItems(part, *clean_parts[k]);
      EXPECT_EQ(static_cast<int64_t>(changed.size()), expected) << "part " << k;
      EXPECT_EQ(changed, part.noisy) << "part " << k;
      // Labels unchanged; the smaller fraction's items lie within this one's.
      EXPECT_EQ(part.labels, clean_parts[k]->labels);
      EXPECT_TRUE(std::includes(changed.begin(), changed.end(), previous[k].begin(),
                                previous[k].end()))
          << "part " << k;
      previous[k] = changed;
    }
    EXPECT_EQ(dirty->description["noise"]["fraction"], fraction);
    EXPECT_EQ(dirty->description["noise"]["sigma"], 25.0);
    EXPECT_EQ(dirty->description["noise"]["items"]["train"],
              std::llround(fraction * 160));
    // Each fraction has caches of its own.
    EXPECT_TRUE(caches.insert(dirty->description["caches"][0]["path"].get<std::string>()).second);
  }
  // 5% of 20 val items is one; 20% of 160 train items is 32.
  EXPECT_EQ(previous[0].size(), 32u);
  // Reopened, the same dirty data from its cache.
  absl::StatusOr<Dataset> again = OpenDataset(options, "");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->description["caches"][0]["rebuilt"], "no (reused)");
  EXPECT_EQ(again->train.noisy, previous[0]);
  // Another sigma is another cache.
  options.noise_sigma = 10;
  absl::StatusOr<Dataset> softer = OpenDataset(options, "");
  ASSERT_TRUE(softer.ok()) << softer.status();
  EXPECT_TRUE(caches.insert(softer->description["caches"][0]["path"].get<std::string>()).second);
  EXPECT_EQ(softer->train.noisy, previous[0]);  // The same items, less noise.
}

TEST(Dataset, BadNoiseIsRefused) {
  DatasetOptions options = SmallSynthetic("cache_bad_noise");
  for (const double fraction : {-0.05, 1.5, std::nan("")}) {
    options.noise_fraction = fraction;
    EXPECT_THAT(std::string(OpenDataset(options, "").status().message()),
                HasSubstr("--noise_fraction"));
  }
  options.noise_fraction = 0.1;
  for (const double sigma : {-1.0, 256.0, std::nan("")}) {
    options.noise_sigma = sigma;
    EXPECT_THAT(std::string(OpenDataset(options, "").status().message()),
                HasSubstr("--noise_sigma"));
  }
}

TEST(Dataset, ParsesSplitFractions) {
  absl::StatusOr<std::vector<double>> fractions = ParseSplitFractions("70/20/10");
  ASSERT_TRUE(fractions.ok());
  EXPECT_DOUBLE_EQ((*fractions)[2], 0.1);
  EXPECT_FALSE(ParseSplitFractions("70/x/10").ok());
  EXPECT_FALSE(ParseSplitFractions("").ok());
  EXPECT_FALSE(ParseSplitFractions("50/50/10").ok());
}

}  // namespace
}  // namespace fauna
