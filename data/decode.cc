#include "data/decode.h"

#include <algorithm>
#include <cmath>
#include <string>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "core/cv_status.h"
#include "core/status.h"
#include "data/image_file.h"

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

absl::Status Truncated(const std::string& name, const std::string& format) {
  return absl::DataLossError(name + ": truncated " + format + " file (it ends before its end marker)");
}

absl::Status Corrupt(const std::string& name, const std::string& format, const std::string& what) {
  return absl::DataLossError(name + ": corrupt " + format + " file (" + what + ")");
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
      header.height = static_cast<int>(BigEndian16(bytes, pos + 3));
      header.width = static_cast<int>(BigEndian16(bytes, pos + 5));
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
      header.width = static_cast<int>(std::min<uint32_t>(BigEndian32(bytes, pos + 8), 0x7FFFFFFF));
      header.height = static_cast<int>(std::min<uint32_t>(BigEndian32(bytes, pos + 12), 0x7FFFFFFF));
      if (header.width == 0 || header.height == 0) return Corrupt(name, "PNG", "image of size 0");
      first = false;
    }
    pos += 12 + static_cast<size_t>(length);
    if (type == "IEND") break;
  }
  return header;
}

int ChooseInterpolation(const cv::Size& from, const cv::Size& to, int requested) {
  if (requested != kAutoInterpolation) return requested;
  return (to.width <= from.width && to.height <= from.height) ? cv::INTER_AREA : cv::INTER_LINEAR;
}

}  // namespace

absl::Status ValidateDecodeOptions(const DecodeOptions& options) {
  if (options.size <= 0 || options.size > kMaxImageSide) {
    return absl::InvalidArgumentError("decode size must be in [1, " +
                                      std::to_string(kMaxImageSide) + "], got " +
                                      std::to_string(options.size));
  }
  if (options.interpolation != kAutoInterpolation &&
      (options.interpolation < cv::INTER_NEAREST || options.interpolation > cv::INTER_LINEAR_EXACT)) {
    return absl::InvalidArgumentError("unknown interpolation " +
                                      std::to_string(options.interpolation) +
                                      " (use -1 for automatic, or cv::INTER_NEAREST..INTER_LINEAR_EXACT)");
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageHeader> ParseImageHeader(const std::string& bytes, const std::string& name) {
  if (bytes.empty()) return absl::InvalidArgumentError(name + ": empty file, not an image");
  static const char kPngSignature[] = "\x89PNG\r\n\x1a\n";
  ImageHeader header;
  if (bytes.size() >= 2 && Byte(bytes, 0) == 0xFF && Byte(bytes, 1) == 0xD8) {
    ASSIGN_OR_RETURN(header, ParseJpeg(bytes, name));
  } else if (bytes.size() >= 8 && bytes.compare(0, 8, kPngSignature, 8) == 0) {
    ASSIGN_OR_RETURN(header, ParsePng(bytes, name));
  } else if (bytes.size() < 8 && bytes.compare(0, bytes.size(), kPngSignature, bytes.size()) == 0) {
    return Truncated(name, "PNG");
  }
  return header;
}

int ReducedDecodeFactor(int width, int height, const DecodeOptions& options) {
  const int shorter = std::min(width, height);
  if (options.size <= 0 || shorter <= 0) return 1;
  for (int factor : {8, 4, 2}) {
    if (shorter / factor >= options.size) return factor;
  }
  return 1;
}

absl::StatusOr<cv::Mat> DecodeBytes(const std::string& bytes, const std::string& name,
                                    const DecodeOptions& options) {
  RETURN_IF_ERROR(ValidateDecodeOptions(options));
  ASSIGN_OR_RETURN(ImageHeader header, ParseImageHeader(bytes, name));
  const int factor = header.format == ImageHeader::Format::kJpeg
                         ? ReducedDecodeFactor(header.width, header.height, options)
                         : 1;
  ASSIGN_OR_RETURN(cv::Mat rgb, DecodeImageRgb(bytes, name, factor));
  absl::StatusOr<cv::Mat> resized = ResizeImage(rgb, options);
  if (!resized.ok()) return Annotate(resized.status(), name);
  return resized;
}

absl::StatusOr<cv::Mat> DecodeFile(const std::string& path, const DecodeOptions& options) {
  RETURN_IF_ERROR(ValidateDecodeOptions(options));
  ASSIGN_OR_RETURN(std::string bytes, ReadImageFileBytes(path));
  return DecodeBytes(bytes, path, options);
}

absl::StatusOr<cv::Mat> ResizeImage(const cv::Mat& rgb, const DecodeOptions& options) {
  RETURN_IF_ERROR(ValidateDecodeOptions(options));
  if (rgb.empty()) return absl::InvalidArgumentError("cannot resize an empty image");
  if (rgb.type() != CV_8UC3) {
    return absl::InvalidArgumentError("expected an 8-bit 3-channel image (CV_8UC3), got type " +
                                      std::to_string(rgb.type()));
  }
  return GuardCv("resizing an image", [&]() -> cv::Mat {
    const int size = options.size;
    const cv::Size from = rgb.size();
    cv::Size to(size, size);
    if (options.center_crop) {
      // torchvision's Resize(size): the shorter side becomes `size`, the longer one
      // int(size * longer / shorter).
      if (from.width <= from.height) {
        to = cv::Size(size, static_cast<int>(static_cast<int64_t>(size) * from.height / from.width));
      } else {
        to = cv::Size(static_cast<int>(static_cast<int64_t>(size) * from.width / from.height), size);
      }
    }
    cv::Mat resized;
    if (to == from) {
      resized = rgb.clone();
    } else {
      cv::resize(rgb, resized, to, 0, 0, ChooseInterpolation(from, to, options.interpolation));
    }
    if (!options.center_crop || to == cv::Size(size, size)) return resized;
    // torchvision's CenterCrop: offsets rounded half to even, as Python's round().
    const int top = static_cast<int>(std::nearbyint((to.height - size) / 2.0));
    const int left = static_cast<int>(std::nearbyint((to.width - size) / 2.0));
    return resized(cv::Rect(left, top, size, size)).clone();
  });
}

}  // namespace fauna
