// The data flags every fauna binary that reads images shares, defined once in data_flags.cc with
// one default and one help text:
//   --data, --data_root, --split                                which images, and their parts
//   --synthetic_classes, --synthetic_count, --synthetic_difficulty   the synthetic set
//   --noise_fraction, --noise_sigma                             the AFHQ study's dirty data
//   --cache_dir                                                 where decoded caches go
// The data flags whose help text, default or presence differs from binary to binary stay in each
// binary: --image_size (deep_cluster's 0 means 28 px on fashion_mnist), --normalization (unit in
// autoencoder_svm, none in deep_cluster) and --augment (only the trainers have it).
#ifndef FAUNA_TRAIN_DATA_FLAGS_H_
#define FAUNA_TRAIN_DATA_FLAGS_H_

#include <string>

#include <gflags/gflags.h>

#include "data/dataset.h"
#include "train/scale.h"

DECLARE_string(data);
DECLARE_string(data_root);
DECLARE_string(split);
DECLARE_int32(synthetic_classes);
DECLARE_int64(synthetic_count);
DECLARE_double(synthetic_difficulty);
DECLARE_double(noise_fraction);
DECLARE_double(noise_sigma);
DECLARE_string(cache_dir);

namespace fauna {

// DatasetOptions as the shared data flags say, for a binary at `scale` (after ScaleForData where
// the binary applies it): data, data_root, split, the synthetic set and the noise as given (the
// paths through UserData and UserPath); synthetic_count from --synthetic_count, or the scale's
// when that is 0 or less; image_size from `image_size` (the binary's own --image_size), or the
// scale's when that is 0 or less; cache_dir DecodedCacheDir(--cache_dir). Everything else
// (augment, normalization, seed, threads) keeps DatasetOptions' default, for the binary to set.
//
// Example:
//   ASSIGN_OR_RETURN(Scale scale, ResolveScale(FLAGS_scale, runtime.device.is_cuda()));
//   scale = ScaleForData(scale, FLAGS_data);
//   DatasetOptions options = DatasetOptionsFromFlags(scale, FLAGS_image_size);
//   options.normalization = FLAGS_normalization;
//   options.seed = runtime.seed;
DatasetOptions DatasetOptionsFromFlags(const Scale& scale, int image_size);

// The shared flags that choose which images are read (all but --cache_dir): a binary reopening a
// run's data takes the run's unless the user names one of these.
inline constexpr const char* kDataChoosingFlags[] = {
    "data",           "data_root",          "split",          "synthetic_classes",
    "synthetic_count", "synthetic_difficulty", "noise_fraction", "noise_sigma"};

// --data as the user meant it: "synthetic" and "fashion_mnist" as they are, a path through
// UserPath (under `bazel run`, relative to the folder the command was typed in).
std::string UserData(const std::string& data);

}  // namespace fauna

#endif  // FAUNA_TRAIN_DATA_FLAGS_H_
