// A fast deterministic batch loader: worker threads build batches ahead of the consumer (bounded
// prefetch), in a per-epoch shuffled order that depends only on (seed, epoch), so every worker
// count yields the same batches. An optional distributed sampler gives each rank a disjoint part.
#ifndef FAUNA_DATA_LOADER_H_
#define FAUNA_DATA_LOADER_H_

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// Writes item `index` for `epoch` straight into `image`, its place in the batch (a float32
// tensor of the loader's image shape; every element must be written, as batch buffers are
// reused), and returns the item's label. Writing in place spares making a tensor per item and
// copying it into the batch (about 0.1 ms for a 224 px image). A failed-precondition error (an
// image of another shape than the batch's: see CheckTensorDestination) stops the epoch; any other
// error is the item's own (skipped, or an error with `strict`). Called from several worker
// threads at once, each with its own `image`, so it must be thread-safe; per-item randomness
// should come from MakeGenerator(seed, epoch, index).
using ExampleWriter =
    std::function<absl::StatusOr<int64_t>(int64_t index, int64_t epoch, const at::Tensor& image)>;

// One item on its own, outside a loader (for checks and pictures): an image and its label.
struct Example {
  at::Tensor image;
  int64_t label = 0;
};

// Item `index` for `epoch` from `write`, into a new float32 tensor of `image_shape`.
absl::StatusOr<Example> MakeExample(const std::vector<int64_t>& image_shape,
                                    const ExampleWriter& write, int64_t index, int64_t epoch);

// A batch: images stacked along a new first dimension, labels (int64), and the dataset indices.
struct Batch {
  at::Tensor images;
  at::Tensor labels;
  std::vector<int64_t> indices;
};

struct LoaderOptions {
  int64_t batch_size = 32;
  int workers = 2;            // Threads that build batches; 0 builds them on the caller's thread.
  int prefetch_batches = 4;   // Batches built ahead of the consumer, at most.
  bool shuffle = true;
  bool drop_last = false;     // Drop a last batch smaller than batch_size.
  uint64_t seed = 0;
  int rank = 0;               // Distributed sampler: this process's part of each epoch...
  int world_size = 1;         // ...out of this many.
  bool strict = false;        // A failed item is an error; otherwise it is skipped with a warning.
  bool quiet = false;         // No warnings on stderr (they are still counted).
};

// The item order of one epoch for one rank. With shuffling, a permutation drawn from
// (seed, epoch); without, 0..n-1. With world_size > 1 the order is cut to a multiple of
// world_size (at most world_size - 1 items left out) and rank r takes positions r, r + world_size,
// ..., so ranks never overlap and all have the same number of items.
std::vector<int64_t> EpochOrder(int64_t dataset_size, uint64_t seed, int64_t epoch, bool shuffle,
                                int rank, int world_size);

// Checks options against a dataset size; an epoch that drop_last would leave empty is an error.
absl::Status ValidateLoaderOptions(const LoaderOptions& options, int64_t dataset_size);

// Items skipped since the loader was made. An item is counted, and warned about, once: the first
// time it fails, however many epochs it fails in after that.
struct SkippedItems {
  int64_t count = 0;                  // Distinct items (dataset indices) that failed.
  std::vector<std::string> messages;  // The first error of each of the first 100.
};

// Example:
//   Loader loader(source.size(), {3, 224, 224}, write_example, options);
//   RETURN_IF_ERROR(loader.StartEpoch(epoch));
//   while (true) {
//     ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
//     if (!batch) break;
//     ... train on batch->images, batch->labels ...
//   }
class Loader {
 public:
  // Batches are float32 [items, image_shape...], each item written by `write_example`.
  Loader(int64_t dataset_size, std::vector<int64_t> image_shape, ExampleWriter write_example,
         LoaderOptions options);
  Loader(const Loader&) = delete;
  Loader& operator=(const Loader&) = delete;
  ~Loader();

  // Starts (or restarts) an epoch: workers begin building its batches at once.
  absl::Status StartEpoch(int64_t epoch);

  // The next batch of the epoch in order, std::nullopt at its end, or an error (a failed item in
  // strict mode, an image that does not fit the batch, a call before StartEpoch).
  absl::StatusOr<std::optional<Batch>> Next();

  // Batches in the current epoch.
  int64_t batches_per_epoch() const;

  SkippedItems skipped() const;

  // Batch buffers allocated since the loader was made (the rest were reused).
  int64_t batch_buffers_made() const;

 private:
  struct Slot;
  void StopWorkers();
  void WorkerLoop();
  void BuildBatch(int64_t batch_index, Slot& slot);
  // An [items, image_shape...] buffer for a batch: one handed out before and since released by
  // every user, or a new one. Reusing them spares the allocator, which gives each new 38 MB batch
  // of 224 px images fresh pages (a page fault per 4 KB) once its previous one has been freed.
  at::Tensor BatchBuffer(int64_t items);

  const int64_t dataset_size_;
  const std::vector<int64_t> image_shape_;
  const ExampleWriter write_example_;
  const LoaderOptions options_;

  mutable std::mutex mutex_;
  std::condition_variable work_ready_;   // Workers wait for a batch they may build.
  std::condition_variable batch_ready_;  // The consumer waits for the next batch.
  std::vector<std::thread> workers_;
  bool stopping_ = false;
  bool started_ = false;
  uint64_t generation_ = 0;      // Counts StartEpoch calls; stale batches are dropped.
  int64_t epoch_ = 0;
  std::vector<int64_t> order_;
  int64_t num_batches_ = 0;
  int64_t next_to_build_ = 0;    // The next batch a worker takes.
  int64_t next_to_return_ = 0;   // The next batch Next() returns.
  std::map<int64_t, std::unique_ptr<Slot>> done_;  // Built, not yet returned.
  SkippedItems skipped_;
  std::unordered_set<int64_t> skipped_indices_;  // The items counted in skipped_.
  mutable std::mutex pool_mutex_;
  std::vector<at::Tensor> pool_;  // Batch buffers, reused once free (see BatchBuffer).
  int64_t buffers_made_ = 0;
};

}  // namespace fauna

#endif  // FAUNA_DATA_LOADER_H_
