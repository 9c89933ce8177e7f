#include "core/tensor_file.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/test_tmp.h"

namespace fauna {
namespace {

namespace fs = std::filesystem;

TEST(TensorFile, RoundTripsBothFormatsByExtensionAndContent) {
  NamedTensors tensors = {{"w", at::randn({3, 2})}, {"n", at::tensor(int64_t{4})}};
  for (const auto& [name, format] :
       {std::pair{"w.safetensors", TensorFileFormat::kSafetensors},
        std::pair{"w.pt", TensorFileFormat::kTorchSave},
        std::pair{"w.pth", TensorFileFormat::kTorchSave},
        std::pair{"w.bin", TensorFileFormat::kSafetensors}}) {
    std::string path = TestTempPath(name);
    ASSERT_TRUE(WriteTensorFile(path, tensors).ok()) << name;
    EXPECT_EQ(*DetectTensorFileFormat(path), format) << name;
    absl::StatusOr<NamedTensors> read = ReadTensorFile(path);
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_EQ(read->size(), 2u);
    EXPECT_TRUE(at::equal(read->at("w"), tensors["w"])) << name;
    EXPECT_EQ(read->at("n").item<int64_t>(), 4) << name;
  }
}

TEST(TensorFile, DetectionDoesNotDependOnTheName) {
  std::string path = TestTempPath("torch_format.safetensors");
  std::string source = TestTempPath("source.pt");
  ASSERT_TRUE(WriteTensorFile(source, {{"w", at::ones({2})}}).ok());
  fs::copy_file(source, path, fs::copy_options::overwrite_existing);
  EXPECT_EQ(*DetectTensorFileFormat(path), TensorFileFormat::kTorchSave);
  ASSERT_TRUE(ReadTensorFile(path).ok());
}

TEST(TensorFile, ErrorsNameTheFile) {
  EXPECT_EQ(ReadTensorFile(TestTempPath("absent")).status().code(), absl::StatusCode::kNotFound);
  std::string junk = TestTempPath("junk.bin");
  ASSERT_TRUE(WriteFileAtomically(junk, "neither format").ok());
  absl::Status status = ReadTensorFile(junk).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(status.message()).find(junk), std::string::npos);
}

}  // namespace
}  // namespace fauna
