// Where a conversion kernel writes the rows of a [3, rows, cols] float destination (a CHW image).
//
// A large destination is written through a row buffer that stays in L1 and is then copied out
// with streaming (non-temporal) stores. A loader's batch of 224 px images is tens of MB, far past
// the caches, and nothing reads it before the batch is handed over: ordinary stores read each
// cache line in before overwriting it, and push the source images out of the cache. Measured on
// cached epochs (bench/loader_bench, 2 workers, the steady epochs of three runs each, before the
// AVX2 warp): flip + nearest rotation 14,500-15,800 -> 16,400-19,400 images/s; no augmentation
// 22,500-24,000 -> 23,100-25,700.
// It costs where there is no contention: one thread converting alone is 10-15% slower streamed
// (bench/augment_bench, threads:1). A small destination, which stays in cache for whoever reads it
// next, is written in place.
#ifndef FAUNA_DATA_AUGMENT_PLANE_ROWS_H_
#define FAUNA_DATA_AUGMENT_PLANE_ROWS_H_

#include <array>
#include <cstdint>
#include <vector>

namespace fauna {

class PlaneRowWriter {
 public:
  // Destinations of at least this many bytes are streamed.
  static constexpr int64_t kStreamingBytes = 256 << 10;

  PlaneRowWriter(float* destination, int rows, int cols);
  // Makes the streaming stores visible to other threads before the destination is handed on.
  ~PlaneRowWriter();
  PlaneRowWriter(const PlaneRowWriter&) = delete;
  PlaneRowWriter& operator=(const PlaneRowWriter&) = delete;

  bool streaming() const { return !line_.empty(); }

  // Row y of the red, green and blue planes, to fill with cols values each, then Store(y).
  std::array<float*, 3> Row(int y);
  // Writes row y out, when Row(y) gave the buffer.
  void Store(int y);

 private:
  std::array<float*, 3> Destination(int y) const;

  float* destination_;
  int cols_;
  int64_t plane_;
  std::vector<float> line_;  // Empty unless streaming.
};

}  // namespace fauna

#endif  // FAUNA_DATA_AUGMENT_PLANE_ROWS_H_
