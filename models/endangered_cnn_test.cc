#include "models/endangered_cnn.h"

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

EndangeredCnnOptions Config(const std::string& name) {
  absl::StatusOr<EndangeredCnnOptions> options = EndangeredCnnConfig(name);
  EXPECT_TRUE(options.ok()) << options.status();
  return options.ok() ? *options : EndangeredCnnOptions();
}

TEST(EndangeredCnn, Model4IsTheStudysPublishedNetwork) {
  EndangeredCnn model(Config("model4"));
  auto keys = ModuleKeys(*model);
  EXPECT_EQ(keys.size(), 51u);
  EXPECT_EQ(keys.at("convolutional_layers.0.weight"), "float32 64,3,3,3");
  EXPECT_EQ(keys.at("convolutional_layers.1.running_var"), "float32 64");
  EXPECT_EQ(keys.at("convolutional_layers.8.weight"), "float32 128,128,3,3");
  EXPECT_EQ(keys.at("convolutional_layers.12.weight"), "float32 256,128,3,3");
  EXPECT_EQ(keys.at("fully_connection_layers.1.weight"), "float32 512,50176");  // 256 * 14 * 14
  EXPECT_EQ(keys.at("fully_connection_layers.2.num_batches_tracked"), "int64 ");
  EXPECT_EQ(keys.at("fully_connection_layers.9.weight"), "float32 128,256");
  EXPECT_EQ(keys.at("fully_connection_layers.12.weight"), "float32 11,128");
  EXPECT_EQ(model->head_name(), "fully_connection_layers.12");
  EXPECT_EQ(model->feature_dim(), 128);
  // Counted with PyTorch from the same description.
  EXPECT_EQ(CountParameters(*model), 26'377'611);
  EXPECT_EQ(ModuleKeys(*EndangeredCnn(Config("model3"))), keys);
}

TEST(EndangeredCnn, ConfigsDifferAsTheStudyDescribes) {
  EXPECT_EQ(EndangeredCnnConfigNames(),
            (std::vector<std::string>{"baseline", "model0", "model1", "model2", "model3",
                                      "model4"}));
  EndangeredCnn baseline(Config("baseline"));
  auto keys = ModuleKeys(*baseline);
  EXPECT_EQ(keys.size(), 12u);  // 3 convolutions and 3 linear layers, nothing else with state
  EXPECT_EQ(keys.at("convolutional_layers.0.weight"), "float32 32,3,3,3");
  EXPECT_EQ(keys.at("fully_connection_layers.1.weight"), "float32 512,50176");
  EXPECT_EQ(CountParameters(*baseline), 26'090'763);

  EndangeredCnnOptions model0 = Config("model0");
  EXPECT_EQ(model0.conv_channels(), (std::vector<int64_t>{64, 128, 256, 256}));
  EXPECT_FALSE(model0.fc_batch_norm());
  EXPECT_EQ(ModuleKeys(*EndangeredCnn(Config("model1"))), ModuleKeys(*EndangeredCnn(model0)));
  EXPECT_EQ(CountParameters(*EndangeredCnn(model0)), 26'818'571);
  EndangeredCnnOptions model2 = Config("model2");
  EXPECT_TRUE(model2.fc_batch_norm());
  EXPECT_GT(model2.dropout(), model0.dropout());
  EXPECT_EQ(CountParameters(*EndangeredCnn(model2)), 26'820'363);
}

TEST(EndangeredCnn, OutputAndFeatureShapesAtSeveralSizesAndWidths) {
  struct Case {
    std::string config;
    double width;
    int64_t size;
    int64_t pooled_size;
  };
  for (const Case& c : {Case{"baseline", 0.125, 224, 14}, Case{"model0", 0.0625, 64, 4},
                        Case{"model2", 0.125, 40, 3}, Case{"model4", 0.0625, 224, 14},
                        Case{"model4", 0.25, 16, 2}}) {
    EndangeredCnn model(Config(c.config).width(c.width).pooled_size(c.pooled_size).num_classes(5));
    model->eval();
    at::Tensor x = at::randn({2, 3, c.size, c.size});
    const int64_t hidden = std::llround(Config(c.config).hidden().back() * c.width);
    EXPECT_EQ(model->feature_dim(), hidden) << c.config;
    EXPECT_EQ(model->features(x).sizes(), (at::IntArrayRef{2, hidden})) << c.config;
    EXPECT_EQ(model->forward(x).sizes(), (at::IntArrayRef{2, 5})) << c.config;
    EXPECT_GE(model->features(x).min().item<double>(), 0) << "features follow a ReLU";
  }
}

TEST(EndangeredCnn, WidthScalesChannelsAndHiddenLayers) {
  auto keys = ModuleKeys(*EndangeredCnn(Config("model4").width(0.5).in_channels(1)));
  EXPECT_EQ(keys.at("convolutional_layers.0.weight"), "float32 32,1,3,3");
  EXPECT_EQ(keys.at("fully_connection_layers.1.weight"), "float32 256,25088");
  EXPECT_EQ(keys.at("fully_connection_layers.12.weight"), "float32 11,64");
}

TEST(EndangeredCnn, BadOptionsAreClearErrors) {
  absl::StatusOr<EndangeredCnnOptions> unknown = EndangeredCnnConfig("model5");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(unknown.status().message()).find("model5"), std::string::npos);
  EXPECT_NE(std::string(unknown.status().message()).find("baseline"), std::string::npos);
  struct Case {
    EndangeredCnnOptions options;
    std::string message;
  };
  for (const Case& c :
       {Case{EndangeredCnnOptions().width(0), "width must be > 0"},
        Case{EndangeredCnnOptions().conv_channels({}), "at least one convolution"},
        Case{EndangeredCnnOptions().conv_channels({8, 0}), "conv_channels must be >= 1"},
        Case{EndangeredCnnOptions().hidden({-2}), "hidden widths"},
        Case{EndangeredCnnOptions().num_classes(0), "num_classes"},
        Case{EndangeredCnnOptions().dropout(1.5), "dropout"},
        Case{EndangeredCnnOptions().pooled_size(0), "pooled_size"},
        Case{EndangeredCnnOptions().in_channels(0), "in_channels"}}) {
    absl::Status status = ValidateEndangeredCnnOptions(c.options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_NE(std::string(status.message()).find(c.message), std::string::npos) << status;
    EXPECT_THROW(EndangeredCnn{c.options}, c10::ValueError) << c.message;
  }
}

}  // namespace
}  // namespace fauna
