// Test helper: JPEGs written with libjpeg itself, for the settings OpenCV's writer cannot choose
// (chroma subsampling, restart intervals, optimised tables, progressive scans, CMYK).
#ifndef FAUNA_DATA_JPEG_TEST_ENCODER_H_
#define FAUNA_DATA_JPEG_TEST_ENCODER_H_

#include <cstdint>
#include <string>
#include <vector>

namespace fauna {

struct JpegEncodeOptions {
  int quality = 90;
  // Luma sampling factors of a 3-component image: 2x2 is 4:2:0, 2x1 4:2:2, 1x1 4:4:4.
  int luma_h = 2;
  int luma_v = 2;
  unsigned int restart_interval = 0;
  bool optimize_coding = false;
  bool progressive = false;
};

// Encodes `height` rows of `width` interleaved 8-bit pixels of `components` channels (1: gray,
// 3: RGB, 4: CMYK).
std::string EncodeJpegWithLibjpeg(const std::vector<uint8_t>& pixels, int width, int height,
                                  int components, const JpegEncodeOptions& options = {});

}  // namespace fauna

#endif  // FAUNA_DATA_JPEG_TEST_ENCODER_H_
