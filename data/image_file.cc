#include "data/image_file.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <system_error>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "core/atomic_file.h"
#include "core/cv_status.h"
#include "core/status.h"

namespace fauna {
namespace {

uint32_t Byte(const std::string& b, size_t i) { return static_cast<unsigned char>(b[i]); }
uint32_t Be16(const std::string& b, size_t i) { return Byte(b, i) << 8 | Byte(b, i + 1); }
uint32_t Be32(const std::string& b, size_t i) { return Be16(b, i) << 16 | Be16(b, i + 2); }
uint32_t Le16(const std::string& b, size_t i) { return Byte(b, i) | Byte(b, i + 1) << 8; }
uint32_t Le32(const std::string& b, size_t i) { return Le16(b, i) | Le16(b, i + 2) << 16; }

// What the first bytes of a file say, before any decoding.
struct HeaderInfo {
  bool has_size = false;
  int64_t width = 0;
  int64_t height = 0;
  bool is_jpeg = false;
  // Offset of the first JPEG scan's entropy-coded data; npos when not found.
  size_t jpeg_scan = std::string::npos;
};

void ParseJpegHeader(const std::string& b, HeaderInfo& info) {
  info.is_jpeg = true;
  const size_t n = b.size();
  size_t p = 2;
  while (p + 4 <= n) {
    if (Byte(b, p) != 0xFF) return;  // Not a marker: corrupt, the decoder will say so.
    const uint32_t marker = Byte(b, p + 1);
    if (marker == 0xFF) {  // Fill byte.
      ++p;
      continue;
    }
    p += 2;
    if (marker == 0x01 || marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7)) continue;
    if (marker == 0xD9) return;
    const size_t length = Be16(b, p);
    if (length < 2) return;
    if (marker == 0xDA) {  // Start of scan: the frame header has been seen, if there is one.
      info.jpeg_scan = p + length;
      return;
    }
    const bool is_frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 &&
                          marker != 0xCC;
    if (is_frame && p + 7 <= n) {
      info.height = Be16(b, p + 3);
      info.width = Be16(b, p + 5);
      info.has_size = info.height > 0;  // Height 0 means "defined later" (DNL): unknown here.
    }
    p += length;
  }
}

HeaderInfo ParseHeader(const std::string& b) {
  HeaderInfo info;
  const size_t n = b.size();
  if (n >= 3 && Byte(b, 0) == 0xFF && Byte(b, 1) == 0xD8 && Byte(b, 2) == 0xFF) {
    ParseJpegHeader(b, info);
  } else if (n >= 24 && b.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0 &&
             b.compare(12, 4, "IHDR") == 0) {
    info.width = Be32(b, 16);
    info.height = Be32(b, 20);
    info.has_size = true;
  } else if (n >= 26 && b.compare(0, 2, "BM") == 0) {
    if (Le32(b, 14) == 12) {  // BITMAPCOREHEADER: 16-bit sides.
      info.width = Le16(b, 18);
      info.height = Le16(b, 20);
    } else {  // BITMAPINFOHEADER and later: signed 32-bit sides (negative height: top-down).
      info.width = std::abs(static_cast<int64_t>(static_cast<int32_t>(Le32(b, 18))));
      info.height = std::abs(static_cast<int64_t>(static_cast<int32_t>(Le32(b, 22))));
    }
    info.has_size = true;
  }
  return info;
}

absl::Status CheckDimensions(int64_t width, int64_t height, const std::string& name) {
  if (width > kMaxImageSide || height > kMaxImageSide || width * height > kMaxImagePixels) {
    return absl::InvalidArgumentError(
        name + ": image of " + std::to_string(width) + "x" + std::to_string(height) +
        " pixels is too large (at most " + std::to_string(kMaxImageSide) + " pixels a side and " +
        std::to_string(kMaxImagePixels) + " pixels)");
  }
  return absl::OkStatus();
}

int DecodeFlags(int reduce) {
  switch (reduce) {
    case 2:
      return cv::IMREAD_REDUCED_COLOR_2;
    case 4:
      return cv::IMREAD_REDUCED_COLOR_4;
    case 8:
      return cv::IMREAD_REDUCED_COLOR_8;
    default:
      // IMREAD_UNCHANGED less the alpha channel, with the EXIF orientation applied (which
      // IMREAD_UNCHANGED skips): gray stays gray, 16-bit stays 16-bit, RGBA becomes RGB.
      return cv::IMREAD_ANYCOLOR | cv::IMREAD_ANYDEPTH;
  }
}

// Any decoded image as 8-bit RGB.
absl::StatusOr<cv::Mat> ToRgb8(const cv::Mat& decoded, const std::string& name) {
  return GuardCv(name, [&]() -> absl::StatusOr<cv::Mat> {
    cv::Mat eight_bit;
    switch (decoded.depth()) {
      case CV_8U:
        eight_bit = decoded;
        break;
      case CV_16U:
        decoded.convertTo(eight_bit, CV_8U, /*alpha=*/1.0 / 257.0);
        break;
      case CV_32F:
      case CV_64F:
        decoded.convertTo(eight_bit, CV_8U, /*alpha=*/255.0);
        break;
      default:
        decoded.convertTo(eight_bit, CV_8U);  // Saturating.
        break;
    }
    cv::Mat rgb;
    switch (eight_bit.channels()) {
      case 1:
        cv::cvtColor(eight_bit, rgb, cv::COLOR_GRAY2RGB);
        break;
      case 2: {  // Gray and alpha.
        cv::Mat gray;
        cv::extractChannel(eight_bit, gray, 0);
        cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
        break;
      }
      case 3:
        cv::cvtColor(eight_bit, rgb, cv::COLOR_BGR2RGB);
        break;
      case 4:
        cv::cvtColor(eight_bit, rgb, cv::COLOR_BGRA2RGB);
        break;
      default:
        return absl::InvalidArgumentError(name + ": image with " +
                                          std::to_string(eight_bit.channels()) +
                                          " channels is not supported");
    }
    return rgb;
  });
}

}  // namespace

bool HasImageExtension(const std::string& path) {
  const size_t dot = path.find_last_of("./");
  if (dot == std::string::npos || path[dot] != '.') return false;
  std::string ext = path.substr(dot + 1);
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == "jpg" || ext == "jpeg" || ext == "png" || ext == "bmp" || ext == "webp";
}

absl::StatusOr<cv::Mat> DecodeImageRgb(const std::string& bytes, const std::string& name,
                                       int reduce) {
  if (reduce != 1 && reduce != 2 && reduce != 4 && reduce != 8) {
    return absl::InvalidArgumentError(name + ": reduce must be 1, 2, 4 or 8, not " +
                                      std::to_string(reduce));
  }
  if (bytes.empty()) return absl::InvalidArgumentError(name + ": empty file");
  if (static_cast<int64_t>(bytes.size()) > kMaxImageFileBytes) {
    return absl::InvalidArgumentError(name + ": file of " + std::to_string(bytes.size()) +
                                      " bytes is too large for an image");
  }
  const HeaderInfo header = ParseHeader(bytes);
  if (header.has_size) RETURN_IF_ERROR(CheckDimensions(header.width, header.height, name));
  // libjpeg decodes a cut-off JPEG without complaint, filling the missing rows with gray.
  if (header.is_jpeg && header.jpeg_scan != std::string::npos &&
      bytes.find("\xFF\xD9", header.jpeg_scan) == std::string::npos) {
    return absl::InvalidArgumentError(name +
                                      ": not a readable image (truncated JPEG: no end marker)");
  }
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                       const_cast<char*>(bytes.data()));
  ASSIGN_OR_RETURN(cv::Mat decoded,
                   GuardCv(name, [&] { return cv::imdecode(buffer, DecodeFlags(reduce)); }));
  if (decoded.empty()) return absl::InvalidArgumentError(name + ": not a readable image");
  RETURN_IF_ERROR(CheckDimensions(decoded.cols, decoded.rows, name));
  return ToRgb8(decoded, name);
}

absl::StatusOr<std::string> ReadImageFileBytes(const std::string& path) {
  std::error_code error;
  const std::filesystem::file_status status = std::filesystem::status(path, error);
  if (status.type() == std::filesystem::file_type::not_found) {
    return absl::NotFoundError(path + ": no such file");
  }
  if (status.type() == std::filesystem::file_type::directory) {
    return absl::InvalidArgumentError(path + ": is a folder, not an image file");
  }
  const auto file_size = std::filesystem::file_size(path, error);
  if (!error && static_cast<int64_t>(file_size) > kMaxImageFileBytes) {
    return absl::InvalidArgumentError(path + ": file of " + std::to_string(file_size) +
                                      " bytes is too large for an image");
  }
  return ReadFile(path);
}

absl::StatusOr<cv::Mat> ReadImageRgb(const std::string& path, int reduce) {
  ASSIGN_OR_RETURN(std::string bytes, ReadImageFileBytes(path));
  return DecodeImageRgb(bytes, path, reduce);
}

}  // namespace fauna
