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
  // One read of the size fstat gives, then more if the file grew meanwhile.
  struct stat info;
  std::string contents;
  if (::fstat(fd, &info) == 0 && info.st_size > 0) contents.resize(static_cast<size_t>(info.st_size));
  size_t filled = 0;
  while (true) {
    if (filled == contents.size()) contents.resize(std::max<size_t>(2 * contents.size(), 1 << 16));
    const ssize_t n = ::read(fd, contents.data() + filled, contents.size() - filled);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int error = errno;
      ::close(fd);
      return ErrnoToStatus(error, "reading " + path);
    }
    if (n == 0) break;
    filled += static_cast<size_t>(n);
  }
  ::close(fd);
  contents.resize(filled);
  return contents;
}

}  // namespace fauna
