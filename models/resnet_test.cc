#include "models/resnet.h"

#include <cmath>
#include <map>
#include <string>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

#include "models/test_util.h"

namespace fauna {
namespace {

using testing::CountParameters;
using testing::ModuleKeys;
using testing::ParityFile;
using testing::ReadKeysFile;

TEST(ResNet, KeysAndShapesAreTorchvisions) {
  for (const int64_t depth : {18, 50}) {
    auto expected = ReadKeysFile(ParityFile("resnet" + std::to_string(depth) + "_keys.txt"));
    ASSERT_TRUE(expected.ok()) << expected.status();
    ResNet model{ResNetOptions(depth)};
    EXPECT_EQ(ModuleKeys(*model), *expected) << "resnet" << depth;
  }
}

TEST(ResNet, DropoutDoesNotChangeTheStateDict) {
  auto expected = ReadKeysFile(ParityFile("resnet18_keys.txt"));
  ASSERT_TRUE(expected.ok()) << expected.status();
  ResNet model(ResNetOptions(/*depth=*/18).dropout(0.5));
  EXPECT_EQ(ModuleKeys(*model), *expected);
}

TEST(ResNet, ParameterCountsAreTorchvisions) {
  EXPECT_EQ(CountParameters(*ResNet(ResNetOptions(/*depth=*/18))), 11'689'512);
  EXPECT_EQ(CountParameters(*ResNet(ResNetOptions(/*depth=*/34))), 21'797'672);
  EXPECT_EQ(CountParameters(*ResNet(ResNetOptions(/*depth=*/50))), 25'557'032);
  EXPECT_EQ(CountParameters(*ResNet(ResNetOptions(/*depth=*/101))), 44'549'160);
}

TEST(ResNet, OutputAndFeatureShapesAtSeveralSizesAndWidths) {
  struct Case {
    int64_t depth;
    double width;
    int64_t size;
    int64_t feature_dim;
  };
  for (const Case& c : {Case{18, 0.125, 32, 64}, Case{18, 0.25, 45, 128},
                        Case{34, 0.0625, 64, 32}, Case{50, 0.0625, 32, 128},
                        Case{50, 0.125, 57, 256}, Case{101, 0.03125, 40, 64}}) {
    ResNet model(ResNetOptions(c.depth).num_classes(7).width(c.width));
    model->eval();
    at::Tensor x = at::randn({2, 3, c.size, c.size});
    EXPECT_EQ(model->feature_dim(), c.feature_dim) << c.depth << " " << c.width;
    EXPECT_EQ(model->features(x).sizes(), (at::IntArrayRef{2, c.feature_dim}));
    EXPECT_EQ(model->forward(x).sizes(), (at::IntArrayRef{2, 7}));
  }
}

TEST(ResNet, InChannelsAndWidthScaleTheStem) {
  ResNet model(ResNetOptions(/*depth=*/18).in_channels(1).width(0.5));
  auto keys = ModuleKeys(*model);
  EXPECT_EQ(keys.at("conv1.weight"), "float32 32,1,7,7");
  EXPECT_EQ(keys.at("layer4.1.conv2.weight"), "float32 256,256,3,3");
  model->eval();  // one image: batch norm needs running statistics at layer4's 1x1 maps
  EXPECT_EQ(model->forward(at::randn({1, 1, 32, 32})).size(1), 1000);
}

TEST(ResNet, SmallInputStemKeepsTheImageResolutionIntoLayer1) {
  ResNet model(ResNetOptions(/*depth=*/18).num_classes(10).small_input_stem(true).width(0.25));
  auto keys = ModuleKeys(*model);
  EXPECT_EQ(keys.at("conv1.weight"), "float32 16,3,3,3");
  model->eval();
  // features() is conv1, bn1, ReLU, then layer1..4 with no max pool between: the same numbers
  // as running the children by hand.
  const at::Tensor x = at::randn({2, 3, 16, 16});
  auto children = model->named_children();
  at::Tensor y = children["conv1"]->as<torch::nn::Conv2dImpl>()->forward(x);
  EXPECT_EQ(y.sizes(), (at::IntArrayRef{2, 16, 16, 16}));  // Stride 1.
  y = children["bn1"]->as<torch::nn::BatchNorm2dImpl>()->forward(y).relu();
  for (const char* layer : {"layer1", "layer2", "layer3", "layer4"}) {
    y = children[layer]->as<torch::nn::SequentialImpl>()->forward(y);
  }
  EXPECT_EQ(y.sizes(), (at::IntArrayRef{2, 128, 2, 2}));  // 16 px / 8.
  EXPECT_TRUE(at::allclose(model->features(x), y.mean({2, 3}), 1e-5, 1e-6));
  // kuangliu/pytorch-cifar's ResNet18, the usual CIFAR network, has 11,173,962 parameters.
  EXPECT_EQ(CountParameters(*ResNet(ResNetOptions(18).num_classes(10).small_input_stem(true))),
            11'173'962);
}

TEST(ResNet, InitialisationIsTorchvisions) {
  ResNet model(ResNetOptions(/*depth=*/50));
  std::map<std::string, at::Tensor> params;
  for (const auto& item : model->named_parameters()) params[item.key()] = item.value();
  // kaiming_normal_(fan_out, relu): std = sqrt(2 / (out_channels * kh * kw)).
  const double conv1_std = std::sqrt(2.0 / (64 * 7 * 7));
  EXPECT_NEAR(params["conv1.weight"].std().item<double>(), conv1_std, 0.03 * conv1_std);
  EXPECT_NEAR(params["conv1.weight"].mean().item<double>(), 0, 0.03 * conv1_std);
  const double conv3_std = std::sqrt(2.0 / (2048 * 1 * 1));
  EXPECT_NEAR(params["layer4.2.conv3.weight"].std().item<double>(), conv3_std, 0.03 * conv3_std);
  EXPECT_TRUE(at::equal(params["layer2.0.bn3.weight"], at::ones({512})));
  EXPECT_TRUE(at::equal(params["layer2.0.bn3.bias"], at::zeros({512})));
  // nn.Linear's default: uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight and bias.
  const double bound = 1 / std::sqrt(2048.0);
  EXPECT_LE(params["fc.weight"].abs().max().item<double>(), bound);
  EXPECT_GT(params["fc.weight"].abs().max().item<double>(), 0.99 * bound);
  EXPECT_LE(params["fc.bias"].abs().max().item<double>(), bound);
}

TEST(ResNet, DropoutActsOnlyInTraining) {
  ResNet model(ResNetOptions(/*depth=*/18).width(0.125).num_classes(4).dropout(0.5));
  at::Tensor x = at::randn({4, 3, 32, 32});
  model->eval();
  EXPECT_TRUE(at::equal(model->forward(x), model->forward(x)));
  model->train();
  // In training, batch norm uses batch statistics (deterministic) and dropout draws masks.
  EXPECT_FALSE(at::equal(model->forward(x), model->forward(x)));
}

TEST(ResNet, BadOptionsAreClearErrors) {
  struct Case {
    ResNetOptions options;
    std::string message;
  };
  for (const Case& c : {Case{ResNetOptions(/*depth=*/20), "unknown ResNet depth 20"},
                        Case{ResNetOptions(/*depth=*/18).width(0), "width must be > 0"},
                        Case{ResNetOptions(/*depth=*/18).width(-1), "width must be > 0"},
                        Case{ResNetOptions(/*depth=*/18).num_classes(0), "num_classes"},
                        Case{ResNetOptions(/*depth=*/18).dropout(1), "dropout"},
                        Case{ResNetOptions(/*depth=*/18).in_channels(0), "in_channels"}}) {
    absl::Status status = ValidateResNetOptions(c.options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(std::string(status.message()).find(c.message), std::string::npos) << status;
    try {
      ResNet model(c.options);
      ADD_FAILURE() << "no exception for " << c.message;
    } catch (const c10::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
    }
  }
  EXPECT_TRUE(ValidateResNetOptions(ResNetOptions(/*depth=*/152)).ok());
}

}  // namespace
}  // namespace fauna
