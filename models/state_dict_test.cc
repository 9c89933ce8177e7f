#include "models/state_dict.h"

#include <cstdlib>
#include <filesystem>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>

#include "models/resnet.h"
#include "models/test_util.h"
#include "core/test_tmp.h"

namespace fauna {
namespace {

namespace fs = std::filesystem;

ResNet TinyResNet(int64_t num_classes) {
  return ResNet(ResNetOptions(/*depth=*/18).width(0.0625).num_classes(num_classes));
}

bool Contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// Copies of every tensor, to see later whether a load changed anything.
NamedTensors Snapshot(const torch::nn::Module& module) {
  NamedTensors out;
  for (const auto& [key, tensor] : StateDict(module)) out.emplace(key, tensor.clone());
  return out;
}

bool SameTensors(const NamedTensors& a, const NamedTensors& b) {
  if (a.size() != b.size()) return false;
  for (const auto& [key, tensor] : a) {
    auto it = b.find(key);
    if (it == b.end() || !at::equal(tensor, it->second)) return false;
  }
  return true;
}

TEST(StateDict, HoldsParametersAndBuffersSharingStorage) {
  ResNet model = TinyResNet(3);
  NamedTensors state = StateDict(*model);
  EXPECT_EQ(state.size(), testing::ModuleKeys(*model).size());
  ASSERT_EQ(state.count("bn1.running_mean"), 1u);
  ASSERT_EQ(state.count("layer2.0.downsample.0.weight"), 1u);
  EXPECT_EQ(state.at("bn1.num_batches_tracked").scalar_type(), at::kLong);
  state.at("fc.bias").detach().fill_(7);
  EXPECT_EQ(StateDict(*model).at("fc.bias")[0].item<float>(), 7);
}

TEST(StateDict, SaveAndLoadRoundTripInBothFormats) {
  at::Tensor x = at::randn({2, 3, 32, 32});
  ResNet source = TinyResNet(4);
  source->eval();
  at::Tensor expected = source->forward(x);
  for (const std::string name : {"weights.pt", "weights.safetensors"}) {
    const std::string path = TestTempPath(name);
    ASSERT_TRUE(SaveWeights(*source, path).ok()) << name;
    ResNet target = TinyResNet(4);
    target->eval();
    ASSERT_FALSE(at::allclose(target->forward(x), expected));
    absl::StatusOr<LoadReport> report = LoadWeights(*target, path);
    ASSERT_TRUE(report.ok()) << report.status();
    EXPECT_EQ(report->loaded.size(), StateDict(*target).size());
    EXPECT_TRUE(report->missing.empty());
    EXPECT_TRUE(report->unexpected.empty());
    EXPECT_TRUE(report->reinitialized.empty());
    EXPECT_TRUE(at::equal(target->forward(x), expected)) << name;
  }
}

TEST(StateDict, ConvertsDtypes) {
  ResNet source = TinyResNet(2);
  NamedTensors half;
  for (const auto& [key, tensor] : StateDict(*source)) {
    half.emplace(key, tensor.is_floating_point() ? tensor.detach().to(at::kHalf) : tensor);
  }
  ResNet target = TinyResNet(2);
  ASSERT_TRUE(LoadStateDict(*target, half).ok());
  EXPECT_TRUE(at::equal(StateDict(*target).at("fc.weight"), half.at("fc.weight").to(at::kFloat)));
  EXPECT_EQ(StateDict(*target).at("fc.weight").scalar_type(), at::kFloat);
}

TEST(StateDict, StrictLoadListsMissingUnexpectedAndMismatchedKeysAndChangesNothing) {
  NamedTensors tensors = Snapshot(*TinyResNet(3));
  tensors.erase("layer1.0.bn1.running_var");
  tensors.erase("bn1.weight");
  tensors.emplace("head.weight", at::zeros({3}));
  tensors["layer3.1.conv2.weight"] = at::zeros({2, 2});
  ResNet model = TinyResNet(3);
  NamedTensors before = Snapshot(*model);
  absl::StatusOr<LoadReport> report = LoadStateDict(*model, tensors);
  ASSERT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  const std::string message(report.status().message());
  EXPECT_TRUE(Contains(message, "2 missing keys (bn1.weight, layer1.0.bn1.running_var)"))
      << message;
  EXPECT_TRUE(Contains(message, "1 unexpected keys (head.weight)")) << message;
  EXPECT_TRUE(Contains(message, "layer3.1.conv2.weight: file [2, 2], model [16, 16, 3, 3]"))
      << message;
  EXPECT_TRUE(SameTensors(Snapshot(*model), before));
}

TEST(StateDict, NonStrictLoadSkipsMissingAndUnexpectedButNotMismatches) {
  ResNet source = TinyResNet(3);
  NamedTensors tensors = Snapshot(*source);
  tensors.erase("fc.bias");
  tensors.emplace("extra", at::ones({1}));
  ResNet model = TinyResNet(3);
  const at::Tensor bias_before = StateDict(*model).at("fc.bias").clone();
  absl::StatusOr<LoadReport> report = LoadStateDict(*model, tensors, {.strict = false, .reinit_prefixes = {}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->missing, std::vector<std::string>{"fc.bias"});
  EXPECT_EQ(report->unexpected, std::vector<std::string>{"extra"});
  EXPECT_TRUE(at::equal(StateDict(*model).at("fc.bias"), bias_before));
  EXPECT_TRUE(at::equal(StateDict(*model).at("fc.weight"), tensors.at("fc.weight")));

  tensors["fc.weight"] = at::zeros({5, 32});
  report = LoadStateDict(*model, tensors, {.strict = false, .reinit_prefixes = {}});
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(std::string(report.status().message()), "fc.weight: file [5, 32]"));
}

TEST(StateDict, AHeadWithAnotherClassCountIsReinitialisedOnlyWhenAsked) {
  NamedTensors ten_classes = Snapshot(*TinyResNet(10));
  ResNet model = TinyResNet(3);
  NamedTensors before = Snapshot(*model);
  absl::StatusOr<LoadReport> refused = LoadStateDict(*model, ten_classes);
  ASSERT_FALSE(refused.ok());
  const std::string message(refused.status().message());
  EXPECT_TRUE(Contains(message, "2 shape mismatches")) << message;
  EXPECT_TRUE(Contains(message, "fc.weight: file [10, 32], model [3, 32]")) << message;
  EXPECT_TRUE(Contains(message, "reinit_prefixes")) << message;
  EXPECT_TRUE(SameTensors(Snapshot(*model), before));

  absl::StatusOr<LoadReport> report =
      LoadStateDict(*model, ten_classes, {.reinit_prefixes = {model->head_name()}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->reinitialized, (std::vector<std::string>{"fc.bias", "fc.weight"}));
  NamedTensors after = Snapshot(*model);
  EXPECT_TRUE(at::equal(after.at("fc.weight"), before.at("fc.weight")));
  EXPECT_TRUE(at::equal(after.at("conv1.weight"), ten_classes.at("conv1.weight")));
}

TEST(StateDict, PrefixesMatchWholeModuleNames) {
  torch::nn::Sequential model;
  model->push_back(torch::nn::Linear(2, 2));  // "0"
  for (int i = 1; i < 11; ++i) model->push_back(torch::nn::Linear(2, 2));  // "1" .. "10"
  NamedTensors tensors = Snapshot(*model);
  tensors["10.weight"] = at::zeros({3, 2});
  // "1" is a prefix of "10" as a string but not as a module name.
  EXPECT_FALSE(LoadStateDict(*model, tensors, {.reinit_prefixes = {"1"}}).ok());
  EXPECT_TRUE(LoadStateDict(*model, tensors, {.reinit_prefixes = {"10"}}).ok());
}

TEST(StateDict, LongListsAreCut) {
  ResNet model = TinyResNet(3);
  absl::StatusOr<LoadReport> report = LoadStateDict(*model, NamedTensors{});
  ASSERT_FALSE(report.ok());
  const std::string message(report.status().message());
  const size_t total = StateDict(*model).size();
  EXPECT_TRUE(Contains(message, std::to_string(total) + " missing keys (")) << message;
  EXPECT_TRUE(Contains(message, "... and " + std::to_string(total - 12) + " more")) << message;
}

TEST(StateDict, FileErrorsNameTheFile) {
  ResNet model = TinyResNet(3);
  const std::string absent = TestTempPath("absent.pt");
  absl::StatusOr<LoadReport> report = LoadWeights(*model, absent);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(Contains(std::string(report.status().message()), absent));

  const std::string other = TestTempPath("other.safetensors");
  ASSERT_TRUE(SaveWeights(*TinyResNet(5), other).ok());
  report = LoadWeights(*model, other);
  EXPECT_EQ(report.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(std::string(report.status().message()), other));
  EXPECT_TRUE(Contains(std::string(report.status().message()), "fc.weight"));
}

}  // namespace
}  // namespace fauna
