// Random draws that are the same with every standard library. std::mt19937_64's output is fixed by
// the C++ standard, but std::uniform_*_distribution and std::shuffle are not specified exactly, so
// with them a seed would give other augmentations, splits and shuffles under libc++ than under
// libstdc++. fauna draws through these functions instead.
#ifndef FAUNA_CORE_RANDOM_H_
#define FAUNA_CORE_RANDOM_H_

#include <cstdint>
#include <random>
#include <utility>
#include <vector>

namespace fauna {

// A uniform double in [0, 1) from the top 53 bits of one draw.
inline double Uniform01(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

// A uniform double in [low, high).
inline double Uniform(std::mt19937_64& rng, double low, double high) {
  return low + (high - low) * Uniform01(rng);
}

// A uniform integer in [0, n) for n >= 1 (Lemire's multiply-shift: one draw, bias below n / 2^64).
inline int64_t UniformIndex(std::mt19937_64& rng, int64_t n) {
  return static_cast<int64_t>((static_cast<unsigned __int128>(rng()) * static_cast<uint64_t>(n)) >>
                              64);
}

// True with probability p; always one draw, so later draws do not depend on the outcome.
inline bool Bernoulli(std::mt19937_64& rng, double p) { return Uniform01(rng) < p; }

// Shuffles `items` in place (Fisher-Yates with UniformIndex draws).
template <typename T>
void Shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    std::swap(items[i - 1], items[static_cast<size_t>(UniformIndex(rng, static_cast<int64_t>(i)))]);
  }
}

}  // namespace fauna

#endif  // FAUNA_CORE_RANDOM_H_
