#include "train/data_flags.h"

#include "core/runtime.h"

DEFINE_string(data, "synthetic", "synthetic, fashion_mnist, a class folder or a .csv manifest.");
DEFINE_string(data_root, "", "Folder the images of a manifest with absolute paths lie in.");
DEFINE_string(split, "80/10/10", "Train/val/test percentages (data with its own test keeps it).");
DEFINE_int32(synthetic_classes, 3, "Classes of the synthetic set: 3, 7 or 11.");
DEFINE_int64(synthetic_count, 0, "Images of the synthetic set; 0 takes the scale's.");
DEFINE_double(synthetic_difficulty, 0.5, "Difficulty of the synthetic set, in [0, 1].");
DEFINE_double(noise_fraction, 0, "Dirty data: this fraction of each of train, val and test "
                                 "carries Gaussian noise (the AFHQ study's 0.05-0.20; 0: none).");
DEFINE_double(noise_sigma, 25, "Standard deviation of that noise in pixel levels (the study "
                               "does not give it).");
DEFINE_string(cache_dir, "", "Decoded-image caches; default ~/.cache/fauna/decoded.");

namespace fauna {

std::string UserData(const std::string& data) {
  return data == "synthetic" || data == "fashion_mnist" ? data : UserPath(data);
}

DatasetOptions DatasetOptionsFromFlags(const Scale& scale, int image_size) {
  DatasetOptions options;
  options.data = UserData(FLAGS_data);
  options.data_root = UserPath(FLAGS_data_root);
  options.image_size = image_size > 0 ? image_size : scale.image_size;
  options.split = FLAGS_split;
  options.synthetic_classes = FLAGS_synthetic_classes;
  options.synthetic_count = FLAGS_synthetic_count > 0 ? FLAGS_synthetic_count
                                                      : scale.synthetic_count;
  options.synthetic_difficulty = FLAGS_synthetic_difficulty;
  options.noise_fraction = FLAGS_noise_fraction;
  options.noise_sigma = FLAGS_noise_sigma;
  options.cache_dir = DecodedCacheDir(FLAGS_cache_dir);
  return options;
}

}  // namespace fauna
