// Classifying image files with a trained model, each file decoded and preprocessed exactly as the
// run's evaluation sees its images (data/dataset.h: DecodeFile at the run's image size, no
// augmentation, ToTensor with the run's normalisation), so a file gives the same logits here as in
// `train --evaluate`. The library under //tools:classify.
#ifndef FAUNA_TOOLS_CLASSIFY_IMAGES_H_
#define FAUNA_TOOLS_CLASSIFY_IMAGES_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include "absl/status/statusor.h"
#include "data/augment/to_tensor.h"
#include "models/backbone.h"

namespace fauna {

// Where the classifier comes from: a run folder, or a model name with weights and class names.
// Fields left empty (0) take the run's values; without a run, model, weights and classes are
// required and image_size, width and normalization default to 224, 1 and imagenet.
struct ClassifierOptions {
  std::string run;
  std::string weights;
  std::string model;
  std::vector<std::string> classes;
  int image_size = 0;
  double width = 0;
  std::string normalization;  // imagenet or unit.
  c10::Device device = c10::Device(c10::kCPU);
};

// A model with its weights loaded, in eval mode on its device, and how its inputs are made.
struct Classifier {
  std::string model;
  std::string weights;
  std::vector<std::string> class_names;
  int image_size = 224;
  Normalization normalization = kImageNetNormalization;
  c10::Device device = c10::Device(c10::kCPU);
  Backbone module{nullptr};
};

// Builds the classifier. Errors: a missing or unfinished run folder, neither a run nor a model,
// a model without weights or classes, fewer than two classes, a bad normalisation, weights that do
// not fit the model (say, another number of classes).
absl::StatusOr<Classifier> LoadClassifier(const ClassifierOptions& options);

// The image files of `inputs`, in order: a folder is walked recursively for files with an image
// extension (data/image_file.h HasImageExtension), sorted by path; anything else (a file of any
// name, or a path that does not exist: classifying it names why it failed) is taken as it is.
std::vector<std::string> CollectImageFiles(const std::vector<std::string>& inputs);

// The file at `path` as the run's evaluation sees it: a float32 [3, size, size] tensor.
absl::StatusOr<at::Tensor> PreprocessImage(const std::string& path, int image_size,
                                           const Normalization& normalization);

// One image's classes, most probable first.
struct Prediction {
  std::string path;
  std::vector<int64_t> classes;       // top-k class indices.
  std::vector<double> probabilities;  // Their softmax probabilities, descending.
  at::Tensor logits;                  // All classes' logits, float32 [num_classes].
};

// An image that could not be classified, and why.
struct SkippedImage {
  std::string path;
  std::string why;
};

struct Classification {
  std::vector<Prediction> predictions;  // In the order of the paths.
  std::vector<SkippedImage> skipped;
};

// Classifies the files at `paths`, `batch_size` at a time, keeping the `top_k` most probable
// classes (at most the number of classes). A file that cannot be read or decoded is skipped and
// named with its reason; the rest go on. Errors: top_k or batch_size below 1, a failing forward
// pass.
absl::StatusOr<Classification> ClassifyImages(const Classifier& classifier,
                                              const std::vector<std::string>& paths,
                                              int64_t top_k, int64_t batch_size);

// The predictions as an aligned table, one row per image: path, then each rank's class and
// probability.
std::string PredictionTable(const Classifier& classifier,
                            const std::vector<Prediction>& predictions);

// The predictions as CSV with the header path,rank,class,probability and one row per image and
// rank (rank from 1); fields with a comma, a quote or a line break are quoted (RFC 4180).
std::string PredictionCsv(const Classifier& classifier, const std::vector<Prediction>& predictions);

}  // namespace fauna

#endif  // FAUNA_TOOLS_CLASSIFY_IMAGES_H_
