#include "train/run_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

#include "core/status.h"

namespace fauna {

RunLock::~RunLock() {
  if (fd_ >= 0) ::close(fd_);
}

absl::StatusOr<bool> RunLock::Take(const std::string& dir, const std::string& file, bool wait) {
  const std::string path = dir + "/" + file;
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoToStatus(errno, "cannot open " + path);
  int result;
  do {
    result = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (result != 0 && errno == EINTR);
  if (result != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return false;
    return ErrnoToStatus(error, "cannot lock " + path);
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = fd;
  return true;
}

absl::Status AppendLogLine(const std::string& path, const std::string& line) {
  FILE* file = std::fopen(path.c_str(), "ae");
  if (file == nullptr) return ErrnoToStatus(errno, "cannot open log " + path);
  std::fprintf(file, "%s\n", line.c_str());
  if (std::fclose(file) != 0) return ErrnoToStatus(errno, "cannot write log " + path);
  return absl::OkStatus();
}

std::string LocalTimeNow() {
  const std::time_t now = std::time(nullptr);
  std::tm local{};
  ::localtime_r(&now, &local);
  char buffer[64];
  std::strftime(buffer, sizeof(buffer), "%Y-%m-%d %H:%M:%S", &local);
  return buffer;
}

}  // namespace fauna
