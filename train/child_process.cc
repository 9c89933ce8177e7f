#include "train/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <vector>

#include "core/status.h"

namespace fauna {
namespace {

// Closes a file descriptor when it goes out of scope.
class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }

 private:
  int fd_;
};

// waitpid that carries on after a signal interrupted it.
pid_t WaitFor(pid_t pid, int* status) {
  while (true) {
    const pid_t result = ::waitpid(pid, status, 0);
    if (result >= 0 || errno != EINTR) return result;
  }
}

}  // namespace

std::string ChildExit::ToString() const {
  if (signal != 0) {
    return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
  }
  return "exit code " + std::to_string(exit_code);
}

absl::StatusOr<ChildExit> RunChild(const std::vector<std::string>& argv,
                                   const std::string& log_path, int inherit_fd) {
  if (argv.empty()) return absl::InvalidArgumentError("RunChild: no program given");
  const int log = ::open(log_path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (log < 0) return ErrnoToStatus(errno, "cannot open log " + log_path);
  FdCloser close_log(log);
  const int null = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (null < 0) return ErrnoToStatus(errno, "cannot open /dev/null");
  FdCloser close_null(null);
  // The child writes execv's errno here when it fails; a successful execv closes it unwritten.
  int error_pipe[2];
  if (::pipe2(error_pipe, O_CLOEXEC) != 0) return ErrnoToStatus(errno, "cannot create a pipe");
  FdCloser close_read(error_pipe[0]);

  // Everything the child needs, made before fork: after it only async-signal-safe calls.
  std::vector<char*> args;
  for (const std::string& arg : argv) args.push_back(const_cast<char*>(arg.c_str()));
  args.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    const int error = errno;
    ::close(error_pipe[1]);
    return ErrnoToStatus(error, "cannot start " + argv[0]);
  }
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(127);  // The parent died before prctl.
    if (inherit_fd >= 0 && ::fcntl(inherit_fd, F_SETFD, 0) != 0) ::_exit(127);
    if (::dup2(null, STDIN_FILENO) >= 0 && ::dup2(log, STDOUT_FILENO) >= 0 &&
        ::dup2(log, STDERR_FILENO) >= 0) {
      ::execv(args[0], args.data());
    }
    const int error = errno;
    ssize_t ignored = ::write(error_pipe[1], &error, sizeof(error));
    (void)ignored;
    ::_exit(127);
  }
  ::close(error_pipe[1]);
  int exec_error = 0;
  ssize_t got;
  do {
    got = ::read(error_pipe[0], &exec_error, sizeof(exec_error));
  } while (got < 0 && errno == EINTR);
  int status = 0;
  if (WaitFor(pid, &status) < 0) return ErrnoToStatus(errno, "cannot wait for " + argv[0]);
  if (got == static_cast<ssize_t>(sizeof(exec_error))) {
    return ErrnoToStatus(exec_error, "cannot run " + argv[0]);
  }
  ChildExit exit;
  if (WIFSIGNALED(status)) {
    exit.signal = WTERMSIG(status);
  } else {
    exit.exit_code = WEXITSTATUS(status);
  }
  return exit;
}

}  // namespace fauna
