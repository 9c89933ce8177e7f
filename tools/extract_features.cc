// Writes the features of a dataset's train, val and test parts as features files
// (data/features_file.h), the input of every head (SVM grid search, k-means, GMM):
// <out>/train.safetensors, <out>/val.safetensors and <out>/test.safetensors.
//
//   # A trained run: its model, weights, split and preprocessing (runs/<name>, see train_main.cc).
//   bazel run //tools:extract_features -- --run=runs/vgg16_best
//   # Any weights on any data the trainer takes (the head of the weights is not used), one line:
//   bazel run //tools:extract_features -- --model=vgg16 --width=1 --init_weights=vgg16.safetensors
//       --data=/data/afhq --image_size=224 --out=features/vgg16_imagenet --device=cuda
//   # Raw pixels, no network (a baseline): pixels / 255 of Fashion-MNIST's 28 px grey images:
//   bazel run //tools:extract_features -- --layer=pixels --data=fashion_mnist --image_size=28
//       --normalization=unit --out=features/fashion_pixels
//
// Layers: penultimate (a classifier's input to its last Linear: VGG16's fc7 after its ReLU, 4096
// wide at full width; ResNet-50's pooled 2048), bottleneck (the autoencoder's code, flattened),
// pixels (the normalised image flattened channel by channel; grey Fashion-MNIST keeps one channel).
// Training images are not augmented. Rows follow each part's item order; items that fail to load
// are left out with a warning (an error with --strict). The settings used are written to
// <out>/extraction.json.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iterator>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <absl/status/statusor.h>
#include <absl/strings/str_join.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <torch/types.h>

#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "data/dataset.h"
#include "data/features_file.h"
#include "data/part_rows.h"
#include "models/backbone.h"
#include "models/feature_layer.h"
#include "models/registry.h"
#include "models/state_dict.h"
#include "train/data_flags.h"
#include "train/run_folder.h"
#include "train/scale.h"

// What to extract with.
DEFINE_string(run, "", "A trainer's run folder (runs/<name>): its model, weights, split and "
                       "preprocessing. Data flags given here replace the run's.");
DEFINE_string(model, "", "A registered model name (vgg16, resnet50, autoencoder, ...), with "
                         "--init_weights; instead of --run.");
DEFINE_string(init_weights, "", "Weights of --model (safetensors or torch.save'd dict); their "
                                "classification head is not used, so any class count fits.");
DEFINE_double(width, 0, "Width multiplier of --model; 0 takes the scale's.");
DEFINE_string(activation, "relu", "VGG's activation for --model: relu, tanh, sigmoid or linear.");
DEFINE_int64(latent_dim, 256, "Bottleneck size of --model=autoencoder (0: no FC layer).");
DEFINE_string(layer, "penultimate", "penultimate (a classifier's input to its last Linear), "
                                    "bottleneck (the autoencoder's code) or pixels (no network).");
// Data: the trainer's flags (with --run, the run's values unless given here); the shared ones are
// in train/data_flags.h.
DEFINE_string(scale, "auto", "paper, small, ci, or auto: the image size, width and synthetic "
                             "count when not given (not with --run).");
DEFINE_int32(image_size, 0, "Side of the images the model sees; 0 takes the scale's.");
DEFINE_string(normalization, "imagenet", "imagenet or unit (pixels / 255).");
// Output.
DEFINE_string(out, "", "Folder for train/val/test.safetensors; default <run>/features/<layer> "
                       "with --run.");
DEFINE_int64(batch_size, 64, "Images per forward pass.");
DEFINE_int32(workers, 2, "Loader threads.");
DEFINE_bool(strict, false, "An unreadable image is an error instead of left out with a warning.");
DEFINE_bool(progress, true, "Show a progress bar per part on stderr.");

namespace fauna {
namespace {

constexpr char kPixels[] = "pixels";
// The flags that choose the data and how it looks; with --run, those given replace the run's.
const char* const kDataFlags[] = {"data", "data_root", "split", "image_size", "synthetic_classes",
                                  "synthetic_count", "synthetic_difficulty", "normalization",
                                  "noise_fraction", "noise_sigma", "seed"};
// The flags a run folder fixes.
const char* const kModelFlags[] = {"model", "init_weights", "width", "activation", "latent_dim",
                                   "scale"};

// Whether `name` was set on the command line (or in a --flagfile).
bool IsSet(const char* name) {
  gflags::CommandLineFlagInfo info;
  return gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default;
}

// Refuses flags that cannot work together, before any work.
absl::Status CheckFlags(bool pixels) {
  if (FLAGS_batch_size < 1) {
    return absl::InvalidArgumentError("--batch_size=" + std::to_string(FLAGS_batch_size) +
                                      ": must be at least 1");
  }
  if (FLAGS_workers < 0) {
    return absl::InvalidArgumentError("--workers=" + std::to_string(FLAGS_workers) +
                                      ": must be at least 0");
  }
  if (!FLAGS_run.empty()) {
    if (!FLAGS_model.empty()) {
      return absl::InvalidArgumentError("--run and --model exclude each other: a run folder "
                                        "names its model (--run=" + FLAGS_run + ")");
    }
    for (const char* name : kModelFlags) {
      if (IsSet(name)) {
        return absl::InvalidArgumentError(std::string("--") + name + ": the run folder " +
                                          FLAGS_run + " fixes the model and its scale");
      }
    }
  } else if (FLAGS_out.empty()) {
    return absl::InvalidArgumentError("--out=<folder> is required (it defaults to "
                                      "<run>/features/<layer> only with --run)");
  }
  if (pixels) {
    if (!FLAGS_model.empty() || !FLAGS_init_weights.empty()) {
      return absl::InvalidArgumentError("--layer=pixels uses no network: drop --model and "
                                        "--init_weights");
    }
    return absl::OkStatus();
  }
  if (FLAGS_run.empty() && FLAGS_model.empty()) {
    return absl::InvalidArgumentError("--layer=" + FLAGS_layer + " needs a network: --run=<run "
                                      "folder>, or --model=<name> with --init_weights=<weights>");
  }
  if (!FLAGS_model.empty() && FLAGS_init_weights.empty()) {
    return absl::InvalidArgumentError("--model=" + FLAGS_model + " needs --init_weights=<weights> "
                                      "(the weights to extract features with)");
  }
  return absl::OkStatus();
}

// The network to extract with: its name, what its weights are, and the module (empty for pixels).
struct Network {
  std::string model = "none";  // Registered name; "none" for pixels.
  std::string weights;         // Path; empty for pixels.
  ModelConfig config;
  Backbone module{nullptr};
};

// Builds `network.model` with `network.config` and loads its weights: strictly for a run's own
// weights, without the classification head (left as built, not used) for --init_weights.
absl::Status LoadNetwork(Network& network, bool head_free) {
  ASSIGN_OR_RETURN(network.module, CreateModel(network.model, network.config));
  LoadOptions options;
  if (head_free && !network.module->head_name().empty()) {
    options.reinit_prefixes = {network.module->head_name()};
  }
  absl::StatusOr<LoadReport> report = LoadWeights(*network.module, network.weights, options);
  if (!report.ok()) {
    std::string what = "--model=" + network.model;
    if (head_free) {
      char width[32];
      std::snprintf(width, sizeof(width), "%g", network.config.width);
      what = "--init_weights do not fit " + what + " at --width=" + width +
             (IsSet("width") ? "" : " (the scale's)");
    }
    return Annotate(report.status(), what);
  }
  return absl::OkStatus();
}

// What to extract from and with.
struct Plan {
  DatasetOptions data;
  Network network;
  // The run folder of --run.
  std::optional<RunFolder> run;
  // Whether the data is the run's own, as it was split (no data flag replaced the run's).
  bool run_data = false;
  // The folder the features files go to.
  std::string out;
};

// --run: the run's model, weights and data, with the data flags given here replacing the run's.
absl::StatusOr<Plan> PlanFromRun(const Runtime& runtime, bool pixels) {
  Plan plan;
  ASSIGN_OR_RETURN(plan.run, ReadRunFolder(UserPath(FLAGS_run)));
  const RunFolder& run = *plan.run;
  plan.out = FLAGS_out.empty() ? run.path + "/features/" + FLAGS_layer : UserPath(FLAGS_out);
  DatasetOptions& data = plan.data;
  data = run.data;
  plan.run_data = std::none_of(std::begin(kDataFlags), std::end(kDataFlags), IsSet);
  // A new --data, --data_root or --split means the run's split.csv no longer names the items.
  if (IsSet("data") || IsSet("data_root") || IsSet("split")) {
    data.data = IsSet("data") ? UserData(FLAGS_data) : run.original_data;
    data.data_root = UserPath(FLAGS_data_root);
    if (IsSet("split")) data.split = FLAGS_split;
  }
  if (IsSet("image_size")) data.image_size = FLAGS_image_size;
  if (IsSet("synthetic_classes")) data.synthetic_classes = FLAGS_synthetic_classes;
  if (IsSet("synthetic_count")) data.synthetic_count = FLAGS_synthetic_count;
  if (IsSet("synthetic_difficulty")) data.synthetic_difficulty = FLAGS_synthetic_difficulty;
  if (IsSet("noise_fraction")) data.noise_fraction = FLAGS_noise_fraction;
  if (IsSet("noise_sigma")) data.noise_sigma = FLAGS_noise_sigma;
  if (IsSet("normalization")) data.normalization = FLAGS_normalization;
  if (IsSet("seed")) data.seed = runtime.seed;
  if (!pixels) {
    plan.network.model = run.model;
    plan.network.weights = run.weights;
    plan.network.config = run.model_config;
    plan.network.config.image_size = data.image_size;
  }
  return plan;
}

// --model and --init_weights (or no network for pixels), the data from the flags; the scale gives
// what the flags leave at 0.
absl::StatusOr<Plan> PlanFromFlags(const Runtime& runtime, bool pixels) {
  Plan plan;
  ASSIGN_OR_RETURN(Scale scale, ResolveScale(FLAGS_scale, runtime.device.is_cuda()));
  scale = ScaleForData(scale, FLAGS_data);
  plan.out = UserPath(FLAGS_out);
  DatasetOptions& data = plan.data;
  data = DatasetOptionsFromFlags(scale, FLAGS_image_size);
  data.data = UserData(FLAGS_data);  // Paths from the folder the command was typed in.
  data.data_root = UserPath(FLAGS_data_root);
  data.normalization = FLAGS_normalization;
  data.seed = runtime.seed;
  if (!pixels) {
    Network& network = plan.network;
    network.model = FLAGS_model;
    network.weights = UserPath(FLAGS_init_weights);
    network.config.num_classes = 2;  // The head is not used; the weights' own is skipped.
    network.config.width = FLAGS_width > 0 ? FLAGS_width : scale.width;
    network.config.activation = FLAGS_activation;
    network.config.latent_dim = FLAGS_latent_dim;
    network.config.image_size = data.image_size;
  }
  return plan;
}

absl::Status Run(const std::string& command) {
  const bool pixels = FLAGS_layer == kPixels;
  std::optional<FeatureLayer> layer;
  if (!pixels) {
    absl::StatusOr<FeatureLayer> parsed = ParseFeatureLayer(FLAGS_layer);
    if (!parsed.ok()) {
      return absl::InvalidArgumentError("--layer=" + FLAGS_layer +
                                        ": expected penultimate, bottleneck or pixels");
    }
    layer = *parsed;
  }
  RETURN_IF_ERROR(CheckFlags(pixels));
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime(/*quiet=*/true));
  // OpenCV runs inside the loader's workers; its own thread pool would only compete with them.
  cv::setNumThreads(1);

  // The data and the network, from the run folder or from the flags.
  ASSIGN_OR_RETURN(Plan plan, FLAGS_run.empty() ? PlanFromFlags(runtime, pixels)
                                                : PlanFromRun(runtime, pixels));
  DatasetOptions& data_options = plan.data;
  Network& network = plan.network;
  const std::optional<RunFolder>& run = plan.run;
  const std::string& out = plan.out;
  data_options.augment = "";  // Features of the images as they are.
  data_options.cache_dir = DecodedCacheDir(FLAGS_cache_dir);
  data_options.threads = runtime.threads;

  // The network first: a wrong layer or weights file fails before any image is decoded.
  if (!pixels) {
    RETURN_IF_ERROR(Annotate(CheckFeatureLayer(network.model, *layer), "--layer=" + FLAGS_layer));
    RETURN_IF_ERROR(Annotate(ValidateModelConfig(network.model, network.config),
                             "--model=" + network.model));
    RETURN_IF_ERROR(LoadNetwork(network, /*head_free=*/!run.has_value()));
    network.module->to(runtime.device);
    network.module->eval();
  }
  ASSIGN_OR_RETURN(Dataset data, OpenDataset(data_options, /*manifest_path=*/""));
  if (plan.run_data && data.class_names != run->class_names) {
    return absl::FailedPreconditionError(
        "the data of " + run->path + " now has the classes " +
        absl::StrJoin(data.class_names, ", ") + ", not the run's " +
        absl::StrJoin(run->class_names, ", ") + " (changed since the run?)");
  }
  std::error_code error;
  std::filesystem::create_directories(out, error);
  if (error) return absl::PermissionDeniedError("cannot create " + out + ": " + error.message());

  const std::string kind = data.description.value("kind", "");
  // Grey images (Fashion-MNIST) reach the loader as three equal channels; pixels keep one.
  const bool grey = kind == "fashion_mnist";
  RowExtractor extract;
  if (pixels) {
    extract = PixelRows(grey);
  } else {
    const c10::Device device = runtime.device;
    extract = [&network, layer, device](const at::Tensor& images) -> absl::StatusOr<at::Tensor> {
      c10::NoGradGuard no_grad;
      ASSIGN_OR_RETURN(at::Tensor rows, ForwardFeatures(network.module, images.to(device),
                                                        *layer));
      return rows.to(at::kCPU, at::kFloat);
    };
  }

  std::fprintf(stderr, "%s\n", runtime.summary.c_str());
  std::fprintf(stderr, "extract_features: %s of %s%s%s; data %s (%s, %d px, %s); out %s\n",
               FLAGS_layer.c_str(), network.model.c_str(),
               network.weights.empty() ? "" : " with ", network.weights.c_str(),
               data_options.data.c_str(), kind.c_str(), data_options.image_size,
               data_options.normalization.c_str(), out.c_str());

  nlohmann::json description = data.description;
  description.erase("caches");
  nlohmann::json record = {
      {"tool", "extract_features"},
      {"command", command},
      {"layer", FLAGS_layer},
      {"model", network.model},
      {"weights", network.weights.empty() ? nlohmann::json() : nlohmann::json(network.weights)},
      {"run", run ? nlohmann::json(run->path) : nlohmann::json()},
      {"data", description},
      {"seed", data_options.seed},
      {"device", runtime.device.str()},
      {"threads", runtime.threads},
      {"batch_size", FLAGS_batch_size},
  };
  if (!pixels) {
    record["model_config"] = {{"width", network.config.width},
                              {"activation", network.config.activation},
                              {"image_size", network.config.image_size}};
    if (network.model == "autoencoder") {
      record["model_config"]["latent_dim"] = network.config.latent_dim;
    }
  }
  for (const auto& [name, part] : {std::pair<std::string, const DataPart*>{"train", &data.train},
                                   {"val", &data.val},
                                   {"test", &data.test}}) {
    PartRowsOptions rows_options;
    rows_options.batch_size = FLAGS_batch_size;
    rows_options.workers = FLAGS_workers;
    rows_options.strict = FLAGS_strict;
    rows_options.progress = FLAGS_progress;
    ASSIGN_OR_RETURN(PartRows result,
                     ReadPartRows(name, *part, data.class_names, extract, rows_options));
    result.set.model = network.model;
    result.set.layer = FLAGS_layer;
    const std::string path = out + "/" + name + ".safetensors";
    RETURN_IF_ERROR(WriteFeatureSet(path, result.set));
    if (result.skipped > 0) {
      std::fprintf(stderr, "%s: %lld unreadable images left out\n", name.c_str(),
                   static_cast<long long>(result.skipped));
    }
    std::printf("%s: %lld rows x %lld dims, %.2f s (%.0f img/s) -> %s\n", name.c_str(),
                static_cast<long long>(result.set.size()),
                static_cast<long long>(result.set.dim()), result.seconds,
                result.seconds > 0 ? static_cast<double>(result.set.size()) / result.seconds : 0.0,
                path.c_str());
    std::fflush(stdout);
    record["parts"][name] = {{"file", path},
                             {"rows", result.set.size()},
                             {"dims", result.set.dim()},
                             {"skipped", result.skipped},
                             {"seconds", result.seconds}};
  }
  RETURN_IF_ERROR(WriteFileAtomically(out + "/extraction.json", record.dump(2) + "\n"));
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  // For extraction.json, before gflags removes the flags.
  const std::string command = fauna::JoinArgv(argc, argv);
  fauna::ParseFlags(
      &argc, &argv,
      "Writes a dataset's features as <out>/{train,val,test}.safetensors; see "
      "tools/extract_features.cc.",
      {{"What to extract with", {"run", "model", "init_weights", "width", "activation",
                                 "latent_dim", "layer"}},
       {"Data", {"scale", "data", "data_root", "split", "image_size", "synthetic_classes",
                 "synthetic_count", "synthetic_difficulty", "noise_fraction", "noise_sigma",
                 "normalization", "cache_dir"}},
       {"Output", {"out", "batch_size", "workers", "strict", "progress"}},
       {"Runtime", {"device", "seed", "threads"}}});
  return fauna::ExitCode(
      fauna::GuardTorch("extract_features", [&] { return fauna::Run(command); }));
}
