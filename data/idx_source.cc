#include "data/idx_source.h"

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <system_error>
#include <utility>

#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "core/cv_status.h"
#include "core/status.h"

namespace fauna {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;

std::string Hex(uint32_t value) {
  char text[16];
  std::snprintf(text, sizeof(text), "0x%08x", value);
  return text;
}

uint32_t Be32(const uint8_t* b) {
  return uint32_t{b[0]} << 24 | uint32_t{b[1]} << 16 | uint32_t{b[2]} << 8 | uint32_t{b[3]};
}

// A file read through zlib, which passes a file that is not gzipped through unchanged.
class GzFile {
 public:
  static absl::StatusOr<GzFile> Open(const std::string& path) {
    std::error_code error;
    const std::filesystem::file_status status = std::filesystem::status(path, error);
    if (status.type() == std::filesystem::file_type::not_found) {
      return absl::NotFoundError(path + ": no such file");
    }
    if (status.type() == std::filesystem::file_type::directory) {
      return absl::InvalidArgumentError(path + ": is a folder, not an IDX file");
    }
    gzFile file = gzopen(path.c_str(), "rb");
    if (file == nullptr) {
      return absl::InvalidArgumentError(path + ": cannot open: " + std::strerror(errno));
    }
    return GzFile(path, file);
  }

  GzFile(GzFile&& other) noexcept : path_(std::move(other.path_)), file_(other.file_) {
    other.file_ = nullptr;
  }
  GzFile& operator=(GzFile&&) = delete;
  GzFile(const GzFile&) = delete;
  ~GzFile() {
    if (file_ != nullptr) gzclose(file_);
  }

  // Reads up to `size` bytes; returns how many were read (fewer only at the end of the data).
  absl::StatusOr<int64_t> Read(void* data, int64_t size) {
    int64_t done = 0;
    while (done < size) {
      const unsigned chunk = static_cast<unsigned>(std::min<int64_t>(size - done, 1 << 30));
      const int n = gzread(file_, static_cast<uint8_t*>(data) + done, chunk);
      if (n < 0) return Error();
      if (n == 0) break;
      done += n;
    }
    // zlib reports a gzip stream cut short as an error only after the read that met its end.
    int code = Z_OK;
    gzerror(file_, &code);
    if (code != Z_OK && code != Z_STREAM_END) return Error();
    return done;
  }

  // The bytes left after the data the header describes (at most `limit` are counted).
  absl::StatusOr<int64_t> CountRemaining(int64_t limit) {
    uint8_t buffer[4096];
    int64_t total = 0;
    while (total < limit) {
      ASSIGN_OR_RETURN(int64_t n, Read(buffer, sizeof(buffer)));
      if (n == 0) break;
      total += n;
    }
    return total;
  }

  const std::string& path() const { return path_; }

 private:
  GzFile(std::string path, gzFile file) : path_(std::move(path)), file_(file) {}

  absl::Status Error() {
    int code = Z_OK;
    const char* message = gzerror(file_, &code);
    if (code == Z_ERRNO) message = std::strerror(errno);
    return absl::InvalidArgumentError(path_ + ": broken gzip data or unreadable file: " +
                                      (message != nullptr ? message : "unknown error"));
  }

  std::string path_;
  gzFile file_ = nullptr;
};

// Reads the IDX header of `file`: the magic number and `dimensions` 32-bit big-endian sizes.
absl::StatusOr<std::vector<uint32_t>> ReadHeader(GzFile& file, uint32_t magic, int dimensions,
                                                 const std::string& what) {
  const int64_t header_size = 4 + 4 * dimensions;
  uint8_t header[16];
  ASSIGN_OR_RETURN(int64_t got, file.Read(header, header_size));
  if (got < 4) {
    return absl::InvalidArgumentError(file.path() + ": too short for an IDX header (" +
                                      std::to_string(got) + " bytes)");
  }
  const uint32_t found = Be32(header);
  if (found != magic) {
    std::string hint;
    if (found == kImagesMagic) hint = " (this is an IDX image file)";
    if (found == kLabelsMagic) hint = " (this is an IDX label file)";
    if ((found >> 16) == 0 && (found & 0xFF) == static_cast<uint32_t>(dimensions) &&
        ((found >> 8) & 0xFF) != 0x08) {
      hint = " (IDX data type " + Hex((found >> 8) & 0xFF) + "; only unsigned bytes, 0x08, are "
             "supported)";
    }
    return absl::InvalidArgumentError(file.path() + ": magic number " + Hex(found) +
                                      " is not that of an IDX " + what + " file (" + Hex(magic) +
                                      ")" + hint);
  }
  if (got < header_size) {
    return absl::InvalidArgumentError(file.path() + ": IDX header cut short (" +
                                      std::to_string(got) + " of " +
                                      std::to_string(header_size) + " bytes)");
  }
  std::vector<uint32_t> sizes;
  for (int d = 0; d < dimensions; ++d) sizes.push_back(Be32(header + 4 + 4 * d));
  return sizes;
}

// Reads exactly `size` bytes of data after the header into `data`; an error for a file shorter or
// longer. Memory grows with the data actually read, not with what a header claims.
absl::Status ReadExactly(GzFile& file, std::vector<uint8_t>& data, int64_t size,
                         const std::string& header) {
  constexpr int64_t kChunk = int64_t{16} << 20;
  data.clear();
  while (static_cast<int64_t>(data.size()) < size) {
    const int64_t old_size = static_cast<int64_t>(data.size());
    const int64_t want = std::min(kChunk, size - old_size);
    data.resize(old_size + want);
    ASSIGN_OR_RETURN(int64_t got, file.Read(data.data() + old_size, want));
    data.resize(old_size + got);
    if (got < want) break;
  }
  const int64_t got = static_cast<int64_t>(data.size());
  if (got < size) {
    return absl::InvalidArgumentError(file.path() + ": truncated: the header says " + header +
                                      " (" + std::to_string(size) + " bytes of data) but the file "
                                      "holds " + std::to_string(got));
  }
  ASSIGN_OR_RETURN(int64_t extra, file.CountRemaining(/*limit=*/int64_t{1} << 20));
  if (extra > 0) {
    return absl::InvalidArgumentError(file.path() + ": longer than its header says (" + header +
                                      "): " + std::to_string(extra) +
                                      (extra >= (int64_t{1} << 20) ? " or more" : "") +
                                      " bytes after the data");
  }
  return absl::OkStatus();
}

}  // namespace

const std::vector<std::string>& FashionMnistClassNames() {
  static const std::vector<std::string>* const names = new std::vector<std::string>{
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return *names;
}

absl::StatusOr<std::unique_ptr<IdxSource>> IdxSource::Open(const std::string& images_path,
                                                           const std::string& labels_path,
                                                           std::vector<std::string> class_names,
                                                           const std::string& name) {
  if (class_names.empty()) return absl::InvalidArgumentError("IdxSource: no class names");
  auto source = std::unique_ptr<IdxSource>(new IdxSource());
  source->name_ = name;
  source->class_names_ = std::move(class_names);

  ASSIGN_OR_RETURN(GzFile images, GzFile::Open(images_path));
  ASSIGN_OR_RETURN(std::vector<uint32_t> image_sizes,
                   ReadHeader(images, kImagesMagic, /*dimensions=*/3, "image"));
  const int64_t count = image_sizes[0];
  const int64_t rows = image_sizes[1];
  const int64_t cols = image_sizes[2];
  const std::string image_header = std::to_string(count) + " images of " + std::to_string(rows) +
                                   "x" + std::to_string(cols);
  if (rows < 1 || cols < 1 || rows > kMaxIdxSide || cols > kMaxIdxSide) {
    return absl::InvalidArgumentError(images_path + ": images of " + std::to_string(rows) + "x" +
                                      std::to_string(cols) + " pixels (each side must be 1 to " +
                                      std::to_string(kMaxIdxSide) + ")");
  }
  if (count < 1) return absl::InvalidArgumentError(images_path + ": the header says 0 images");
  if (count * rows * cols > kMaxIdxBytes) {
    return absl::InvalidArgumentError(images_path + ": " + image_header + " is more than " +
                                      std::to_string(kMaxIdxBytes) + " bytes");
  }
  source->rows_ = static_cast<int>(rows);
  source->cols_ = static_cast<int>(cols);
  RETURN_IF_ERROR(ReadExactly(images, source->pixels_, count * rows * cols, image_header));

  ASSIGN_OR_RETURN(GzFile labels, GzFile::Open(labels_path));
  ASSIGN_OR_RETURN(std::vector<uint32_t> label_sizes,
                   ReadHeader(labels, kLabelsMagic, /*dimensions=*/1, "label"));
  if (label_sizes[0] != count) {
    return absl::InvalidArgumentError(labels_path + ": " + std::to_string(label_sizes[0]) +
                                      " labels for the " + std::to_string(count) + " images of " +
                                      images_path);
  }
  RETURN_IF_ERROR(ReadExactly(labels, source->labels_, count,
                              std::to_string(count) + " labels"));
  const size_t num_classes = source->class_names_.size();
  for (int64_t i = 0; i < count; ++i) {
    if (source->labels_[i] >= num_classes) {
      return absl::InvalidArgumentError(labels_path + ": label " +
                                        std::to_string(source->labels_[i]) + " of item " +
                                        std::to_string(i) + " is not below the " +
                                        std::to_string(num_classes) + " classes");
    }
  }
  return source;
}

std::string IdxSource::describe(int64_t index) const {
  return "idx:" + name_ + ":" + std::to_string(index);
}

absl::StatusOr<cv::Mat> IdxSource::Load(int64_t index) const {
  RETURN_IF_ERROR(CheckIndex(index, "idx:" + name_));
  return GuardCv(describe(index), [&] {
    const cv::Mat gray(rows_, cols_, CV_8UC1, const_cast<uint8_t*>(pixels(index)));
    cv::Mat rgb;
    cv::cvtColor(gray, rgb, cv::COLOR_GRAY2RGB);
    return rgb;
  });
}

absl::StatusOr<std::unique_ptr<IdxSource>> OpenFashionMnist(const std::string& dir,
                                                            const std::string& split) {
  std::string prefix;
  if (split == "train") {
    prefix = "train";
  } else if (split == "test") {
    prefix = "t10k";
  } else {
    return absl::InvalidArgumentError("Fashion-MNIST has the splits train and test, not '" +
                                      split + "'");
  }
  std::error_code error;
  if (!std::filesystem::is_directory(dir, error)) {
    return absl::NotFoundError(dir + ": no Fashion-MNIST folder (Debian: apt-get install "
                               "dataset-fashion-mnist)");
  }
  // The gzipped file as shipped, else an unpacked one.
  const auto pick = [&](const std::string& stem) {
    const std::string plain = dir + "/" + stem;
    return std::filesystem::exists(plain + ".gz", error) ? plain + ".gz" : plain;
  };
  return IdxSource::Open(pick(prefix + "-images-idx3-ubyte"), pick(prefix + "-labels-idx1-ubyte"),
                         FashionMnistClassNames(), split);
}

}  // namespace fauna
