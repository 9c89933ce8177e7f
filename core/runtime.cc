#include "core/runtime.h"

#include <malloc.h>

#include <cstdlib>
#include <cstdio>
#include <filesystem>
#include <system_error>

#include "core/device.h"
#include "core/seed.h"
#include "core/status.h"

DEFINE_uint64(seed, 0, "Seed of every random draw (weights, splits, shuffles, augmentation).");
DEFINE_int32(threads, 0, "Intra-op threads for LibTorch and OpenCV; 0 means one per core.");
DEFINE_string(device, "auto", "auto, cpu, cuda or cuda:N; auto takes CUDA when there is one.");

namespace fauna {

void ReuseFreedTensorMemory() {
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

absl::StatusOr<Runtime> InitRuntime(bool quiet) {
  ReuseFreedTensorMemory();
  ASSIGN_OR_RETURN(DeviceChoice choice, ResolveDevice(FLAGS_device, QueryCuda()));
  Runtime runtime;
  runtime.seed = FLAGS_seed;
  runtime.device = choice.device;
  runtime.threads = SetThreadCount(FLAGS_threads);
  SeedGlobalGenerators(runtime.seed);
  runtime.summary = choice.explanation + ", seed " + std::to_string(runtime.seed) + ", " +
                    std::to_string(runtime.threads) +
                    (runtime.threads == 1 ? " thread" : " threads");
  if (!quiet) std::fprintf(stderr, "%s\n", runtime.summary.c_str());
  return runtime;
}

std::string DefaultRunDir(std::string_view job) {
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  std::string root = (workspace != nullptr && *workspace != '\0') ? std::string(workspace) + "/runs"
                                                                   : std::string("runs");
  return root + "/" + std::string(job);
}

std::string UserPath(const std::string& path) {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  if (path.empty() || path[0] == '/' || dir == nullptr || *dir == '\0') return path;
  return std::string(dir) + "/" + path;
}

std::string DecodedCacheDir(const std::string& flag) {
  if (!flag.empty()) return UserPath(flag);
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0') return std::string(home) + "/.cache/fauna/decoded";
  return DefaultRunDir("cache");
}

std::string RunfilesDir(const char* argv0) {
  for (const char* name : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') return value;
  }
  std::error_code error;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error && std::filesystem::is_directory(exe.string() + ".runfiles", error)) {
    return exe.string() + ".runfiles";
  }
  const std::string beside = std::string(argv0) + ".runfiles";
  if (std::filesystem::is_directory(beside, error)) return beside;
  return "";
}

std::string RunfilePath(const std::string& runfiles, const std::string& path) {
  return runfiles.empty() ? path : runfiles + "/fauna/" + path;
}

}  // namespace fauna
