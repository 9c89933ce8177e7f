#include "data/jpeg_huffman.h"
#include "data/jpeg_test_encoder.h"

#include <csetjmp>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fauna {
namespace {

struct Image {
  int width = 0;
  int height = 0;
  int components = 3;
  std::vector<uint8_t> pixels;
};

// A smooth gradient with noise of +-`noise` levels: noise makes long codes and large values.
Image Texture(int width, int height, int components, int noise, uint32_t seed) {
  Image image{width, height, components, {}};
  std::mt19937 random(seed);
  std::uniform_int_distribution<int> jitter(-noise, noise);
  image.pixels.resize(static_cast<size_t>(width) * height * components);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < components; ++c) {
        const int base = (x * 255 / width + y * 97 / height + c * 60) % 256;
        const int value = base + (noise > 0 ? jitter(random) : 0);
        image.pixels[(static_cast<size_t>(y) * width + x) * components + c] =
            static_cast<uint8_t>(value < 0 ? 0 : value > 255 ? 255 : value);
      }
    }
  }
  return image;
}

std::string Encode(const Image& image, const JpegEncodeOptions& options) {
  return EncodeJpegWithLibjpeg(image.pixels, image.width, image.height, image.components, options);
}

struct Errors {
  jpeg_error_mgr base;
  std::jmp_buf jump;
  int warnings = 0;
};

void Fail(j_common_ptr info) { std::longjmp(reinterpret_cast<Errors*>(info->err)->jump, 1); }
void CountWarning(j_common_ptr info, int level) {
  if (level < 0) ++reinterpret_cast<Errors*>(info->err)->warnings;
}

struct Decoded {
  bool ok = false;
  bool fast = false;  // Whether UseFastHuffmanDecoder took the scan.
  int warnings = 0;
  int width = 0;
  int height = 0;
  std::vector<uint8_t> rgb;
};

// State outside Decode's frame, so nothing there changes between setjmp and longjmp.
struct Decompressor {
  jpeg_decompress_struct info;
  Errors errors;
  bool created = false;
  ~Decompressor() {
    if (created) jpeg_destroy_decompress(&info);
  }
};

struct DecodeOptions {
  int scale_denom = 1;
  bool try_fast = true;
  int skip_rows = 0;           // Rows passed over with jpeg_skip_scanlines after the first one.
  bool stdio_source = false;   // Read through jpeg_stdio_src (a 4 KB buffer) instead of memory.
};

void Run(const std::string& bytes, const DecodeOptions& options, FILE* file, Decompressor* state,
         Decoded* out) {
  jpeg_decompress_struct* info = &state->info;
  info->err = jpeg_std_error(&state->errors.base);
  state->errors.base.error_exit = Fail;
  state->errors.base.emit_message = CountWarning;
  if (setjmp(state->errors.jump) != 0) return;
  jpeg_create_decompress(info);
  state->created = true;
  if (options.stdio_source) {
    jpeg_stdio_src(info, file);
  } else {
    jpeg_mem_src(info, reinterpret_cast<const unsigned char*>(bytes.data()),
                 static_cast<unsigned long>(bytes.size()));
  }
  jpeg_read_header(info, TRUE);
  info->out_color_space = JCS_EXT_RGB;
  info->scale_num = 1;
  info->scale_denom = static_cast<unsigned int>(options.scale_denom);
  jpeg_start_decompress(info);
  out->fast = options.try_fast && UseFastHuffmanDecoder(info);
  out->width = static_cast<int>(info->output_width);
  out->height = static_cast<int>(info->output_height);
  out->rgb.assign(static_cast<size_t>(out->width) * out->height * 3, 0);
  while (info->output_scanline < info->output_height) {
    JSAMPROW row = out->rgb.data() + static_cast<size_t>(info->output_scanline) * out->width * 3;
    jpeg_read_scanlines(info, &row, 1);
    if (info->output_scanline == 1 && options.skip_rows > 0) {
      jpeg_skip_scanlines(info, static_cast<JDIMENSION>(options.skip_rows));
    }
  }
  jpeg_finish_decompress(info);
  out->warnings = state->errors.warnings;
  out->ok = true;
}

Decoded Decode(const std::string& bytes, const DecodeOptions& options) {
  FILE* file = nullptr;
  if (options.stdio_source) {
    file = fmemopen(const_cast<char*>(bytes.data()), bytes.size(), "rb");
    EXPECT_NE(file, nullptr);
  }
  Decoded out;
  {
    Decompressor state;
    Run(bytes, options, file, &state, &out);
  }
  if (file != nullptr) std::fclose(file);
  return out;
}

Decoded Decode(const std::string& bytes, int scale_denom, bool try_fast) {
  DecodeOptions options;
  options.scale_denom = scale_denom;
  options.try_fast = try_fast;
  return Decode(bytes, options);
}

// Decodes `bytes` with both entropy decoders and expects the same pixels, fauna's taking the scan.
void ExpectSameAsLibjpeg(const std::string& bytes, int scale_denom) {
  const Decoded libjpeg = Decode(bytes, scale_denom, /*try_fast=*/false);
  const Decoded fast = Decode(bytes, scale_denom, /*try_fast=*/true);
  ASSERT_TRUE(libjpeg.ok);
  ASSERT_TRUE(fast.ok);
  EXPECT_TRUE(fast.fast);
  ASSERT_EQ(fast.width, libjpeg.width);
  ASSERT_EQ(fast.height, libjpeg.height);
  EXPECT_TRUE(fast.rgb == libjpeg.rgb) << "scale 1/" << scale_denom;
  EXPECT_EQ(fast.warnings, libjpeg.warnings);
}

TEST(FastHuffmanTest, SamePixelsAsLibjpegForEverySubsamplingAndScale) {
  const Image image = Texture(203, 157, 3, 12, 1);  // Sides that do not fill whole MCUs.
  for (const auto& [h, v] : std::vector<std::pair<int, int>>{{1, 1}, {2, 1}, {2, 2}, {1, 2}}) {
    for (int quality : {60, 95}) {
      JpegEncodeOptions options;
      options.quality = quality;
      options.luma_h = h;
      options.luma_v = v;
      const std::string bytes = Encode(image, options);
      for (int denom : {1, 2, 4, 8}) {
        SCOPED_TRACE("sampling " + std::to_string(h) + "x" + std::to_string(v) + ", quality " +
                     std::to_string(quality));
        ExpectSameAsLibjpeg(bytes, denom);
      }
    }
  }
}

TEST(FastHuffmanTest, SamePixelsForLongCodesAndLargeValues) {
  // Quality 100 on heavy noise: values of up to 10 bits and codes longer than the look-up table.
  JpegEncodeOptions options;
  options.quality = 100;
  ExpectSameAsLibjpeg(Encode(Texture(128, 96, 3, 120, 2), options), 1);
  options.optimize_coding = true;  // Tables made for the image rather than the standard ones.
  ExpectSameAsLibjpeg(Encode(Texture(128, 96, 3, 120, 3), options), 2);
  options.quality = 30;
  ExpectSameAsLibjpeg(Encode(Texture(128, 96, 3, 4, 4), options), 1);
}

TEST(FastHuffmanTest, SamePixelsForGrayscale) {
  ExpectSameAsLibjpeg(Encode(Texture(99, 70, 1, 20, 5), JpegEncodeOptions{}), 1);
  ExpectSameAsLibjpeg(Encode(Texture(99, 70, 1, 20, 5), JpegEncodeOptions{}), 2);
}

TEST(FastHuffmanTest, SamePixelsWithRestartMarkers) {
  const Image image = Texture(150, 90, 3, 12, 6);
  for (unsigned int interval : {1u, 3u, 7u, 1000u}) {
    JpegEncodeOptions options;
    options.restart_interval = interval;
    SCOPED_TRACE("restart interval " + std::to_string(interval));
    ExpectSameAsLibjpeg(Encode(image, options), 1);
    ExpectSameAsLibjpeg(Encode(image, options), 2);
  }
}

// The offset of the n-th restart marker (0xFF 0xD0..0xD7) in `bytes`.
size_t RestartMarker(const std::string& bytes, int n) {
  for (size_t i = 0; i + 1 < bytes.size(); ++i) {
    const auto code = static_cast<uint8_t>(bytes[i + 1]);
    if (static_cast<uint8_t>(bytes[i]) == 0xFF && code >= 0xD0 && code <= 0xD7 && n-- == 0) {
      return i;
    }
  }
  return std::string::npos;
}

TEST(FastHuffmanTest, RestartMarkersOutOfOrderAreLeftToLibjpeg) {
  JpegEncodeOptions options;
  options.restart_interval = 2;
  std::string bytes = Encode(Texture(64, 64, 3, 12, 7), options);
  const size_t marker = RestartMarker(bytes, 2);
  ASSERT_NE(marker, std::string::npos);
  bytes[marker + 1] = static_cast<char>(0xD5);  // RST5 where RST2 belongs.
  const Decoded decoded = Decode(bytes, 1, /*try_fast=*/true);
  EXPECT_TRUE(decoded.ok);
  EXPECT_FALSE(decoded.fast);
  EXPECT_GT(decoded.warnings, 0);  // libjpeg's resynchronisation.
  const size_t gone = RestartMarker(bytes, 3);
  bytes.erase(gone, 2);  // A missing marker.
  EXPECT_FALSE(Decode(bytes, 1, /*try_fast=*/true).fast);
}

TEST(FastHuffmanTest, ProgressiveJpegsAreLeftToLibjpeg) {
  JpegEncodeOptions options;
  options.progressive = true;
  const Decoded decoded = Decode(Encode(Texture(64, 48, 3, 12, 8), options), 1, true);
  EXPECT_TRUE(decoded.ok);
  EXPECT_FALSE(decoded.fast);
}

TEST(FastHuffmanTest, AScanThatAMarkerEndsEarlyDecodesLikeLibjpeg) {
  for (unsigned int interval : {0u, 4u}) {
    JpegEncodeOptions options;
    options.restart_interval = interval;
    const std::string bytes = Encode(Texture(96, 80, 3, 12, 9), options);
    for (size_t keep : {bytes.size() / 2, bytes.size() * 3 / 4, bytes.size() - 40}) {
      SCOPED_TRACE("restart interval " + std::to_string(interval) + ", " +
                   std::to_string(keep) + " bytes");
      // Cut inside the scan, then an end-of-image marker: the scan's bits run out early.
      std::string cut = bytes.substr(0, keep);
      if (static_cast<uint8_t>(cut.back()) == 0xFF) cut.pop_back();
      cut += "\xFF\xD9";
      const Decoded libjpeg = Decode(cut, 1, false);
      const Decoded fast = Decode(cut, 1, true);
      ASSERT_TRUE(libjpeg.ok);
      ASSERT_TRUE(fast.ok);
      EXPECT_GT(fast.warnings, 0);
      if (interval == 0) {
        EXPECT_TRUE(fast.fast);
        EXPECT_TRUE(fast.rgb == libjpeg.rgb);
      }
      // Cut with no marker after: the scan runs to the end of the bytes, left to libjpeg.
      const std::string truncated = bytes.substr(0, keep);
      const Decoded plain = Decode(truncated, 1, false);
      const Decoded tried = Decode(truncated, 1, true);
      ASSERT_TRUE(tried.ok);
      EXPECT_FALSE(tried.fast);
      EXPECT_TRUE(tried.rgb == plain.rgb);
    }
  }
}

TEST(FastHuffmanTest, BytesEndingRightAfterAStuffedByteAreLeftToLibjpeg) {
  // Cut just after a stuffed 0xFF 0x00 in the scan: no marker ends it.
  const std::string bytes = Encode(Texture(96, 80, 3, 30, 14), JpegEncodeOptions{});
  const size_t stuffed = bytes.find(std::string("\xFF\x00", 2), bytes.size() / 2);
  ASSERT_NE(stuffed, std::string::npos);
  const std::string cut = bytes.substr(0, stuffed + 2);
  const Decoded decoded = Decode(cut, 1, true);
  ASSERT_TRUE(decoded.ok);
  EXPECT_FALSE(decoded.fast);
  EXPECT_TRUE(decoded.rgb == Decode(cut, 1, false).rgb);
}

TEST(FastHuffmanTest, ASourceHoldingPartOfTheFileIsLeftToLibjpeg) {
  // jpeg_stdio_src reads 4 KB at a time: the scan does not end inside its first buffer.
  const std::string bytes = Encode(Texture(200, 160, 3, 12, 12), JpegEncodeOptions{});
  ASSERT_GT(bytes.size(), 8192u);
  DecodeOptions options;
  options.stdio_source = true;
  const Decoded decoded = Decode(bytes, options);
  ASSERT_TRUE(decoded.ok);
  EXPECT_FALSE(decoded.fast);
  EXPECT_TRUE(decoded.rgb == Decode(bytes, 1, false).rgb);
}

TEST(FastHuffmanTest, SkippedRowsDecodeLikeLibjpeg) {
  for (unsigned int interval : {0u, 3u}) {
    JpegEncodeOptions options;
    options.restart_interval = interval;
    const std::string bytes = Encode(Texture(120, 100, 3, 12, 13), options);
    DecodeOptions skip;
    skip.skip_rows = 50;  // Past whole MCU rows, which jpeg_skip_scanlines discards undecoded.
    skip.try_fast = false;
    const Decoded libjpeg = Decode(bytes, skip);
    skip.try_fast = true;
    const Decoded fast = Decode(bytes, skip);
    ASSERT_TRUE(libjpeg.ok);
    ASSERT_TRUE(fast.ok);
    EXPECT_TRUE(fast.fast);
    EXPECT_TRUE(fast.rgb == libjpeg.rgb);
  }
}

TEST(FastHuffmanTest, CorruptScansDecodeWithoutCrashing) {
  for (unsigned int interval : {0u, 5u}) {
    JpegEncodeOptions options;
    options.restart_interval = interval;
    const std::string bytes = Encode(Texture(120, 88, 3, 30, 10), options);
    std::mt19937 random(11);
    for (int trial = 0; trial < 40; ++trial) {
      std::string corrupt = bytes;
      // Bytes flipped past the headers (the first 700 bytes hold them at these settings).
      std::uniform_int_distribution<size_t> where(700, corrupt.size() - 3);
      for (int i = 0; i < 1 + trial % 8; ++i) corrupt[where(random)] ^= static_cast<char>(0x5A);
      const Decoded decoded = Decode(corrupt, 1 + trial % 2, true);
      if (decoded.ok) {
        EXPECT_EQ(decoded.width, 120 / (1 + trial % 2));
      }
    }
  }
}

}  // namespace
}  // namespace fauna
