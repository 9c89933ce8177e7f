#include "train/scale.h"

namespace fauna {

absl::StatusOr<Scale> ResolveScale(const std::string& flag, bool gpu) {
  Scale scale;
  scale.name = flag;
  scale.reason = "asked for";
  if (flag == "auto") {
    scale.name = gpu ? "paper" : "small";
    scale.reason = gpu ? "auto: a GPU is in use" : "auto: no GPU in use";
  }
  if (scale.name == "paper") {
    scale.image_size = 224;
    scale.width = 1.0;
    scale.synthetic_count = 3000;
    scale.max_epochs = 0;
  } else if (scale.name == "small") {  // vgg16_best in about 5 minutes on 2 CPU cores.
    scale.image_size = 64;
    scale.width = 0.25;
    scale.synthetic_count = 3000;
    scale.max_epochs = 15;
  } else if (scale.name == "ci") {
    scale.image_size = 32;
    scale.width = 0.125;
    scale.synthetic_count = 480;
    scale.max_epochs = 3;
  } else {
    return absl::InvalidArgumentError("--scale=" + flag + ": expected paper, small, ci or auto");
  }
  return scale;
}

Scale ScaleForData(Scale scale, const std::string& data) {
  if (scale.name == "small" && data == "fashion_mnist") {
    scale.image_size = 32;
    scale.max_epochs = 10;
    scale.reason += "; Fashion-MNIST: 32 px, at most 10 epochs";
  }
  return scale;
}

}  // namespace fauna
