// Seeding and determinism: one seed feeds LibTorch, OpenCV and std generators, and per-item seeds
// derive from (seed, epoch, index) alone, never from thread scheduling.
#ifndef FAUNA_CORE_SEED_H_
#define FAUNA_CORE_SEED_H_

#include <cstdint>
#include <random>

namespace fauna {

// One step of SplitMix64 (Steele, Lea & Flood 2014): a fast, well-mixed 64-bit bijection.
uint64_t SplitMix64(uint64_t x);

// A stable seed for one draw of one item: the same (seed, epoch, index) always gives the same
// value, on any machine and with any thread count; neighbouring arguments give unrelated values.
//
// Example:
//   std::mt19937_64 rng(DeriveSeed(seed, epoch, sample_index));  // this sample's augmentation
uint64_t DeriveSeed(uint64_t seed, uint64_t epoch, uint64_t index);

// A std generator for one item, seeded with DeriveSeed(seed, epoch, index).
std::mt19937_64 MakeGenerator(uint64_t seed, uint64_t epoch = 0, uint64_t index = 0);

// Seeds LibTorch's default generators (CPU and, where present, CUDA) and OpenCV's cv::theRNG() of
// the calling thread from `seed`.
void SeedGlobalGenerators(uint64_t seed);

// Sets the intra-op thread count of LibTorch and OpenCV; `threads` <= 0 means one per core.
// Returns the count in force. Call once at start, before any parallel work.
int SetThreadCount(int threads);

}  // namespace fauna

#endif  // FAUNA_CORE_SEED_H_
