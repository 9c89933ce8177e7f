// Running another program to its end, its output appended to a log file: how the seed-stability
// runner runs one trainer per seed.
#ifndef FAUNA_TRAIN_CHILD_PROCESS_H_
#define FAUNA_TRAIN_CHILD_PROCESS_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fauna {

// How a child process ended.
struct ChildExit {
  int exit_code = 0;  // Its exit status, when `signal` is 0.
  int signal = 0;     // The signal that ended it, or 0.

  // Whether it exited with 0.
  bool ok() const { return signal == 0 && exit_code == 0; }

  // "exit code 3", or "killed by signal 9 (Killed)".
  std::string ToString() const;
};

// Runs the program at the path argv[0] (no PATH search) with the arguments argv[1..] and waits for
// it to end. Its standard input is /dev/null; its standard output and error are appended to
// `log_path`, which is created when missing (its folder is not). The child gets SIGTERM when the
// thread that started it dies, so that a killed caller leaves no orphan behind. Errors:
// InvalidArgument for an empty argv; the log that cannot be opened; argv[0] that cannot be run
// (NotFound, PermissionDenied, ... as ErrnoToStatus: "cannot run <path>: ..."). A program that
// runs and fails is no error: see ChildExit.
//
// Example:
//   ASSIGN_OR_RETURN(ChildExit exit, RunChild({trainer, "--seed=3"}, dir + "/log.txt"));
//   if (!exit.ok()) std::printf("failed: %s\n", exit.ToString().c_str());
// `inherit_fd`, when not -1, is a descriptor (opened with O_CLOEXEC, as every other) that this
// child alone inherits: a lock that should live as long as the child, without leaking into the
// children other threads start meanwhile.
absl::StatusOr<ChildExit> RunChild(const std::vector<std::string>& argv,
                                   const std::string& log_path, int inherit_fd = -1);

}  // namespace fauna

#endif  // FAUNA_TRAIN_CHILD_PROCESS_H_
