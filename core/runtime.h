// What every fauna binary sets up once at start, from three shared flags:
//   --seed     the one seed every random draw descends from (default 0)
//   --threads  intra-op threads for LibTorch and OpenCV (default 0: one per core)
//   --device   auto|cpu|cuda|cuda:N (default auto)
#ifndef FAUNA_CORE_RUNTIME_H_
#define FAUNA_CORE_RUNTIME_H_

#include <cstdint>
#include <string>
#include <string_view>

#include <c10/core/Device.h>
#include <gflags/gflags.h>

#include "absl/status/statusor.h"

DECLARE_uint64(seed);
DECLARE_int32(threads);
DECLARE_string(device);

namespace fauna {

// The settings in force after InitRuntime().
struct Runtime {
  uint64_t seed = 0;
  int threads = 1;
  c10::Device device = c10::Device(c10::kCPU);
  std::string summary;  // One line, e.g. "device: cpu (auto; ...), seed 0, 2 threads".
};

// Applies --seed (SeedGlobalGenerators), --threads (SetThreadCount) and --device (ResolveDevice),
// calls ReuseFreedTensorMemory, and prints Runtime::summary to stderr unless `quiet`. Call after
// gflags parsed the command line.
//
// Example:
//   gflags::ParseCommandLineFlags(&argc, &argv, /*remove_flags=*/true);
//   ASSIGN_OR_RETURN(Runtime runtime, InitRuntime());
absl::StatusOr<Runtime> InitRuntime(bool quiet = false);

// Makes glibc keep freed blocks of up to 256 MB for reuse instead of returning each to the system
// (and keep up to 1 GB free before trimming the heap). Batches of 224 px images are tens of MB,
// above glibc's own limit, so without this every batch is a fresh mmap whose pages fault in one by
// one (the cached loader ran 30-40% slower). InitRuntime calls it; so may benchmarks that skip it.
void ReuseFreedTensorMemory();

// Where a job writes its results by default: <workspace>/runs/<job> under `bazel run` (which sets
// BUILD_WORKSPACE_DIRECTORY), else runs/<job> in the current folder.
std::string DefaultRunDir(std::string_view job);

// A path the user typed, as the user meant it: under `bazel run` (which runs binaries in their
// runfiles and sets BUILD_WORKING_DIRECTORY) a relative path is taken from the folder the command
// was typed in; absolute paths, empty ones and paths outside `bazel run` are unchanged.
std::string UserPath(const std::string& path);

// Where decoded-image caches go: `flag` (a --cache_dir the user typed, through UserPath) when set,
// else ~/.cache/fauna/decoded, else (no HOME) DefaultRunDir("cache").
std::string DecodedCacheDir(const std::string& flag);

// The runfiles folder of the running binary: $RUNFILES_DIR or $TEST_SRCDIR when set (bazel test),
// else <binary>.runfiles beside the binary (bazel run, a Bazel action's tool, or bazel-bin/...
// run directly); "" when there is none.
std::string RunfilesDir(const char* argv0);

// `path` (relative to the workspace, e.g. "train/recipes") inside `runfiles`; `path` itself,
// relative to the current folder, when `runfiles` is "".
std::string RunfilePath(const std::string& runfiles, const std::string& path);

}  // namespace fauna

#endif  // FAUNA_CORE_RUNTIME_H_
