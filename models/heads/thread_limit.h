// Small problems on one thread: LibTorch splits every CPU operation over 32,768 elements across
// its threads, and for the [N, k] tensors of a small clustering problem the fork and join cost
// more than they save, much more where other processes compete for the cores (a Gaussian mixture
// of 20,000 x 10 points fit in 0.06-0.07 s on one thread and 0.14-0.16 s on two, on a busy
// 2-core AMD EPYC). The heads run such problems under a ThreadLimit.
#ifndef FAUNA_MODELS_HEADS_THREAD_LIMIT_H_
#define FAUNA_MODELS_HEADS_THREAD_LIMIT_H_

#include <cstdint>

#include <ATen/Parallel.h>
#include <ATen/core/Tensor.h>

namespace fauna {

// Points (rows x features) below which a CPU fit runs on one thread.
inline constexpr int64_t kOneThreadElements = int64_t{1} << 20;

// While alive, LibTorch's intra-op thread count is 1 if `points` are on the CPU and hold fewer
// than kOneThreadElements values; the count in force before is restored on destruction. The
// count is process-wide: other threads running LibTorch operations meanwhile are limited too.
//
// Example:
//   const ThreadLimit limit(x);  // first thing in a Fit
class ThreadLimit {
 public:
  explicit ThreadLimit(const at::Tensor& points) : previous_(at::get_num_threads()) {
    limited_ = points.device().is_cpu() && points.numel() < kOneThreadElements && previous_ > 1;
    if (limited_) at::set_num_threads(1);
  }
  ~ThreadLimit() {
    if (limited_) at::set_num_threads(previous_);
  }
  ThreadLimit(const ThreadLimit&) = delete;
  ThreadLimit& operator=(const ThreadLimit&) = delete;

 private:
  int previous_;
  bool limited_ = false;
};

}  // namespace fauna

#endif  // FAUNA_MODELS_HEADS_THREAD_LIMIT_H_
