#include "models/vgg.h"

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include "models/test_util.h"

namespace fauna {
namespace {

using testing::CountParameters;
using testing::ModuleKeys;
using testing::ParityFile;
using testing::ReadKeysFile;

// Full-width VGGs take about a second each to initialise, so each is built once.
TEST(Vgg, KeysShapesAndParameterCountsAreTorchvisions) {
  auto plain = ReadKeysFile(ParityFile("vgg16_keys.txt"));
  auto bn = ReadKeysFile(ParityFile("vgg16_bn_keys.txt"));
  ASSERT_TRUE(plain.ok()) << plain.status();
  ASSERT_TRUE(bn.ok()) << bn.status();
  Vgg vgg16(VggOptions(/*depth=*/16));
  EXPECT_EQ(ModuleKeys(*vgg16), *plain);
  EXPECT_EQ(CountParameters(*vgg16), 138'357'544);
  Vgg vgg16_bn(VggOptions(/*depth=*/16).batch_norm(true));
  EXPECT_EQ(ModuleKeys(*vgg16_bn), *bn);
  EXPECT_EQ(CountParameters(*vgg16_bn), 138'365'992);
}

TEST(Vgg, ActivationsKeepTheKeys) {
  // Activations hold no state; a linear one keeps its slot, so indices do not move.
  for (const bool batch_norm : {false, true}) {
    auto relu = ModuleKeys(*Vgg(VggOptions(/*depth=*/16).batch_norm(batch_norm).width(0.0625)));
    for (const Activation a : {Activation::kTanh, Activation::kSigmoid, Activation::kLinear}) {
      EXPECT_EQ(ModuleKeys(*Vgg(
                    VggOptions(/*depth=*/16).batch_norm(batch_norm).width(0.0625).activation(a))),
                relu)
          << ActivationName(a);
    }
  }
}

TEST(Vgg, ParameterCountsOfOtherDepthsAreTorchvisions) {
  // Full-width VGG11 and VGG19 are slow to build; at width 1/64 their counts follow from
  // torchvision's layer tables (3x3 convolutions with bias, three linear layers).
  struct Case {
    int64_t depth;
    std::vector<int64_t> convs;  // output channels at width 1
  };
  for (const Case& c : {Case{11, {64, 128, 256, 256, 512, 512, 512, 512}},
                        Case{19, {64, 64, 128, 128, 256, 256, 256, 256, 512, 512, 512, 512, 512,
                                  512, 512, 512}}}) {
    const double width = 1.0 / 64;
    int64_t expected = 0;
    int64_t in = 3;
    for (const int64_t out_full : c.convs) {
      const int64_t out = std::llround(out_full * width);
      expected += in * out * 9 + out;
      in = out;
    }
    const int64_t hidden = std::llround(4096 * width);
    expected += in * 49 * hidden + hidden + hidden * hidden + hidden + hidden * 10 + 10;
    EXPECT_EQ(CountParameters(*Vgg(VggOptions(c.depth).width(width).num_classes(10))), expected)
        << c.depth;
  }
}

TEST(Vgg, OutputAndFeatureShapesAtSeveralSizesAndWidths) {
  struct Case {
    int64_t depth;
    bool batch_norm;
    double width;
    int64_t size;
  };
  for (const Case& c : {Case{11, false, 0.0625, 32}, Case{13, true, 0.125, 48},
                        Case{16, false, 0.03125, 64}, Case{19, true, 0.03125, 37}}) {
    Vgg model(VggOptions(c.depth).batch_norm(c.batch_norm).width(c.width).num_classes(5));
    model->eval();
    at::Tensor x = at::randn({2, 3, c.size, c.size});
    const int64_t hidden = std::llround(4096 * c.width);
    EXPECT_EQ(model->feature_dim(), hidden);
    EXPECT_EQ(model->features(x).sizes(), (at::IntArrayRef{2, hidden}));
    EXPECT_EQ(model->forward(x).sizes(), (at::IntArrayRef{2, 5}));
  }
}

TEST(Vgg, WidthScalesConvolutionsAndHiddenLayers) {
  auto keys = ModuleKeys(*Vgg(VggOptions(/*depth=*/11).width(0.25).in_channels(1)));
  EXPECT_EQ(keys.at("features.0.weight"), "float32 16,1,3,3");
  EXPECT_EQ(keys.at("features.18.weight"), "float32 128,128,3,3");
  EXPECT_EQ(keys.at("classifier.0.weight"), "float32 1024,6272");
  EXPECT_EQ(keys.at("classifier.6.weight"), "float32 1000,1024");
}

TEST(Vgg, ActivationsChangeTheFunction) {
  at::Tensor x = at::randn({2, 3, 32, 32});
  std::map<std::string, at::Tensor> outputs;
  for (const std::string name : {"relu", "tanh", "sigmoid", "linear"}) {
    absl::StatusOr<Activation> activation = ParseActivation(name);
    ASSERT_TRUE(activation.ok()) << activation.status();
    EXPECT_EQ(ActivationName(*activation), name);
    at::manual_seed(3);
    Vgg model(VggOptions(/*depth=*/11).width(0.0625).activation(*activation));
    model->eval();
    outputs[name] = model->features(x);
  }
  EXPECT_GE(outputs["relu"].min().item<double>(), 0);
  EXPECT_GE(outputs["sigmoid"].min().item<double>(), 0);
  EXPECT_LE(outputs["sigmoid"].max().item<double>(), 1);
  EXPECT_LE(outputs["tanh"].abs().max().item<double>(), 1);
  EXPECT_LT(outputs["linear"].min().item<double>(), 0);
  EXPECT_FALSE(at::allclose(outputs["relu"], outputs["linear"]));
}

TEST(Vgg, ForwardIsTheHeadOnTheFeaturesInEvalMode) {
  Vgg model(VggOptions(/*depth=*/11).width(0.0625).num_classes(3));
  model->eval();
  at::Tensor x = at::randn({2, 3, 32, 32});
  std::map<std::string, at::Tensor> params;
  for (const auto& item : model->named_parameters()) params[item.key()] = item.value();
  at::Tensor expected =
      at::linear(model->features(x), params["classifier.6.weight"], params["classifier.6.bias"]);
  EXPECT_TRUE(at::allclose(model->forward(x), expected));
}

TEST(Vgg, InitialisationIsTorchvisions) {
  Vgg model(VggOptions(/*depth=*/11).batch_norm(true).width(0.5));
  std::map<std::string, at::Tensor> params;
  for (const auto& item : model->named_parameters()) params[item.key()] = item.value();
  const double conv_std = std::sqrt(2.0 / (256 * 3 * 3));  // features.25: 256 -> 256 at width 0.5
  EXPECT_NEAR(params["features.25.weight"].std().item<double>(), conv_std, 0.03 * conv_std);
  EXPECT_TRUE(at::equal(params["features.25.bias"], at::zeros({256})));
  EXPECT_TRUE(at::equal(params["features.26.weight"], at::ones({256})));
  EXPECT_NEAR(params["classifier.0.weight"].std().item<double>(), 0.01, 0.0003);
  EXPECT_TRUE(at::equal(params["classifier.3.bias"], at::zeros({2048})));
}

TEST(Vgg, BadOptionsAreClearErrors) {
  struct Case {
    VggOptions options;
    std::string message;
  };
  for (const Case& c : {Case{VggOptions(/*depth=*/15), "unknown VGG depth 15"},
                        Case{VggOptions(/*depth=*/16).width(0), "width must be > 0"},
                        Case{VggOptions(/*depth=*/16).num_classes(-3), "num_classes"},
                        Case{VggOptions(/*depth=*/16).dropout(-0.1), "dropout"},
                        Case{VggOptions(/*depth=*/16).in_channels(0), "in_channels"}}) {
    absl::Status status = ValidateVggOptions(c.options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(std::string(status.message()).find(c.message), std::string::npos) << status;
    EXPECT_THROW(Vgg{c.options}, c10::ValueError) << c.message;
  }
  absl::StatusOr<Activation> bad = ParseActivation("gelu");
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.status().message()).find("gelu"), std::string::npos);
}

}  // namespace
}  // namespace fauna
