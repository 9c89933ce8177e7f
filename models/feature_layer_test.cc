#include "models/feature_layer.h"

#include <string>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/types.h>

#include "models/autoencoder.h"
#include "models/registry.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;

// A tiny model of `name` for 3 classes and 32 px images, with dropout in front of the head where
// the model has one, so that the checks below fail if a layer were read in training mode.
Backbone Tiny(const std::string& name, double width) {
  ModelConfig config;
  config.num_classes = 3;
  config.width = width;
  config.image_size = 32;
  config.latent_dim = 8;
  if (name != "autoencoder") config.dropout = 0.5;
  absl::StatusOr<Backbone> model = CreateModel(name, config);
  EXPECT_TRUE(model.ok()) << name << ": " << model.status();
  (*model)->eval();
  return *model;
}

// The model's last Linear applied to `features`: what forward() gives a classifier in eval mode.
at::Tensor ApplyHead(const Backbone& model, const at::Tensor& features) {
  const auto parameters = model->named_parameters();
  return at::linear(features, parameters[model->head_name() + ".weight"],
                    parameters[model->head_name() + ".bias"]);
}

TEST(FeatureLayer, ParsesItsNames) {
  for (const std::string& name : FeatureLayerNames()) {
    absl::StatusOr<FeatureLayer> layer = ParseFeatureLayer(name);
    ASSERT_TRUE(layer.ok()) << layer.status();
    EXPECT_EQ(FeatureLayerName(*layer), name);
  }
  EXPECT_THAT(std::string(ParseFeatureLayer("fc7").status().message()),
              HasSubstr("unknown feature layer \"fc7\" (known: penultimate, bottleneck)"));
}

// Every classifier family: [N, feature_dim] rows whose last Linear gives the model's logits.
TEST(FeatureLayer, PenultimateIsTheInputOfEveryClassifiersLastLinear) {
  struct Case {
    std::string name;
    double width;
    int64_t dim;  // The penultimate width at this model width.
  };
  for (const Case& c : {Case{"vgg16", 0.125, 512}, Case{"vgg11_bn", 0.0625, 256},
                        Case{"resnet50", 0.0625, 128}, Case{"resnet18", 0.125, 64},
                        Case{"endangered_model4", 0.25, 32},
                        Case{"endangered_baseline", 0.25, 32}}) {
    SCOPED_TRACE(c.name);
    ASSERT_TRUE(CheckFeatureLayer(c.name, FeatureLayer::kPenultimate).ok());
    Backbone model = Tiny(c.name, c.width);
    c10::NoGradGuard no_grad;
    const at::Tensor images = at::randn({4, 3, 32, 32}, at::TensorOptions().dtype(at::kFloat));
    absl::StatusOr<at::Tensor> features =
        ForwardFeatures(model, images, FeatureLayer::kPenultimate);
    ASSERT_TRUE(features.ok()) << features.status();
    EXPECT_EQ(features->sizes(), (at::IntArrayRef{4, c.dim}));
    EXPECT_EQ(features->scalar_type(), at::kFloat);
    EXPECT_GE(features->min().item<double>(), 0.0) << "the penultimate layer follows a ReLU";
    const at::Tensor logits = model->forward(images);
    EXPECT_TRUE(at::allclose(ApplyHead(model, *features), logits, /*rtol=*/1e-5, /*atol=*/1e-6))
        << (ApplyHead(model, *features) - logits).abs().max().item<double>();
  }
}

TEST(FeatureLayer, BottleneckIsTheAutoencodersCodeFlattened) {
  ASSERT_TRUE(CheckFeatureLayer("autoencoder", FeatureLayer::kBottleneck).ok());
  c10::NoGradGuard no_grad;
  const at::Tensor images = at::randn({3, 3, 32, 32});
  ConvAutoencoder with_fc(ConvAutoencoderOptions().image_size(32).latent_dim(8).width(0.25));
  absl::StatusOr<at::Tensor> code =
      ForwardFeatures(AsBackbone(with_fc), images, FeatureLayer::kBottleneck);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->sizes(), (at::IntArrayRef{3, 8}));
  EXPECT_TRUE(at::equal(*code, with_fc->encoder()->forward(images)));

  // Without the FC layer the code is the last feature map: 32 channels * (32 / 2^3)^2.
  ConvAutoencoder no_fc(ConvAutoencoderOptions().image_size(32).latent_dim(0).width(0.25));
  code = ForwardFeatures(AsBackbone(no_fc), images, FeatureLayer::kBottleneck);
  ASSERT_TRUE(code.ok()) << code.status();
  EXPECT_EQ(code->sizes(), (at::IntArrayRef{3, 32 * 4 * 4}));
}

TEST(FeatureLayer, ALayerTheModelLacksIsAClearError) {
  EXPECT_THAT(std::string(CheckFeatureLayer("vgg16", FeatureLayer::kBottleneck).message()),
              HasSubstr("vgg16 has no bottleneck layer: it is a classifier"));
  EXPECT_THAT(std::string(CheckFeatureLayer("autoencoder", FeatureLayer::kPenultimate).message()),
              HasSubstr("autoencoder has no penultimate layer: it has no classification head; "
                        "its layer is bottleneck"));
  EXPECT_THAT(std::string(CheckFeatureLayer("alexnet", FeatureLayer::kPenultimate).message()),
              HasSubstr("unknown model \"alexnet\""));

  c10::NoGradGuard no_grad;
  const at::Tensor images = at::randn({2, 3, 32, 32});
  absl::StatusOr<at::Tensor> features =
      ForwardFeatures(Tiny("resnet18", 0.0625), images, FeatureLayer::kBottleneck);
  EXPECT_EQ(features.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(features.status().message()), HasSubstr("its layer is penultimate"));
  features = ForwardFeatures(Tiny("autoencoder", 0.25), images, FeatureLayer::kPenultimate);
  EXPECT_THAT(std::string(features.status().message()), HasSubstr("its layer is bottleneck"));

  // Five 2x2 pools leave nothing of a 16 px image: LibTorch's error, as a status.
  features = ForwardFeatures(Tiny("vgg11", 0.0625), at::randn({1, 3, 16, 16}),
                             FeatureLayer::kPenultimate);
  EXPECT_FALSE(features.ok());
  EXPECT_THAT(std::string(features.status().message()), HasSubstr("features of the penultimate"));
}

}  // namespace
}  // namespace fauna
