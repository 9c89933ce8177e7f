#include "data/augment/plane_rows.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace fauna {
namespace {

// Copies n floats with streaming stores where the destination is 16-byte aligned.
void StreamCopy(const float* from, float* to, int n) {
  int x = 0;
#if defined(__SSE2__)
  for (; x < n && (reinterpret_cast<uintptr_t>(to + x) & 15) != 0; ++x) to[x] = from[x];
  for (; x + 4 <= n; x += 4) _mm_stream_ps(to + x, _mm_loadu_ps(from + x));
#endif
  std::memcpy(to + x, from + x, sizeof(float) * static_cast<size_t>(n - x));
}

}  // namespace

PlaneRowWriter::PlaneRowWriter(float* destination, int rows, int cols)
    : destination_(destination), cols_(cols), plane_(static_cast<int64_t>(rows) * cols) {
#if defined(__SSE2__)
  if (3 * plane_ * static_cast<int64_t>(sizeof(float)) >= kStreamingBytes) {
    line_.resize(3 * static_cast<size_t>(cols));
  }
#endif
}

PlaneRowWriter::~PlaneRowWriter() {
#if defined(__SSE2__)
  // Streaming stores are weakly ordered; the fence orders them before anything after.
  if (streaming()) _mm_sfence();
#endif
}

std::array<float*, 3> PlaneRowWriter::Destination(int y) const {
  float* red = destination_ + static_cast<int64_t>(y) * cols_;
  return {red, red + plane_, red + 2 * plane_};
}

std::array<float*, 3> PlaneRowWriter::Row(int y) {
  if (!streaming()) return Destination(y);
  return {line_.data(), line_.data() + cols_, line_.data() + 2 * cols_};
}

void PlaneRowWriter::Store(int y) {
  if (!streaming()) return;
  const std::array<float*, 3> to = Destination(y);
  for (int c = 0; c < 3; ++c) StreamCopy(line_.data() + c * cols_, to[c], cols_);
}

}  // namespace fauna
