#include "core/safetensors.h"

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/test_tmp.h"

namespace fauna {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// A safetensors file from a header text and raw data, written as the test says.
std::string MakeFile(const std::string& name, const std::string& header, const std::string& data,
                     uint64_t declared_header_size) {
  std::string bytes;
  for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((declared_header_size >> (8 * i)) & 0xff));
  bytes += header + data;
  std::string path = TestTempPath(name);
  EXPECT_TRUE(WriteFileAtomically(path, bytes).ok());
  return path;
}

std::string MakeFile(const std::string& name, const std::string& header, const std::string& data) {
  return MakeFile(name, header, data, header.size());
}

// Expects reading `path` to fail with `code` and a message containing `fragment` and the path.
void ExpectBad(const std::string& path, absl::StatusCode code, const std::string& fragment) {
  absl::StatusOr<SafetensorsContents> read = ReadSafetensors(path);
  ASSERT_FALSE(read.ok()) << path;
  EXPECT_EQ(read.status().code(), code) << read.status();
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(fragment));
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(path));
}

TEST(Safetensors, RoundTripsEveryDtypeAndMetadata) {
  NamedTensors tensors = {
      {"f64", at::randn({2, 3}, at::kDouble)},
      {"f32", at::randn({4}, at::kFloat)},
      {"f16", at::randn({3, 1}).to(at::kHalf)},
      {"bf16", at::randn({5}).to(at::kBFloat16)},
      {"i64", at::arange(6, at::kLong).reshape({2, 3})},
      {"i32", at::arange(-3, 3, at::kInt)},
      {"i16", at::arange(4, at::kShort)},
      {"i8", at::arange(-4, 4, at::kChar)},
      {"u8", at::arange(250, 256, at::kByte)},
      {"bool", at::tensor({1, 0, 1}).gt(0)},
      {"scalar", at::tensor(3.5)},
      {"empty", at::zeros({0, 4})},
      {"strided", at::arange(12, at::kFloat).reshape({3, 4}).t()},
  };
  std::string path = TestTempPath("all.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, tensors, {{"format", "pt"}, {"fauna", "test"}}).ok());

  absl::StatusOr<SafetensorsContents> read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(read->metadata.at("format"), "pt");
  EXPECT_EQ(read->metadata.at("fauna"), "test");
  ASSERT_EQ(read->tensors.size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    const at::Tensor& actual = read->tensors.at(name);
    EXPECT_EQ(actual.scalar_type(), expected.scalar_type()) << name;
    EXPECT_EQ(actual.sizes(), expected.sizes()) << name;
    EXPECT_TRUE(at::equal(actual, expected)) << name;
  }
}

TEST(Safetensors, HeaderIsAlignedAndReadableByHand) {
  std::string path = TestTempPath("one.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", at::tensor({1.0f, 2.0f})}}).ok());
  std::string bytes = *ReadFile(path);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<unsigned char>(bytes[i]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(bytes.size(), 8 + n + 8);
  EXPECT_THAT(bytes.substr(8, n),
              HasSubstr(R"("w":{"data_offsets":[0,8],"dtype":"F32","shape":[2]})"));
}

TEST(Safetensors, EmptyFileListIsValid) {
  std::string path = TestTempPath("none.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {}).ok());
  absl::StatusOr<SafetensorsContents> read = ReadSafetensors(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_TRUE(read->tensors.empty());
}

TEST(SafetensorsMalformed, MissingFile) {
  ExpectBad(TestTempPath("absent.safetensors"), absl::StatusCode::kNotFound, "cannot open");
}

TEST(SafetensorsMalformed, ShorterThanTheLength) {
  std::string path = TestTempPath("short.safetensors");
  ASSERT_TRUE(WriteFileAtomically(path, "abc").ok());
  ExpectBad(path, absl::StatusCode::kInvalidArgument, "too short");
}

TEST(SafetensorsMalformed, HeaderLengthBeyondTheFile) {
  ExpectBad(MakeFile("long_header.safetensors", "{}", "", 1000),
            absl::StatusCode::kInvalidArgument, "beyond the end of the file");
  ExpectBad(MakeFile("huge_header.safetensors", "{}", "", UINT64_MAX),
            absl::StatusCode::kInvalidArgument, "beyond the end of the file");
}

TEST(SafetensorsMalformed, TruncatedData) {
  std::string path = TestTempPath("truncated.safetensors");
  ASSERT_TRUE(WriteSafetensors(path, {{"w", at::ones({16})}}).ok());
  std::string bytes = *ReadFile(path);
  ASSERT_TRUE(WriteFileAtomically(path, bytes.substr(0, bytes.size() - 5)).ok());
  ExpectBad(path, absl::StatusCode::kInvalidArgument, "reach beyond the data");
}

TEST(SafetensorsMalformed, InvalidJson) {
  ExpectBad(MakeFile("json.safetensors", "{\"w\": [", ""), absl::StatusCode::kInvalidArgument,
            "not valid JSON");
  ExpectBad(MakeFile("array.safetensors", "[1, 2]", ""), absl::StatusCode::kInvalidArgument,
            "not a JSON object");
  ExpectBad(MakeFile("entry.safetensors", R"({"w": 3})", ""), absl::StatusCode::kInvalidArgument,
            "not an object");
  ExpectBad(MakeFile("fields.safetensors", R"({"w": {"dtype": "F32", "shape": [1]}})", "1234"),
            absl::StatusCode::kInvalidArgument, "missing \"data_offsets\"");
  ExpectBad(MakeFile("meta.safetensors", R"({"__metadata__": {"a": 1}})", ""),
            absl::StatusCode::kInvalidArgument, "not a string");
}

TEST(SafetensorsMalformed, UnknownDtype) {
  ExpectBad(MakeFile("dtype.safetensors",
                     R"({"w": {"dtype": "F31", "shape": [1], "data_offsets": [0, 4]}})", "1234"),
            absl::StatusCode::kInvalidArgument, "unknown dtype \"F31\"");
  ExpectBad(MakeFile("u16.safetensors",
                     R"({"w": {"dtype": "U16", "shape": [2], "data_offsets": [0, 4]}})", "1234"),
            absl::StatusCode::kUnimplemented, "U16");
}

TEST(SafetensorsMalformed, ShapeSizeMismatch) {
  ExpectBad(MakeFile("mismatch.safetensors",
                     R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}})",
                     "12345678"),
            absl::StatusCode::kInvalidArgument, "needs 3 x 4 bytes");
  ExpectBad(MakeFile("negative.safetensors",
                     R"({"w": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}})", "1234"),
            absl::StatusCode::kInvalidArgument, "negative");
  ExpectBad(MakeFile("overflow.safetensors",
                     R"({"w": {"dtype": "F64", "shape": [4294967296, 4294967296, 16],)"
                     R"( "data_offsets": [0, 8]}})",
                     "12345678"),
            absl::StatusCode::kInvalidArgument, "too large");
}

TEST(SafetensorsMalformed, DeeplyNestedShapeIsAnErrorNotAStackOverflow) {
  // The error message once printed the whole shape with dump(), which recursed through the
  // 100,000 levels of brackets of this 200 KB file and overflowed the stack (a segfault).
  const std::string nested = std::string(100'000, '[') + std::string(100'000, ']');
  ExpectBad(MakeFile("nested.safetensors",
                     R"({"w": {"dtype": "F32", "shape": )" + nested +
                         R"(, "data_offsets": [0, 4]}})",
                     "1234"),
            absl::StatusCode::kInvalidArgument, "dimension 0 is a JSON array");
  ExpectBad(MakeFile("nested_after.safetensors",
                     R"({"w": {"dtype": "F32", "shape": [18446744073709551615, )" + nested +
                         R"(], "data_offsets": [0, 4]}})",
                     "1234"),
            absl::StatusCode::kInvalidArgument, "dimension 1 is a JSON array");
}

TEST(SafetensorsMalformed, OffsetsOutOfRange) {
  ExpectBad(MakeFile("range.safetensors",
                     R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})", "1234"),
            absl::StatusCode::kInvalidArgument, "reach beyond the data");
  ExpectBad(MakeFile("backwards.safetensors",
                     R"({"w": {"dtype": "U8", "shape": [0], "data_offsets": [3, 2]}})", "1234"),
            absl::StatusCode::kInvalidArgument, "run backwards");
  ExpectBad(MakeFile("pair.safetensors",
                     R"({"w": {"dtype": "U8", "shape": [4], "data_offsets": [0]}})", "1234"),
            absl::StatusCode::kInvalidArgument, "pair");
}

TEST(SafetensorsMalformed, OverlappingOffsets) {
  ExpectBad(MakeFile("overlap.safetensors",
                     R"({"a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
                     R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [2, 6]}})",
                     "123456"),
            absl::StatusCode::kInvalidArgument, "overlap");
}

TEST(SafetensorsMalformed, BytesBelongingToNoTensor) {
  ExpectBad(MakeFile("hole.safetensors",
                     R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]},)"
                     R"( "b": {"dtype": "U8", "shape": [2], "data_offsets": [4, 6]}})",
                     "123456"),
            absl::StatusCode::kInvalidArgument, "2..4 belong to no tensor");
  ExpectBad(MakeFile("tail.safetensors",
                     R"({"a": {"dtype": "U8", "shape": [2], "data_offsets": [0, 2]}})", "1234"),
            absl::StatusCode::kInvalidArgument, "2..4 belong to no tensor");
}

TEST(SafetensorsMalformed, BoolOtherThanZeroOrOne) {
  ExpectBad(MakeFile("bool.safetensors",
                     R"({"b": {"dtype": "BOOL", "shape": [2], "data_offsets": [0, 2]}})",
                     std::string("\x01\x07", 2)),
            absl::StatusCode::kInvalidArgument, "BOOL");
}

TEST(SafetensorsWrite, RejectsWhatTheFormatCannotHold) {
  std::string path = TestTempPath("bad_write.safetensors");
  EXPECT_EQ(WriteSafetensors(path, {{"", at::ones({1})}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(path, {{"__metadata__", at::ones({1})}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(path, {{"c", at::ones({1}, at::kComplexFloat)}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(WriteSafetensors(path, {{"u", at::Tensor()}}).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace fauna
