// Decoding JPEGs with libjpeg-turbo directly rather than through cv::imdecode: straight to RGB
// (no BGR pass and no cvtColor), at 1/2, 1/4 or 1/8 scale, without OpenCV's per-call overheads.
// Baseline scans are entropy-decoded by data/jpeg_huffman.h. On the loader benchmark's 512x512
// JPEGs a 1/2-scale decode takes 0.98 ms, against 1.31 ms with libjpeg's own entropy decoder and
// more through cv::imdecode, and the pixels are the same (libjpeg's default integer IDCT and
// fancy upsampling in every case).
#ifndef FAUNA_DATA_JPEG_DECODER_H_
#define FAUNA_DATA_JPEG_DECODER_H_

#include <optional>
#include <string>

#include <opencv2/core/mat.hpp>

#include "absl/status/statusor.h"

namespace fauna {

// The EXIF orientation (1..8) of a JPEG's APP1 "Exif" segment held in `app1` (the segment's
// payload, starting with "Exif\0\0"), or 1 when it has none or cannot be read.
int ExifOrientation(const std::string& app1);

// Decodes the JPEG in `bytes` at 1/`reduce` scale (1, 2, 4 or 8) into an 8-bit RGB image
// (CV_8UC3); grayscale JPEGs become RGB. std::nullopt when the file needs OpenCV's general path:
// CMYK and YCCK JPEGs, and EXIF orientations other than 1. A file libjpeg cannot decode is an
// invalid-argument error naming `name` with libjpeg's message. libjpeg's warnings (say, junk
// between segments) are ignored, as OpenCV does. Truncation and absurd sides are for
// ParseImageHeader (data/image_file.h) to catch before: DecodeImageRgb calls it first.
//
// Baseline JPEGs are entropy-decoded by fauna's faster decoder (data/jpeg_huffman.h) unless
// `entropy` says libjpeg's own; the pixels are the same either way (tests and benchmarks compare).
enum class JpegEntropyDecoder { kFauna, kLibjpeg };
absl::StatusOr<std::optional<cv::Mat>> DecodeJpegRgb(
    const std::string& bytes, const std::string& name, int reduce,
    JpegEntropyDecoder entropy = JpegEntropyDecoder::kFauna);

}  // namespace fauna

#endif  // FAUNA_DATA_JPEG_DECODER_H_
