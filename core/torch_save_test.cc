#include "core/torch_save.h"

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

// Files written by Python's torch.save (core/testdata/make_torch_save_files.py, run at build time).
std::string PythonFile(const std::string& name) { return "core/testdata/" + name; }

void ExpectBad(const std::string& path, const std::string& fragment) {
  absl::StatusOr<NamedTensors> read = ReadTorchSave(path);
  ASSERT_FALSE(read.ok()) << path;
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(path));
  EXPECT_THAT(std::string(read.status().message()), HasSubstr(fragment));
}

TEST(ReadTorchSave, ReadsAStateDictSavedByPython) {
  absl::StatusOr<NamedTensors> read = ReadTorchSave(PythonFile("state_dict.pt"));
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), 7u);  // Linear: weight, bias; BatchNorm1d: 4 buffers and a counter.
  EXPECT_TRUE(at::equal(read->at("0.weight"), at::arange(6, at::kFloat).reshape({2, 3}) / 4));
  EXPECT_TRUE(at::equal(read->at("0.bias"), at::tensor({-1.0f, 1.0f})));
  EXPECT_TRUE(at::equal(read->at("1.running_mean"), at::tensor({0.5f, -0.5f})));
  EXPECT_TRUE(at::equal(read->at("1.running_var"), at::ones({2})));
  EXPECT_EQ(read->at("1.num_batches_tracked").scalar_type(), at::kLong);
  EXPECT_EQ(read->at("1.num_batches_tracked").item<int64_t>(), 7);
}

TEST(ReadTorchSave, OrderedDictIsAClearError) {
  ExpectBad(PythonFile("ordered_dict.pt"), "torch.save(dict(model.state_dict()), path)");
}

TEST(ReadTorchSave, OtherObjectsAreClearErrors) {
  ExpectBad(PythonFile("tensor.pt"), "holds a Tensor, not a dict of tensors");
  ExpectBad(PythonFile("list.pt"), "torch.save(dict(model.state_dict()), path)");
  ExpectBad(PythonFile("mixed.pt"), "'step' is a Int, not a tensor");
}

TEST(ReadTorchSave, DamagedFilesAreErrors) {
  std::string python = *ReadFile(PythonFile("state_dict.pt"));
  std::string truncated = TestTempPath("truncated.pt");
  ASSERT_TRUE(WriteFileAtomically(truncated, python.substr(0, python.size() / 2)).ok());
  ExpectBad(truncated, "not a readable torch.save file");

  std::string garbage = TestTempPath("garbage.pt");
  ASSERT_TRUE(WriteFileAtomically(garbage, "this is not a pickle").ok());
  ExpectBad(garbage, "not a readable torch.save file");

  std::string empty = TestTempPath("empty.pt");
  ASSERT_TRUE(WriteFileAtomically(empty, "").ok());
  ExpectBad(empty, "empty file");

  EXPECT_EQ(ReadTorchSave(TestTempPath("absent.pt")).status().code(), absl::StatusCode::kNotFound);
}

TEST(ReadTorchSave, DamagedRecordsAreCaughtByTheirCrc) {
  std::string bytes = *ReadFile(PythonFile("state_dict.pt"));
  // The pickle's first string ('X', a 4-byte length, the text): a length of 3 GB once made
  // LibTorch's unpickler, which reads records without checking their CRC-32, allocate and zero
  // 3 GB (about 10 s) before failing.
  const size_t key = bytes.find(std::string("X\x08\0\0\0" "0.weight", 13));
  ASSERT_NE(key, std::string::npos);
  bytes.replace(key + 1, 4, "\xc7\xff\xff\xb7");
  std::string damaged = TestTempPath("damaged_pickle.pt");
  ASSERT_TRUE(WriteFileAtomically(damaged, bytes).ok());
  ExpectBad(damaged, "record state_dict/data.pkl is damaged: its CRC-32 does not match");

  // A changed tensor record too, which the unpickler would have read as data.
  bytes = *ReadFile(PythonFile("state_dict.pt"));
  const size_t record = bytes.find("state_dict/data/0");
  ASSERT_NE(record, std::string::npos);
  const size_t data = bytes.find(std::string(4, '\0'), record);  // In the first weight, 0.0f.
  ASSERT_NE(data, std::string::npos);
  bytes[data] = '\x01';
  ASSERT_TRUE(WriteFileAtomically(damaged, bytes).ok());
  ExpectBad(damaged, "CRC-32 does not match");
}

NamedTensors CheckedByPython() {
  return {
      {"0.weight", at::arange(6, at::kFloat).reshape({2, 3}) / 4},
      {"0.bias", at::tensor({-1.0f, 1.0f})},
      {"1.num_batches_tracked", at::tensor(int64_t{7})},
  };
}

TEST(WriteTorchSave, RoundTrips) {
  std::string path = TestTempPath("round_trip.pt");
  NamedTensors tensors = CheckedByPython();
  tensors["strided"] = at::arange(6, at::kDouble).reshape({2, 3}).t();
  ASSERT_TRUE(WriteTorchSave(path, tensors).ok());
  absl::StatusOr<NamedTensors> read = ReadTorchSave(path);
  ASSERT_TRUE(read.ok()) << read.status();
  ASSERT_EQ(read->size(), tensors.size());
  for (const auto& [name, tensor] : tensors) EXPECT_TRUE(at::equal(read->at(name), tensor)) << name;
}

TEST(WriteTorchSave, PythonTorchLoadReadsIt) {
  std::string path = TestTempPath("for_python.pt");
  ASSERT_TRUE(WriteTorchSave(path, CheckedByPython()).ok());
  std::string command =
      "/usr/bin/python3 core/testdata/check_fauna_torch_save.py '" + path + "' >&2";
  EXPECT_EQ(std::system(command.c_str()), 0) << command;
}

TEST(WriteTorchSave, UndefinedTensorIsAnError) {
  std::string path = TestTempPath("undefined.pt");
  EXPECT_EQ(WriteTorchSave(path, {{"w", at::Tensor()}}).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(path));
}

}  // namespace
}  // namespace fauna
