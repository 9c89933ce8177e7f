#include "data/jpeg_decoder.h"

#include <csetjmp>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

// jpeglib.h needs size_t and FILE declared first.
#include <jpeglib.h>

#include "absl/status/status.h"
#include "data/jpeg_huffman.h"

namespace fauna {
namespace {

// libjpeg reports a fatal error by calling error_exit, which must not return: it jumps back to
// the setjmp in Decompress with the message saved.
struct ErrorManager {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX];
};

void ErrorExit(j_common_ptr info) {
  ErrorManager* errors = reinterpret_cast<ErrorManager*>(info->err);
  (*info->err->format_message)(info, errors->message);
  std::longjmp(errors->jump, 1);
}

void IgnoreMessage(j_common_ptr, int) {}

// What one libjpeg run produced. Filled through a pointer so that nothing in Decompress's own
// frame changes between setjmp and longjmp.
struct Decoded {
  cv::Mat rgb;
  std::vector<JSAMPROW> rows;
  int orientation = 1;
  bool needs_opencv = false;
  std::string error;
};

// libjpeg's state, kept outside Decompress's frame (nothing there changes between setjmp and
// longjmp), and destroyed on every way out, longjmp included.
struct Decompressor {
  jpeg_decompress_struct info;
  ErrorManager errors;
  bool created = false;
  ~Decompressor() {
    if (created) jpeg_destroy_decompress(&info);
  }
};

void Decompress(const std::string& bytes, int reduce, JpegEntropyDecoder entropy,
                Decompressor* state, Decoded* out) {
  jpeg_decompress_struct* info = &state->info;
  info->err = jpeg_std_error(&state->errors.base);
  state->errors.base.error_exit = ErrorExit;
  state->errors.base.emit_message = IgnoreMessage;
  if (setjmp(state->errors.jump) != 0) {
    out->error = state->errors.message;
    return;
  }
  jpeg_create_decompress(info);
  state->created = true;
  jpeg_mem_src(info, reinterpret_cast<const unsigned char*>(bytes.data()),
               static_cast<unsigned long>(bytes.size()));
  jpeg_save_markers(info, JPEG_APP0 + 1, 0xFFFF);
  jpeg_read_header(info, TRUE);
  for (jpeg_saved_marker_ptr marker = info->marker_list; marker != nullptr; marker = marker->next) {
    if (marker->marker != JPEG_APP0 + 1) continue;
    const int orientation = ExifOrientation(
        std::string(reinterpret_cast<const char*>(marker->data), marker->data_length));
    if (orientation != 1) out->orientation = orientation;
  }
  if (out->orientation != 1 || (info->jpeg_color_space != JCS_YCbCr &&
                                info->jpeg_color_space != JCS_GRAYSCALE &&
                                info->jpeg_color_space != JCS_RGB)) {
    out->needs_opencv = true;
    return;
  }
  info->out_color_space = JCS_EXT_RGB;
  info->scale_num = 1;
  info->scale_denom = static_cast<unsigned int>(reduce);
  jpeg_start_decompress(info);
  if (entropy == JpegEntropyDecoder::kFauna) UseFastHuffmanDecoder(info);
  out->rgb.create(static_cast<int>(info->output_height), static_cast<int>(info->output_width),
                  CV_8UC3);
  // Every row pointer at once: libjpeg then fills as many rows per call as it can (3% faster than
  // a row per call).
  out->rows.resize(info->output_height);
  for (JDIMENSION y = 0; y < info->output_height; ++y) {
    out->rows[y] = out->rgb.ptr<uint8_t>(static_cast<int>(y));
  }
  while (info->output_scanline < info->output_height) {
    jpeg_read_scanlines(info, out->rows.data() + info->output_scanline,
                        info->output_height - info->output_scanline);
  }
  jpeg_finish_decompress(info);
}

uint32_t Read16(const std::string& s, size_t pos, bool big_endian) {
  const uint32_t a = static_cast<uint8_t>(s[pos]);
  const uint32_t b = static_cast<uint8_t>(s[pos + 1]);
  return big_endian ? (a << 8 | b) : (b << 8 | a);
}

uint32_t Read32(const std::string& s, size_t pos, bool big_endian) {
  const uint32_t high = Read16(s, big_endian ? pos : pos + 2, big_endian);
  const uint32_t low = Read16(s, big_endian ? pos + 2 : pos, big_endian);
  return high << 16 | low;
}

}  // namespace

int ExifOrientation(const std::string& app1) {
  // "Exif\0\0", then a TIFF header: byte order ("II" or "MM"), 42, the offset of IFD0.
  static const char kExif[] = "Exif\0\0";
  constexpr size_t kTiff = 6;
  if (app1.size() < kTiff + 8 || app1.compare(0, kTiff, kExif, kTiff) != 0) return 1;
  const std::string order = app1.substr(kTiff, 2);
  if (order != "II" && order != "MM") return 1;
  const bool big_endian = order == "MM";
  if (Read16(app1, kTiff + 2, big_endian) != 42) return 1;
  const size_t ifd = kTiff + Read32(app1, kTiff + 4, big_endian);
  if (ifd + 2 > app1.size()) return 1;
  const uint32_t entries = Read16(app1, ifd, big_endian);
  for (uint32_t i = 0; i < entries; ++i) {
    const size_t entry = ifd + 2 + 12 * static_cast<size_t>(i);
    if (entry + 12 > app1.size()) return 1;
    if (Read16(app1, entry, big_endian) != 0x0112) continue;  // Orientation, a SHORT.
    const uint32_t value = Read16(app1, entry + 8, big_endian);
    return value >= 1 && value <= 8 ? static_cast<int>(value) : 1;
  }
  return 1;
}

absl::StatusOr<std::optional<cv::Mat>> DecodeJpegRgb(const std::string& bytes,
                                                     const std::string& name, int reduce,
                                                     JpegEntropyDecoder entropy) {
  if (reduce != 1 && reduce != 2 && reduce != 4 && reduce != 8) {
    return absl::InvalidArgumentError(name + ": reduce must be 1, 2, 4 or 8, not " +
                                      std::to_string(reduce));
  }
  Decompressor state;
  Decoded out;
  Decompress(bytes, reduce, entropy, &state, &out);
  if (!out.error.empty()) {
    return absl::InvalidArgumentError(name + ": not a readable image (" + out.error + ")");
  }
  if (out.needs_opencv) return std::nullopt;
  return std::optional<cv::Mat>(std::move(out.rgb));
}

}  // namespace fauna
