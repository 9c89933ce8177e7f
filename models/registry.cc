#include "models/registry.h"

#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "models/autoencoder.h"
#include "models/endangered_cnn.h"
#include "models/resnet.h"
#include "models/vgg.h"

namespace fauna {
namespace {

constexpr char kEndangeredPrefix[] = "endangered_";
constexpr char kCifarSuffix[] = "_cifar";  // resnet18_cifar: ResNetOptions::small_input_stem.

// The options of one registered name.
struct Resolved {
  enum class Kind { kResNet, kVgg, kEndangered, kAutoencoder } kind;
  ResNetOptions resnet;
  VggOptions vgg;
  EndangeredCnnOptions endangered;
  ConvAutoencoderOptions autoencoder;
};

absl::StatusOr<Resolved> Resolve(const std::string& name, const ModelConfig& config) {
  if (FindModel(name) == nullptr) {
    std::string names;
    for (const std::string& n : ModelNames()) names += (names.empty() ? "" : ", ") + n;
    return absl::InvalidArgumentError("unknown model \"" + name + "\" (known: " + names + ")");
  }
  Resolved r;
  const bool vgg = name.rfind("vgg", 0) == 0;
  if (!vgg && config.activation != "relu") {
    return absl::InvalidArgumentError("activation \"" + config.activation +
                                      "\" applies to VGG models only; " + name + " has ReLU");
  }
  if (name == "autoencoder" && config.dropout.has_value()) {
    return absl::InvalidArgumentError("the autoencoder has no dropout to set");
  }
  if (name.rfind("resnet", 0) == 0) {
    r.kind = Resolved::Kind::kResNet;
    const bool cifar = absl::EndsWith(name, kCifarSuffix);
    r.resnet = ResNetOptions(std::stoll(name.substr(6)))
                   .small_input_stem(cifar)
                   .num_classes(config.num_classes)
                   .width(config.width)
                   .dropout(config.dropout.value_or(0.0))
                   .in_channels(config.in_channels);
    RETURN_IF_ERROR(ValidateResNetOptions(r.resnet));
  } else if (vgg) {
    r.kind = Resolved::Kind::kVgg;
    ASSIGN_OR_RETURN(Activation activation, ParseActivation(config.activation));
    r.vgg = VggOptions(std::stoll(name.substr(3, 2)))
                .batch_norm(name.size() > 5 && name.substr(5) == "_bn")
                .num_classes(config.num_classes)
                .width(config.width)
                .dropout(config.dropout.value_or(0.5))
                .activation(activation)
                .in_channels(config.in_channels);
    RETURN_IF_ERROR(ValidateVggOptions(r.vgg));
  } else if (name.rfind(kEndangeredPrefix, 0) == 0) {
    r.kind = Resolved::Kind::kEndangered;
    ASSIGN_OR_RETURN(r.endangered,
                     EndangeredCnnConfig(name.substr(std::string(kEndangeredPrefix).size())));
    r.endangered.num_classes(config.num_classes)
        .width(config.width)
        .in_channels(config.in_channels);
    if (config.dropout.has_value()) r.endangered.dropout(*config.dropout);
    RETURN_IF_ERROR(ValidateEndangeredCnnOptions(r.endangered));
  } else {
    r.kind = Resolved::Kind::kAutoencoder;
    r.autoencoder = ConvAutoencoderOptions()
                        .image_size(config.image_size)
                        .latent_dim(config.latent_dim)
                        .width(config.width)
                        .in_channels(config.in_channels);
    RETURN_IF_ERROR(ValidateConvAutoencoderOptions(r.autoencoder));
  }
  return r;
}

}  // namespace

const std::vector<ModelInfo>& ListModels() {
  static const auto* models = [] {
    auto* list = new std::vector<ModelInfo>();
    for (const char* depth : {"18", "34", "50", "101", "152"}) {
      list->push_back({std::string("resnet") + depth,
                       std::string("ResNet-") + depth + " (He et al. 2015), torchvision's keys"});
      list->push_back({std::string("resnet") + depth + kCifarSuffix,
                       std::string("ResNet-") + depth + " with the small-image stem (3x3 stride-1 "
                       "conv1, no max pool) for images of 32 px and less"});
    }
    for (const char* depth : {"11", "13", "16", "19"}) {
      list->push_back({std::string("vgg") + depth,
                       std::string("VGG") + depth + " (Simonyan & Zisserman 2014), torchvision's keys"});
      list->push_back({std::string("vgg") + depth + "_bn",
                       std::string("VGG") + depth + " with batch norm, torchvision's keys"});
    }
    for (const std::string& config : EndangeredCnnConfigNames()) {
      list->push_back({kEndangeredPrefix + config,
                       "the endangered-animal study's " + config + " CNN (seeds/002)"});
    }
    list->push_back({"autoencoder",
                     "the AFHQ study's convolutional autoencoder with an FC bottleneck",
                     /*classifier=*/false});
    return list;
  }();
  return *models;
}

const ModelInfo* FindModel(const std::string& name) {
  for (const ModelInfo& info : ListModels()) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

std::vector<std::string> ModelNames() {
  std::vector<std::string> names;
  for (const ModelInfo& info : ListModels()) names.push_back(info.name);
  return names;
}

absl::Status ValidateModelConfig(const std::string& name, const ModelConfig& config) {
  return Resolve(name, config).status();
}

absl::StatusOr<Backbone> CreateModel(const std::string& name, const ModelConfig& config) {
  ASSIGN_OR_RETURN(Resolved r, Resolve(name, config));
  return GuardTorch("creating " + name, [&]() -> Backbone {
    switch (r.kind) {
      case Resolved::Kind::kResNet:
        return AsBackbone(ResNet(r.resnet));
      case Resolved::Kind::kVgg:
        return AsBackbone(Vgg(r.vgg));
      case Resolved::Kind::kEndangered:
        return AsBackbone(EndangeredCnn(r.endangered));
      case Resolved::Kind::kAutoencoder:
        return AsBackbone(ConvAutoencoder(r.autoencoder));
    }
    return Backbone(nullptr);
  });
}

absl::StatusOr<int64_t> ModelFeatureDim(const std::string& name, const ModelConfig& config) {
  ASSIGN_OR_RETURN(Resolved r, Resolve(name, config));
  switch (r.kind) {
    case Resolved::Kind::kResNet:
      return ScaleWidth(512, r.resnet.width()) * (r.resnet.depth() >= 50 ? 4 : 1);
    case Resolved::Kind::kVgg:
      return ScaleWidth(4096, r.vgg.width());
    case Resolved::Kind::kEndangered:
      return r.endangered.hidden().empty()
                 ? ScaleWidth(r.endangered.conv_channels().back(), r.endangered.width()) *
                       r.endangered.pooled_size() * r.endangered.pooled_size()
                 : ScaleWidth(r.endangered.hidden().back(), r.endangered.width());
    case Resolved::Kind::kAutoencoder: {
      const ConvAutoencoderOptions& a = r.autoencoder;
      if (a.latent_dim() > 0) return a.latent_dim();
      const int64_t side = a.image_size() >> a.channels().size();
      return ScaleWidth(a.channels().back(), a.width()) * side * side;
    }
  }
  return absl::InternalError("unhandled model kind");
}

}  // namespace fauna
