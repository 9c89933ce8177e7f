#include "core/damaged_bytes.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

#include "core/random.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#include <sanitizer/common_interface_defs.h>
#endif

namespace fauna {
namespace {

// Values that parsers treat specially: JPEG marker and fill bytes, signs, zero.
constexpr char kSpecialBytes[] = {'\x00', '\xFF', '\x7F', '\x80'};
// Cuts within this many bytes of the end are always made: the end markers live there.
constexpr size_t kLastLengths = 16;

std::string Hex(uint8_t byte) {
  char text[8];
  std::snprintf(text, sizeof(text), "0x%02x", byte);
  return text;
}

// The case NoteCase recorded last, and where its bytes go if the process dies in it. Allocated once
// and never freed, so that a signal handler may read them at any time.
struct CurrentCase {
  std::string description;
  std::string bytes;
  std::string output_path;  // "" without $TEST_UNDECLARED_OUTPUTS_DIR.
};
CurrentCase* current_case = nullptr;
std::atomic<bool> reported{false};
constexpr int kSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
struct sigaction previous_actions[NSIG];

void WriteAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n <= 0) return;
    data += n;
    size -= static_cast<size_t>(n);
  }
}

// Only async-signal-safe calls from here: this runs in signal handlers.
void ReportCurrentCase() {
  if (current_case == nullptr || reported.exchange(true)) return;
  static const char kPrefix[] = "damaged_bytes: the last case run before this report: ";
  WriteAll(STDERR_FILENO, kPrefix, sizeof(kPrefix) - 1);
  WriteAll(STDERR_FILENO, current_case->description.data(), current_case->description.size());
  WriteAll(STDERR_FILENO, "\n", 1);
  if (current_case->output_path.empty()) return;
  const int fd = ::open(current_case->output_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return;
  WriteAll(fd, current_case->bytes.data(), current_case->bytes.size());
  ::close(fd);
}

void OnFatalSignal(int signal, siginfo_t* info, void*) {
  ReportCurrentCase();
  // The handler before ours (the default, or a sanitizer's) takes over: a fault happens again
  // when the instruction reruns, a signal sent by a call is sent again.
  ::sigaction(signal, &previous_actions[signal], nullptr);
  if (info == nullptr || info->si_code <= 0) ::raise(signal);
}

void InstallReporters() {
  for (int signal : kSignals) {
    struct sigaction action;
    std::memset(&action, 0, sizeof(action));
    action.sa_sigaction = OnFatalSignal;
    action.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigemptyset(&action.sa_mask);
    ::sigaction(signal, &action, &previous_actions[signal]);
  }
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  __sanitizer_set_death_callback(ReportCurrentCase);
#endif
}

}  // namespace

std::vector<DamagedCopy> DamagedCopies(const std::string& valid, const DamageOptions& options) {
  std::vector<DamagedCopy> copies;
  const size_t size = valid.size();
  const std::string closed = options.closing.empty() ? "" : " + closing";

  std::vector<size_t> lengths;
  if (options.cut) {
    for (size_t length = 0; length < std::min(options.every_length_below, size); ++length) {
      lengths.push_back(length);
    }
    if (size > options.every_length_below) {
      const size_t rest = size - options.every_length_below;
      const size_t parts = static_cast<size_t>(std::max(options.spread_cuts, 0)) + 1;
      for (size_t i = 1; i < parts; ++i) {
        lengths.push_back(options.every_length_below + rest * i / parts);
      }
    }
    for (size_t back = 1; back <= std::min(kLastLengths, size); ++back) {
      lengths.push_back(size - back);
    }
  }
  std::sort(lengths.begin(), lengths.end());
  lengths.erase(std::unique(lengths.begin(), lengths.end()), lengths.end());
  for (size_t length : lengths) {
    copies.push_back({valid.substr(0, length) + options.closing,
                      "cut to " + std::to_string(length) + " of " + std::to_string(size) +
                          " bytes" + closed});
  }

  const size_t begin = std::min(options.begin, size);
  const size_t end = options.end == 0 ? size : std::min(options.end, size);
  if (end <= begin) return copies;
  std::string values(kSpecialBytes, sizeof(kSpecialBytes));
  values += options.alphabet;
  std::mt19937_64 rng(options.seed);
  for (int c = 0; c < options.changes; ++c) {
    DamagedCopy copy{valid, "changed"};
    const int64_t count = 1 + UniformIndex(rng, std::max(options.max_changes, 1));
    for (int64_t i = 0; i < count; ++i) {
      const size_t at =
          begin + static_cast<size_t>(UniformIndex(rng, static_cast<int64_t>(end - begin)));
      const uint8_t before = static_cast<uint8_t>(copy.bytes[at]);
      uint8_t after = before;
      switch (UniformIndex(rng, 3)) {
        case 0:
          after = static_cast<uint8_t>(before ^ (1 + UniformIndex(rng, 255)));
          break;
        case 1:
          after = static_cast<uint8_t>(before ^ (1u << UniformIndex(rng, 8)));
          break;
        default:
          after = static_cast<uint8_t>(
              values[static_cast<size_t>(UniformIndex(rng, static_cast<int64_t>(values.size())))]);
          break;
      }
      copy.bytes[at] = static_cast<char>(after);
      copy.description += " @" + std::to_string(at) + " " + Hex(before) + ">" + Hex(after);
    }
    copies.push_back(std::move(copy));
  }
  return copies;
}

void NoteCase(const std::string& description, const std::string& bytes) {
  if (current_case == nullptr) {
    current_case = new CurrentCase;
    const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
    if (dir != nullptr && *dir != '\0') {
      current_case->output_path = std::string(dir) + "/died_in_case.bin";
    }
    InstallReporters();
  }
  current_case->description = description;
  current_case->bytes = bytes;
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::filesystem::remove(path);
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

}  // namespace fauna
