// The generic trainer: one binary for every recipe of the two studies. A recipe is a flagfile
// under train/recipes/ (model, augmentation, optimiser, schedule, epochs, early stopping), run by
// a thin target such as `bazel run //train:vgg16_best`; flags after `--` override the recipe.
//
//   bazel run //train:vgg16_best                        # small scale on CPU, synthetic data
//   bazel run //train:vgg16_best -- --scale=paper --data=/data/afhq --device=cuda
//   bazel run //train:vgg16_best -- --resume            # continue a killed run
//
// A run writes into its folder (default runs/<recipe>): config.json, split.csv (file data),
// metrics.jsonl, checkpoint.pt, model.safetensors (the best weights, torchvision's keys), the
// curves and confusion matrix as SVG, and results.json.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>
#include <system_error>

#include <absl/status/statusor.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/core/version.hpp>
#include <torch/version.h>

#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/metrics_sink.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "data/dataset.h"
#include "eval/confusion_matrix.h"
#include "eval/svg_plot.h"
#include "models/registry.h"
#include "models/state_dict.h"
#include "train/data_flags.h"
#include "train/distributed.h"
#include "train/run_folder.h"
#include "train/scale.h"
#include "train/trainer.h"

// What the run is.
DEFINE_string(name, "train", "Name of the run (a recipe sets it); default folder runs/<name>.");
DEFINE_string(run_dir, "", "Folder of the run; default runs/<name> in the workspace.");
DEFINE_string(scale, "auto", "paper, small, ci, or auto (paper on a GPU, small otherwise).");
DEFINE_bool(resume, false, "Continue the run in --run_dir from its checkpoint.");
DEFINE_bool(strict, false, "An unreadable image is an error instead of skipped with a warning.");
DEFINE_bool(progress, true, "Show progress bars on stderr.");
// Data (the shared flags: train/data_flags.h).
DEFINE_int32(image_size, 0, "Side of the images the model sees; 0 takes the scale's.");
DEFINE_string(augment, "", "Augmentation of training images, e.g. \"hflip, rotate(degrees=15)\".");
DEFINE_string(normalization, "imagenet", "imagenet or unit.");
// Model.
DEFINE_string(model, "vgg16", "A registered model name (resnet50, vgg16, endangered_model4, ...).");
DEFINE_double(width, 0, "Width multiplier of the model; 0 takes the scale's.");
DEFINE_double(dropout, -1, "Dropout before the classifier; < 0 keeps the architecture's default.");
DEFINE_string(activation, "relu", "VGG's activation: relu, tanh, sigmoid or linear.");
DEFINE_string(init_weights, "", "Start from these weights (safetensors or torch.save'd dict); "
                                "the head is re-initialised for the dataset's classes.");
DEFINE_int64(freeze_backbone_epochs, 0, "Train only the head for this many first epochs.");
DEFINE_string(evaluate, "", "Train nothing: evaluate these weights on the val and test parts "
                            "and write <run_dir>/evaluation.json. A run's model.safetensors "
                            "brings the run's model, width, activation, image size, "
                            "normalization and (unless a data flag is typed) data, split and "
                            "seed; flags typed on the command line win.");
// Optimisation.
DEFINE_string(optimizer, "adam", "adam or sgd.");
DEFINE_double(lr, 1e-3, "Learning rate.");
DEFINE_double(beta1, 0.9, "Adam's beta1.");
DEFINE_double(beta2, 0.999, "Adam's beta2.");
DEFINE_double(momentum, 0.9, "SGD's momentum.");
DEFINE_double(weight_decay, 0, "L2 weight decay (added to the gradient, as PyTorch does).");
DEFINE_double(lr_decay, 0, "Keras-style decay: lr / (1 + lr_decay * steps).");
DEFINE_int64(lr_step_epochs, 0, "Multiply the rate by --lr_gamma every N epochs (0: never).");
DEFINE_double(lr_gamma, 0.5, "Step decay factor.");
DEFINE_bool(lr_cosine, false, "Cosine annealing: the rate falls step by step from --lr to 0 "
            "over the run's epochs (instead of step decay).");
DEFINE_int64(lr_warmup_epochs, 0, "Linear warm-up of the rate over this many first epochs.");
DEFINE_int64(epochs, 10, "Most epochs (the recipe's; the scale may cap them).");
DEFINE_int64(max_epochs, 0, "Cap on --epochs; 0 takes the scale's cap (none at paper scale).");
DEFINE_int64(patience, 0, "Early stopping after this many epochs without a better val accuracy.");
DEFINE_int64(batch_size, 64, "Images per step, over all ranks.");
DEFINE_int32(workers, 2, "Loader threads.");
// Data parallelism.
DEFINE_int32(world_size, 1, "Processes training together (one per machine or GPU).");
DEFINE_int32(rank, 0, "This process's rank in [0, world_size); rank 0 writes the results.");
DEFINE_string(master_addr, "127.0.0.1", "Address of rank 0's rendezvous store.");
DEFINE_int32(master_port, 29500, "Port of rank 0's rendezvous store.");
DEFINE_int32(dist_timeout_s, 120, "Seconds before a lost or missing peer is an error.");

namespace fauna {
namespace {

// Refuses, before any work, flags that cannot work together: a model that is no classifier, an
// option the model does not have (CreateModel's own checks, run without building it), --evaluate
// on several processes.
absl::Status CheckFlags(const ModelConfig& model_config) {
  const ModelInfo* info = FindModel(FLAGS_model);
  if (info != nullptr && !info->classifier) {
    return absl::InvalidArgumentError("--model=" + FLAGS_model + " is not a classifier (" +
                                      info->description + "); the trainer trains classifiers: "
                                      "resnet*, vgg*, endangered_*");
  }
  RETURN_IF_ERROR(
      Annotate(ValidateModelConfig(FLAGS_model, model_config), "--model=" + FLAGS_model));
  if (FLAGS_world_size > 1 && !FLAGS_evaluate.empty()) {
    return absl::InvalidArgumentError("--evaluate runs on one process, not --world_size=" +
                                      std::to_string(FLAGS_world_size));
  }
  return absl::OkStatus();
}

// --evaluate=<run folder>/<weights>: the run's model, width, activation, image size and
// normalization, and (unless the command line names a data flag) the run's data, split and seed,
// for those flags the command line does not name: the weights then see the images as they were
// trained on them and the run's very val and test parts (another size, normalization or split
// would change the accuracy silently; another seed would re-split, mixing training images into
// the test part). A recipe's --flagfile does not count as named: the run's config.json, not
// today's recipe, says how the weights were made. Weights outside a run folder (no config.json
// beside them) leave the flags as they are; a config.json that is not a run's, too, with a
// warning.
void TakeTheEvaluatedRunsSettings(const std::set<std::string>& typed) {
  std::filesystem::path folder = std::filesystem::path(FLAGS_evaluate).parent_path();
  if (folder.empty()) folder = ".";
  if (!std::filesystem::exists(folder / kRunConfigFile)) return;
  const absl::StatusOr<RunFolder> read = ReadRunFolder(folder.string());
  if (!read.ok()) {
    std::fprintf(stderr, "warning: --evaluate: %s; the weights are seen as the flags say\n",
                 std::string(read.status().message()).c_str());
    return;
  }
  const RunFolder& run = *read;
  std::vector<std::string> taken;
  auto take = [&](const char* flag, auto& value, const auto& run_value) {
    if (typed.count(flag) > 0) return;
    value = run_value;
    taken.push_back(flag);
  };
  take("model", FLAGS_model, run.model);
  take("width", FLAGS_width, run.model_config.width);
  take("activation", FLAGS_activation, run.model_config.activation);
  take("image_size", FLAGS_image_size, run.data.image_size);
  take("normalization", FLAGS_normalization, run.data.normalization);
  bool other_data = false;
  for (const char* flag : kDataChoosingFlags) other_data = other_data || typed.count(flag) > 0;
  if (!other_data) {  // data.data is the run's split.csv for data made of files.
    FLAGS_data = run.data.data;
    FLAGS_data_root = "";
    FLAGS_split = run.data.split;
    FLAGS_synthetic_classes = run.data.synthetic_classes;
    FLAGS_synthetic_count = run.data.synthetic_count;
    FLAGS_synthetic_difficulty = run.data.synthetic_difficulty;
    FLAGS_noise_fraction = run.data.noise_fraction;
    FLAGS_noise_sigma = run.data.noise_sigma;
    taken.push_back("data");
    take("seed", FLAGS_seed, run.seed);
  }
  if (!taken.empty()) {
    std::fprintf(stderr, "--evaluate: %s of the run in %s (%s, width %g, %d px, %s, data %s)\n",
                 absl::StrJoin(taken, ", ").c_str(), folder.c_str(), FLAGS_model.c_str(),
                 FLAGS_width, FLAGS_image_size, FLAGS_normalization.c_str(), FLAGS_data.c_str());
  }
}

// --evaluate: the loss, accuracy and confusion matrix of saved weights on the val and test parts,
// printed and written to <run_dir>/evaluation.json.
absl::Status EvaluateWeights(Backbone model, const Dataset& data, const std::string& run_dir,
                             const Runtime& runtime) {
  RETURN_IF_ERROR(LoadWeights(*model, FLAGS_evaluate).status());
  model->to(runtime.device);
  nlohmann::json evaluation = {{"weights", FLAGS_evaluate}, {"class_names", data.class_names}};
  for (const auto& [name, part] : {std::pair<const char*, const DataPart*>{"val", &data.val},
                                   {"test", &data.test}}) {
    ASSIGN_OR_RETURN(Evaluation result, Evaluate(model, *part, data.class_names,
                                                 FLAGS_batch_size, FLAGS_workers,
                                                 runtime.device));
    evaluation[std::string(name) + "_loss"] = result.loss;
    evaluation[std::string(name) + "_acc"] = result.accuracy;
    evaluation[std::string(name) + "_count"] = result.count;
    evaluation[std::string(name) + "_confusion"] = result.confusion.ToJson();
    std::printf("%s: %s accuracy %.4f, loss %.6f on %lld images\n", FLAGS_evaluate.c_str(), name,
                result.accuracy, result.loss, static_cast<long long>(result.count));
  }
  RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/evaluation.json",
                                      ReplaceNonFinite(evaluation).dump(2) + "\n"));
  std::printf("evaluation: %s/evaluation.json\n", run_dir.c_str());
  return absl::OkStatus();
}

absl::Status Run(const std::string& command, const std::set<std::string>& typed) {
  // Paths typed under `bazel run` are taken from the folder the command was typed in.
  FLAGS_run_dir = UserPath(FLAGS_run_dir);
  FLAGS_init_weights = UserPath(FLAGS_init_weights);
  FLAGS_evaluate = UserPath(FLAGS_evaluate);
  if (!FLAGS_evaluate.empty()) TakeTheEvaluatedRunsSettings(typed);  // Before --seed is used.
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime());
  // OpenCV only runs inside the loader's workers, which are the data side's parallelism; its own
  // thread pool (TBB) would only compete with LibTorch's threads for the cores.
  cv::setNumThreads(1);
  ASSIGN_OR_RETURN(Scale scale, ResolveScale(FLAGS_scale, runtime.device.is_cuda()));
  scale = ScaleForData(scale, FLAGS_data);
  DatasetOptions data_options = DatasetOptionsFromFlags(scale, FLAGS_image_size);
  data_options.augment = FLAGS_augment;
  data_options.normalization = FLAGS_normalization;
  const int image_size = data_options.image_size;
  const double width = FLAGS_width > 0 ? FLAGS_width : scale.width;
  ModelConfig model_config;  // Its num_classes comes with the data.
  model_config.width = width;
  if (FLAGS_dropout >= 0) model_config.dropout = FLAGS_dropout;
  model_config.activation = FLAGS_activation;
  model_config.image_size = image_size;
  RETURN_IF_ERROR(CheckFlags(model_config));
  const int64_t cap = FLAGS_max_epochs > 0 ? FLAGS_max_epochs : scale.max_epochs;
  const int64_t epochs = cap > 0 ? std::min(FLAGS_epochs, cap) : FLAGS_epochs;

  DistributedOptions distributed_options;
  distributed_options.world_size = FLAGS_world_size;
  distributed_options.rank = FLAGS_rank;
  distributed_options.master_addr = FLAGS_master_addr;
  distributed_options.master_port = FLAGS_master_port;
  distributed_options.timeout = std::chrono::milliseconds(int64_t{FLAGS_dist_timeout_s} * 1000);
  RETURN_IF_ERROR(ValidateDistributedOptions(distributed_options));
  const bool primary = FLAGS_rank == 0;
  // Only a training run's primary writes the split and the configuration into the run folder.
  const bool writes_run = primary && FLAGS_evaluate.empty();

  const std::string run_dir = FLAGS_run_dir.empty() ? DefaultRunDir(FLAGS_name) : FLAGS_run_dir;
  std::error_code error;
  std::filesystem::create_directories(run_dir, error);
  if (error) {
    return absl::PermissionDeniedError("cannot create " + run_dir + ": " + error.message());
  }
  if (primary) {
    // A --max_epochs (typed, or a recipe's) that replaces the scale's cap is named.
    const std::string cap_note =
        FLAGS_max_epochs > 0 && FLAGS_max_epochs != scale.max_epochs
            ? absl::StrCat(" (--max_epochs=", FLAGS_max_epochs, ", not the scale's ",
                           scale.max_epochs > 0 ? absl::StrCat(scale.max_epochs) : "none", ")")
            : "";
    std::fprintf(stderr,
                 "%s: scale %s (%s): %d px, width %g, at most %lld epochs%s; run folder %s\n",
                 FLAGS_name.c_str(), scale.name.c_str(), scale.reason.c_str(), image_size, width,
                 static_cast<long long>(epochs), cap_note.c_str(), run_dir.c_str());
  }

  data_options.seed = runtime.seed;
  data_options.threads = runtime.threads;
  ASSIGN_OR_RETURN(Dataset data,
                   OpenDataset(data_options, writes_run ? run_dir + "/split.csv" : ""));
  const int64_t num_classes = static_cast<int64_t>(data.class_names.size());
  if (writes_run) {
    // Each epoch gives every rank an equal part (EpochOrder) and trains on full batches only.
    const int64_t uneven = data.train.size % FLAGS_world_size;
    const int64_t left_out =
        uneven + TrainImagesLeftOutPerEpoch(data.train.size, FLAGS_batch_size, FLAGS_world_size);
    const std::string why = uneven > 0 ? absl::StrCat("equal parts for ", FLAGS_world_size,
                                                      " ranks and full batches only")
                                       : "full batches only";
    std::fprintf(stderr, "data: %lld classes; %lld train, %lld val, %lld test images%s\n",
                 static_cast<long long>(num_classes), static_cast<long long>(data.train.size),
                 static_cast<long long>(data.val.size), static_cast<long long>(data.test.size),
                 left_out > 0 ? absl::StrCat(" (", why, ": each epoch leaves ", left_out,
                                             left_out == 1 ? " train image" : " train images",
                                             " for the next shuffle)")
                                    .c_str()
                              : "");
  }

  model_config.num_classes = num_classes;
  ASSIGN_OR_RETURN(Backbone model, CreateModel(FLAGS_model, model_config));
  if (!FLAGS_evaluate.empty()) return EvaluateWeights(model, data, run_dir, runtime);
  if (!FLAGS_init_weights.empty()) {
    LoadOptions load_options;
    load_options.reinit_prefixes = {model->head_name()};
    ASSIGN_OR_RETURN(LoadReport report, LoadWeights(*model, FLAGS_init_weights, load_options));
    if (primary) {
      std::fprintf(stderr, "initial weights: %zu tensors from %s%s\n", report.loaded.size(),
                   FLAGS_init_weights.c_str(),
                   report.reinitialized.empty() ? "" : " (head re-initialised for the classes)");
    }
  }

  TrainerOptions options;
  options.epochs = epochs;
  options.patience = FLAGS_patience;
  options.batch_size = FLAGS_batch_size;
  options.workers = FLAGS_workers;
  options.optimizer.name = FLAGS_optimizer;
  options.optimizer.lr = FLAGS_lr;
  options.optimizer.beta1 = FLAGS_beta1;
  options.optimizer.beta2 = FLAGS_beta2;
  options.optimizer.momentum = FLAGS_momentum;
  options.optimizer.weight_decay = FLAGS_weight_decay;
  options.schedule.decay = FLAGS_lr_decay;
  options.schedule.step_epochs = FLAGS_lr_step_epochs;
  options.schedule.gamma = FLAGS_lr_gamma;
  options.schedule.cosine = FLAGS_lr_cosine;
  options.schedule.warmup_epochs = FLAGS_lr_warmup_epochs;
  options.freeze_backbone_epochs = FLAGS_freeze_backbone_epochs;
  options.run_dir = run_dir;
  options.resume = FLAGS_resume;
  options.strict = FLAGS_strict;
  options.progress = FLAGS_progress;
  options.seed = runtime.seed;
  options.device = runtime.device;
  // What must not change across a resume (paths, progress and thread counts may).
  options.config = {{"name", FLAGS_name},
                    {"scale", scale.name},
                    {"seed", runtime.seed},
                    {"data", data.description},
                    {"model", FLAGS_model},
                    {"width", width},
                    {"dropout", FLAGS_dropout},
                    {"activation", FLAGS_activation},
                    {"init_weights", FLAGS_init_weights},
                    {"freeze_backbone_epochs", FLAGS_freeze_backbone_epochs},
                    {"optimizer", FLAGS_optimizer},
                    {"lr", FLAGS_lr},
                    {"beta1", FLAGS_beta1},
                    {"beta2", FLAGS_beta2},
                    {"momentum", FLAGS_momentum},
                    {"weight_decay", FLAGS_weight_decay},
                    {"lr_decay", FLAGS_lr_decay},
                    {"lr_step_epochs", FLAGS_lr_step_epochs},
                    {"lr_gamma", FLAGS_lr_gamma},
                    {"epochs", epochs},
                    {"patience", FLAGS_patience},
                    {"batch_size", FLAGS_batch_size},
                    {"world_size", FLAGS_world_size}};
  // Only when on, so that checkpoints of runs from before these flags still resume.
  if (FLAGS_lr_cosine) options.config["lr_cosine"] = true;
  if (FLAGS_lr_warmup_epochs != 0) options.config["lr_warmup_epochs"] = FLAGS_lr_warmup_epochs;
  options.config["data"].erase("caches");  // Where the caches are is no part of the run.
  options.config["data"].erase("manifest");
  if (writes_run) {
    nlohmann::json resolved = options.config;
    resolved["threads"] = runtime.threads;
    resolved["device"] = runtime.device.str();
    resolved["run_dir"] = run_dir;
    RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/config.json", resolved.dump(2) + "\n"));
  }

  ASSIGN_OR_RETURN(std::unique_ptr<DistributedContext> distributed,
                   DistributedContext::Connect(distributed_options, runtime.device));
  ASSIGN_OR_RETURN(TrainResult result, Train(model, data, options, distributed.get()));
  if (!primary) return absl::OkStatus();

  const std::string weights_path = run_dir + "/model.safetensors";
  if (result.best_epoch > 0) RETURN_IF_ERROR(SaveWeights(*model, weights_path));
  const nlohmann::json best =
      result.best_epoch > 0 ? result.history[result.best_epoch - 1].ToJson() : nlohmann::json();
  nlohmann::json results = {
      {"name", FLAGS_name},
      {"command", command},
      {"config", options.config},
      {"class_names", data.class_names},
      {"seed", runtime.seed},
      {"split_manifest", data.description["manifest"]},
      {"epochs_run", result.history.size()},
      {"best_epoch", result.best_epoch},
      {"best", best},
      {"stop_reason", result.stop_reason},
      {"diverged", result.diverged},
      {"test_loss", result.test.loss},
      {"test_acc", result.test.accuracy},
      {"test_count", result.test.count},
      {"resumed_after_epoch", result.resumed_after_epoch},
      {"wall_seconds", result.wall_seconds},
      {"train_images_per_s", result.train_images_per_s},
      {"skipped_train_items", result.skipped.count},
      {"threads", runtime.threads},
      {"device", runtime.device.str()},
      {"world_size", distributed->world_size()},
      {"backend", distributed->backend()},
      {"versions",
       {{"libtorch", TORCH_VERSION}, {"opencv", CV_VERSION}, {"compiler", __VERSION__}}},
      {"files",
       {{"metrics", run_dir + "/metrics.jsonl"},
        {"checkpoint", run_dir + "/checkpoint.pt"},
        {"weights", result.best_epoch > 0 ? nlohmann::json(weights_path) : nlohmann::json()}}},
  };
  // The study's figures: loss and accuracy per epoch, and the test confusion matrix.
  std::vector<EpochMetrics> curves;
  for (const EpochRecord& record : result.history) {
    curves.push_back({record.epoch, record.train_loss, record.train_acc, record.val_loss,
                      record.val_acc});
  }
  std::optional<int64_t> best_epoch;
  if (result.best_epoch > 0) best_epoch = result.best_epoch;
  RETURN_IF_ERROR(WriteSvg(run_dir + "/curves.svg",
                           TrainingCurvesSvg(curves, FLAGS_name + " (" + FLAGS_model + ", " +
                                                         scale.name + " scale)",
                                             best_epoch)));
  const ConfusionMatrix& confusion = result.test.confusion;
  RETURN_IF_ERROR(WriteSvg(run_dir + "/confusion.svg",
                           ConfusionMatrixSvg(confusion, FLAGS_name + ": test confusion matrix")));
  results["test_confusion"] = confusion.ToJson();
  results["files"]["curves"] = run_dir + "/curves.svg";
  results["files"]["confusion"] = run_dir + "/confusion.svg";
  RETURN_IF_ERROR(
      WriteFileAtomically(run_dir + "/results.json", ReplaceNonFinite(results).dump(2) + "\n"));
  if (result.best_epoch > 0 && FLAGS_progress) {
    std::fprintf(stderr, "%s", confusion.ToText().c_str());
  }

  if (result.skipped.count > 0) {
    std::fprintf(stderr, "skipped %lld unreadable training items (first: %s)\n",
                 static_cast<long long>(result.skipped.count),
                 result.skipped.messages.empty() ? "?" : result.skipped.messages[0].c_str());
  }
  std::printf("%s: %s; best epoch %lld, test accuracy %.4f on %lld images (chance %.4f)\n",
              FLAGS_name.c_str(), result.stop_reason.c_str(),
              static_cast<long long>(result.best_epoch), result.test.accuracy,
              static_cast<long long>(result.test.count), 1.0 / static_cast<double>(num_classes));
  std::printf("results: %s/results.json; plots: %s/curves.svg, %s/confusion.svg\n",
              run_dir.c_str(), run_dir.c_str(), run_dir.c_str());
  if (scale.name != "paper" && FLAGS_data == "fashion_mnist") {
    std::printf("paper scale (a GPU): bazel run //train:%s -- --scale=paper --data=fashion_mnist "
                "--device=cuda\n", FLAGS_name.c_str());
  } else if (scale.name != "paper") {
    // The 11-class recipes are the endangered-animal study's; the others are AFHQ's.
    const bool endangered = FLAGS_synthetic_classes == 11;
    std::printf("paper scale on the real %s (a GPU): bazel run //train:%s -- --scale=paper "
                "--data=%s --device=cuda\n",
                endangered ? "endangered-animal folders" : "AFHQ", FLAGS_name.c_str(),
                endangered ? "/path/to/endangered_animals" : "/path/to/afhq");
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  // For the results file, before gflags removes the flags.
  const std::string command = fauna::JoinArgv(argc, argv);
  const std::set<std::string> typed = fauna::ParseFlags(
      &argc, &argv, "fauna's trainer; see train/train_main.cc and train/recipes/.",
      {{"What the run is", {"name", "run_dir", "scale", "resume", "strict", "progress"}},
       {"Data", {"data", "data_root", "split", "image_size", "synthetic_classes", "synthetic_count",
                 "synthetic_difficulty", "augment", "noise_fraction", "noise_sigma",
                 "normalization", "cache_dir"}},
       {"Model", {"model", "width", "dropout", "activation", "init_weights",
                  "freeze_backbone_epochs", "evaluate"}},
       {"Optimisation", {"optimizer", "lr", "beta1", "beta2", "momentum", "weight_decay",
                         "lr_decay", "lr_step_epochs", "lr_gamma", "lr_cosine",
                         "lr_warmup_epochs", "epochs", "max_epochs",
                         "patience", "batch_size", "workers"}},
       {"Data parallelism", {"world_size", "rank", "master_addr", "master_port",
                             "dist_timeout_s"}},
       {"Runtime", {"device", "seed", "threads"}}});
  return fauna::ExitCode(fauna::GuardTorch("train", [&] { return fauna::Run(command, typed); }));
}
