#include "models/autoencoder.h"

#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gtest/gtest.h>

#include "models/state_dict.h"
#include "models/test_util.h"

namespace fauna {
namespace {

using testing::ModuleKeys;

TEST(ConvAutoencoder, ShapesAtSeveralSizesWidthsAndLatentSizes) {
  struct Case {
    int64_t image_size;
    std::vector<int64_t> channels;
    double width;
    int64_t latent_dim;
    int64_t feature_dim;
  };
  for (const Case& c : {Case{32, {32, 64, 128}, 0.125, 16, 16},
                        Case{64, {32, 64, 128}, 0.25, 8, 8},
                        Case{48, {8, 16}, 1, 0, 16 * 12 * 12},
                        Case{16, {4, 4, 4, 4}, 2, 5, 5}}) {
    ConvAutoencoder model(ConvAutoencoderOptions()
                              .image_size(c.image_size)
                              .channels(c.channels)
                              .width(c.width)
                              .latent_dim(c.latent_dim));
    at::Tensor x = at::randn({3, 3, c.image_size, c.image_size});
    EXPECT_EQ(model->feature_dim(), c.feature_dim);
    EXPECT_EQ(model->features(x).sizes(), (at::IntArrayRef{3, c.feature_dim}));
    EXPECT_EQ(model->forward(x).sizes(), x.sizes());
    EXPECT_EQ(model->head_name(), "");
  }
}

TEST(ConvAutoencoder, KeysNameEncoderAndDecoder) {
  auto keys = ModuleKeys(*ConvAutoencoder(ConvAutoencoderOptions().image_size(64).latent_dim(10)));
  EXPECT_EQ(keys.at("encoder.conv.0.weight"), "float32 32,3,3,3");
  EXPECT_EQ(keys.at("encoder.conv.6.weight"), "float32 128,64,3,3");
  EXPECT_EQ(keys.at("encoder.fc.weight"), "float32 10,8192");  // 128 * 8 * 8
  EXPECT_EQ(keys.at("decoder.fc.weight"), "float32 8192,10");
  EXPECT_EQ(keys.at("decoder.deconv.0.weight"), "float32 128,64,2,2");
  EXPECT_EQ(keys.at("decoder.deconv.4.weight"), "float32 32,3,2,2");
  EXPECT_EQ(keys.size(), 16u);  // 6 convolutions and 2 linear layers, weight and bias each
}

TEST(ConvAutoencoder, TheEncoderWorksAloneOnAnyInputSize) {
  ConvAutoencoder model(ConvAutoencoderOptions().image_size(32).width(0.25).latent_dim(12));
  ConvEncoder encoder = model->encoder();
  at::Tensor x = at::randn({2, 3, 32, 32});
  EXPECT_TRUE(at::equal(encoder->forward(x), model->features(x)));
  EXPECT_EQ(encoder->forward(at::randn({2, 3, 50, 44})).sizes(), (at::IntArrayRef{2, 12}));
  // The decoder turns codes back into images of the configured size.
  EXPECT_EQ(model->decoder()->forward(at::randn({4, 12})).sizes(),
            (at::IntArrayRef{4, 3, 32, 32}));
}

TEST(ConvAutoencoder, ReconstructionLossIsTheMeanSquaredError) {
  ConvAutoencoder model(ConvAutoencoderOptions().image_size(16).width(0.125).latent_dim(4));
  at::Tensor x = at::randn({2, 3, 16, 16});
  at::Tensor expected = (model->forward(x) - x).pow(2).mean();
  EXPECT_TRUE(at::allclose(model->reconstruction_loss(x), expected));
  try {
    model->reconstruction_loss(at::randn({2, 3, 20, 20}));
    ADD_FAILURE() << "no error for the wrong size";
  } catch (const c10::ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("needs images [N, 3, 16, 16], got [2, 3, 20, 20]"),
              std::string::npos)
        << e.what();
  }
}

TEST(ConvAutoencoder, SigmoidOutputStaysInTheUnitInterval) {
  ConvAutoencoder model(
      ConvAutoencoderOptions().image_size(16).width(0.125).latent_dim(4).sigmoid_output(true));
  at::Tensor y = model->forward(at::randn({2, 3, 16, 16}) * 10);
  EXPECT_GE(y.min().item<double>(), 0);
  EXPECT_LE(y.max().item<double>(), 1);
}

TEST(ConvAutoencoder, PretrainedWithoutTheFcLayerLoadsIntoTheFullModel) {
  const ConvAutoencoderOptions options =
      ConvAutoencoderOptions().image_size(32).width(0.25).latent_dim(0);
  ConvAutoencoder pretrained(options);
  ConvAutoencoder full(ConvAutoencoderOptions(options).latent_dim(16));
  absl::StatusOr<LoadReport> report =
      LoadStateDict(*full, StateDict(*pretrained), {.strict = false, .reinit_prefixes = {}});
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->missing, (std::vector<std::string>{"decoder.fc.bias", "decoder.fc.weight",
                                                       "encoder.fc.bias", "encoder.fc.weight"}));
  EXPECT_TRUE(report->unexpected.empty());
  EXPECT_TRUE(at::equal(StateDict(*full).at("encoder.conv.3.weight"),
                        StateDict(*pretrained).at("encoder.conv.3.weight")));
}

TEST(ConvAutoencoder, BadOptionsAreClearErrors) {
  struct Case {
    ConvAutoencoderOptions options;
    std::string message;
  };
  for (const Case& c :
       {Case{ConvAutoencoderOptions().image_size(100), "multiple of 8"},
        Case{ConvAutoencoderOptions().image_size(4), "multiple of 8"},
        Case{ConvAutoencoderOptions().channels({}), "1 to 8 stages"},
        Case{ConvAutoencoderOptions().channels({8, -1}), "channels must be >= 1"},
        Case{ConvAutoencoderOptions().latent_dim(-1), "latent_dim"},
        Case{ConvAutoencoderOptions().width(0), "width must be > 0"},
        Case{ConvAutoencoderOptions().in_channels(0), "in_channels"}}) {
    absl::Status status = ValidateConvAutoencoderOptions(c.options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(std::string(status.message()).find(c.message), std::string::npos) << status;
    EXPECT_THROW(ConvAutoencoder{c.options}, c10::ValueError) << c.message;
    EXPECT_THROW(ConvEncoder{c.options}, c10::ValueError) << c.message;
  }
}

}  // namespace
}  // namespace fauna
