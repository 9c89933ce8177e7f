// Features files: the seam between networks and heads. One safetensors file per split holding
//   features  float32 [N, D]   one row per image (a backbone's penultimate layer, a bottleneck, ...)
//   labels    int64   [N]      class indices into `classes`
// and, as safetensors metadata, the class names and each row's source path (JSON arrays), the
// model and layer the features came from, and the format's name and version. Any head (SVM,
// k-means, GMM, VaDE) runs, is tested and is benchmarked on such a file alone.
#ifndef FAUNA_DATA_FEATURES_FILE_H_
#define FAUNA_DATA_FEATURES_FILE_H_

#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// The contents of a features file.
struct FeatureSet {
  at::Tensor features;                   // float32 [N, D], CPU, contiguous
  at::Tensor labels;                     // int64 [N], each in [0, classes.size())
  std::vector<std::string> classes;      // class names, index = label
  std::vector<std::string> paths;        // N source paths, or empty when unknown
  std::string model;                     // e.g. "vgg16", free text; may be empty
  std::string layer;                     // e.g. "penultimate", "bottleneck"; may be empty

  int64_t size() const { return features.defined() ? features.size(0) : 0; }
  int64_t dim() const { return features.defined() ? features.size(1) : 0; }
};

// Checks what every head relies on: features float32 [N, D] with N, D >= 1 and every value finite
// (the first NaN or infinity is named by row and column), labels int64 [N] within the classes,
// class names non-empty, paths empty or N of them. `what` prefixes the message (a path).
absl::Status ValidateFeatureSet(const FeatureSet& set, const std::string& what);

// Reads and validates a features file; every fault gives one line naming the file.
//
// Example:
//   ASSIGN_OR_RETURN(FeatureSet train, ReadFeatureSet(FLAGS_train));
absl::StatusOr<FeatureSet> ReadFeatureSet(const std::string& path);

// Validates `set` and writes it atomically to `path`.
absl::Status WriteFeatureSet(const std::string& path, const FeatureSet& set);

// Checks that two sets can be used together (a train and a test split): the same feature
// dimension and the same class names in the same order.
absl::Status CheckCompatible(const FeatureSet& a, const std::string& a_name, const FeatureSet& b,
                             const std::string& b_name);

// The rows of `set` whose indices are `rows` (int64 [M]); classes, model and layer are kept.
FeatureSet SelectRows(const FeatureSet& set, const at::Tensor& rows);

}  // namespace fauna

#endif  // FAUNA_DATA_FEATURES_FILE_H_
