#include "core/atomic_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <utility>

#include "core/status.h"

namespace fauna {
namespace {

// mkstemp creates files readable by their owner only; a committed file gets the usual
// permissions (0666 less the umask), read once since umask() can only be read by setting it.
mode_t DefaultFileMode() {
  static const mode_t mode = [] {
    mode_t mask = ::umask(0);
    ::umask(mask);
    return static_cast<mode_t>(0666 & ~mask);
  }();
  return mode;
}

}  // namespace

absl::StatusOr<AtomicFileWriter> AtomicFileWriter::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("cannot write a file with an empty path");
  std::string temp_path = path + ".tmp.XXXXXX";
  int fd = ::mkstemp(temp_path.data());
  if (fd < 0) return ErrnoToStatus(errno, "cannot create a file beside " + path);
  ::fchmod(fd, DefaultFileMode());
  std::FILE* file = ::fdopen(fd, "wb");
  if (file == nullptr) {
    int error = errno;
    ::close(fd);
    ::unlink(temp_path.c_str());
    return ErrnoToStatus(error, "cannot open " + temp_path);
  }
  return AtomicFileWriter(path, std::move(temp_path), file);
}

AtomicFileWriter::AtomicFileWriter(AtomicFileWriter&& other) noexcept
    : path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      file_(std::exchange(other.file_, nullptr)) {}

AtomicFileWriter& AtomicFileWriter::operator=(AtomicFileWriter&& other) noexcept {
  if (this != &other) {
    Abandon();
    path_ = std::move(other.path_);
    temp_path_ = std::move(other.temp_path_);
    file_ = std::exchange(other.file_, nullptr);
  }
  return *this;
}

AtomicFileWriter::~AtomicFileWriter() { Abandon(); }

void AtomicFileWriter::Abandon() {
  if (file_ == nullptr) return;
  std::fclose(file_);
  file_ = nullptr;
  ::unlink(temp_path_.c_str());
}

absl::Status AtomicFileWriter::Append(const void* data, size_t size) {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + ": writer is closed");
  if (size > 0 && std::fwrite(data, 1, size, file_) != size) {
    int error = errno;
    Abandon();
    return ErrnoToStatus(error, "writing " + path_);
  }
  return absl::OkStatus();
}

absl::Status AtomicFileWriter::Commit() {
  if (file_ == nullptr) return absl::FailedPreconditionError(path_ + ": writer is closed");
  if (std::fflush(file_) != 0 || ::fsync(::fileno(file_)) != 0) {
    int error = errno;
    Abandon();
    return ErrnoToStatus(error, "writing " + path_);
  }
  int closed = std::fclose(file_);
  file_ = nullptr;
  if (closed != 0) {
    int error = errno;
    ::unlink(temp_path_.c_str());
    return ErrnoToStatus(error, "closing " + path_);
  }
  if (::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    int error = errno;
    ::unlink(temp_path_.c_str());
    return ErrnoToStatus(error, "renaming " + temp_path_ + " to " + path_);
  }
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& path, std::string_view contents) {
  ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::Open(path));
  RETURN_IF_ERROR(writer.Append(contents));
  return writer.Commit();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "cannot open " + path);
  // Reads up to `size` bytes at `data`; the count, or -1 with errno set.
  auto read_some = [fd](char* data, size_t size) -> ssize_t {
    while (true) {
      const ssize_t n = ::read(fd, data, size);
      if (n >= 0 || errno != EINTR) return n;
    }
  };
  // The size fstat gives in one read, then whatever else there is (a file that grew meanwhile, or
  // one whose size fstat does not know, such as those in /proc) in chunks.
  std::string contents;
  struct stat info;
  if (::fstat(fd, &info) == 0 && info.st_size > 0) contents.resize(static_cast<size_t>(info.st_size));
  size_t filled = 0;
  while (filled < contents.size()) {
    const ssize_t n = read_some(contents.data() + filled, contents.size() - filled);
    if (n <= 0) break;
    filled += static_cast<size_t>(n);
  }
  contents.resize(filled);
  char chunk[1 << 16];
  ssize_t n;
  while ((n = read_some(chunk, sizeof(chunk))) > 0) contents.append(chunk, static_cast<size_t>(n));
  const int error = errno;
  ::close(fd);
  if (n < 0) return ErrnoToStatus(error, "reading " + path);
  return contents;
}

}  // namespace fauna
