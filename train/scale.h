// The three scales of shared/DESIGN.md as settings the trainer applies:
//   paper: 224 px, full width, the recipe's epochs (a GPU);
//   small: 64 px, width 1/4, 3,000 synthetic images, at most 15 epochs (minutes on a laptop CPU);
//   ci:    32 px, width 1/8, 480 synthetic images, at most 3 epochs (seconds).
// `auto` is paper on a GPU and small otherwise. ScaleForData adapts the small scale to
// Fashion-MNIST.
#ifndef FAUNA_TRAIN_SCALE_H_
#define FAUNA_TRAIN_SCALE_H_

#include <cstdint>
#include <string>

#include <absl/status/statusor.h>

namespace fauna {

struct Scale {
  std::string name;            // paper | small | ci
  std::string reason;          // "asked for", or why auto chose it.
  int image_size = 224;
  double width = 1.0;          // Model width multiplier.
  int64_t synthetic_count = 3000;
  int64_t max_epochs = 0;      // 0: the recipe's epochs.
};

// `flag` is paper, small, ci or auto; InvalidArgument otherwise.
//
// Example:
//   ASSIGN_OR_RETURN(Scale scale, ResolveScale("auto", /*gpu=*/false));  // small
absl::StatusOr<Scale> ResolveScale(const std::string& flag, bool gpu);

// `scale` as it applies to the --data named `data`. On "fashion_mnist" the small scale takes
// 32 px (its 28 px images resized, instead of 4x the pixels at 64 px for nothing) and at most
// 10 epochs (an epoch of its ~50,000 training images is 20 synthetic epochs at the small
// scale); the reason says so. Every other scale and data: `scale` as it is.
//
// Example:
//   ASSIGN_OR_RETURN(Scale scale, ResolveScale(FLAGS_scale, gpu));
//   scale = ScaleForData(scale, FLAGS_data);
Scale ScaleForData(Scale scale, const std::string& data);

}  // namespace fauna

#endif  // FAUNA_TRAIN_SCALE_H_
