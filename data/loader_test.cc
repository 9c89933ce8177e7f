#include "data/loader.h"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/seed.h"
#include "core/status.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;

// Item i's pixel value: i plus a per-(epoch, index) random draw.
float ItemValue(int64_t index, int64_t epoch) {
  std::mt19937_64 rng = MakeGenerator(/*seed=*/9, epoch, index);
  return static_cast<float>(index) + static_cast<float>(rng() % 1000) / 1000.0f;
}

// Item i is a 2x2 image filled with ItemValue, labelled i % 3.
absl::StatusOr<int64_t> WriteItem(int64_t index, int64_t epoch, const at::Tensor& image) {
  image.fill_(ItemValue(index, epoch));
  return index % 3;
}

const std::vector<int64_t> kItemShape = {2, 2};

std::vector<Batch> Epoch(Loader& loader, int64_t epoch) {
  EXPECT_TRUE(loader.StartEpoch(epoch).ok());
  std::vector<Batch> batches;
  while (true) {
    absl::StatusOr<std::optional<Batch>> batch = loader.Next();
    EXPECT_TRUE(batch.ok()) << batch.status();
    if (!batch.ok() || !*batch) break;
    batches.push_back(std::move(**batch));
  }
  return batches;
}

LoaderOptions Options(int workers) {
  LoaderOptions options;
  options.batch_size = 8;
  options.workers = workers;
  options.seed = 3;
  options.quiet = true;
  return options;
}

TEST(EpochOrder, IsAPermutationFixedBySeedAndEpoch) {
  std::vector<int64_t> a = EpochOrder(100, 1, 0, /*shuffle=*/true, 0, 1);
  std::vector<int64_t> sorted = a;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 100; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_EQ(a, EpochOrder(100, 1, 0, true, 0, 1));
  EXPECT_NE(a, EpochOrder(100, 1, 1, true, 0, 1));
  EXPECT_NE(a, EpochOrder(100, 2, 0, true, 0, 1));
  std::vector<int64_t> plain = EpochOrder(5, 1, 0, /*shuffle=*/false, 0, 1);
  EXPECT_EQ(plain, (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(EpochOrder, RanksPartitionWithoutOverlap) {
  std::set<int64_t> seen;
  size_t per_rank = 0;
  for (int rank = 0; rank < 3; ++rank) {
    std::vector<int64_t> part = EpochOrder(100, 1, 4, true, rank, 3);
    if (rank == 0) per_rank = part.size();
    EXPECT_EQ(part.size(), per_rank);
    for (int64_t i : part) EXPECT_TRUE(seen.insert(i).second) << "item " << i << " twice";
  }
  EXPECT_EQ(per_rank, 33u);
  EXPECT_EQ(seen.size(), 99u);
}

TEST(Loader, SameBatchesForAnyWorkerCount) {
  Loader inline_loader(50, kItemShape, WriteItem, Options(0));
  std::vector<Batch> reference = Epoch(inline_loader, 2);
  ASSERT_EQ(reference.size(), 7u);  // 6 full batches and one of 2.
  EXPECT_EQ(reference.back().images.size(0), 2);
  for (int workers : {1, 2, 4}) {
    Loader loader(50, kItemShape, WriteItem, Options(workers));
    std::vector<Batch> batches = Epoch(loader, 2);
    ASSERT_EQ(batches.size(), reference.size()) << workers;
    for (size_t b = 0; b < batches.size(); ++b) {
      EXPECT_EQ(batches[b].indices, reference[b].indices) << workers;
      EXPECT_TRUE(at::equal(batches[b].images, reference[b].images)) << workers;
      EXPECT_TRUE(at::equal(batches[b].labels, reference[b].labels)) << workers;
    }
  }
}

TEST(Loader, CoversEveryItemOncePerEpochAndReshuffles) {
  Loader loader(50, kItemShape, WriteItem, Options(2));
  std::vector<int64_t> first_order;
  for (int64_t epoch : {0, 1}) {
    std::multiset<int64_t> seen;
    std::vector<int64_t> order;
    for (const Batch& batch : Epoch(loader, epoch)) {
      EXPECT_EQ(batch.images.sizes(), (std::vector<int64_t>{batch.labels.size(0), 2, 2}));
      for (size_t k = 0; k < batch.indices.size(); ++k) {
        EXPECT_EQ(batch.labels[k].item<int64_t>(), batch.indices[k] % 3);
      }
      seen.insert(batch.indices.begin(), batch.indices.end());
      order.insert(order.end(), batch.indices.begin(), batch.indices.end());
    }
    EXPECT_EQ(seen.size(), 50u);
    EXPECT_EQ(std::set<int64_t>(seen.begin(), seen.end()).size(), 50u);
    if (epoch == 0) first_order = order;
    if (epoch == 1) {
      EXPECT_NE(order, first_order);
    }
  }
}

TEST(Loader, DropLastAndBatchCount) {
  LoaderOptions options = Options(2);
  options.drop_last = true;
  Loader loader(50, kItemShape, WriteItem, options);
  std::vector<Batch> batches = Epoch(loader, 0);
  EXPECT_EQ(batches.size(), 6u);
  EXPECT_EQ(loader.batches_per_epoch(), 6);
}

// Long enough never to matter unless the loader is broken (then the wait fails, not hangs).
constexpr auto kGenerousTimeout = std::chrono::seconds(30);

TEST(Loader, PrefetchIsBounded) {
  LoaderOptions options = Options(2);
  options.prefetch_batches = 2;
  constexpr int64_t kItems = 400;  // 50 batches of 8.
  const int64_t batches = kItems / options.batch_size;
  // The batch each item lands in, from the epoch's order.
  std::vector<int64_t> batch_of(kItems);
  const std::vector<int64_t> order = EpochOrder(kItems, options.seed, 0, true, 0, 1);
  for (size_t k = 0; k < order.size(); ++k) {
    batch_of[order[k]] = static_cast<int64_t>(k) / options.batch_size;
  }

  std::mutex mutex;
  std::condition_variable item_made;
  int64_t made = 0;           // Items written so far.
  int64_t asked = 0;          // Next() calls begun: batch k may be built once k < asked + prefetch.
  int64_t made_early = 0;     // Items written before their batch was allowed.
  Loader loader(kItems, kItemShape, [&](int64_t index, int64_t epoch, const at::Tensor& image) {
    {
      std::lock_guard<std::mutex> lock(mutex);
      if (batch_of[index] >= asked + options.prefetch_batches) ++made_early;
      ++made;
    }
    item_made.notify_all();
    return WriteItem(index, epoch, image);
  }, options);
  ASSERT_TRUE(loader.StartEpoch(0).ok());
  for (int64_t b = 0; b < batches; ++b) {
    // Before Next() call b + 1 the workers may build batches 0 .. b + prefetch - 1 and no more:
    // wait until they have, then they can only wait for the consumer, so the count is exact.
    const int64_t allowed = std::min(b + options.prefetch_batches, batches) * options.batch_size;
    {
      std::unique_lock<std::mutex> lock(mutex);
      ASSERT_TRUE(item_made.wait_for(lock, kGenerousTimeout, [&] { return made >= allowed; }))
          << "batch " << b << ": " << made << " items made, " << allowed << " expected";
      ASSERT_EQ(made, allowed) << "batch " << b << ": more items made than prefetch allows";
      ++asked;
    }
    absl::StatusOr<std::optional<Batch>> batch = loader.Next();
    ASSERT_TRUE(batch.ok() && batch->has_value()) << b;
    const auto first = order.begin() + b * options.batch_size;
    EXPECT_EQ((*batch)->indices, std::vector<int64_t>(first, first + options.batch_size));
  }
  ASSERT_FALSE(*loader.Next());
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(made_early, 0);
  EXPECT_EQ(made, kItems);
}

// Fails items 7, 17, 27, ... after writing -1 into their place.
absl::StatusOr<int64_t> WriteFlakyItem(int64_t index, int64_t epoch, const at::Tensor& image) {
  if (index % 10 == 7) {
    image.fill_(-1);  // A half-written place must not survive into the batch.
    return absl::InvalidArgumentError("broken_" + std::to_string(index) + ".jpg");
  }
  return WriteItem(index, epoch, image);
}

TEST(Loader, SkipsFailedItemsAndCountsThem) {
  Loader loader(50, kItemShape, WriteFlakyItem, Options(2));
  int64_t items = 0;
  for (const Batch& batch : Epoch(loader, 0)) {
    for (int64_t i : batch.indices) EXPECT_NE(i % 10, 7);
    EXPECT_GE(batch.images.min().item<float>(), 0.0f);
    items += batch.images.size(0);
  }
  EXPECT_EQ(items, 45);
  SkippedItems skipped = loader.skipped();
  EXPECT_EQ(skipped.count, 5);
  EXPECT_THAT(skipped.messages.front(), HasSubstr(".jpg"));
}

// How many times `needle` occurs in `text`.
int Occurrences(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    ++count;
  }
  return count;
}

TEST(Loader, CountsAndReportsEachBadItemOnceOverEpochs) {
  const std::set<int64_t> bad = {3, 11, 24, 38, 49};
  LoaderOptions options = Options(2);
  options.quiet = false;
  Loader loader(50, kItemShape, [&bad](int64_t index, int64_t epoch,
                                       const at::Tensor& image) -> absl::StatusOr<int64_t> {
    if (bad.count(index) > 0) {
      return absl::InvalidArgumentError("unreadable_" + std::to_string(index) + ".jpg");
    }
    return WriteItem(index, epoch, image);
  }, options);
  ::testing::internal::CaptureStderr();
  for (int64_t epoch : {0, 1, 2}) {
    int64_t items = 0;
    for (const Batch& batch : Epoch(loader, epoch)) items += batch.images.size(0);
    EXPECT_EQ(items, 45) << epoch;  // Still skipped every epoch.
  }
  const std::string warnings = ::testing::internal::GetCapturedStderr();
  SkippedItems skipped = loader.skipped();
  EXPECT_EQ(skipped.count, 5);
  EXPECT_EQ(skipped.messages.size(), 5u);
  std::set<std::string> messages(skipped.messages.begin(), skipped.messages.end());
  EXPECT_EQ(messages.size(), 5u);
  // One warning per bad item over the three epochs.
  EXPECT_EQ(Occurrences(warnings, "warning: skipped "), 5) << warnings;
  for (int64_t index : bad) {
    const std::string name = "unreadable_" + std::to_string(index) + ".jpg";
    EXPECT_EQ(messages.count(name), 1u) << name;
    EXPECT_EQ(Occurrences(warnings, "warning: skipped " + name + "\n"), 1) << name;
  }
}

TEST(Loader, StrictModeFailsOnABadItem) {
  LoaderOptions options = Options(2);
  options.strict = true;
  Loader loader(20, kItemShape, [](int64_t index, int64_t epoch,
                                   const at::Tensor& image) -> absl::StatusOr<int64_t> {
    if (index == 11) return absl::InvalidArgumentError("truncated.jpg: not a readable image");
    return WriteItem(index, epoch, image);
  }, options);
  ASSERT_TRUE(loader.StartEpoch(0).ok());
  absl::Status failure;
  while (true) {
    absl::StatusOr<std::optional<Batch>> batch = loader.Next();
    if (!batch.ok()) {
      failure = batch.status();
      break;
    }
    if (!*batch) break;
  }
  EXPECT_THAT(std::string(failure.message()), HasSubstr("truncated.jpg"));
}

TEST(Loader, ThrowingItemsAreErrors) {
  LoaderOptions options = Options(1);
  options.strict = true;
  Loader throwing(8, kItemShape, [](int64_t, int64_t, const at::Tensor& image)
                                     -> absl::StatusOr<int64_t> {
    image.copy_(at::ones({3}));  // Wrong shape: LibTorch throws.
    return 0;
  }, options);
  ASSERT_TRUE(throwing.StartEpoch(0).ok());
  EXPECT_FALSE(throwing.Next().ok());
}

TEST(Loader, ReusesReleasedBatchBuffersButNeverOneStillHeld) {
  {
    Loader loader(64, kItemShape, WriteItem, Options(2));
    ASSERT_TRUE(loader.StartEpoch(0).ok());
    absl::StatusOr<std::optional<Batch>> first = loader.Next();
    ASSERT_TRUE(first.ok() && first->has_value());
    const Batch held = **first;
    const at::Tensor held_copy = held.images.clone();
    int64_t batches = 1;
    for (int epoch = 0; epoch < 3; ++epoch) {
      if (epoch > 0) {
        ASSERT_TRUE(loader.StartEpoch(epoch).ok());
      }
      while (true) {
        absl::StatusOr<std::optional<Batch>> batch = loader.Next();
        ASSERT_TRUE(batch.ok());
        if (!*batch) break;
        EXPECT_NE((*batch)->images.data_ptr(), held.images.data_ptr());
        ++batches;
      }
    }
    // 24 batches from at most prefetch (4) + workers (2) + the held one + the one being returned
    // + one more being released: the rest came from reused buffers. The held batch kept its images.
    EXPECT_EQ(batches, 24);
    EXPECT_LE(loader.batch_buffers_made(), 9);
    EXPECT_TRUE(at::equal(held.images, held_copy));
  }
}

TEST(Loader, BatchBuffersHoldNoMoreItemsThanAnEpoch) {
  LoaderOptions options = Options(1);
  options.batch_size = 64;
  Loader loader(5, kItemShape, WriteItem, options);
  std::vector<Batch> batches = Epoch(loader, 0);
  ASSERT_EQ(batches.size(), 1u);
  EXPECT_EQ(batches[0].images.size(0), 5);
  EXPECT_EQ(batches[0].images.storage().nbytes(), 5 * 4 * sizeof(float));
}

TEST(Loader, AnItemThatDoesNotFitItsBatchStopsTheEpoch) {
  // Not skipped as a bad file would be: every later item would likely fail the same way.
  Loader loader(20, kItemShape, [](int64_t index, int64_t epoch, const at::Tensor& image)
                                    -> absl::StatusOr<int64_t> {
    if (index == 5) return absl::FailedPreconditionError("to tensor: needs [3, 2, 2]");
    return WriteItem(index, epoch, image);
  }, Options(1));
  ASSERT_TRUE(loader.StartEpoch(0).ok());
  absl::Status failure;
  while (failure.ok()) {
    absl::StatusOr<std::optional<Batch>> batch = loader.Next();
    if (!batch.ok()) failure = batch.status();
    if (batch.ok() && !*batch) break;
  }
  EXPECT_THAT(std::string(failure.message()), HasSubstr("item 5"));
  EXPECT_THAT(std::string(failure.message()), HasSubstr("needs [3, 2, 2]"));
}

TEST(MakeExample, MakesTheWritersItemOnItsOwn) {
  absl::StatusOr<Example> example = MakeExample(kItemShape, WriteItem, 5, 1);
  ASSERT_TRUE(example.ok()) << example.status();
  EXPECT_TRUE(at::equal(example->image, at::full({2, 2}, ItemValue(5, 1))));
  EXPECT_EQ(example->label, 2);
  EXPECT_THAT(std::string(MakeExample(kItemShape, WriteFlakyItem, 7, 0).status().message()),
              HasSubstr("broken_7.jpg"));
}

TEST(Loader, BadOptionsAreErrors) {
  LoaderOptions options = Options(0);
  Loader before(10, kItemShape, WriteItem, options);
  EXPECT_EQ(before.Next().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_FALSE(Loader(0, kItemShape, WriteItem, options).StartEpoch(0).ok());
  options.batch_size = 0;
  EXPECT_FALSE(Loader(10, kItemShape, WriteItem, options).StartEpoch(0).ok());
  options = Options(0);
  options.rank = 2;
  options.world_size = 2;
  EXPECT_FALSE(Loader(10, kItemShape, WriteItem, options).StartEpoch(0).ok());
  options.rank = 0;
  options.world_size = 20;
  EXPECT_FALSE(Loader(10, kItemShape, WriteItem, options).StartEpoch(0).ok());
  options = Options(0);
  options.batch_size = 16;
  options.drop_last = true;
  EXPECT_TRUE(Loader(16, kItemShape, WriteItem, options).StartEpoch(0).ok());
  const absl::Status empty = Loader(15, kItemShape, WriteItem, options).StartEpoch(0);
  EXPECT_EQ(empty.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(empty.message()), HasSubstr("every epoch would be empty"));
  options.world_size = 2;
  options.batch_size = 8;
  EXPECT_FALSE(Loader(15, kItemShape, WriteItem, options).StartEpoch(0).ok());  // 7 a rank.
}

TEST(Loader, RestartingAnEpochMidwayIsSafe) {
  Loader loader(200, kItemShape, WriteItem, Options(2));
  ASSERT_TRUE(loader.StartEpoch(0).ok());
  ASSERT_TRUE(loader.Next().ok());
  std::vector<Batch> fresh = Epoch(loader, 1);
  Loader reference(200, kItemShape, WriteItem, Options(0));
  std::vector<Batch> expected = Epoch(reference, 1);
  ASSERT_EQ(fresh.size(), expected.size());
  for (size_t b = 0; b < fresh.size(); ++b) EXPECT_EQ(fresh[b].indices, expected[b].indices);
}

}  // namespace
}  // namespace fauna
