#include "core/seed.h"

#include <thread>

#include <ATen/Context.h>
#include <ATen/Parallel.h>
#include <opencv2/core.hpp>

namespace fauna {

uint64_t SplitMix64(uint64_t x) {
  uint64_t z = x + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t DeriveSeed(uint64_t seed, uint64_t epoch, uint64_t index) {
  // Chaining keeps the three arguments apart: (1, 0, 0) and (0, 1, 0) give unrelated seeds.
  return SplitMix64(SplitMix64(SplitMix64(seed) ^ epoch) ^ index);
}

std::mt19937_64 MakeGenerator(uint64_t seed, uint64_t epoch, uint64_t index) {
  return std::mt19937_64(DeriveSeed(seed, epoch, index));
}

void SeedGlobalGenerators(uint64_t seed) {
  at::manual_seed(seed);  // Seeds CUDA generators too when CUDA is present.
  cv::theRNG().state = DeriveSeed(seed, /*epoch=*/0, /*index=*/0) | 1;  // OpenCV needs non-zero.
}

int SetThreadCount(int threads) {
  if (threads <= 0) {
    threads = static_cast<int>(std::thread::hardware_concurrency());
    if (threads <= 0) threads = 1;
  }
  at::set_num_threads(threads);
  cv::setNumThreads(threads);
  return threads;
}

}  // namespace fauna
