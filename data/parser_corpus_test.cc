// Corpus test for data/'s readers of untrusted bytes. Valid files are made here (JPEGs of every
// chroma subsampling, with and without restart markers, standard and optimised tables, gray,
// progressive, CMYK, with an EXIF orientation, and one written by OpenCV; PNG, BMP and WebP
// images; IDX image and label files, plain and gzipped; a CSV manifest), then each is cut short at
// many lengths and has bytes changed, the same cases on every run (core/damaged_bytes.h). Every
// case must decode or return an error status: no crash, no exception, no abort, no sanitizer
// report (CI also runs this test under --config=asan). A decoded image must be 8-bit RGB within
// the size limits. Baseline JPEGs also go to DecodeJpegRgb directly with both entropy decoders,
// so that scans cut short and damaged reach fauna's Huffman decoder (data/jpeg_huffman.h), which
// ParseImageHeader would otherwise stop first.
#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/status/statusor.h"
#include "core/damaged_bytes.h"
#include "data/decode.h"
#include "data/idx_source.h"
#include "data/image_file.h"
#include "data/jpeg_decoder.h"
#include "data/jpeg_test_encoder.h"
#include "data/manifest_source.h"

namespace fauna {
namespace {

// The name errors carry.
constexpr char kName[] = "corpus";
// DecodeJpegRgb is called directly only for frames of at most this many pixels: it leaves absurd
// sides to ParseImageHeader, and a damaged header may declare 65535 x 65535.
constexpr int64_t kMaxDirectPixels = int64_t{1} << 20;
constexpr int kReduces[] = {1, 2, 4, 8};

std::string TempDir() {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string path = std::string(dir != nullptr ? dir : "/tmp") + "/parser_corpus";
  std::filesystem::create_directories(path);
  return path;
}

void ExpectRgbOrError(const absl::StatusOr<cv::Mat>& rgb, const std::string& what) {
  if (!rgb.ok()) {
    EXPECT_FALSE(rgb.status().message().empty()) << what;
    return;
  }
  EXPECT_EQ(rgb->type(), CV_8UC3) << what;
  EXPECT_FALSE(rgb->empty()) << what;
  EXPECT_LE(rgb->cols, kMaxImageSide) << what;
  EXPECT_LE(rgb->rows, kMaxImageSide) << what;
  EXPECT_LE(static_cast<int64_t>(rgb->cols) * rgb->rows, kMaxImagePixels) << what;
}

// Silences std::cerr while it lives: OpenCV's imdecode prints a line there for every file it cannot
// read, thousands here. Sanitizer reports and NoteCase's note write to the descriptor directly,
// and gtest to stdout, so they still show.
class QuietCerr {
 public:
  QuietCerr() { std::cerr.setstate(std::ios::badbit); }
  ~QuietCerr() { std::cerr.clear(); }
  QuietCerr(const QuietCerr&) = delete;
  QuietCerr& operator=(const QuietCerr&) = delete;
};

// Counts, printed at the end of each test.
struct Tally {
  int64_t cases = 0;
  int64_t decoded = 0;  // Cases DecodeImageRgb (or Open) accepted.
  // Cases both entropy decoders decoded through DecodeJpegRgb, and those with the same pixels.
  int64_t both_decoded = 0;
  int64_t same_pixels = 0;
};

void Print(const std::string& what, const Tally& tally) {
  std::printf("%s: %lld cases, %lld decoded", what.c_str(), static_cast<long long>(tally.cases),
              static_cast<long long>(tally.decoded));
  if (tally.both_decoded > 0) {
    std::printf("; fauna's and libjpeg's entropy decoders gave the same pixels for %lld of %lld",
                static_cast<long long>(tally.same_pixels),
                static_cast<long long>(tally.both_decoded));
  }
  std::printf("\n");
}

// ----- Images -----

// A smooth gradient with noise of +-`noise` levels (noise makes long codes and large values).
std::vector<uint8_t> Texture(int width, int height, int components, int noise, uint32_t seed) {
  std::mt19937 random(seed);
  std::vector<uint8_t> pixels(static_cast<size_t>(width) * height * components);
  for (size_t i = 0; i < pixels.size(); ++i) {
    const size_t x = i / components % width;
    const size_t y = i / components / width;
    const int base = static_cast<int>((x * 255 / width + y * 97 / height + i % components * 60) %
                                      256);
    const int value = base + static_cast<int>(random() % (2 * noise + 1)) - noise;
    pixels[i] = static_cast<uint8_t>(value < 0 ? 0 : value > 255 ? 255 : value);
  }
  return pixels;
}

cv::Mat TextureMat(int width, int height, int channels, int depth = CV_8U) {
  const std::vector<uint8_t> pixels = Texture(width, height, channels, 20, 7);
  cv::Mat image(height, width, CV_MAKETYPE(CV_8U, channels), const_cast<uint8_t*>(pixels.data()));
  cv::Mat out;
  image.convertTo(out, CV_MAKETYPE(depth, channels), depth == CV_16U ? 257.0 : 1.0);
  return out;
}

std::string Encode(const std::string& extension, const cv::Mat& image,
                   const std::vector<int>& params = {}) {
  std::vector<uchar> bytes;
  EXPECT_TRUE(cv::imencode(extension, image, bytes, params)) << extension;
  return std::string(bytes.begin(), bytes.end());
}

struct Seed {
  std::string name;
  std::string bytes;
  // A JPEG with restart markers: where a damaged restart interval's bits run out, fauna's entropy
  // decoder and libjpeg's fill the MCU they were in differently (data/jpeg_huffman.cc says how).
  bool restarts = false;
};

std::string LibjpegSeed(int width, int height, int components, int noise,
                        const JpegEncodeOptions& options) {
  return EncodeJpegWithLibjpeg(Texture(width, height, components, noise, 3), width, height,
                               components, options);
}

// Baseline JPEGs that fauna's entropy decoder takes: every subsampling, restart intervals, gray,
// optimised (per-image) tables, and long codes.
std::vector<Seed> FastPathJpegs() {
  std::vector<Seed> seeds;
  const auto add = [&](const std::string& name, int width, int height, int components, int noise,
                       int quality, int luma_h, int luma_v, unsigned int restarts, bool optimize) {
    JpegEncodeOptions options;
    options.quality = quality;
    options.luma_h = luma_h;
    options.luma_v = luma_v;
    options.restart_interval = restarts;
    options.optimize_coding = optimize;
    seeds.push_back({name, LibjpegSeed(width, height, components, noise, options), restarts > 0});
  };
  add("jpeg 4:2:0", 48, 40, 3, 12, 90, 2, 2, 0, false);
  add("jpeg 4:2:2", 45, 33, 3, 12, 75, 2, 1, 0, false);
  add("jpeg 4:4:4", 40, 24, 3, 12, 95, 1, 1, 0, false);
  add("jpeg 4:4:0", 33, 40, 3, 12, 85, 1, 2, 0, false);
  add("jpeg 4:2:0 restart 1", 48, 40, 3, 12, 90, 2, 2, 1, false);
  add("jpeg 4:4:4 restart 3", 40, 32, 3, 12, 80, 1, 1, 3, false);
  add("jpeg 4:2:2 restart 2 optimised", 50, 30, 3, 12, 85, 2, 1, 2, true);
  add("jpeg gray restart 4", 41, 37, 1, 20, 90, 1, 1, 4, false);
  add("jpeg 4:2:0 quality 100 long codes optimised", 40, 32, 3, 120, 100, 2, 2, 0, true);
  add("jpeg 4:2:0 160x120", 160, 120, 3, 8, 85, 2, 2, 0, false);
  add("jpeg 4:2:2 160x120 restart 7", 160, 120, 3, 8, 85, 2, 1, 7, false);
  return seeds;
}

// The Exif APP1 segment of a TIFF with one IFD entry, Orientation = 6 (rotate 90 degrees).
std::string WithExifOrientation(const std::string& jpeg) {
  const std::string payload = std::string("Exif\0\0MM\0\x2a\0\0\0\x08", 14) +
                              std::string("\0\x01\x01\x12\0\x03\0\0\0\x01\0\x06\0\0\0\0\0\0", 18);
  std::string segment = "\xff\xe1";
  segment += static_cast<char>((payload.size() + 2) >> 8);
  segment += static_cast<char>((payload.size() + 2) & 0xff);
  return jpeg.substr(0, 2) + segment + payload + jpeg.substr(2);
}

// JPEGs that take libjpeg's own entropy decoder or OpenCV's path.
std::vector<Seed> OtherJpegs() {
  JpegEncodeOptions progressive;
  progressive.progressive = true;
  JpegEncodeOptions cmyk;
  cmyk.quality = 75;
  return {
      {"jpeg progressive", LibjpegSeed(48, 40, 3, 12, progressive)},
      {"jpeg cmyk", LibjpegSeed(24, 16, 4, 12, cmyk)},
      {"jpeg exif orientation 6", WithExifOrientation(LibjpegSeed(40, 24, 3, 12, {}))},
      {"jpeg written by opencv", Encode(".jpg", TextureMat(44, 36, 3))},
  };
}

// The big-endian 16-bit number at `pos` of a JPEG (segment lengths, frame sides).
size_t Be16(const std::string& bytes, size_t pos) {
  return static_cast<size_t>(static_cast<uint8_t>(bytes[pos])) << 8 |
         static_cast<uint8_t>(bytes[pos + 1]);
}

// Where a JPEG's first scan starts (after its SOS segment); the headers are before.
size_t ScanStart(const std::string& jpeg) {
  size_t pos = 2;
  while (pos + 4 <= jpeg.size()) {
    const auto marker = static_cast<uint8_t>(jpeg[pos + 1]);
    const size_t length = Be16(jpeg, pos + 2);
    pos += 2 + length;
    if (marker == 0xDA) return pos;
  }
  return jpeg.size();
}

// The pixels (height x width) the first frame header declares, if one can be found: whether a
// direct DecodeJpegRgb call is safe (it does not check the sides).
std::optional<int64_t> FramePixels(const std::string& jpeg) {
  size_t pos = 2;
  while (pos + 9 <= jpeg.size() && static_cast<uint8_t>(jpeg[pos]) == 0xFF) {
    const auto marker = static_cast<uint8_t>(jpeg[pos + 1]);
    const size_t length = Be16(jpeg, pos + 2);
    if (marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC) {
      return static_cast<int64_t>(Be16(jpeg, pos + 5) * Be16(jpeg, pos + 7));  // Height x width.
    }
    if (marker == 0xDA) return std::nullopt;
    pos += 2 + length;
  }
  return std::nullopt;
}

// Damage to restart markers: each of the first ones removed, renumbered or doubled, and markers
// put in at random places of the scan.
std::vector<DamagedCopy> MarkerEdits(const std::string& jpeg, uint64_t seed) {
  constexpr int kMarkersEdited = 12;
  constexpr int kInsertions = 24;
  std::vector<DamagedCopy> copies;
  const size_t scan = ScanStart(jpeg);
  int edited = 0;
  for (size_t i = scan; i + 1 < jpeg.size() && edited < kMarkersEdited; ++i) {
    const auto code = static_cast<uint8_t>(jpeg[i + 1]);
    if (static_cast<uint8_t>(jpeg[i]) != 0xFF || code < 0xD0 || code > 0xD7) continue;
    ++edited;
    const std::string at = " restart marker at " + std::to_string(i);
    std::string removed = jpeg;
    removed.erase(i, 2);
    copies.push_back({removed, "removed" + at});
    std::string renumbered = jpeg;
    renumbered[i + 1] = static_cast<char>(0xD0 + (code - 0xD0 + 1) % 8);
    copies.push_back({renumbered, "renumbered" + at});
    std::string doubled = jpeg;
    doubled.insert(i, jpeg.substr(i, 2));
    copies.push_back({doubled, "doubled" + at});
  }
  std::mt19937_64 rng(seed);
  for (int k = 0; k < kInsertions && scan + 2 < jpeg.size(); ++k) {
    const size_t at = scan + rng() % (jpeg.size() - 2 - scan);
    const int number = static_cast<int>(rng() % 8);
    std::string inserted = jpeg;
    inserted.insert(at, std::string{'\xFF', static_cast<char>(0xD0 + number)});
    copies.push_back(
        {inserted, "RST" + std::to_string(number) + " put in at " + std::to_string(at)});
  }
  return copies;
}

// Every damaged copy of a JPEG: cuts, cuts closed by an end-of-image marker (the scan's bits then
// run out early in a file that ends properly), changes in the headers and in the scan, and damaged
// restart markers.
std::vector<DamagedCopy> JpegCopies(const std::string& jpeg, uint64_t seed) {
  const size_t scan = ScanStart(jpeg);
  std::vector<DamagedCopy> all;
  const auto append = [&](std::vector<DamagedCopy> copies, const std::string& where) {
    for (DamagedCopy& copy : copies) {
      copy.description = where + copy.description;
      all.push_back(std::move(copy));
    }
  };
  DamageOptions cuts;
  cuts.changes = 0;
  cuts.every_length_below = 64;
  cuts.spread_cuts = 96;
  append(DamagedCopies(jpeg, cuts), "");
  cuts.closing = "\xFF\xD9";
  append(DamagedCopies(jpeg, cuts), "");
  DamageOptions headers;
  headers.cut = false;
  headers.changes = 200;
  headers.end = scan;
  headers.seed = seed;
  append(DamagedCopies(jpeg, headers), "headers ");
  DamageOptions body = headers;
  body.changes = 300;
  body.begin = scan;
  body.end = jpeg.size() - 2;  // The end-of-image marker stays.
  body.alphabet = std::string("\xD0\xD9\xC4\x00", 4);
  body.seed = seed + 1;
  append(DamagedCopies(jpeg, body), "scan ");
  append(MarkerEdits(jpeg, seed + 2), "");
  return all;
}

// Decodes one damaged JPEG every way fauna can: DecodeImageRgb (header checks first), DecodeBytes,
// and, when the frame is of a sane size, DecodeJpegRgb with each entropy decoder.
void CheckJpeg(const Seed& seed, const DamagedCopy& copy, int64_t index, Tally* tally) {
  const int reduce = kReduces[index % 4];
  const std::string what = seed.name + ", " + copy.description + ", reduce " +
                           std::to_string(reduce);
  NoteCase(what, copy.bytes);
  ++tally->cases;
  ExpectNoThrow(what, [&] {
    const absl::StatusOr<cv::Mat> rgb = DecodeImageRgb(copy.bytes, kName, reduce);
    ExpectRgbOrError(rgb, what);
    tally->decoded += rgb.ok();
    if (index % 8 == 0) {
      ExpectRgbOrError(DecodeBytes(copy.bytes, kName, {/*size=*/16}), what + ", DecodeBytes");
    }
    const std::optional<int64_t> pixels = FramePixels(copy.bytes);
    if (pixels.has_value() && *pixels > kMaxDirectPixels) return;
    const auto fauna = DecodeJpegRgb(copy.bytes, kName, reduce, JpegEntropyDecoder::kFauna);
    const auto libjpeg = DecodeJpegRgb(copy.bytes, kName, reduce, JpegEntropyDecoder::kLibjpeg);
    for (const auto* decoded : {&fauna, &libjpeg}) {
      if (decoded->ok() && decoded->value().has_value()) {
        ExpectRgbOrError(*decoded->value(), what + ", DecodeJpegRgb");
      }
    }
    // Both entropy decoders accept and refuse the same files, and agree on the pixels of every
    // damaged file without restart markers (with them, see Seed::restarts).
    EXPECT_EQ(fauna.ok(), libjpeg.ok()) << what << ": " << (fauna.ok() ? libjpeg : fauna).status();
    if (fauna.ok() && libjpeg.ok() && fauna->has_value() && libjpeg->has_value()) {
      ++tally->both_decoded;
      const cv::Mat& a = **fauna;
      const cv::Mat& b = **libjpeg;
      const bool same = a.size() == b.size() && cv::norm(a, b, cv::NORM_INF) == 0.0;
      tally->same_pixels += same;
      EXPECT_TRUE(same || seed.restarts) << what << ": fauna's and libjpeg's pixels differ";
    }
  });
}

void RunJpegCorpus(const std::vector<Seed>& seeds, const std::string& what) {
  const QuietCerr quiet;
  Tally tally;
  uint64_t rng_seed = 100;
  for (const Seed& seed : seeds) {
    ASSERT_TRUE(DecodeImageRgb(seed.bytes, kName).ok()) << seed.name << " is not valid";
    const std::vector<DamagedCopy> copies = JpegCopies(seed.bytes, rng_seed += 10);
    for (size_t i = 0; i < copies.size(); ++i) {
      CheckJpeg(seed, copies[i], static_cast<int64_t>(i), &tally);
      if (::testing::Test::HasFailure()) return;
    }
  }
  Print(what, tally);
}

TEST(ParserCorpus, JpegsThroughFaunasEntropyDecoder) {
  // The seeds are valid, and both entropy decoders give their pixels alike (data/jpeg_huffman_test
  // checks that files made so do take fauna's decoder).
  for (const Seed& seed : FastPathJpegs()) {
    const auto fauna = DecodeJpegRgb(seed.bytes, kName, 1, JpegEntropyDecoder::kFauna);
    const auto libjpeg = DecodeJpegRgb(seed.bytes, kName, 1, JpegEntropyDecoder::kLibjpeg);
    ASSERT_TRUE(fauna.ok() && fauna->has_value()) << seed.name;
    ASSERT_TRUE(libjpeg.ok() && libjpeg->has_value()) << seed.name;
    EXPECT_EQ(cv::norm(**fauna, **libjpeg, cv::NORM_INF), 0.0) << seed.name;
  }
  RunJpegCorpus(FastPathJpegs(), "jpegs through fauna's entropy decoder");
}

TEST(ParserCorpus, JpegsThroughLibjpegAndOpenCv) {
  RunJpegCorpus(OtherJpegs(), "progressive, cmyk, exif and opencv-written jpegs");
}

// Recomputes the CRC of every whole chunk of a (damaged) PNG, so that libpng reads past its CRC
// checks into the damaged values.
std::string WithPngCrcsFixed(std::string png) {
  size_t pos = 8;
  while (pos + 12 <= png.size()) {
    const uint32_t length = static_cast<uint32_t>(static_cast<uint8_t>(png[pos])) << 24 |
                            static_cast<uint32_t>(static_cast<uint8_t>(png[pos + 1])) << 16 |
                            static_cast<uint32_t>(static_cast<uint8_t>(png[pos + 2])) << 8 |
                            static_cast<uint8_t>(png[pos + 3]);
    if (length > png.size() - pos - 12) break;
    const uLong crc = crc32(0, reinterpret_cast<const Bytef*>(png.data() + pos + 4), length + 4);
    for (int i = 0; i < 4; ++i) {
      png[pos + 8 + length + i] = static_cast<char>(crc >> (24 - 8 * i));
    }
    pos += 12 + length;
  }
  return png;
}

TEST(ParserCorpus, PngBmpAndWebpImages) {
  std::vector<Seed> seeds = {
      {"png rgb", Encode(".png", TextureMat(31, 23, 3))},
      {"png gray", Encode(".png", TextureMat(30, 20, 1))},
      {"png rgba", Encode(".png", TextureMat(25, 19, 4))},
      {"png 16-bit", Encode(".png", TextureMat(21, 17, 3, CV_16U))},
      {"bmp rgb", Encode(".bmp", TextureMat(23, 17, 3))},
      {"bmp gray (palette)", Encode(".bmp", TextureMat(22, 15, 1))},
  };
  if (cv::haveImageWriter(".webp")) {
    seeds.push_back({"webp lossy",
                     Encode(".webp", TextureMat(32, 24, 3), {cv::IMWRITE_WEBP_QUALITY, 80})});
    seeds.push_back({"webp lossless",  // Quality over 100: lossless.
                     Encode(".webp", TextureMat(24, 16, 3), {cv::IMWRITE_WEBP_QUALITY, 101})});
  } else {
    std::printf("OpenCV writes no WebP here: WebP is left out\n");
  }
  const QuietCerr quiet;
  Tally tally;
  uint64_t rng_seed = 200;
  for (const Seed& seed : seeds) {
    ASSERT_TRUE(DecodeImageRgb(seed.bytes, kName).ok()) << seed.name << " is not valid";
    DamageOptions options;
    options.seed = rng_seed += 10;
    std::vector<DamagedCopy> copies = DamagedCopies(seed.bytes, options);
    if (seed.name.compare(0, 3, "png") == 0) {  // Also with CRCs that match the damage.
      const std::vector<DamagedCopy> changed(copies.end() - options.changes, copies.end());
      for (const DamagedCopy& copy : changed) {
        copies.push_back({WithPngCrcsFixed(copy.bytes), copy.description + ", CRCs fixed"});
      }
    }
    for (size_t i = 0; i < copies.size(); ++i) {
      const std::string what = seed.name + ", " + copies[i].description;
      NoteCase(what, copies[i].bytes);
      ++tally.cases;
      ExpectNoThrow(what, [&] {
        const absl::StatusOr<cv::Mat> rgb = DecodeImageRgb(copies[i].bytes, kName);
        ExpectRgbOrError(rgb, what);
        tally.decoded += rgb.ok();
        if (i % 8 == 0) {
          ExpectRgbOrError(DecodeBytes(copies[i].bytes, kName, {/*size=*/16, /*center_crop=*/true}),
                           what + ", DecodeBytes");
        }
      });
      if (::testing::Test::HasFailure()) return;
    }
  }
  Print("png, bmp and webp images", tally);
}

// ----- IDX files -----

std::string Be32(uint32_t v) {
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16),
                     static_cast<char>(v >> 8), static_cast<char>(v)};
}

std::string Gzip(const std::string& bytes) {
  z_stream stream{};
  EXPECT_EQ(deflateInit2(&stream, Z_BEST_COMPRESSION, Z_DEFLATED, /*windowBits=*/15 + 16,
                         /*memLevel=*/8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&stream, static_cast<uLong>(bytes.size())) + 32, '\0');
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  stream.avail_in = static_cast<uInt>(bytes.size());
  stream.next_out = reinterpret_cast<Bytef*>(out.data());
  stream.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&stream, Z_FINISH), Z_STREAM_END);
  out.resize(stream.total_out);
  deflateEnd(&stream);
  return out;
}

TEST(ParserCorpus, IdxFiles) {
  constexpr uint32_t kCount = 10;
  constexpr uint32_t kRows = 7;
  constexpr uint32_t kCols = 5;
  std::string images = Be32(0x00000803) + Be32(kCount) + Be32(kRows) + Be32(kCols);
  std::string labels = Be32(0x00000801) + Be32(kCount);
  for (uint32_t i = 0; i < kCount * kRows * kCols; ++i) images += static_cast<char>(i * 37);
  for (uint32_t i = 0; i < kCount; ++i) labels += static_cast<char>(i);
  const std::vector<std::string> classes = FashionMnistClassNames();
  const std::string dir = TempDir();
  const std::string images_path = dir + "/images-idx3-ubyte";
  const std::string labels_path = dir + "/labels-idx1-ubyte";

  struct IdxSeed {
    std::string name;
    std::string images;
    std::string labels;
    bool damage_images;  // Else the labels are damaged.
  };
  const std::vector<IdxSeed> seeds = {
      {"idx images", images, labels, true},
      {"idx labels", images, labels, false},
      {"idx images gzipped", Gzip(images), Gzip(labels), true},
      {"idx labels gzipped", Gzip(images), Gzip(labels), false},
  };
  Tally tally;
  uint64_t rng_seed = 300;
  for (const IdxSeed& seed : seeds) {
    WriteBytes(images_path, seed.images);
    WriteBytes(labels_path, seed.labels);
    ASSERT_TRUE(IdxSource::Open(images_path, labels_path, classes, "corpus").ok()) << seed.name;
    DamageOptions options;
    options.seed = rng_seed += 10;
    const std::string& valid = seed.damage_images ? seed.images : seed.labels;
    const std::string& damaged_path = seed.damage_images ? images_path : labels_path;
    for (const DamagedCopy& copy : DamagedCopies(valid, options)) {
      const std::string what = seed.name + ", " + copy.description;
      NoteCase(what, copy.bytes);
      ++tally.cases;
      WriteBytes(damaged_path, copy.bytes);
      ExpectNoThrow(what, [&] {
        const auto source = IdxSource::Open(images_path, labels_path, classes, "corpus");
        if (!source.ok()) return;
        ++tally.decoded;
        const IdxSource& idx = **source;
        ASSERT_GT(idx.size(), 0) << what;
        for (int64_t index : {int64_t{0}, idx.size() - 1}) {
          EXPECT_GE(idx.label(index), 0) << what;
          EXPECT_LT(idx.label(index), static_cast<int64_t>(classes.size())) << what;
          ExpectRgbOrError(idx.Load(index), what);
        }
      });
      if (::testing::Test::HasFailure()) return;
    }
    WriteBytes(damaged_path, valid);
  }
  Print("idx files", tally);
}

// ----- Manifests -----

TEST(ParserCorpus, CsvManifests) {
  const std::string dir = TempDir() + "/manifest";
  std::filesystem::create_directories(dir + "/cat");
  std::filesystem::create_directories(dir + "/dog");
  const std::string png = Encode(".png", TextureMat(8, 6, 3));
  for (const char* image : {"cat/a.png", "cat/b c.png", "dog/d.png", "dog/e,f.png"}) {
    WriteBytes(dir + "/" + image, png);
  }
  const std::string path = dir + "/manifest.csv";
  const std::vector<Seed> seeds = {
      {"manifest with splits",
       "\xEF\xBB\xBFpath,label,split\r\n"
       "cat/a.png,cat,train\r\n"
       "\"cat/b c.png\" , cat ,val\n"
       "\n"
       "dog/d.png,dog,train\n"
       "\"dog/e,f.png\",\"dog\",test\n"},
      {"manifest with a root line",
       "# root: .\n"
       "# written by hand\n"
       "cat/a.png,cat\n"
       "./dog/../dog/d.png,dog\n"
       "\"cat/b c.png\",cat\n"},
  };
  std::vector<ManifestOptions> all_options(3);
  all_options[1].class_names = {"cat", "dog", "bird"};
  all_options[2].split = "train";
  all_options[2].reduce = 2;
  Tally tally;
  uint64_t rng_seed = 400;
  for (const Seed& seed : seeds) {
    WriteBytes(path, seed.bytes);
    ASSERT_TRUE(ManifestSource::Open(path).ok()) << seed.name << ": "
                                                 << ManifestSource::Open(path).status();
    DamageOptions options;
    options.changes = 400;
    options.alphabet = ",\"\r\n #/.\\:xyz";
    options.seed = rng_seed += 10;
    const std::vector<DamagedCopy> copies = DamagedCopies(seed.bytes, options);
    for (size_t i = 0; i < copies.size(); ++i) {
      const std::string what = seed.name + ", " + copies[i].description;
      NoteCase(what, copies[i].bytes);
      ++tally.cases;
      WriteBytes(path, copies[i].bytes);
      ExpectNoThrow(what, [&] {
        const auto source = ManifestSource::Open(path, all_options[i % all_options.size()]);
        if (!source.ok()) return;
        ++tally.decoded;
        const ManifestSource& manifest = **source;
        ASSERT_GT(manifest.size(), 0) << what;
        for (int64_t index = 0; index < manifest.size(); ++index) {
          EXPECT_GE(manifest.label(index), 0) << what;
          EXPECT_LT(manifest.label(index), static_cast<int64_t>(manifest.class_names().size()))
              << what;
          EXPECT_FALSE(manifest.describe(index).empty()) << what;
        }
        ExpectRgbOrError(manifest.Load(0), what);
        ExpectRgbOrError(manifest.LoadResized(manifest.size() - 1, {/*size=*/4}), what);
      });
      if (::testing::Test::HasFailure()) return;
    }
  }
  Print("csv manifests", tally);
}

}  // namespace
}  // namespace fauna
