// One data part as a matrix: every item of a DataPart through the loader (in order, no
// augmentation draw beyond the part's own), turned into a row by a caller's function (a network's
// features, or the pixels themselves), gathered into a FeatureSet. Items that fail to decode are
// left out with the loader's warning (or fail the call with strict). Used by
// tools/extract_features and the deep-clustering trainer's pixel input.
#ifndef FAUNA_DATA_PART_ROWS_H_
#define FAUNA_DATA_PART_ROWS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <absl/status/statusor.h>

#include "data/dataset.h"
#include "data/features_file.h"

namespace fauna {

// Turns a batch of images [B, C, H, W] into float32 rows [B, D] on the CPU.
using RowExtractor = std::function<absl::StatusOr<at::Tensor>(const at::Tensor& images)>;

// The pixels of each image flattened channel by channel; with `grey`, only the first channel
// (grey images reach the loader as three equal channels).
RowExtractor PixelRows(bool grey);

struct PartRowsOptions {
  int64_t batch_size = 64;
  int workers = 2;
  bool strict = false;
  bool progress = false;  // A progress bar on stderr labelled "<verb> <name>".
  std::string verb = "extract";
};

// What ReadPartRows gives.
struct PartRows {
  FeatureSet set;        // Rows of the items read, in the part's order; labels; paths if any.
  int64_t skipped = 0;   // Items left out.
  double seconds = 0;
};

// The rows of `part` (named `name` in messages: "train", "val", "test"). InvalidArgument when no
// item could be read; the extractor's error as it is.
//
// Example:
//   ASSIGN_OR_RETURN(PartRows rows, ReadPartRows("train", data.train, data.class_names,
//                                                PixelRows(/*grey=*/true), {}));
absl::StatusOr<PartRows> ReadPartRows(const std::string& name, const DataPart& part,
                                      const std::vector<std::string>& class_names,
                                      const RowExtractor& extract,
                                      const PartRowsOptions& options);

}  // namespace fauna

#endif  // FAUNA_DATA_PART_ROWS_H_
