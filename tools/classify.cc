// Classifies image files with a trained model: each file decoded and preprocessed as the run's
// evaluation does (tools/classify_images.h), the top-k classes with softmax probabilities printed
// as a table or CSV.
//
//   bazel run //tools:classify -- --run=runs/endangered_model4 --top_k=3 photos/ tiger.jpg
//   bazel run //tools:classify -- --run=runs/endangered_model4 --format=csv photos/ > out.csv
//   bazel run //tools:classify -- --model=vgg16 --weights=w.safetensors --classes=cat,dog,wild
//       --image_size=64 --width=0.25 photos/   (one line)
//
// Folders are walked recursively for image files (sorted). A file that cannot be read or decoded
// is named on stderr ("skipped <path>: <why>") and the rest go on; a summary line on stderr says
// how many were classified and skipped. Exit code 0 when at least one image was classified, 1 when
// none was (or on bad flags, in one line).
#include <cstdio>
#include <string>
#include <vector>

#include <absl/status/status.h>
#include <absl/strings/str_split.h>
#include <gflags/gflags.h>
#include <opencv2/core/utility.hpp>

#include "core/flags.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "tools/classify_images.h"

DEFINE_string(run, "", "A finished trainer run folder (runs/<name>): its model, weights, classes, "
                       "image size and normalisation.");
DEFINE_string(weights, "", "Weights (safetensors or torch.save'd dict): instead of the run's, or "
                           "with --model and --classes without a run.");
DEFINE_string(model, "", "A registered model name (without --run; with it, replaces the run's).");
DEFINE_string(classes, "", "Class names in label order, comma-separated (without --run).");
DEFINE_int32(image_size, 0, "Side of the images the model sees; 0: the run's (224 without one).");
DEFINE_double(width, 0, "Width multiplier of --model; 0: the run's (1 without one).");
DEFINE_string(normalization, "", "imagenet or unit; empty: the run's (imagenet without one).");
DEFINE_int32(top_k, 3, "Classes to show per image, most probable first (at most the classes).");
DEFINE_string(format, "table", "table or csv (path,rank,class,probability).");
DEFINE_int64(batch_size, 32, "Images per forward pass.");

namespace fauna {
namespace {

absl::Status Run(const std::vector<std::string>& inputs) {
  if (FLAGS_format != "table" && FLAGS_format != "csv") {
    return absl::InvalidArgumentError("--format=" + FLAGS_format + ": expected table or csv");
  }
  if (FLAGS_top_k < 1) {
    return absl::InvalidArgumentError("--top_k=" + std::to_string(FLAGS_top_k) +
                                      ": must be at least 1");
  }
  if (FLAGS_batch_size < 1) {
    return absl::InvalidArgumentError("--batch_size=" + std::to_string(FLAGS_batch_size) +
                                      ": must be at least 1");
  }
  if (FLAGS_run.empty() && (FLAGS_model.empty() || FLAGS_weights.empty() ||
                            FLAGS_classes.empty())) {
    return absl::InvalidArgumentError("--run=<run folder>, or --model, --weights and --classes, "
                                      "are required");
  }
  if (inputs.empty()) {
    return absl::InvalidArgumentError("no images: name image files or folders after the flags");
  }
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime(/*quiet=*/true));
  cv::setNumThreads(1);
  ClassifierOptions options;
  options.run = UserPath(FLAGS_run);
  options.weights = UserPath(FLAGS_weights);
  options.model = FLAGS_model;
  if (!FLAGS_classes.empty()) {
    options.classes = absl::StrSplit(FLAGS_classes, ',', absl::SkipWhitespace());
  }
  options.image_size = FLAGS_image_size;
  options.width = FLAGS_width;
  options.normalization = FLAGS_normalization;
  options.device = runtime.device;
  ASSIGN_OR_RETURN(Classifier classifier, LoadClassifier(options));
  const int64_t classes = static_cast<int64_t>(classifier.class_names.size());
  if (FLAGS_top_k > classes) {
    std::fprintf(stderr, "--top_k=%d: the model has %lld classes; showing them all\n",
                 FLAGS_top_k, static_cast<long long>(classes));
  }

  std::vector<std::string> paths;
  for (const std::string& input : inputs) paths.push_back(UserPath(input));
  ASSIGN_OR_RETURN(Classification result,
                   ClassifyImages(classifier, CollectImageFiles(paths), FLAGS_top_k,
                                  FLAGS_batch_size));
  for (const SkippedImage& skipped : result.skipped) {
    std::fprintf(stderr, "skipped %s: %s\n", skipped.path.c_str(), skipped.why.c_str());
  }
  const std::string text = FLAGS_format == "csv"
                               ? PredictionCsv(classifier, result.predictions)
                               : PredictionTable(classifier, result.predictions);
  if (!result.predictions.empty()) std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  std::fprintf(stderr, "classified %zu images with %s (%s); skipped %zu\n",
               result.predictions.size(), classifier.model.c_str(), classifier.weights.c_str(),
               result.skipped.size());
  if (result.predictions.empty()) {
    return absl::NotFoundError("no image classified (" + std::to_string(result.skipped.size()) +
                               " skipped)");
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "Classifies images: classify --run=<run folder> [--top_k=3] [--format=csv] "
                    "<images or folders...>; see tools/classify.cc.",
                    {{"Classifier", {"run", "weights", "model", "classes", "image_size", "width",
                                     "normalization"}},
                     {"Output", {"top_k", "format", "batch_size"}},
                     {"Runtime", {"device", "seed", "threads"}}});
  const std::vector<std::string> inputs(argv + 1, argv + argc);
  return fauna::ExitCode(fauna::GuardTorch("classify", [&] { return fauna::Run(inputs); }));
}
