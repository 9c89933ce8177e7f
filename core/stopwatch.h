// Wall-clock seconds on the monotonic clock, for the times that runs and tools report.
#ifndef FAUNA_CORE_STOPWATCH_H_
#define FAUNA_CORE_STOPWATCH_H_

#include <chrono>

namespace fauna {

// Seconds from `start` (a std::chrono::steady_clock::now()) until now.
//
// Example:
//   const auto start = std::chrono::steady_clock::now();
//   Fit();
//   results["fit_seconds"] = SecondsSince(start);
inline double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace fauna

#endif  // FAUNA_CORE_STOPWATCH_H_
