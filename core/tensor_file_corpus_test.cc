// Corpus test for the weight-file readers (core/safetensors.h, core/torch_save.h and
// core/tensor_file.h's ReadTensorFile). Valid files are written by fauna's own writers (and one
// by Python's torch.save, at build time), then each is cut short at many lengths and has bytes
// changed, the same cases on every run (core/damaged_bytes.h); the safetensors JSON header is
// also damaged with JSON's own characters, so that much of it still parses. Every case must read
// or return an error status: no crash, no exception, no abort, no sanitizer report (CI also runs
// this test under --config=asan). Tensors read must be defined and readable.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Logging.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/damaged_bytes.h"
#include "core/safetensors.h"
#include "core/tensor_file.h"
#include "core/test_tmp.h"
#include "core/torch_save.h"

namespace fauna {
namespace {

// Characters that keep a damaged JSON header parseable more often than random bytes do.
constexpr char kJsonAlphabet[] = "0123456789[]{},:\"-.eE tfn";

// Every tensor read is defined, and its data can be copied. True when the file was read.
bool ExpectReadable(const absl::StatusOr<NamedTensors>& tensors, const std::string& what) {
  if (!tensors.ok()) {
    EXPECT_FALSE(tensors.status().message().empty()) << what;
    return false;
  }
  for (const auto& [name, tensor] : *tensors) {
    EXPECT_TRUE(tensor.defined()) << what << ": " << name;
    if (tensor.defined()) {
      EXPECT_EQ(tensor.clone().numel(), tensor.numel()) << what << ": " << name;
    }
  }
  return true;
}

struct Seed {
  std::string name;
  std::string bytes;
  bool safetensors;
};

std::string Written(const std::string& name, const absl::Status& written) {
  EXPECT_TRUE(written.ok()) << written;
  return ReadFile(TestTempPath(name)).value_or("");
}

std::vector<Seed> Seeds() {
  const NamedTensors many = {
      {"w", at::arange(12, at::kFloat).reshape({3, 4}) / 8},
      {"steps", at::tensor({int64_t{7}, int64_t{-1}})},
      {"mask", at::tensor({1, 0, 1, 1, 0}).gt(0)},
      {"half", at::arange(4, at::kFloat).reshape({2, 2}).to(at::kBFloat16)},
      {"scalar", at::tensor(2.5, at::kDouble)},
      {"empty", at::zeros({0, 3}, at::kByte)},
  };
  const NamedTensors state_dict = {
      {"0.weight", at::arange(6, at::kFloat).reshape({2, 3}) / 4},
      {"0.bias", at::tensor({-1.0f, 1.0f})},
      {"1.num_batches_tracked", at::tensor(int64_t{7})},
  };
  return {
      {"safetensors, six dtypes and metadata",
       Written("many.safetensors",
               WriteSafetensors(TestTempPath("many.safetensors"), many,
                                {{"format", "pt"}, {"note", "a, \"quoted\" value"}})),
       true},
      {"safetensors, one tensor",
       Written("one.safetensors",
               WriteSafetensors(TestTempPath("one.safetensors"),
                                {{"x", at::arange(7, at::kChar)}})),
       true},
      {"torch.save by fauna",
       Written("state_dict.pt", WriteTorchSave(TestTempPath("state_dict.pt"), state_dict)),
       false},
      // Python's zip layout differs (records padded to 64 bytes); made by
      // core/testdata/make_torch_save_files.py at build time.
      {"torch.save by python", ReadFile("core/testdata/state_dict.pt").value_or(""), false},
  };
}

// The damaged copies of a seed: cuts and changes anywhere, then changes where the format keeps its
// structure (a safetensors file's header length and JSON; a zip's central directory, at the end).
std::vector<DamagedCopy> Copies(const Seed& seed, uint64_t rng_seed) {
  std::vector<DamagedCopy> all;
  const auto append = [&](std::vector<DamagedCopy> copies, const std::string& where) {
    for (DamagedCopy& copy : copies) {
      copy.description = where + copy.description;
      all.push_back(std::move(copy));
    }
  };
  DamageOptions anywhere;
  anywhere.seed = rng_seed;
  append(DamagedCopies(seed.bytes, anywhere), "");
  DamageOptions structure;
  structure.cut = false;
  structure.seed = rng_seed + 1;
  if (seed.safetensors) {
    uint64_t header_size = 0;
    for (int i = 7; i >= 0; --i) {
      header_size = header_size << 8 | static_cast<uint8_t>(seed.bytes[i]);
    }
    structure.changes = 40;
    structure.end = 8;
    append(DamagedCopies(seed.bytes, structure), "length ");
    structure.changes = 600;
    structure.begin = 8;
    structure.end = 8 + header_size;
    structure.alphabet = kJsonAlphabet;
    append(DamagedCopies(seed.bytes, structure), "json ");
  } else {
    constexpr size_t kZipDirectoryBytes = 400;  // The central directory and its end record.
    structure.changes = 300;
    structure.begin = seed.bytes.size() - std::min(seed.bytes.size(), kZipDirectoryBytes);
    append(DamagedCopies(seed.bytes, structure), "zip directory ");
  }
  return all;
}

TEST(TensorFileCorpus, DamagedSafetensorsAndTorchSaveFilesAreErrorsOrRead) {
  // LibTorch symbolises a backtrace for every error it throws, about 10 ms each, which fauna then
  // drops (what_without_backtrace): here that would be most of the run time.
  c10::SetStackTraceFetcher([] { return std::string(); });
  const std::string path = TestTempPath("damaged");
  int64_t cases = 0;
  int64_t read = 0;
  uint64_t rng_seed = 500;
  for (const Seed& seed : Seeds()) {
    ASSERT_FALSE(seed.bytes.empty()) << seed.name;
    WriteBytes(path, seed.bytes);
    ASSERT_TRUE(ReadTensorFile(path).ok()) << seed.name << ": " << ReadTensorFile(path).status();
    int64_t seed_cases = 0;
    int64_t seed_read = 0;
    for (const DamagedCopy& copy : Copies(seed, rng_seed += 10)) {
      const std::string what = seed.name + ", " + copy.description;
      NoteCase(what, copy.bytes);
      ++seed_cases;
      WriteBytes(path, copy.bytes);
      ExpectNoThrow(what, [&] {
        seed_read += ExpectReadable(ReadTensorFile(path), what + ", ReadTensorFile");
        if (seed.safetensors) {
          const absl::StatusOr<SafetensorsContents> contents = ReadSafetensors(path);
          ExpectReadable(contents.ok() ? absl::StatusOr<NamedTensors>(contents->tensors)
                                       : absl::StatusOr<NamedTensors>(contents.status()),
                         what + ", ReadSafetensors");
        } else {
          ExpectReadable(ReadTorchSave(path), what + ", ReadTorchSave");
        }
      });
      if (::testing::Test::HasFailure()) return;
    }
    std::printf("%s: %lld cases, %lld read\n", seed.name.c_str(),
                static_cast<long long>(seed_cases), static_cast<long long>(seed_read));
    cases += seed_cases;
    read += seed_read;
  }
  std::printf("weight files: %lld cases, %lld read\n", static_cast<long long>(cases),
              static_cast<long long>(read));
}

}  // namespace
}  // namespace fauna
