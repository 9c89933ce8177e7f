#include "data/augment/plane_rows.h"

#include <cstdint>
#include <vector>

#include <gtest/gtest.h>

namespace fauna {
namespace {

// Fills every row with value = plane * 1e6 + y * 1000 + x through the writer.
std::vector<float> Write(int rows, int cols, size_t offset, bool* streaming) {
  // An offset of one float leaves the destination unaligned: the copy starts with plain stores.
  std::vector<float> storage(offset + 3 * static_cast<size_t>(rows) * cols, -1.0f);
  {
    PlaneRowWriter writer(storage.data() + offset, rows, cols);
    *streaming = writer.streaming();
    for (int y = 0; y < rows; ++y) {
      const std::array<float*, 3> row = writer.Row(y);
      for (int c = 0; c < 3; ++c) {
        for (int x = 0; x < cols; ++x) row[c][x] = static_cast<float>(c * 1000000 + y * 1000 + x);
      }
      writer.Store(y);
    }
  }
  return std::vector<float>(storage.begin() + static_cast<int64_t>(offset), storage.end());
}

void ExpectAllWritten(const std::vector<float>& out, int rows, int cols) {
  for (int c = 0; c < 3; ++c) {
    for (int y = 0; y < rows; ++y) {
      for (int x = 0; x < cols; ++x) {
        ASSERT_EQ(out[(static_cast<size_t>(c) * rows + y) * cols + x],
                  static_cast<float>(c * 1000000 + y * 1000 + x))
            << "plane " << c << ", row " << y << ", column " << x;
      }
    }
  }
}

TEST(PlaneRowWriter, SmallDestinationsAreWrittenInPlace) {
  bool streaming = true;
  ExpectAllWritten(Write(9, 7, 0, &streaming), 9, 7);
  EXPECT_FALSE(streaming);
}

TEST(PlaneRowWriter, LargeDestinationsAreStreamedWhole) {
  // 150 x 151 x 3 floats is past kStreamingBytes; odd sides and an unaligned start exercise the
  // plain stores at both ends of each row.
  for (size_t offset : {0, 1, 3}) {
    bool streaming = false;
    ExpectAllWritten(Write(150, 151, offset, &streaming), 150, 151);
#if defined(__SSE2__)
    EXPECT_TRUE(streaming);
#endif
  }
}

}  // namespace
}  // namespace fauna
