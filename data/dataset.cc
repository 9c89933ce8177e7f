#include "data/dataset.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <system_error>
#include <utility>

#include <ATen/ATen.h>
#include <absl/strings/match.h>

#include "core/seed.h"
#include "core/status.h"
#include "data/class_folder_source.h"
#include "data/concat_source.h"
#include "data/decoded_cache.h"
#include "data/idx_source.h"
#include "data/manifest_source.h"
#include "data/split.h"
#include "data/subset_source.h"
#include "data/synthetic_source.h"
#include "data/augment/noise.h"
#include "data/augment/pipeline.h"
#include "data/augment/to_tensor.h"

namespace fauna {
namespace {

// Debian's Fashion-MNIST folder, or $FAUNA_FASHION_MNIST_DIR: the same files elsewhere (a Bazel
// action's declared copy of them).
std::string FashionMnistDir() {
  const char* dir = std::getenv("FAUNA_FASHION_MNIST_DIR");
  return dir != nullptr && *dir != '\0' ? dir : kFashionMnistDir;
}

// DeriveSeed stream of the dirty data's choice and noise, per part (0 train, 1 val, 2 test).
constexpr uint64_t kDirtyDataStream = 0x6e6f697365;  // "noise"

bool IsDirectory(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// Every item of a dataset, and which of them form train, val and test.
struct SplitItems {
  std::shared_ptr<const ImageSource> all;
  std::vector<std::vector<int64_t>> parts;  // train, val, test: indices into `all`.
  std::string kind;                          // synthetic | fashion_mnist | folder | manifest
  bool files = false;                        // Items are image files (a manifest can be written).
};

// The items `train` of `all` split into train and val in the proportions fractions[0]:fractions[1]
// (stratified, seeded), the items `test` kept as the test part.
absl::StatusOr<SplitItems> SplitTrainKeepTest(std::shared_ptr<const ImageSource> all,
                                              const std::vector<int64_t>& train,
                                              std::vector<int64_t> test,
                                              const std::vector<double>& fractions,
                                              uint64_t seed) {
  const double train_share = fractions[0] / (fractions[0] + fractions[1]);
  std::vector<int64_t> labels;
  labels.reserve(train.size());
  for (int64_t index : train) labels.push_back(all->label(index));
  ASSIGN_OR_RETURN(std::vector<std::vector<int64_t>> parts,
                   StratifiedSplit(labels, {train_share, 1.0 - train_share}, seed));
  for (std::vector<int64_t>& part : parts) {
    for (int64_t& position : part) position = train[position];
  }
  SplitItems items;
  items.all = std::move(all);
  items.parts = {std::move(parts[0]), std::move(parts[1]), std::move(test)};
  return items;
}

// `train` split train:val as SplitTrainKeepTest does, `test` kept whole.
absl::StatusOr<SplitItems> SplitWithOwnTest(std::shared_ptr<const ImageSource> train,
                                            std::shared_ptr<const ImageSource> test,
                                            const std::vector<double>& fractions,
                                            uint64_t seed) {
  std::vector<int64_t> train_indices(train->size());
  std::iota(train_indices.begin(), train_indices.end(), 0);
  std::vector<int64_t> test_indices(test->size());
  std::iota(test_indices.begin(), test_indices.end(), train->size());
  ASSIGN_OR_RETURN(std::unique_ptr<ConcatSource> all,
                   ConcatSource::Create({std::move(train), std::move(test)}));
  return SplitTrainKeepTest(std::move(all), train_indices, std::move(test_indices), fractions,
                            seed);
}

absl::StatusOr<SplitItems> SplitWhole(std::shared_ptr<const ImageSource> all,
                                      const std::vector<double>& fractions, uint64_t seed) {
  SplitItems items;
  ASSIGN_OR_RETURN(items.parts, StratifiedSplit(Labels(*all), fractions, seed));
  items.all = std::move(all);
  return items;
}

// A manifest, opened once: split as --split says, or, with a split column, as the column says
// (val carved out of train by --split when the column has no val rows).
absl::StatusOr<SplitItems> OpenManifest(const DatasetOptions& options,
                                        const std::vector<double>& fractions) {
  ManifestOptions manifest_options;
  manifest_options.root = options.data_root;
  ASSIGN_OR_RETURN(std::shared_ptr<const ManifestSource> manifest,
                   ManifestSource::Open(options.data, manifest_options));
  if (!manifest->has_split_column()) {
    return SplitWhole(std::move(manifest), fractions, options.seed);
  }
  std::map<std::string, std::vector<int64_t>> rows;  // Items by split.
  for (int64_t i = 0; i < manifest->size(); ++i) rows[manifest->split(i)].push_back(i);
  for (const auto& [split, indices] : rows) {
    if (split != "train" && split != "val" && split != "test") {
      return absl::InvalidArgumentError("--data=" + options.data + ": split '" + split +
                                        "' is not train, val or test");
    }
  }
  if (rows.count("train") == 0 || rows.count("test") == 0) {
    return absl::InvalidArgumentError("--data=" + options.data +
                                      ": a manifest's split column needs train and test rows "
                                      "(val rows are optional: without them val is carved out "
                                      "of train by --split)");
  }
  if (rows.count("val") == 0) {
    return SplitTrainKeepTest(std::move(manifest), rows["train"], std::move(rows["test"]),
                              fractions, options.seed);
  }
  SplitItems items;
  items.all = std::move(manifest);
  items.parts = {std::move(rows["train"]), std::move(rows["val"]), std::move(rows["test"])};
  return items;
}

absl::StatusOr<SplitItems> OpenItems(const DatasetOptions& options,
                                     const std::vector<double>& fractions) {
  SplitItems items;
  if (options.data == "synthetic") {
    SyntheticOptions synthetic;
    synthetic.num_classes = options.synthetic_classes;
    synthetic.count = options.synthetic_count;
    synthetic.image_size = options.image_size;
    synthetic.seed = options.seed;
    synthetic.difficulty = options.synthetic_difficulty;
    ASSIGN_OR_RETURN(std::shared_ptr<const ImageSource> all, SyntheticSource::Open(synthetic));
    ASSIGN_OR_RETURN(items, SplitWhole(std::move(all), fractions, options.seed));
    items.kind = "synthetic";
  } else if (options.data == "fashion_mnist") {
    const std::string dir = FashionMnistDir();
    ASSIGN_OR_RETURN(std::shared_ptr<const ImageSource> train, OpenFashionMnist(dir, "train"));
    ASSIGN_OR_RETURN(std::shared_ptr<const ImageSource> test, OpenFashionMnist(dir, "test"));
    ASSIGN_OR_RETURN(items, SplitWithOwnTest(std::move(train), std::move(test), fractions,
                                             options.seed));
    items.kind = "fashion_mnist";
  } else if (absl::EndsWith(options.data, ".csv")) {
    ASSIGN_OR_RETURN(items, OpenManifest(options, fractions));
    items.kind = "manifest";
    items.files = true;
  } else if (IsDirectory(options.data)) {
    const std::string& root = options.data;
    if (IsDirectory(root + "/train") && IsDirectory(root + "/val")) {  // AFHQ: val/ is the test.
      ASSIGN_OR_RETURN(std::shared_ptr<const ImageSource> train,
                       ClassFolderSource::Open(root, {/*split=*/"train"}));
      ASSIGN_OR_RETURN(std::shared_ptr<const ImageSource> val,
                       ClassFolderSource::Open(root, {/*split=*/"val"}));
      ASSIGN_OR_RETURN(items, SplitWithOwnTest(std::move(train), std::move(val), fractions,
                                               options.seed));
    } else {
      ASSIGN_OR_RETURN(std::shared_ptr<const ImageSource> all, ClassFolderSource::Open(root));
      ASSIGN_OR_RETURN(items, SplitWhole(std::move(all), fractions, options.seed));
    }
    items.kind = "folder";
    items.files = true;
  } else {
    return absl::NotFoundError("--data=" + options.data +
                               ": not synthetic, fashion_mnist, a folder or a .csv manifest");
  }
  if (items.all->class_names().size() < 2) {
    return absl::InvalidArgumentError("--data=" + options.data + " has fewer than two classes");
  }
  const char* names[] = {"train", "val", "test"};
  for (size_t k = 0; k < 3; ++k) {
    if (items.parts[k].empty()) {
      return absl::InvalidArgumentError("--data=" + options.data + " with --split=" +
                                        options.split + " leaves the " + names[k] +
                                        " part empty");
    }
  }
  return items;
}

// A short stable name for cache files of this data and size.
std::string CacheTag(const DatasetOptions& options, const std::string& kind) {
  std::error_code error;
  std::string where = options.data;
  if (kind == "synthetic") {
    where += ":" + std::to_string(options.synthetic_classes) + ":" +
             std::to_string(options.synthetic_count) + ":" +
             std::to_string(options.synthetic_difficulty) + ":" + std::to_string(options.seed);
  }
  if (kind == "folder" || kind == "manifest") {
    where = std::filesystem::absolute(options.data, error).lexically_normal().string();
  }
  if (kind == "fashion_mnist") where += ":" + FashionMnistDir();
  if (options.noise_fraction > 0) {
    // The dirty items and their noise follow the seed, which a folder's cache key (its files and
    // the decode settings) does not hold: AFHQ's val/ test part is the same files for any seed.
    // "after-resize": the noise is added at the model's size (caches made before that differ).
    where += ":noise-after-resize:" + std::to_string(options.noise_fraction) + ":" +
             std::to_string(options.noise_sigma) + ":" + std::to_string(options.seed);
  }
  char hash[17];
  std::snprintf(hash, sizeof(hash), "%016llx",
                static_cast<unsigned long long>(std::hash<std::string>()(where)));
  return kind + "-" + std::to_string(options.image_size) + "-" + hash;
}

// The shape of a part's items: what the augmentation (a resized_crop may change the size) makes of
// the first image (zeros if it failed to decode). An augmentation whose output size varies fails
// later, at the first item of another size.
absl::StatusOr<std::vector<int64_t>> ItemShape(const DecodedCache& cache, const Pipeline& augment,
                                               uint64_t seed) {
  if (cache.size() == 0) return std::vector<int64_t>{3, cache.height(), cache.width()};
  std::mt19937_64 rng = MakeGenerator(seed, 0, 0);
  ASSIGN_OR_RETURN(cv::Mat image, augment.Apply(cache.Get(0), rng));
  return std::vector<int64_t>{3, image.rows, image.cols};
}

absl::StatusOr<DataPart> MakePart(std::shared_ptr<const ImageSource> all,
                                  std::vector<int64_t> indices, uint64_t part_index,
                                  const std::string& cache_path, const DatasetOptions& options,
                                  std::shared_ptr<const Pipeline> augment,
                                  const Normalization& normalization, bool files,
                                  nlohmann::json& caches) {
  ASSIGN_OR_RETURN(std::shared_ptr<const SubsetSource> subset,
                   SubsetSource::Create(std::move(all), std::move(indices)));
  // The dirty data: an exact fraction of this part, nested across fractions for one seed.
  std::shared_ptr<const ImageSource> decoded = subset;
  std::vector<int64_t> noisy;
  if (options.noise_fraction > 0) {
    ASSIGN_OR_RETURN(std::shared_ptr<const NoisySource> dirty,
                     NoisySource::Create(subset, options.noise_fraction, options.noise_sigma,
                                         DeriveSeed(options.seed, kDirtyDataStream, part_index)));
    noisy = dirty->noisy_indices();
    decoded = std::move(dirty);
  }
  DecodeOptions decode;
  decode.size = options.image_size;
  ASSIGN_OR_RETURN(DecodedCache built,
                   DecodedCache::OpenOrBuild(cache_path, *decoded, decode, options.threads));
  caches.push_back({{"path", cache_path},
                    {"rebuilt", built.rebuilt() ? built.rebuild_reason() : "no (reused)"}});
  auto cache = std::make_shared<DecodedCache>(std::move(built));
  DataPart part;
  part.size = cache->size();
  part.invalid = cache->invalid_count();
  part.noisy = std::move(noisy);
  for (int64_t i = 0; i < part.size; ++i) part.labels.push_back(cache->label(i));
  if (files) {
    part.paths.reserve(static_cast<size_t>(part.size));
    for (int64_t i = 0; i < part.size; ++i) part.paths.push_back(subset->describe(i));
  }
  const uint64_t seed = options.seed;
  ASSIGN_OR_RETURN(part.image_shape, ItemShape(*cache, *augment, seed));
  part.write_example = [cache, augment, normalization, seed](
                           int64_t index, int64_t epoch,
                           const at::Tensor& image) -> absl::StatusOr<int64_t> {
    if (!cache->valid(index)) return absl::InvalidArgumentError(cache->error(index));
    std::mt19937_64 rng = MakeGenerator(seed, static_cast<uint64_t>(epoch),
                                        static_cast<uint64_t>(index));
    RETURN_IF_ERROR(augment->ApplyInto(cache->Get(index), rng, normalization, image));
    return cache->label(index);
  };
  return part;
}

}  // namespace

absl::StatusOr<std::vector<double>> ParseSplitFractions(const std::string& split) {
  std::vector<double> fractions;
  size_t start = 0;
  while (start <= split.size()) {
    const size_t end = std::min(split.find('/', start), split.size());
    const std::string field = split.substr(start, end - start);
    char* parsed_end = nullptr;
    const double value = std::strtod(field.c_str(), &parsed_end);
    if (field.empty() || *parsed_end != '\0' || !std::isfinite(value) || value < 0) {
      return absl::InvalidArgumentError("--split=" + split +
                                        ": expected three percentages such as 80/10/10");
    }
    fractions.push_back(value / 100.0);
    start = end + 1;
  }
  if (fractions.size() != 3 || std::abs(fractions[0] + fractions[1] + fractions[2] - 1.0) > 1e-6) {
    return absl::InvalidArgumentError("--split=" + split +
                                      ": expected three percentages summing to 100");
  }
  if (fractions[0] == 0 || fractions[1] == 0) {
    return absl::InvalidArgumentError("--split=" + split + ": train and val must not be empty");
  }
  return fractions;
}

absl::StatusOr<Dataset> OpenDataset(const DatasetOptions& options,
                                    const std::string& manifest_path) {
  ASSIGN_OR_RETURN(std::vector<double> fractions, ParseSplitFractions(options.split));
  if (!(options.noise_fraction >= 0 && options.noise_fraction <= 1)) {
    return absl::InvalidArgumentError("--noise_fraction=" +
                                      std::to_string(options.noise_fraction) +
                                      ": expected a fraction in [0, 1]");
  }
  if (!(options.noise_sigma >= 0 && options.noise_sigma <= kMaxNoiseSigma)) {
    return absl::InvalidArgumentError("--noise_sigma=" + std::to_string(options.noise_sigma) +
                                      ": expected pixel levels in [0, 255]");
  }
  auto augment = std::make_shared<Pipeline>();
  ASSIGN_OR_RETURN(*augment, Pipeline::Parse(options.augment));
  absl::StatusOr<Pipeline> eval_pipeline = Pipeline::Parse(options.eval_augment);
  if (!eval_pipeline.ok()) return Annotate(eval_pipeline.status(), "eval_augment");
  const auto eval_augment = std::make_shared<const Pipeline>(*std::move(eval_pipeline));
  Normalization normalization = kImageNetNormalization;
  if (options.normalization == "unit") {
    normalization = kUnitNormalization;
  } else if (options.normalization != "imagenet") {
    return absl::InvalidArgumentError("--normalization=" + options.normalization +
                                      ": expected imagenet or unit");
  }
  ASSIGN_OR_RETURN(SplitItems items, OpenItems(options, fractions));

  nlohmann::json description = {{"data", options.data},
                                {"kind", items.kind},
                                {"image_size", options.image_size},
                                {"split", options.split},
                                {"split_seed", options.seed},
                                {"augment", augment->spec()},
                                {"normalization", options.normalization},
                                {"manifest", nullptr}};
  if (!eval_augment->empty()) description["eval_augment"] = eval_augment->spec();
  if (options.noise_fraction > 0) {  // Absent otherwise, so clean runs' configurations stay as
                                     // they were (a resume compares them).
    description["noise"] = {{"fraction", options.noise_fraction},
                            {"sigma", options.noise_sigma}};
  }
  if (items.kind == "synthetic") {
    description["synthetic"] = {{"classes", options.synthetic_classes},
                                {"count", options.synthetic_count},
                                {"difficulty", options.synthetic_difficulty}};
  }
  if (items.files && !manifest_path.empty()) {
    RETURN_IF_ERROR(WriteManifest(manifest_path, *items.all, items.parts,
                                  {"train", "val", "test"}));
    description["manifest"] = manifest_path;
  }
  std::error_code error;
  std::filesystem::create_directories(options.cache_dir, error);
  if (error) {
    return absl::PermissionDeniedError("cannot create the cache folder " + options.cache_dir +
                                       ": " + error.message());
  }
  Dataset data;
  data.class_names = items.all->class_names();
  const std::string prefix = options.cache_dir + "/" + CacheTag(options, items.kind);
  nlohmann::json caches = nlohmann::json::array();
  ASSIGN_OR_RETURN(data.train, MakePart(items.all, items.parts[0], /*part_index=*/0,
                                        prefix + "-train.fdc", options, augment, normalization,
                                        items.files, caches));
  ASSIGN_OR_RETURN(data.val, MakePart(items.all, items.parts[1], /*part_index=*/1,
                                      prefix + "-val.fdc", options, eval_augment, normalization,
                                      items.files, caches));
  ASSIGN_OR_RETURN(data.test, MakePart(items.all, items.parts[2], /*part_index=*/2,
                                       prefix + "-test.fdc", options, eval_augment, normalization,
                                       items.files, caches));
  description["classes"] = data.class_names;
  description["sizes"] = {{"train", data.train.size}, {"val", data.val.size},
                          {"test", data.test.size}};
  description["unreadable"] = {{"train", data.train.invalid}, {"val", data.val.invalid},
                               {"test", data.test.invalid}};
  if (options.noise_fraction > 0) {
    description["noise"]["items"] = {{"train", data.train.noisy.size()},
                                     {"val", data.val.noisy.size()},
                                     {"test", data.test.noisy.size()}};
  }
  description["caches"] = std::move(caches);
  data.description = std::move(description);
  return data;
}

}  // namespace fauna
