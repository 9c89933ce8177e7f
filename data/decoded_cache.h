// A cache of decoded, resized images: one memory-mapped file per split, so that later epochs and
// later runs skip JPEG decoding altogether and read pixels straight from the page cache.
#ifndef FAUNA_DATA_DECODED_CACHE_H_
#define FAUNA_DATA_DECODED_CACHE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "absl/status/statusor.h"
#include "data/decode.h"
#include "data/image_source.h"

namespace fauna {

// Version of the file layout below; a file of another version is rebuilt.
inline constexpr uint32_t kDecodedCacheVersion = 1;

// The decoded images of one ImageSource at one DecodeOptions, in one file:
//
//   64-byte header: magic "FAUNADC1", version, channels, count, height, width, section sizes and
//                   an FNV-1a checksum of everything but the pixels
//   key           : JSON naming the decode options, the class names and every item (describe(i),
//                   label, and for files their size and modification time in nanoseconds)
//   labels        : count int64
//   valid flags   : count bytes (0 for an item whose Load() failed; its pixels are zeros)
//   padding to a 4096-byte boundary
//   pixels        : count * height * width * 3 bytes, RGB, row-major
//   errors        : JSON, the error message of each invalid item
//
// OpenOrBuild reuses a file whose key matches and rebuilds it otherwise: when a file was added,
// removed, touched or rewritten, or the size or any decode setting changed. A missing, truncated,
// corrupt or foreign file is rebuilt too, never trusted. Building decodes on several threads
// straight into a temporary file beside `path` that is renamed over it when complete, so a crash
// never leaves a half-written cache. Items that are not files (say "idx:train:17") are keyed by
// describe(i) alone: such sources must describe their items so that a changed item reads
// differently. Files are little-endian (the machine's order; fauna targets x86-64 and ARM64).
//
// Example:
//   ASSIGN_OR_RETURN(DecodedCache cache,
//                    DecodedCache::OpenOrBuild("runs/cache/train.fdc", source, {/*size=*/224},
//                                              /*threads=*/8));
//   for (int64_t i = 0; i < cache.size(); ++i) {
//     if (!cache.valid(i)) continue;             // cache.error(i) says why
//     cv::Mat image = cache.Get(i).clone();      // a view of the file: copy before changing it
//   }
class DecodedCache {
 public:
  // Opens the cache at `path` when it was built from the same items and options, or builds it
  // from `source` with `threads` threads (<= 0: one per core). Fails on bad options, a source
  // whose label is out of range, or a `path` that cannot be written; an image that cannot be
  // loaded is no failure but an invalid item.
  static absl::StatusOr<DecodedCache> OpenOrBuild(const std::string& path,
                                                  const ImageSource& source,
                                                  const DecodeOptions& options, int threads = 0);

  DecodedCache(DecodedCache&& other) noexcept;
  DecodedCache& operator=(DecodedCache&& other) noexcept;
  DecodedCache(const DecodedCache&) = delete;
  DecodedCache& operator=(const DecodedCache&) = delete;
  ~DecodedCache();

  // Number of items (valid or not), as the source had.
  int64_t size() const { return static_cast<int64_t>(labels_.size()); }
  int height() const { return height_; }
  int width() const { return width_; }

  // Item `index` as a height() x width() CV_8UC3 RGB view into the read-only mapping (no copy;
  // writing to it crashes: clone() first). Zeros for an invalid item; an empty Mat for an index
  // out of range. Valid while this cache lives.
  cv::Mat Get(int64_t index) const;

  // Whether item `index` decoded (false out of range).
  bool valid(int64_t index) const;

  // Label of item `index` (-1 out of range).
  int64_t label(int64_t index) const;

  // Why item `index` is invalid ("" for a valid one).
  std::string error(int64_t index) const;

  // Number of invalid items.
  int64_t invalid_count() const { return static_cast<int64_t>(errors_.size()); }

  // True when OpenOrBuild decoded the images rather than reusing the file, and why: "no cache
  // file", "the items or the decode options changed" or "corrupt cache file: ...". "" when reused.
  bool rebuilt() const { return !rebuild_reason_.empty(); }
  const std::string& rebuild_reason() const { return rebuild_reason_; }

  const std::string& path() const { return path_; }

 private:
  DecodedCache() = default;
  // Maps and checks the file at `path`; its key must equal `expected_key`.
  static absl::StatusOr<DecodedCache> Open(const std::string& path,
                                           const std::string& expected_key, bool* key_matches);
  void Unmap();

  std::string path_;
  void* map_ = nullptr;
  size_t map_size_ = 0;
  const uint8_t* pixels_ = nullptr;
  int height_ = 0;
  int width_ = 0;
  std::vector<int64_t> labels_;
  std::vector<uint8_t> valid_;
  std::map<int64_t, std::string> errors_;
  std::string rebuild_reason_;
};

}  // namespace fauna

#endif  // FAUNA_DATA_DECODED_CACHE_H_
