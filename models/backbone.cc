#include "models/backbone.h"

#include <algorithm>
#include <cmath>

namespace fauna {

int64_t ScaleWidth(int64_t channels, double width) {
  return std::max<int64_t>(1, std::llround(static_cast<double>(channels) * width));
}

}  // namespace fauna
