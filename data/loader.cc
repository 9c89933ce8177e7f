#include "data/loader.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include <ATen/ATen.h>

#include "core/random.h"
#include "core/seed.h"
#include "core/status.h"
#include "core/torch_status.h"

namespace fauna {
namespace {

// The stream of DeriveSeed reserved for epoch shuffles; item streams use the item's index.
constexpr uint64_t kShuffleStream = ~uint64_t{0};
// SkippedItems keeps the messages of this many items.
constexpr size_t kMaxSkippedMessages = 100;

}  // namespace

struct Loader::Slot {
  std::optional<Batch> batch;  // Empty when every item was skipped.
  absl::Status status;
  std::vector<std::pair<int64_t, std::string>> skipped;  // Dataset index and error of each.
};

std::vector<int64_t> EpochOrder(int64_t dataset_size, uint64_t seed, int64_t epoch, bool shuffle,
                                int rank, int world_size) {
  std::vector<int64_t> order(static_cast<size_t>(std::max<int64_t>(dataset_size, 0)));
  for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
  if (shuffle) {
    std::mt19937_64 rng = MakeGenerator(seed, static_cast<uint64_t>(epoch), kShuffleStream);
    Shuffle(order, rng);
  }
  if (world_size <= 1) return order;
  const size_t per_rank = order.size() / static_cast<size_t>(world_size);
  std::vector<int64_t> mine;
  mine.reserve(per_rank);
  for (size_t k = 0; k < per_rank; ++k) {
    mine.push_back(order[k * static_cast<size_t>(world_size) + static_cast<size_t>(rank)]);
  }
  return mine;
}

absl::Status ValidateLoaderOptions(const LoaderOptions& options, int64_t dataset_size) {
  if (dataset_size <= 0) return absl::InvalidArgumentError("the dataset is empty");
  if (options.batch_size < 1) return absl::InvalidArgumentError("batch size must be at least 1");
  if (options.workers < 0) return absl::InvalidArgumentError("workers must be 0 or more");
  if (options.prefetch_batches < 1) {
    return absl::InvalidArgumentError("prefetch_batches must be at least 1");
  }
  if (options.world_size < 1 || options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError("rank " + std::to_string(options.rank) +
                                      " is not in [0, world size " +
                                      std::to_string(options.world_size) + ")");
  }
  if (dataset_size < options.world_size) {
    return absl::InvalidArgumentError("a dataset of " + std::to_string(dataset_size) +
                                      " items cannot be split over " +
                                      std::to_string(options.world_size) + " ranks");
  }
  const int64_t per_rank = dataset_size / options.world_size;
  if (options.drop_last && per_rank < options.batch_size) {
    return absl::InvalidArgumentError(
        "every epoch would be empty: dropping the short last batch leaves no batch of " +
        std::to_string(options.batch_size) + " from " + std::to_string(per_rank) +
        (per_rank == 1 ? " item" : " items") + (options.world_size > 1 ? " a rank" : ""));
  }
  return absl::OkStatus();
}

absl::StatusOr<Example> MakeExample(const std::vector<int64_t>& image_shape,
                                    const ExampleWriter& write, int64_t index, int64_t epoch) {
  Example example;
  RETURN_IF_ERROR(GuardTorch("making an item", [&] {
    example.image = at::empty(image_shape, at::kFloat);
  }));
  ASSIGN_OR_RETURN(example.label, write(index, epoch, example.image));
  return example;
}

Loader::Loader(int64_t dataset_size, std::vector<int64_t> image_shape, ExampleWriter write_example,
               LoaderOptions options)
    : dataset_size_(dataset_size),
      image_shape_(std::move(image_shape)),
      write_example_(std::move(write_example)),
      options_(options) {
  for (int i = 0; i < options_.workers; ++i) workers_.emplace_back([this] { WorkerLoop(); });
}

Loader::~Loader() { StopWorkers(); }

void Loader::StopWorkers() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  work_ready_.notify_all();
  for (std::thread& worker : workers_) worker.join();
  workers_.clear();
}

absl::Status Loader::StartEpoch(int64_t epoch) {
  RETURN_IF_ERROR(ValidateLoaderOptions(options_, dataset_size_));
  std::vector<int64_t> order = EpochOrder(dataset_size_, options_.seed, epoch, options_.shuffle,
                                          options_.rank, options_.world_size);
  const int64_t items = static_cast<int64_t>(order.size());
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++generation_;
    started_ = true;
    epoch_ = epoch;
    order_ = std::move(order);
    num_batches_ = options_.drop_last ? items / options_.batch_size
                                      : (items + options_.batch_size - 1) / options_.batch_size;
    next_to_build_ = 0;
    next_to_return_ = 0;
    done_.clear();
  }
  work_ready_.notify_all();
  return absl::OkStatus();
}

int64_t Loader::batches_per_epoch() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return num_batches_;
}

int64_t Loader::batch_buffers_made() const {
  std::lock_guard<std::mutex> lock(pool_mutex_);
  return buffers_made_;
}

SkippedItems Loader::skipped() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return skipped_;
}

void Loader::WorkerLoop() {
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    work_ready_.wait(lock, [this] {
      return stopping_ || (started_ && next_to_build_ < num_batches_ &&
                           next_to_build_ < next_to_return_ + options_.prefetch_batches);
    });
    if (stopping_) return;
    const int64_t batch_index = next_to_build_++;
    const uint64_t generation = generation_;
    auto slot = std::make_unique<Slot>();
    lock.unlock();
    BuildBatch(batch_index, *slot);
    lock.lock();
    if (generation == generation_) {  // Else the epoch was restarted meanwhile: drop it.
      done_[batch_index] = std::move(slot);
      batch_ready_.notify_all();
    }
  }
}

void Loader::BuildBatch(int64_t batch_index, Slot& slot) {
  std::vector<int64_t> indices;
  int64_t epoch;
  int64_t capacity;  // As many items as a batch of this epoch holds at most.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const int64_t begin = batch_index * options_.batch_size;
    const int64_t end = std::min<int64_t>(begin + options_.batch_size, order_.size());
    indices.assign(order_.begin() + begin, order_.begin() + end);
    epoch = epoch_;
    capacity = std::min<int64_t>(options_.batch_size, order_.size());
  }
  at::Tensor images;
  slot.status = GuardTorch("making a batch", [&] { images = BatchBuffer(capacity); });
  if (!slot.status.ok()) return;
  // Each image is written into its place in the batch, so a worker holds one batch at a time.
  std::vector<int64_t> labels;
  std::vector<int64_t> kept;
  for (int64_t index : indices) {
    const std::string item = "item " + std::to_string(index);
    absl::StatusOr<int64_t> label = GuardTorch(item, [&]() -> absl::StatusOr<int64_t> {
      return write_example_(index, epoch, images.select(0, static_cast<int64_t>(kept.size())));
    });
    if (absl::IsFailedPrecondition(label.status())) {  // The image does not fit the batch.
      slot.status = Annotate(label.status(), item);
      return;
    }
    if (!label.ok()) {
      if (options_.strict) {
        slot.status = label.status();
        return;
      }
      slot.skipped.emplace_back(index, std::string(label.status().message()));
      continue;
    }
    labels.push_back(*label);
    kept.push_back(index);
  }
  if (kept.empty()) return;
  absl::StatusOr<Batch> batch = GuardTorch("making a batch", [&] {
    return Batch{images.narrow(0, 0, static_cast<int64_t>(kept.size())),
                 at::tensor(labels, at::kLong), kept};
  });
  if (!batch.ok()) {
    slot.status = batch.status();
    return;
  }
  slot.batch = std::move(*batch);
}

at::Tensor Loader::BatchBuffer(int64_t items) {
  std::vector<int64_t> shape = {items};
  shape.insert(shape.end(), image_shape_.begin(), image_shape_.end());
  std::lock_guard<std::mutex> lock(pool_mutex_);
  for (const at::Tensor& buffer : pool_) {
    // Free when the pool holds the only reference to it and to its memory: no worker, batch, view
    // or autograd record is left. Only a holder can make new references, so none appear after.
    if (buffer.use_count() == 1 && buffer.storage().use_count() == 1 &&
        buffer.sizes() == at::IntArrayRef(shape)) {
      return buffer;
    }
  }
  at::Tensor buffer = at::empty(shape, at::kFloat);
  ++buffers_made_;
  if (static_cast<int>(pool_.size()) < options_.prefetch_batches + options_.workers + 4) {
    pool_.push_back(buffer);
  }
  return buffer;
}

absl::StatusOr<std::optional<Batch>> Loader::Next() {
  while (true) {
    std::unique_ptr<Slot> slot;
    std::vector<std::string> first_failures;  // Items of this batch that never failed before.
    {
      std::unique_lock<std::mutex> lock(mutex_);
      if (!started_) return absl::FailedPreconditionError("Loader::Next before StartEpoch");
      if (next_to_return_ >= num_batches_) return std::optional<Batch>();
      const int64_t wanted = next_to_return_;
      if (workers_.empty()) {
        lock.unlock();
        slot = std::make_unique<Slot>();
        BuildBatch(wanted, *slot);
        lock.lock();
      } else {
        batch_ready_.wait(lock, [&] { return done_.count(wanted) > 0; });
        slot = std::move(done_[wanted]);
        done_.erase(wanted);
      }
      ++next_to_return_;
      // A bad file fails again every epoch: count and report each item once.
      for (const auto& [index, message] : slot->skipped) {
        if (!skipped_indices_.insert(index).second) continue;
        ++skipped_.count;
        if (skipped_.messages.size() < kMaxSkippedMessages) skipped_.messages.push_back(message);
        first_failures.push_back(message);
      }
    }
    work_ready_.notify_all();
    if (!options_.quiet) {
      for (const std::string& message : first_failures) {
        std::fprintf(stderr, "warning: skipped %s\n", message.c_str());
      }
    }
    if (!slot->status.ok()) return slot->status;
    if (slot->batch) return std::move(slot->batch);
  }
}

}  // namespace fauna
