// Reading one image file into the 8-bit RGB image every fauna stage works on, with a clear error
// (naming the file) for a missing, empty, truncated, non-image or absurdly large file.
#ifndef FAUNA_DATA_IMAGE_FILE_H_
#define FAUNA_DATA_IMAGE_FILE_H_

#include <cstdint>
#include <string>

#include <opencv2/core/mat.hpp>

#include "absl/status/statusor.h"

namespace fauna {

// The largest image side accepted, in pixels.
inline constexpr int kMaxImageSide = 30000;
// The largest image accepted, in pixels (width x height).
inline constexpr int64_t kMaxImagePixels = 300'000'000;
// The largest image file accepted, in bytes.
inline constexpr int64_t kMaxImageFileBytes = int64_t{1} << 30;

// Format and size of an image file, read from its first bytes without decoding it.
struct ImageHeader {
  enum class Format { kJpeg, kPng, kBmp, kOther };
  Format format = Format::kOther;
  // Stored size; 0 for kOther (only JPEG, PNG and BMP headers are read). A JPEG's EXIF
  // orientation may swap them once decoded.
  int64_t width = 0;
  int64_t height = 0;
};

// Parses the header of an encoded image held in memory. JPEG and PNG files are walked marker by
// marker (chunk by chunk) to the end, so a truncated or corrupt file is an error ("not a readable
// image (truncated JPEG file ...)") rather than a half-grey image; a BMP's sides are read; other
// formats come back as kOther. Sides over the limits below are errors. `name` names the data in
// errors (usually its path).
absl::StatusOr<ImageHeader> ParseImageHeader(const std::string& bytes, const std::string& name);

// True when `path` ends in an image extension fauna lists: .jpg .jpeg .png .bmp .webp, in any
// letter case.
bool HasImageExtension(const std::string& path);

// Reads a JPEG, PNG, BMP or WebP file (anything OpenCV decodes) as an 8-bit, 3-channel RGB image
// (CV_8UC3). Grayscale and palette images become RGB, an alpha channel is dropped, 16-bit samples
// are scaled to 8 bits, and a JPEG's EXIF orientation is applied. `reduce` (1, 2, 4 or 8) decodes
// at 1/reduce of the size in each direction, which JPEG does much faster than a full decode.
// Errors name the file: NotFound for a missing file; InvalidArgument for a folder, an empty file,
// a truncated or non-image file ("not a readable image"), a side over kMaxImageSide or more than
// kMaxImagePixels pixels (checked from the PNG, JPEG and BMP header before decoding, and after
// decoding for every format), or a bad `reduce`.
//
// Example:
//   ASSIGN_OR_RETURN(cv::Mat rgb, ReadImageRgb("afhq/train/cat/flickr_cat_000002.jpg"));
absl::StatusOr<cv::Mat> ReadImageRgb(const std::string& path, int reduce = 1);

// The bytes of an image file, refusing what cannot be one: NotFound for a missing file,
// InvalidArgument for a folder or a file over kMaxImageFileBytes.
absl::StatusOr<std::string> ReadImageFileBytes(const std::string& path);

// ReadImageRgb for the bytes of an image file already in memory; `name` (a path, or any label)
// is used in error messages only.
absl::StatusOr<cv::Mat> DecodeImageRgb(const std::string& bytes, const std::string& name,
                                       int reduce = 1);

// DecodeImageRgb for bytes whose `header` ParseImageHeader already returned: they are not parsed a
// second time.
absl::StatusOr<cv::Mat> DecodeImageRgb(const std::string& bytes, const std::string& name,
                                       const ImageHeader& header, int reduce);

}  // namespace fauna

#endif  // FAUNA_DATA_IMAGE_FILE_H_
