// A dataset as every fauna tool opens it: the train, val and test parts of one --data argument
// (the embedded synthetic set, the real Fashion-MNIST, a class folder, flat or AFHQ's train/ and
// val/, or a CSV manifest), split stratified and seeded. Each part is decoded once into a
// memory-mapped cache at the run's image size; training items are augmented per (seed, epoch,
// index); every item is normalised for the model. The trainer (train/train_main.cc) and
// tools/extract_features open their data here, so the same flags give the same split and the same
// preprocessing in both.
#ifndef FAUNA_DATA_DATASET_H_
#define FAUNA_DATA_DATASET_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <nlohmann/json.hpp>

#include "data/loader.h"

namespace fauna {

// Everything that decides which items a dataset's parts hold and how they look to a model.
struct DatasetOptions {
  // "synthetic", "fashion_mnist" (Debian's files, or those in $FAUNA_FASHION_MNIST_DIR), a class
  // folder, or a .csv manifest.
  std::string data = "synthetic";
  // Folder every image of a manifest must lie in ("" = the manifest's folder).
  std::string data_root = "";
  // Side of the square images the model sees.
  int image_size = 64;
  // Fractions of train/val/test as "80/10/10" (or "70/30/0"... any three, summing to 100). Data
  // that comes with its own test part (Fashion-MNIST's test file, AFHQ's val/ folder, a manifest
  // with a split column) keeps it and splits the rest train:val in the same proportion.
  std::string split = "80/10/10";
  // The synthetic set.
  int synthetic_classes = 3;
  int64_t synthetic_count = 3000;
  double synthetic_difficulty = 0.5;
  // Augmentation of training images, a Pipeline spec ("hflip, rotate(degrees=15)"); "" for none.
  std::string augment = "";
  // A Pipeline spec applied to the val and test items ("" for none, the default): a view of the
  // images to evaluate on, such as "partial(region=left, keep=0.5)" for the partial-image test.
  // Item i's draws come from (seed, epoch, i), as training augmentation's. The training part
  // keeps `augment`. In the description (as "eval_augment") only when set, so runs without it
  // describe their data as before.
  std::string eval_augment = "";
  // The AFHQ study's "dirty data" (section E, Table 4): in each of train, val and test exactly
  // llround(noise_fraction * part size) items carry Gaussian noise (data/augment/noise.h), chosen
  // by NoisySubset from the data seed and the part, so that for one seed the 5% items lie within
  // the 10% ones and every run sees the same dirty images with the same noise. In [0, 1]; 0: none.
  // The noise is added to each image as decoded and resized to image_size (so it has sigma levels
  // at the size the model sees) and is part of the decoded cache.
  double noise_fraction = 0;
  // Standard deviation of that noise in 8-bit pixel levels, in [0, 255]. The study does not give
  // its sigma; 25 is fauna's choice (clearly visible, the image still recognisable).
  double noise_sigma = 25;
  // "imagenet" (the studies' mean/std) or "unit" (pixels / 255 only).
  std::string normalization = "imagenet";
  // Where decoded caches live (made when missing).
  std::string cache_dir;
  // Seed of the split and of every augmentation draw.
  uint64_t seed = 0;
  // Threads decoding the caches (<= 0: one per core).
  int threads = 0;
};

// One part of the data, ready for a Loader.
struct DataPart {
  int64_t size = 0;
  // Each item's image shape ([3, size, size]) and the writer that puts item i in its batch place.
  std::vector<int64_t> image_shape;
  ExampleWriter write_example;
  std::vector<int64_t> labels;
  // Each item's image file, when the items are files (a folder or a manifest); empty otherwise.
  std::vector<std::string> paths;
  // Items that failed to decode (skipped by the loader with a warning, or an error with strict).
  int64_t invalid = 0;
  // The items (indices into this part, sorted) that carry DatasetOptions' Gaussian noise.
  std::vector<int64_t> noisy;
};

// What OpenDataset gives: the class names and the three parts.
struct Dataset {
  std::vector<std::string> class_names;
  DataPart train, val, test;
  // For the results file: what was read, how it was split, where the split manifest is.
  nlohmann::json description;
};

// Opens the data, splits it (stratified, seeded), writes the split as a `path,label,split`
// manifest to `manifest_path` when the items are files and the path is not empty (so
// `--data=<that manifest>` repeats the run exactly), and builds or reuses the decoded caches.
// Errors: an unknown or missing dataset, a bad split, augmentation or eval_augment spec, a
// noise fraction outside [0, 1] or sigma outside [0, 255], an empty part, a dataset with fewer
// than two classes.
//
// Example:
//   ASSIGN_OR_RETURN(Dataset data, OpenDataset(options, run_dir + "/split.csv"));
//   Loader loader(data.train.size, data.train.image_shape, data.train.write_example,
//                 loader_options);
absl::StatusOr<Dataset> OpenDataset(const DatasetOptions& options,
                                    const std::string& manifest_path);

// "80/10/10" as {0.8, 0.1, 0.1}; InvalidArgument unless three non-negative numbers summing to 100
// with a non-empty train and val part.
absl::StatusOr<std::vector<double>> ParseSplitFractions(const std::string& split);

}  // namespace fauna

#endif  // FAUNA_DATA_DATASET_H_
