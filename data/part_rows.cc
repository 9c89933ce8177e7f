#include "data/part_rows.h"

#include <chrono>
#include <optional>
#include <utility>

#include <ATen/ATen.h>

#include "core/progress.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "data/loader.h"

namespace fauna {

RowExtractor PixelRows(bool grey) {
  return [grey](const at::Tensor& images) -> absl::StatusOr<at::Tensor> {
    return (grey ? images.narrow(/*dim=*/1, /*start=*/0, /*length=*/1) : images)
        .flatten(/*start_dim=*/1)
        .to(at::kFloat);
  };
}

absl::StatusOr<PartRows> ReadPartRows(const std::string& name, const DataPart& part,
                                      const std::vector<std::string>& class_names,
                                      const RowExtractor& extract,
                                      const PartRowsOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  LoaderOptions loader_options;
  loader_options.batch_size = options.batch_size;
  loader_options.workers = options.workers;
  loader_options.shuffle = false;
  loader_options.strict = options.strict;
  Loader loader(part.size, part.image_shape, part.write_example, loader_options);
  RETURN_IF_ERROR(loader.StartEpoch(0));
  std::optional<ProgressBar> bar;
  if (options.progress) {
    ProgressOptions progress;
    progress.label = options.verb + " " + name;
    progress.total = part.size;
    progress.unit = "img";
    bar.emplace(std::move(progress));
  }
  at::Tensor features;  // [part.size, D], allocated at the first batch.
  std::vector<bool> written(static_cast<size_t>(part.size), false);
  int64_t done = 0;
  while (true) {
    ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
    if (!batch) break;
    ASSIGN_OR_RETURN(at::Tensor rows, extract(batch->images));
    if (!features.defined()) features = at::empty({part.size, rows.size(1)}, at::kFloat);
    const at::Tensor indices = at::tensor(batch->indices, at::kLong);
    features.index_copy_(0, indices, rows);
    for (int64_t index : batch->indices) written[static_cast<size_t>(index)] = true;
    done += static_cast<int64_t>(batch->indices.size());
    if (bar) bar->Update(done);
  }
  if (bar) bar->Finish();
  PartRows result;
  result.skipped = loader.skipped().count;
  if (done == 0) {
    const std::vector<std::string>& messages = loader.skipped().messages;
    return absl::InvalidArgumentError("no item of the " + name + " part could be read (first: " +
                                      (messages.empty() ? "?" : messages[0]) + ")");
  }
  std::vector<int64_t> kept;  // Items that were read, in the part's order.
  for (int64_t i = 0; i < part.size; ++i) {
    if (written[static_cast<size_t>(i)]) kept.push_back(i);
  }
  FeatureSet& set = result.set;
  set.classes = class_names;
  set.features = features;
  set.labels = at::tensor(part.labels, at::kLong);
  set.paths = part.paths;
  if (static_cast<int64_t>(kept.size()) < part.size) {
    set = SelectRows(set, at::tensor(kept, at::kLong));
  }
  result.seconds = SecondsSince(start);
  return result;
}

}  // namespace fauna
