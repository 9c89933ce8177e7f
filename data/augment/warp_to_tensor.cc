#include "data/augment/warp_to_tensor.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <utility>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>

#include "core/status.h"
#include "core/torch_status.h"
#include "data/augment/common.h"
#include "data/augment/plane_rows.h"

#if defined(__x86_64__)
#include <immintrin.h>
#define FAUNA_WARP_AVX2 1
#endif

namespace fauna {
namespace {

// Source coordinates in 32.32 fixed point, computed per pixel from the row's start (no drift
// adds up along a row). Warps are limited to source coordinates within +-2^28 pixels, so no sum
// overflows.
constexpr int kFractionBits = 32;
constexpr double kOne = 4294967296.0;
constexpr double kMaxCoordinate = 1 << 28;

int64_t Fixed(double value) { return static_cast<int64_t>(std::llround(value * kOne)); }

// cv::BORDER_REFLECT_101's index for `i` on a side of `n` pixels.
int Reflect101(int64_t i, int n) {
  if (n == 1) return 0;
  const int64_t period = 2 * static_cast<int64_t>(n - 1);
  i %= period;
  if (i < 0) i += period;
  return static_cast<int>(i < n ? i : period - i);
}

// Narrows [*begin, *end) to the pixels x whose fixed-point source coordinate
// (start + x * step) >> kFractionBits lies in [0, side), to within a pixel (doubles).
void InsideRun(int64_t start, int64_t step, int side, int* begin, int* end) {
  const double first = static_cast<double>(start) / kOne;
  const double slope = static_cast<double>(step) / kOne;
  if (slope == 0) {
    if (first < 0 || first >= side) *end = *begin;
    return;
  }
  // first + x * slope in [0, side).
  double low = (0 - first) / slope;
  double high = (side - first) / slope;
  if (slope < 0) std::swap(low, high);
  // A pixel of margin each side; clamped into the run so far before converting to int.
  const double lower = static_cast<double>(*begin);
  const double upper = static_cast<double>(*end);
  *begin = static_cast<int>(std::ceil(std::clamp(low - 1, lower, upper)));
  *end = static_cast<int>(std::floor(std::clamp(high + 1, static_cast<double>(*begin), upper)));
}

// Pixels of an in-image run, one by one: source (fx, fy) in 32.32 fixed point, stepping by
// (step_x, step_y); writes `count` values into each plane row from index 0.
void RunScalar(const uint8_t* data, size_t stride, int64_t fx, int64_t fy, int64_t step_x,
               int64_t step_y, int count, const LevelTable& levels, float* red, float* green,
               float* blue) {
  const auto& table = levels.value;
  for (int i = 0; i < count; ++i, fx += step_x, fy += step_y) {
    const uint8_t* pixel = data + static_cast<size_t>(fy >> kFractionBits) * stride +
                           3 * static_cast<size_t>(fx >> kFractionBits);
    red[i] = table[0][pixel[0]];
    green[i] = table[1][pixel[1]];
    blue[i] = table[2][pixel[2]];
  }
}

#if FAUNA_WARP_AVX2
// The byte offsets of 4 pixels' sources, from their 32.32 coordinates.
__attribute__((target("avx2"))) inline __m256i SourceOffsets(__m256i x, __m256i y,
                                                             __m256i stride) {
  const __m256i column = _mm256_srli_epi64(x, kFractionBits);
  const __m256i row = _mm256_srli_epi64(y, kFractionBits);
  return _mm256_add_epi64(_mm256_mul_epu32(row, stride),
                          _mm256_add_epi64(column, _mm256_add_epi64(column, column)));
}

// RunScalar's work with AVX2, 8 pixels at a time: the 32.32 coordinates in 64-bit lanes (non-negative
// inside the image, so a logical shift takes the integer part), one 4-byte gather per pixel
// (its 3 bytes and the next), and the normalisation as float(x) * scale + bias, which gives the
// table's floats. A group whose gather would read a byte past the image's last pixel
// (`last_gather` is the largest safe offset) goes one by one. A nearest rotation into batch
// places (bench/augment_bench): 82 against 97 µs on one thread, 24,000 against 20,300 images/s on
// two; the rest of the time is writing the 600 KB of floats.
__attribute__((target("avx2"))) void RunAvx2(const uint8_t* data, size_t stride,
                                             int64_t last_gather, int64_t fx, int64_t fy,
                                             int64_t step_x, int64_t step_y, int count,
                                             const LevelTable& levels, float* red, float* green,
                                             float* blue) {
  const __m256i quad_step_x = _mm256_set1_epi64x(4 * step_x);
  const __m256i quad_step_y = _mm256_set1_epi64x(4 * step_y);
  const __m256i octo_step_x = _mm256_set1_epi64x(8 * step_x);
  const __m256i octo_step_y = _mm256_set1_epi64x(8 * step_y);
  __m256i low_x = _mm256_set_epi64x(fx + 3 * step_x, fx + 2 * step_x, fx + step_x, fx);
  __m256i low_y = _mm256_set_epi64x(fy + 3 * step_y, fy + 2 * step_y, fy + step_y, fy);
  __m256i high_x = _mm256_add_epi64(low_x, quad_step_x);
  __m256i high_y = _mm256_add_epi64(low_y, quad_step_y);
  const __m256i stride_lanes = _mm256_set1_epi64x(static_cast<int64_t>(stride));
  const __m256i limit = _mm256_set1_epi64x(last_gather);
  const __m256i byte = _mm256_set1_epi32(0xFF);
  const __m256 scale[3] = {_mm256_set1_ps(levels.scale[0]), _mm256_set1_ps(levels.scale[1]),
                           _mm256_set1_ps(levels.scale[2])};
  const __m256 bias[3] = {_mm256_set1_ps(levels.bias[0]), _mm256_set1_ps(levels.bias[1]),
                          _mm256_set1_ps(levels.bias[2])};
  int i = 0;
  for (; i + 8 <= count; i += 8) {
    const __m256i low = SourceOffsets(low_x, low_y, stride_lanes);
    const __m256i high = SourceOffsets(high_x, high_y, stride_lanes);
    const __m256i past = _mm256_or_si256(_mm256_cmpgt_epi64(low, limit),
                                         _mm256_cmpgt_epi64(high, limit));
    if (_mm256_testz_si256(past, past)) {
      const int* base = reinterpret_cast<const int*>(data);
      const __m256i words = _mm256_set_m128i(_mm256_i64gather_epi32(base, high, 1),
                                             _mm256_i64gather_epi32(base, low, 1));
      float* planes[3] = {red, green, blue};
      for (int c = 0; c < 3; ++c) {
        const __m256i level = _mm256_and_si256(_mm256_srli_epi32(words, 8 * c), byte);
        const __m256 value =
            _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(level), scale[c]), bias[c]);
        _mm256_storeu_ps(planes[c] + i, value);
      }
    } else {
      RunScalar(data, stride, fx + i * step_x, fy + i * step_y, step_x, step_y, 8, levels,
                red + i, green + i, blue + i);
    }
    low_x = _mm256_add_epi64(low_x, octo_step_x);
    low_y = _mm256_add_epi64(low_y, octo_step_y);
    high_x = _mm256_add_epi64(high_x, octo_step_x);
    high_y = _mm256_add_epi64(high_y, octo_step_y);
  }
  RunScalar(data, stride, fx + i * step_x, fy + i * step_y, step_x, step_y, count - i, levels,
            red + i, green + i, blue + i);
}
#endif

void WarpNearest(const cv::Mat& rgb, const cv::Matx23d& inverse, Border border,
                 const LevelTable& levels, float* out) {
  const auto& table = levels.value;
  const int rows = rgb.rows;
  const int cols = rgb.cols;
  const int64_t step_x = Fixed(inverse(0, 0));
  const int64_t step_y = Fixed(inverse(1, 0));
  const size_t stride = rgb.step[0];
#if FAUNA_WARP_AVX2
  static const bool kHasAvx2 = __builtin_cpu_supports("avx2");
  // The vector loop multiplies 32-bit halves: rows and the stride must fit in 32 bits.
  const bool avx2 = kHasAvx2 && stride < (size_t{1} << 31);
  // A 4-byte gather at this offset or below stays within the image's bytes.
  const int64_t last_gather =
      static_cast<int64_t>((rows - 1) * stride + 3 * static_cast<size_t>(cols)) - 4;
#endif
  PlaneRowWriter writer(out, rows, cols);
  for (int y = 0; y < rows; ++y) {
    const std::array<float*, 3> row = writer.Row(y);
    // Half a pixel added, so that the shift rounds to the nearest pixel.
    const int64_t start_x = Fixed(inverse(0, 1) * y + inverse(0, 2) + 0.5);
    const int64_t start_y = Fixed(inverse(1, 1) * y + inverse(1, 2) + 0.5);
    const auto source_x = [&](int x) { return (start_x + x * step_x) >> kFractionBits; };
    const auto source_y = [&](int x) { return (start_y + x * step_y) >> kFractionBits; };
    const auto inside = [&](int x) {
      const int64_t sx = source_x(x);
      const int64_t sy = source_y(x);
      return sx >= 0 && sy >= 0 && sx < cols && sy < rows;
    };
    const auto edge = [&](int x) {
      int64_t sx = source_x(x);
      int64_t sy = source_y(x);
      if (sx < 0 || sy < 0 || sx >= cols || sy >= rows) {
        if (border == Border::kConstant) {
          for (int c = 0; c < 3; ++c) row[c][x] = table[c][0];
          return;
        }
        sx = Reflect101(sx, cols);
        sy = Reflect101(sy, rows);
      }
      const uint8_t* pixel = rgb.ptr<uint8_t>(static_cast<int>(sy)) + 3 * sx;
      for (int c = 0; c < 3; ++c) row[c][x] = table[c][pixel[c]];
    };
    // The pixels whose source is inside the image form one run [inner_begin, inner_end) (the
    // source moves along a line); it is found in doubles, then narrowed until both of its ends
    // are inside exactly, which makes every pixel between them inside.
    int inner_begin = 0;
    int inner_end = cols;
    InsideRun(start_x, step_x, cols, &inner_begin, &inner_end);
    InsideRun(start_y, step_y, rows, &inner_begin, &inner_end);
    while (inner_begin < inner_end && !inside(inner_begin)) ++inner_begin;
    while (inner_end > inner_begin && !inside(inner_end - 1)) --inner_end;
    for (int x = 0; x < inner_begin; ++x) edge(x);
    const int64_t fx = start_x + inner_begin * step_x;
    const int64_t fy = start_y + inner_begin * step_y;
    const int run = inner_end - inner_begin;
#if FAUNA_WARP_AVX2
    if (avx2) {
      RunAvx2(rgb.data, stride, last_gather, fx, fy, step_x, step_y, run, levels,
              row[0] + inner_begin, row[1] + inner_begin, row[2] + inner_begin);
    } else
#endif
    {
      RunScalar(rgb.data, stride, fx, fy, step_x, step_y, run, levels, row[0] + inner_begin,
                row[1] + inner_begin, row[2] + inner_begin);
    }
    for (int x = inner_end; x < cols; ++x) edge(x);
    writer.Store(y);
  }
}

}  // namespace

absl::Status WarpToTensorInto(const cv::Mat& rgb, const AffineWarp& warp,
                              const Normalization& normalization, const at::Tensor& destination) {
  RETURN_IF_ERROR(ValidateNormalization(normalization));
  RETURN_IF_ERROR(augment::CheckRgb(rgb, "warp to tensor"));
  RETURN_IF_ERROR(CheckTensorDestination(rgb, destination));
  for (int i = 0; i < 6; ++i) {
    if (!std::isfinite(warp.forward.val[i])) {
      return absl::InvalidArgumentError("warp to tensor: the warp matrix is not finite");
    }
  }
  const double determinant =
      warp.forward(0, 0) * warp.forward(1, 1) - warp.forward(0, 1) * warp.forward(1, 0);
  if (std::abs(determinant) < 1e-9) {
    return absl::InvalidArgumentError("warp to tensor: the warp matrix is not invertible");
  }
  if (warp.identity()) {
    return ToTensorInto(rgb, normalization, destination);
  }
  // An exact warp takes whole pixels whatever the sampling: the nearest loop is the fast way.
  if (warp.sampling == Sampling::kBilinear && !warp.exact) {
    // cv::warpAffine's vectorised bilinear and then the conversion beat a scalar fused loop
    // (0.20 ms against 0.30 ms for 224 px), so bilinear warps take the two steps.
    ASSIGN_OR_RETURN(cv::Mat warped, Warped(rgb, warp));
    return ToTensorInto(warped, normalization, destination);
  }
  cv::Matx23d inverse;
  cv::invertAffineTransform(warp.forward, inverse);
  for (const cv::Point2d corner : {cv::Point2d(0, 0), cv::Point2d(rgb.cols - 1, 0),
                                   cv::Point2d(0, rgb.rows - 1),
                                   cv::Point2d(rgb.cols - 1, rgb.rows - 1)}) {
    const cv::Vec2d source = inverse * cv::Vec3d(corner.x, corner.y, 1);
    if (std::abs(source[0]) > kMaxCoordinate || std::abs(source[1]) > kMaxCoordinate) {
      return absl::InvalidArgumentError(
          "warp to tensor: the warp reaches source pixels more than 2^28 away");
    }
  }
  const LevelTable table = MakeLevelTable(normalization);
  return GuardTorch("warp to tensor", [&] {
    WarpNearest(rgb, inverse, warp.border, table, destination.data_ptr<float>());
  });
}

}  // namespace fauna
