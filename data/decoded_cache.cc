#include "data/decoded_cache.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <exception>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace fauna {
namespace {

constexpr char kMagic[8] = {'F', 'A', 'U', 'N', 'A', 'D', 'C', '1'};
constexpr uint64_t kPixelAlignment = 4096;
// Upper bounds that keep every size computation far from overflow.
constexpr uint64_t kMaxCount = uint64_t{1} << 36;
constexpr uint64_t kMaxSectionSize = uint64_t{1} << 40;

struct Header {
  char magic[8];
  uint32_t version;
  uint32_t channels;
  uint64_t count;
  uint32_t height;
  uint32_t width;
  uint64_t key_size;
  uint64_t errors_size;
  uint64_t pixels_offset;
  uint64_t checksum;
};
static_assert(sizeof(Header) == 64, "the header is 64 bytes on disk");

uint64_t AlignUp(uint64_t value, uint64_t alignment) {
  return (value + alignment - 1) / alignment * alignment;
}

// Where each section starts, from the header's counts.
struct Layout {
  uint64_t labels_offset;
  uint64_t valid_offset;
  uint64_t metadata_end;  // end of the valid flags
  uint64_t pixels_offset;
  uint64_t item_bytes;
  uint64_t pixels_end;
  uint64_t file_size;
};

Layout ComputeLayout(uint64_t count, uint32_t height, uint32_t width, uint64_t key_size,
                     uint64_t errors_size) {
  Layout layout;
  layout.labels_offset = AlignUp(sizeof(Header) + key_size, 8);
  layout.valid_offset = layout.labels_offset + 8 * count;
  layout.metadata_end = layout.valid_offset + count;
  layout.pixels_offset = AlignUp(layout.metadata_end, kPixelAlignment);
  layout.item_bytes = uint64_t{height} * width * 3;
  layout.pixels_end = layout.pixels_offset + count * layout.item_bytes;
  layout.file_size = layout.pixels_end + errors_size;
  return layout;
}

// FNV-1a, 64 bits.
uint64_t Fnv1a(const void* data, size_t size, uint64_t hash) {
  const auto* bytes = static_cast<const uint8_t*>(data);
  for (size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ull;
  }
  return hash;
}
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ull;

// Checksum of the metadata prefix [0, metadata_end) with the checksum field taken as zero, and of
// the errors section.
uint64_t MetadataChecksum(const uint8_t* prefix, uint64_t metadata_end, const uint8_t* errors,
                          uint64_t errors_size) {
  Header header;
  std::memcpy(&header, prefix, sizeof(Header));
  header.checksum = 0;
  uint64_t hash = Fnv1a(&header, sizeof(Header), kFnvBasis);
  hash = Fnv1a(prefix + sizeof(Header), metadata_end - sizeof(Header), hash);
  return Fnv1a(errors, errors_size, hash);
}

std::string ErrnoText() { return std::strerror(errno); }

absl::Status Corrupt(const std::string& path, const std::string& what) {
  return absl::DataLossError("corrupt cache file " + path + ": " + what);
}

std::string DumpJson(const nlohmann::json& json) {
  return json.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// The identity of what the cache holds: decode options, classes and every item.
absl::StatusOr<std::string> MakeKey(const ImageSource& source, const DecodeOptions& options) {
  nlohmann::json key;
  key["format"] = "fauna decoded cache";
  key["version"] = kDecodedCacheVersion;
  key["decode"] = {{"size", options.size},
                   {"center_crop", options.center_crop},
                   {"interpolation", options.interpolation},
                   {"auto_interpolation", "area from 2x shrinking, else bilinear"}};
  key["classes"] = source.class_names();
  const int64_t classes = static_cast<int64_t>(source.class_names().size());
  nlohmann::json items = nlohmann::json::array();
  for (int64_t i = 0; i < source.size(); ++i) {
    const int64_t label = source.label(i);
    const std::string where = source.describe(i);
    if (label < 0 || label >= classes) {
      return absl::InvalidArgumentError("item " + std::to_string(i) + " (" + where + ") has label " +
                                        std::to_string(label) + ", outside [0, " +
                                        std::to_string(classes) + ")");
    }
    nlohmann::json item = {where, label};
    struct stat info;
    if (::stat(where.c_str(), &info) == 0 && S_ISREG(info.st_mode)) {
      item.push_back(static_cast<int64_t>(info.st_size));
      item.push_back(static_cast<int64_t>(info.st_mtim.tv_sec) * 1000000000 +
                     info.st_mtim.tv_nsec);
    }
    items.push_back(std::move(item));
  }
  key["items"] = std::move(items);
  return DumpJson(key);
}

// Decodes every item of `source` into the temporary file `fd` and fills in the metadata.
absl::Status WriteCache(int fd, const std::string& temp_path, const ImageSource& source,
                        const DecodeOptions& options, int threads, const std::string& key) {
  const uint64_t count = static_cast<uint64_t>(source.size());
  const uint32_t side = static_cast<uint32_t>(options.size);
  if (count > kMaxCount) return absl::InvalidArgumentError("too many items to cache");
  Layout layout = ComputeLayout(count, side, side, key.size(), /*errors_size=*/0);
  if (::ftruncate(fd, static_cast<off_t>(layout.pixels_end)) != 0) {
    return absl::ResourceExhaustedError("cannot size " + temp_path + ": " + ErrnoText());
  }
  void* map = ::mmap(nullptr, layout.pixels_end, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (map == MAP_FAILED) return absl::InternalError("cannot map " + temp_path + ": " + ErrnoText());
  auto* bytes = static_cast<uint8_t*>(map);

  std::vector<uint8_t> valid(count, 0);
  std::vector<std::string> errors(count);
  std::atomic<int64_t> next{0};
  auto work = [&] {
    for (int64_t i = next++; i < static_cast<int64_t>(count); i = next++) {
      absl::Status status;
      try {
        absl::StatusOr<cv::Mat> loaded = source.LoadResized(i, options);
        if (loaded.ok()) {
          std::memcpy(bytes + layout.pixels_offset + i * layout.item_bytes, loaded->data,
                      layout.item_bytes);
          valid[i] = 1;
        } else {
          status = loaded.status();
        }
      } catch (const std::exception& e) {
        status = absl::InternalError(std::string("loading threw: ") + e.what());
      }
      if (!status.ok()) {
        errors[i] = source.describe(i) + ": " + std::string(status.message());
      }
    }
  };
  std::vector<std::thread> pool;
  const int workers = static_cast<int>(std::min<uint64_t>(std::max(threads, 1), std::max<uint64_t>(count, 1)));
  try {
    for (int t = 1; t < workers; ++t) pool.emplace_back(work);
  } catch (const std::exception&) {
    // Fewer threads than asked for: the ones running (and this one) share the rest.
  }
  work();
  for (std::thread& thread : pool) thread.join();

  nlohmann::json error_list = nlohmann::json::array();
  for (uint64_t i = 0; i < count; ++i) {
    if (!valid[i]) error_list.push_back({static_cast<int64_t>(i), errors[i]});
  }
  const std::string errors_json = DumpJson(error_list);

  Header header;
  std::memcpy(header.magic, kMagic, sizeof(kMagic));
  header.version = kDecodedCacheVersion;
  header.channels = 3;
  header.count = count;
  header.height = side;
  header.width = side;
  header.key_size = key.size();
  header.errors_size = errors_json.size();
  header.pixels_offset = layout.pixels_offset;
  header.checksum = 0;
  std::memcpy(bytes, &header, sizeof(Header));
  std::memcpy(bytes + sizeof(Header), key.data(), key.size());
  for (uint64_t i = 0; i < count; ++i) {
    const int64_t label = source.label(static_cast<int64_t>(i));
    std::memcpy(bytes + layout.labels_offset + 8 * i, &label, 8);
  }
  std::memcpy(bytes + layout.valid_offset, valid.data(), count);
  header.checksum = MetadataChecksum(bytes, layout.metadata_end,
                                     reinterpret_cast<const uint8_t*>(errors_json.data()),
                                     errors_json.size());
  std::memcpy(bytes + offsetof(Header, checksum), &header.checksum, sizeof(header.checksum));
  const bool synced = ::msync(map, layout.pixels_end, MS_SYNC) == 0;
  ::munmap(map, layout.pixels_end);
  if (!synced) return absl::InternalError("cannot write " + temp_path + ": " + ErrnoText());
  if (::pwrite(fd, errors_json.data(), errors_json.size(), static_cast<off_t>(layout.pixels_end)) !=
      static_cast<ssize_t>(errors_json.size())) {
    return absl::ResourceExhaustedError("cannot write " + temp_path + ": " + ErrnoText());
  }
  if (::fsync(fd) != 0) return absl::InternalError("cannot sync " + temp_path + ": " + ErrnoText());
  return absl::OkStatus();
}

// Builds the cache for `source` at `path`: a temporary file beside it, renamed when complete.
absl::Status Build(const std::string& path, const ImageSource& source, const DecodeOptions& options,
                   int threads, const std::string& key) {
  std::string temp_path = path + ".tmp.XXXXXX";
  const int fd = ::mkstemp(temp_path.data());
  if (fd < 0) {
    const int error = errno;
    std::string message = "cannot create the cache file " + path + ": " + std::strerror(error);
    if (error == ENOENT || error == ENOTDIR) return absl::NotFoundError(message);
    if (error == EACCES || error == EPERM || error == EROFS) {
      return absl::PermissionDeniedError(message);
    }
    return absl::InternalError(message);
  }
  const mode_t mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  absl::Status status = WriteCache(fd, temp_path, source, options, threads, key);
  if (::close(fd) != 0 && status.ok()) {
    status = absl::InternalError("cannot close " + temp_path + ": " + ErrnoText());
  }
  if (status.ok() && ::rename(temp_path.c_str(), path.c_str()) != 0) {
    status = absl::InternalError("cannot rename " + temp_path + " to " + path + ": " + ErrnoText());
  }
  if (!status.ok()) ::unlink(temp_path.c_str());
  return status;
}

}  // namespace

absl::StatusOr<DecodedCache> DecodedCache::Open(const std::string& path,
                                                const std::string& expected_key,
                                                bool* key_matches) {
  *key_matches = false;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return absl::NotFoundError("no cache file " + path);
    return absl::PermissionDeniedError("cannot open cache file " + path + ": " + ErrnoText());
  }
  struct stat info;
  if (::fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
    ::close(fd);
    return absl::InvalidArgumentError("cache path " + path + " is not a regular file");
  }
  const uint64_t file_size = static_cast<uint64_t>(info.st_size);
  if (file_size < sizeof(Header)) {
    ::close(fd);
    return Corrupt(path, "shorter than its header");
  }
  void* map = ::mmap(nullptr, file_size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return absl::InternalError("cannot map " + path + ": " + ErrnoText());
  DecodedCache cache;
  cache.path_ = path;
  cache.map_ = map;
  cache.map_size_ = file_size;
  const auto* bytes = static_cast<const uint8_t*>(map);

  Header header;
  std::memcpy(&header, bytes, sizeof(Header));
  if (std::memcmp(header.magic, kMagic, sizeof(kMagic)) != 0) {
    return Corrupt(path, "not a fauna decoded cache");
  }
  if (header.version != kDecodedCacheVersion) {
    return Corrupt(path, "version " + std::to_string(header.version) + ", expected " +
                             std::to_string(kDecodedCacheVersion));
  }
  if (header.channels != 3 || header.height == 0 || header.width == 0 ||
      header.height > static_cast<uint32_t>(kMaxImageSide) ||
      header.width > static_cast<uint32_t>(kMaxImageSide) || header.count > kMaxCount ||
      header.key_size > kMaxSectionSize || header.errors_size > kMaxSectionSize) {
    return Corrupt(path, "impossible sizes in the header");
  }
  const Layout layout = ComputeLayout(header.count, header.height, header.width, header.key_size,
                                      header.errors_size);
  if (header.pixels_offset != layout.pixels_offset || layout.file_size != file_size) {
    return Corrupt(path, "size " + std::to_string(file_size) + " bytes, its header says " +
                             std::to_string(layout.file_size) + " (truncated?)");
  }
  const uint8_t* errors = bytes + layout.pixels_end;
  if (MetadataChecksum(bytes, layout.metadata_end, errors, header.errors_size) != header.checksum) {
    return Corrupt(path, "checksum mismatch");
  }
  *key_matches = header.key_size == expected_key.size() &&
                 std::memcmp(bytes + sizeof(Header), expected_key.data(), expected_key.size()) == 0;
  if (!*key_matches) return cache;

  cache.height_ = static_cast<int>(header.height);
  cache.width_ = static_cast<int>(header.width);
  cache.pixels_ = bytes + layout.pixels_offset;
  cache.labels_.resize(header.count);
  std::memcpy(cache.labels_.data(), bytes + layout.labels_offset, 8 * header.count);
  cache.valid_.assign(bytes + layout.valid_offset, bytes + layout.valid_offset + header.count);
  nlohmann::json error_list = nlohmann::json::parse(
      errors, errors + header.errors_size, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (!error_list.is_array()) return Corrupt(path, "unreadable error list");
  for (const nlohmann::json& entry : error_list) {
    if (!entry.is_array() || entry.size() != 2 || !entry[0].is_number_integer() ||
        !entry[1].is_string()) {
      return Corrupt(path, "unreadable error list");
    }
    const int64_t index = entry[0].get<int64_t>();
    if (index < 0 || index >= cache.size() || cache.valid_[index] != 0) {
      return Corrupt(path, "error list disagrees with the valid flags");
    }
    cache.errors_[index] = entry[1].get<std::string>();
  }
  for (int64_t i = 0; i < cache.size(); ++i) {
    if (cache.valid_[i] > 1) return Corrupt(path, "bad valid flag");
    if (cache.valid_[i] == 0 && cache.errors_.count(i) == 0) {
      return Corrupt(path, "error list disagrees with the valid flags");
    }
  }
  return cache;
}

absl::StatusOr<DecodedCache> DecodedCache::OpenOrBuild(const std::string& path,
                                                       const ImageSource& source,
                                                       const DecodeOptions& options, int threads) {
  RETURN_IF_ERROR(ValidateDecodeOptions(options));
  if (path.empty()) return absl::InvalidArgumentError("cache path is empty");
  if (source.size() < 0) return absl::InvalidArgumentError("source has a negative size");
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  ASSIGN_OR_RETURN(const std::string key, MakeKey(source, options));

  std::string reason;
  bool key_matches = false;
  {  // the old file's mapping ends with this block, before the file is replaced
    absl::StatusOr<DecodedCache> existing = Open(path, key, &key_matches);
    if (existing.ok() && key_matches) return existing;
    if (existing.ok()) {
      reason = "the items or the decode options changed";
    } else if (absl::IsNotFound(existing.status())) {
      reason = "no cache file";
    } else if (absl::IsDataLoss(existing.status())) {
      reason = std::string(existing.status().message());
    } else {
      return existing.status();
    }
  }
  RETURN_IF_ERROR(Build(path, source, options, threads, key));
  ASSIGN_OR_RETURN(DecodedCache cache, Open(path, key, &key_matches));
  if (!key_matches) return absl::InternalError("cache " + path + " changed while being built");
  cache.rebuild_reason_ = reason;
  return cache;
}

DecodedCache::DecodedCache(DecodedCache&& other) noexcept { *this = std::move(other); }

DecodedCache& DecodedCache::operator=(DecodedCache&& other) noexcept {
  if (this != &other) {
    Unmap();
    path_ = std::move(other.path_);
    map_ = std::exchange(other.map_, nullptr);
    map_size_ = std::exchange(other.map_size_, 0);
    pixels_ = std::exchange(other.pixels_, nullptr);
    height_ = other.height_;
    width_ = other.width_;
    labels_ = std::move(other.labels_);
    valid_ = std::move(other.valid_);
    errors_ = std::move(other.errors_);
    rebuild_reason_ = std::move(other.rebuild_reason_);
  }
  return *this;
}

DecodedCache::~DecodedCache() { Unmap(); }

void DecodedCache::Unmap() {
  if (map_ != nullptr) ::munmap(map_, map_size_);
  map_ = nullptr;
  map_size_ = 0;
  pixels_ = nullptr;
}

cv::Mat DecodedCache::Get(int64_t index) const {
  if (index < 0 || index >= size() || pixels_ == nullptr) return cv::Mat();
  const size_t item_bytes = static_cast<size_t>(height_) * width_ * 3;
  return cv::Mat(height_, width_, CV_8UC3, const_cast<uint8_t*>(pixels_ + index * item_bytes));
}

bool DecodedCache::valid(int64_t index) const {
  return index >= 0 && index < size() && valid_[index] == 1;
}

int64_t DecodedCache::label(int64_t index) const {
  return index >= 0 && index < size() ? labels_[index] : -1;
}

std::string DecodedCache::error(int64_t index) const {
  auto it = errors_.find(index);
  return it == errors_.end() ? std::string() : it->second;
}

}  // namespace fauna
