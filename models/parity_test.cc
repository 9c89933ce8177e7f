// fauna's models against torchvision's, number for number: the same weights give the same
// eval-mode logits (files from models/testdata/make_parity_files.py, run at build time).
//
// ResNet-50 is checked at full width (10 classes, weights stored as float16 to halve the file):
// bottleneck blocks, strides and downsampling are all exercised. VGG at full width is over 500 MB,
// so VGG11-BN is checked at width 1/8 through torchvision's own VGG class (its make_layers and
// forward), with the layout table, batch norm and adaptive pooling exercised; the VGG16 key and
// parameter-count checks are in vgg_test.
#include <sstream>
#include <string>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include "core/tensor_file.h"
#include "models/resnet.h"
#include "models/state_dict.h"
#include "models/test_util.h"
#include "models/vgg.h"

namespace fauna {
namespace {

using testing::MaxRelativeError;
using testing::ParityFile;

// Loads `name`_weights.pt into `model`, runs `name`_io.pt's input in eval mode, and returns the
// relative error against torchvision's logits.
double ParityError(BackboneImpl& model, const std::string& name) {
  absl::StatusOr<LoadReport> report = LoadWeights(model, ParityFile(name + "_weights.pt"));
  EXPECT_TRUE(report.ok()) << report.status();
  absl::StatusOr<NamedTensors> io = ReadTensorFile(ParityFile(name + "_io.pt"));
  EXPECT_TRUE(io.ok()) << io.status();
  if (!report.ok() || !io.ok()) return 1;
  model.eval();
  at::Tensor logits = model.forward(io->at("input"));
  EXPECT_EQ(logits.sizes(), io->at("logits").sizes());
  const double error = MaxRelativeError(logits, io->at("logits"));
  std::ostringstream text;
  text << error;
  ::testing::Test::RecordProperty("max_relative_error", text.str());
  return error;
}

TEST(Parity, ResNet50MatchesTorchvision) {
  ResNet model(ResNetOptions(/*depth=*/50).num_classes(10));
  EXPECT_LT(ParityError(*model, "resnet50"), 1e-5);
}

TEST(Parity, Vgg11BnAtWidthOneEighthMatchesTorchvision) {
  Vgg model(VggOptions(/*depth=*/11).batch_norm(true).width(0.125).num_classes(10));
  EXPECT_LT(ParityError(*model, "vgg11_bn_w0125"), 1e-5);
}

TEST(Parity, WrongWeightsAreCaught) {
  // The check can fail: a ResNet-50 whose weights differ from torchvision's does not match.
  ResNet model(ResNetOptions(/*depth=*/50).num_classes(10));
  absl::StatusOr<NamedTensors> io = ReadTensorFile(ParityFile("resnet50_io.pt"));
  ASSERT_TRUE(io.ok()) << io.status();
  model->eval();
  EXPECT_GT(MaxRelativeError(model->forward(io->at("input")), io->at("logits")), 1e-2);
}

}  // namespace
}  // namespace fauna
