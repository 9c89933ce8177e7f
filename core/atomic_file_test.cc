#include "core/atomic_file.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace fauna {
namespace {

namespace fs = std::filesystem;

fs::path TempDir(const std::string& name) {
  fs::path dir = fs::path(std::getenv("TEST_TMPDIR")) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

int CountFiles(const fs::path& dir) {
  int n = 0;
  for ([[maybe_unused]] const auto& entry : fs::directory_iterator(dir)) ++n;
  return n;
}

TEST(AtomicFileWriter, CommitReplacesTheTarget) {
  fs::path dir = TempDir("commit");
  std::string path = (dir / "weights.bin").string();
  ASSERT_TRUE(WriteFileAtomically(path, "old").ok());

  absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Open(path);
  ASSERT_TRUE(writer.ok()) << writer.status();
  ASSERT_TRUE(writer->Append("new ").ok());
  ASSERT_TRUE(writer->Append("contents").ok());
  EXPECT_EQ(*ReadFile(path), "old");  // Untouched until Commit().
  ASSERT_TRUE(writer->Commit().ok());
  EXPECT_EQ(*ReadFile(path), "new contents");
  EXPECT_EQ(CountFiles(dir), 1);
  EXPECT_FALSE(writer->Append("late").ok());
}

TEST(AtomicFileWriter, AbandonedWriterLeavesNothing) {
  fs::path dir = TempDir("abandon");
  std::string path = (dir / "checkpoint.bin").string();
  ASSERT_TRUE(WriteFileAtomically(path, "kept").ok());
  {
    absl::StatusOr<AtomicFileWriter> writer = AtomicFileWriter::Open(path);
    ASSERT_TRUE(writer.ok());
    ASSERT_TRUE(writer->Append("half of it").ok());
  }
  EXPECT_EQ(*ReadFile(path), "kept");
  EXPECT_EQ(CountFiles(dir), 1);
}

TEST(AtomicFileWriter, MissingFolderIsNotFound) {
  fs::path dir = TempDir("missing");
  absl::Status status = WriteFileAtomically((dir / "no" / "such" / "file").string(), "x");
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(AtomicFileWriter::Open("").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ReadFile, ReadsLargeFilesAndFilesOfUnknownSize) {
  fs::path dir = TempDir("read_large");
  std::string big(300000, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7 % 251);
  const std::string path = (dir / "big").string();
  ASSERT_TRUE(WriteFileAtomically(path, big).ok());
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, big);
  // fstat gives 0 bytes for /proc files; they are read all the same.
  absl::StatusOr<std::string> status = ReadFile("/proc/self/status");
  ASSERT_TRUE(status.ok()) << status.status();
  EXPECT_NE(status->find("Name:"), std::string::npos);
}

TEST(ReadFile, MissingFileIsNotFound) {
  fs::path dir = TempDir("read");
  EXPECT_EQ(ReadFile((dir / "absent").string()).status().code(), absl::StatusCode::kNotFound);
  std::string empty = (dir / "empty").string();
  ASSERT_TRUE(WriteFileAtomically(empty, "").ok());
  ASSERT_TRUE(ReadFile(empty).ok());
  EXPECT_EQ(ReadFile(empty)->size(), 0u);
}

}  // namespace
}  // namespace fauna
