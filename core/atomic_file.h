// Writing files so that a crash never leaves a half-written one: data goes to a temporary file
// beside the target, which is flushed to disk and renamed over the target on Commit().
#ifndef FAUNA_CORE_ATOMIC_FILE_H_
#define FAUNA_CORE_ATOMIC_FILE_H_

#include <cstddef>
#include <cstdio>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// A file being written atomically. Until Commit() succeeds the target is untouched (an older
// version stays readable); a writer destroyed without Commit() removes its temporary file.
//
// Example:
//   ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::Open(path));
//   RETURN_IF_ERROR(writer.Append(header));
//   RETURN_IF_ERROR(writer.Append(data, size));
//   RETURN_IF_ERROR(writer.Commit());
class AtomicFileWriter {
 public:
  // Starts writing `path`; fails when its folder does not exist or is not writable.
  static absl::StatusOr<AtomicFileWriter> Open(const std::string& path);

  AtomicFileWriter(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter& operator=(AtomicFileWriter&& other) noexcept;
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;
  ~AtomicFileWriter();

  absl::Status Append(const void* data, size_t size);
  absl::Status Append(std::string_view bytes) { return Append(bytes.data(), bytes.size()); }

  // Flushes, syncs and renames the temporary file over the target.
  absl::Status Commit();

 private:
  AtomicFileWriter(std::string path, std::string temp_path, std::FILE* file)
      : path_(std::move(path)), temp_path_(std::move(temp_path)), file_(file) {}
  void Abandon();

  std::string path_;
  std::string temp_path_;
  std::FILE* file_ = nullptr;
};

// Writes `contents` to `path` atomically.
absl::Status WriteFileAtomically(const std::string& path, std::string_view contents);

// Reads a whole file.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace fauna

#endif  // FAUNA_CORE_ATOMIC_FILE_H_
