// Helpers of the plain-text tables that reports print (confusion matrices, cluster tables).
#ifndef FAUNA_EVAL_TEXT_TABLE_H_
#define FAUNA_EVAL_TEXT_TABLE_H_

#include <cstddef>
#include <cstdio>
#include <string>

namespace fauna {

// `value` with `decimals` digits after the point, e.g. Fixed(0.83333, 3) == "0.833".
inline std::string Fixed(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

// `text` padded with spaces to `width` columns on the left (right-aligned) or right.
inline std::string PadLeft(const std::string& text, size_t width) {
  return text.size() >= width ? text : std::string(width - text.size(), ' ') + text;
}
inline std::string PadRight(const std::string& text, size_t width) {
  return text.size() >= width ? text : text + std::string(width - text.size(), ' ');
}

}  // namespace fauna

#endif  // FAUNA_EVAL_TEXT_TABLE_H_
