// Test helper: damaged copies of a valid file (cut short, bytes changed), the same ones on every
// run, for corpus tests that feed each copy to a parser and expect a result or an error status,
// never a crash. Also names the case being run if the process dies in it.
#ifndef FAUNA_CORE_DAMAGED_BYTES_H_
#define FAUNA_CORE_DAMAGED_BYTES_H_

#include <cstddef>
#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace fauna {

// Which damaged copies DamagedCopies makes.
struct DamageOptions {
  // Cuts (unless `cut` is false): the file cut at every length below `every_length_below`, then
  // at `spread_cuts` more lengths spread evenly over the rest, and at each of the last 16 lengths.
  bool cut = true;
  size_t every_length_below = 128;
  int spread_cuts = 64;
  // Appended to every cut (e.g. a JPEG end-of-image marker, so that a parser sees a file that
  // ends properly after a cut-off body); "" for plain cuts.
  std::string closing = "";
  // Changes: `changes` copies with 1 to `max_changes` bytes changed each, at positions in
  // [begin, end) (end 0: the file's end). A byte is XORed with a random value, has one bit
  // flipped, or becomes 0x00, 0xFF, 0x7F, 0x80 or one of `alphabet` (say, the characters that
  // keep JSON or CSV text parseable), each a third of the time.
  int changes = 256;
  int max_changes = 4;
  size_t begin = 0;
  size_t end = 0;
  std::string alphabet = "";
  // Seeds the positions and values; the same seed and file give the same copies.
  uint64_t seed = 1;
};

// One damaged copy, and what was done to it ("cut to 120 of 2048 bytes", "changed @17 0x12>0xff").
struct DamagedCopy {
  std::string bytes;
  std::string description;
};

// The cuts, then the changed copies, of `valid` (see DamageOptions).
//
// Example:
//   for (const DamagedCopy& copy : DamagedCopies(png, {})) {
//     NoteCase("png " + copy.description, copy.bytes);
//     absl::StatusOr<cv::Mat> rgb = DecodeImageRgb(copy.bytes, "png");  // OK or an error.
//   }
std::vector<DamagedCopy> DamagedCopies(const std::string& valid, const DamageOptions& options);

// Records the case about to run. If the process then dies of a signal (SIGSEGV, SIGBUS, SIGFPE,
// SIGILL, SIGABRT) or a sanitizer report, "damaged_bytes: the last case run before this report:
// <description>" goes to stderr and `bytes` to $TEST_UNDECLARED_OUTPUTS_DIR/died_in_case.bin (kept
// by Bazel in the test's outputs.zip), before the usual report. (A leak report comes at exit, after
// the last case: the case named is then only the last one.)
void NoteCase(const std::string& description, const std::string& bytes);

// Replaces the file at `path` with `bytes`. Removed first: ext4 flushes a file truncated and
// written again to disk when it is closed, which would make thousands of cases wait on the disk.
void WriteBytes(const std::string& path, const std::string& bytes);

// Runs one parser call `fn`; an exception escaping it fails the test, naming `what`.
template <typename Fn>
void ExpectNoThrow(const std::string& what, Fn&& fn) {
  try {
    fn();
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": threw " << e.what();
  } catch (...) {
    ADD_FAILURE() << what << ": threw a non-standard exception";
  }
}

}  // namespace fauna

#endif  // FAUNA_CORE_DAMAGED_BYTES_H_
