#include "data/image_file.h"

#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cctype>
#include <cstdlib>
#include <optional>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "core/atomic_file.h"
#include "core/cv_status.h"
#include "core/status.h"
#include "data/jpeg_decoder.h"

namespace fauna {
namespace {

uint32_t BigEndian16(const std::string& bytes, size_t pos) {
  return (static_cast<uint32_t>(static_cast<uint8_t>(bytes[pos])) << 8) |
         static_cast<uint8_t>(bytes[pos + 1]);
}

uint32_t BigEndian32(const std::string& bytes, size_t pos) {
  return (BigEndian16(bytes, pos) << 16) | BigEndian16(bytes, pos + 2);
}

uint8_t Byte(const std::string& bytes, size_t pos) { return static_cast<uint8_t>(bytes[pos]); }

uint32_t LittleEndian16(const std::string& bytes, size_t pos) {
  return Byte(bytes, pos) | (static_cast<uint32_t>(Byte(bytes, pos + 1)) << 8);
}

uint32_t LittleEndian32(const std::string& bytes, size_t pos) {
  return LittleEndian16(bytes, pos) | (LittleEndian16(bytes, pos + 2) << 16);
}

// libjpeg decodes a cut-off JPEG without complaint, filling the missing rows with gray: the header
// walk below is what catches it.
absl::Status Truncated(const std::string& name, const std::string& format) {
  return absl::InvalidArgumentError(name + ": not a readable image (truncated " + format +
                                    " file: it ends before its end marker)");
}

absl::Status Corrupt(const std::string& name, const std::string& format, const std::string& what) {
  return absl::InvalidArgumentError(name + ": not a readable image (corrupt " + format + " file: " +
                                    what + ")");
}

bool IsStartOfFrame(uint8_t marker) {
  // SOF0..SOF15, less DHT (C4), JPG (C8) and DAC (CC), which share the range.
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

// Walks a JPEG's segments from SOI to EOI, skipping entropy-coded data after each SOS.
absl::StatusOr<ImageHeader> ParseJpeg(const std::string& bytes, const std::string& name) {
  ImageHeader header;
  header.format = ImageHeader::Format::kJpeg;
  bool seen_frame = false;
  bool seen_scan = false;
  const size_t n = bytes.size();
  size_t pos = 2;  // after SOI
  while (true) {
    if (pos >= n) return Truncated(name, "JPEG");
    if (Byte(bytes, pos) != 0xFF) {
      return Corrupt(name, "JPEG", "no marker at byte " + std::to_string(pos));
    }
    while (pos < n && Byte(bytes, pos) == 0xFF) ++pos;  // fill bytes
    if (pos >= n) return Truncated(name, "JPEG");
    const uint8_t marker = Byte(bytes, pos++);
    if (marker == 0xD9) break;  // EOI
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) continue;  // no length
    if (marker == 0x00 || marker == 0xD8) {
      return Corrupt(name, "JPEG", "unexpected marker at byte " + std::to_string(pos - 1));
    }
    if (pos + 2 > n) return Truncated(name, "JPEG");
    const size_t length = BigEndian16(bytes, pos);
    if (length < 2) return Corrupt(name, "JPEG", "segment length below 2");
    if (pos + length > n) return Truncated(name, "JPEG");
    if (IsStartOfFrame(marker) && !seen_frame) {
      if (length < 8) return Corrupt(name, "JPEG", "frame header too short");
      header.height = BigEndian16(bytes, pos + 3);
      header.width = BigEndian16(bytes, pos + 5);
      if (header.width == 0 || header.height == 0) {
        return Corrupt(name, "JPEG", "frame of size 0");
      }
      seen_frame = true;
    }
    pos += length;
    if (marker == 0xDA) {  // SOS: entropy-coded data follows, up to the next real marker
      seen_scan = true;
      while (true) {
        const void* ff = std::memchr(bytes.data() + pos, 0xFF, n - pos);
        if (ff == nullptr) return Truncated(name, "JPEG");
        pos = static_cast<const char*>(ff) - bytes.data();
        if (pos + 1 >= n) return Truncated(name, "JPEG");
        const uint8_t next = Byte(bytes, pos + 1);
        if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
          pos += 2;  // stuffed byte or restart marker: still inside the scan
        } else if (next == 0xFF) {
          pos += 1;
        } else {
          break;
        }
      }
    }
  }
  if (!seen_frame) return Corrupt(name, "JPEG", "no frame header");
  if (!seen_scan) return Corrupt(name, "JPEG", "no image data");
  return header;
}

// The sides a BMP's info header gives.
ImageHeader ParseBmp(const std::string& bytes) {
  ImageHeader header;
  header.format = ImageHeader::Format::kBmp;
  if (LittleEndian32(bytes, 14) == 12) {  // BITMAPCOREHEADER: 16-bit sides.
    header.width = LittleEndian16(bytes, 18);
    header.height = LittleEndian16(bytes, 20);
  } else {  // BITMAPINFOHEADER and later: signed 32-bit sides (negative height: top-down).
    header.width = std::abs(static_cast<int64_t>(static_cast<int32_t>(LittleEndian32(bytes, 18))));
    header.height = std::abs(static_cast<int64_t>(static_cast<int32_t>(LittleEndian32(bytes, 22))));
  }
  return header;
}

// Walks a PNG's chunks from IHDR to IEND.
absl::StatusOr<ImageHeader> ParsePng(const std::string& bytes, const std::string& name) {
  ImageHeader header;
  header.format = ImageHeader::Format::kPng;
  const size_t n = bytes.size();
  size_t pos = 8;  // after the signature
  bool first = true;
  while (true) {
    if (pos + 8 > n) return Truncated(name, "PNG");
    const uint32_t length = BigEndian32(bytes, pos);
    const std::string type = bytes.substr(pos + 4, 4);
    if (length > 0x7FFFFFFFu) return Corrupt(name, "PNG", "chunk length over 2^31");
    if (pos + 12 + static_cast<size_t>(length) > n) return Truncated(name, "PNG");
    if (first) {
      if (type != "IHDR" || length < 13) return Corrupt(name, "PNG", "no IHDR chunk first");
      header.width = BigEndian32(bytes, pos + 8);
      header.height = BigEndian32(bytes, pos + 12);
      if (header.width == 0 || header.height == 0) return Corrupt(name, "PNG", "image of size 0");
      first = false;
    }
    pos += 12 + static_cast<size_t>(length);
    if (type == "IEND") break;
  }
  return header;
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

absl::StatusOr<ImageHeader> ParseImageHeader(const std::string& bytes, const std::string& name) {
  if (bytes.empty()) return absl::InvalidArgumentError(name + ": empty file");
  static const char kPngSignature[] = "\x89PNG\r\n\x1a\n";
  ImageHeader header;
  if (bytes.size() >= 2 && Byte(bytes, 0) == 0xFF && Byte(bytes, 1) == 0xD8) {
    ASSIGN_OR_RETURN(header, ParseJpeg(bytes, name));
  } else if (bytes.size() >= 8 && bytes.compare(0, 8, kPngSignature, 8) == 0) {
    ASSIGN_OR_RETURN(header, ParsePng(bytes, name));
  } else if (bytes.size() < 8 && bytes.compare(0, bytes.size(), kPngSignature, bytes.size()) == 0) {
    return Truncated(name, "PNG");
  } else if (bytes.size() >= 26 && bytes.compare(0, 2, "BM") == 0) {
    header = ParseBmp(bytes);
  }
  if (header.format != ImageHeader::Format::kOther) {
    RETURN_IF_ERROR(CheckDimensions(header.width, header.height, name));
  }
  return header;
}

absl::StatusOr<cv::Mat> DecodeImageRgb(const std::string& bytes, const std::string& name,
                                       int reduce) {
  ASSIGN_OR_RETURN(ImageHeader header, ParseImageHeader(bytes, name));
  return DecodeImageRgb(bytes, name, header, reduce);
}

absl::StatusOr<cv::Mat> DecodeImageRgb(const std::string& bytes, const std::string& name,
                                       const ImageHeader& header, int reduce) {
  if (reduce != 1 && reduce != 2 && reduce != 4 && reduce != 8) {
    return absl::InvalidArgumentError(name + ": reduce must be 1, 2, 4 or 8, not " +
                                      std::to_string(reduce));
  }
  if (bytes.empty()) return absl::InvalidArgumentError(name + ": empty file");
  if (static_cast<int64_t>(bytes.size()) > kMaxImageFileBytes) {
    return absl::InvalidArgumentError(name + ": file of " + std::to_string(bytes.size()) +
                                      " bytes is too large for an image");
  }
  if (header.format == ImageHeader::Format::kJpeg) {
    ASSIGN_OR_RETURN(std::optional<cv::Mat> rgb, DecodeJpegRgb(bytes, name, reduce));
    if (rgb.has_value()) {
      RETURN_IF_ERROR(CheckDimensions(rgb->cols, rgb->rows, name));
      return *std::move(rgb);
    }
  }
  const int flags = DecodeFlags(reduce);
  const cv::Mat buffer(1, static_cast<int>(bytes.size()), CV_8UC1,
                       const_cast<char*>(bytes.data()));
  ASSIGN_OR_RETURN(cv::Mat decoded, GuardCv(name, [&] { return cv::imdecode(buffer, flags); }));
  if (decoded.empty()) return absl::InvalidArgumentError(name + ": not a readable image");
  RETURN_IF_ERROR(CheckDimensions(decoded.cols, decoded.rows, name));
  return ToRgb8(decoded, name);
}

absl::StatusOr<std::string> ReadImageFileBytes(const std::string& path) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(path + ": no such file");
    return absl::InvalidArgumentError(path + ": cannot read (" + std::strerror(error) + ")");
  }
  if (S_ISDIR(info.st_mode)) {
    return absl::InvalidArgumentError(path + ": is a folder, not an image file");
  }
  if (!S_ISREG(info.st_mode)) {  // A pipe or a device would be read without end.
    return absl::InvalidArgumentError(path + ": is not a regular file");
  }
  if (static_cast<int64_t>(info.st_size) > kMaxImageFileBytes) {
    return absl::InvalidArgumentError(path + ": file of " + std::to_string(info.st_size) +
                                      " bytes is too large for an image");
  }
  return ReadFile(path);
}

absl::StatusOr<cv::Mat> ReadImageRgb(const std::string& path, int reduce) {
  ASSIGN_OR_RETURN(std::string bytes, ReadImageFileBytes(path));
  return DecodeImageRgb(bytes, path, reduce);
}

}  // namespace fauna
