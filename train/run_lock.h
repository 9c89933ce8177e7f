// What runners of trainer processes share (the seed-stability runner, the tables' grid runner):
// a lock per run folder that the run's trainer holds with the runner, and a timestamped log line.
#ifndef FAUNA_TRAIN_RUN_LOCK_H_
#define FAUNA_TRAIN_RUN_LOCK_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// The flock of <dir>/<file>, held until destroyed. The descriptor is opened with O_CLOEXEC: pass
// fd() to RunChild's inherit_fd so that the run's own trainer (and no other child) holds the lock
// too, and the run stays locked while either lives.
//
// Example:
//   RunLock lock;
//   ASSIGN_OR_RETURN(const bool locked, lock.Take(dir, "runner.lock", /*wait=*/false));
//   if (locked) RunChild(argv, log, lock.fd());
class RunLock {
 public:
  RunLock() = default;
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;
  ~RunLock();

  // Takes the lock, waiting for another holder when `wait`; false when another holds it and not
  // `wait`. Errors: the file cannot be opened or locked.
  absl::StatusOr<bool> Take(const std::string& dir, const std::string& file, bool wait);

  // The locked descriptor, or -1.
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

// Appends `line` and a newline to the file at `path` (made when missing).
absl::Status AppendLogLine(const std::string& path, const std::string& line);

// The local time as "2026-11-30 08:00:00" (thread-safe).
std::string LocalTimeNow();

}  // namespace fauna

#endif  // FAUNA_TRAIN_RUN_LOCK_H_
