// The AFHQ study's autoencoder + SVM (section E, Table 4 and Figure 10) as one run: the FC-free
// convolutional autoencoder pretrained on reconstruction, the full one (FC bottleneck) fine-tuned
// from it with Adam, its bottleneck codes classified by an RBF SVM with C = 1
// (train/autoencoder_svm.h). The recipe train/recipes/autoencoder_svm.flags holds the study's
// settings (run by //train:autoencoder_svm_best); Table 4's rows are flags:
//
//   bazel run //train:autoencoder_svm_best                        # origin
//   bazel run //train:autoencoder_svm_best -- --name=autoencoder_svm_augment
//       --augment="hflip, rotate(degrees=15)"                     # augmentation (one line)
//   bazel run //train:autoencoder_svm_best -- --noise_fraction=0.05 --name=autoencoder_svm_noise05
//   bazel run //train:autoencoder_svm_best -- --resume             # continue a killed run
//
// A run writes into its folder (default runs/<name>): config.json, metrics.jsonl (per epoch of
// both training stages, then the SVM's line), checkpoint_{pretrain,finetune}.pt, stages.json,
// pretrain.safetensors (stage 1), autoencoder.safetensors (stage 2), codes/{train,val,test}
// .safetensors (features files), svm.safetensors, curves.svg (reconstruction loss per epoch of
// both stages: Figure 10a) and results.json (train_acc, val_acc, test_acc at the top level, as
// the classifier trainer's, with the stages' final losses and seconds).
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <absl/status/statusor.h>
#include <absl/strings/str_cat.h>
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
#include "eval/svg_plot.h"
#include "train/autoencoder_svm.h"
#include "train/data_flags.h"
#include "train/scale.h"

// What the run is.
DEFINE_string(name, "autoencoder_svm", "Name of the run (a recipe sets it); default "
                                       "runs/<name>.");
DEFINE_string(run_dir, "", "Folder of the run; default runs/<name> in the workspace.");
DEFINE_string(scale, "auto", "paper, small, ci, or auto (paper on a GPU, small otherwise): image "
                             "size, width, synthetic images and the epoch cap.");
DEFINE_bool(resume, false, "Continue the run in --run_dir: finished stages are skipped, the "
                           "running one continues from its last epoch.");
DEFINE_bool(strict, false, "An unreadable image is an error instead of skipped with a warning.");
DEFINE_bool(progress, true, "Show progress bars on stderr.");
// Data (the shared flags: train/data_flags.h).
DEFINE_int32(image_size, 0, "Side of the images; 0 takes the scale's.");
DEFINE_string(augment, "", "Augmentation of training images (Table 4's 'augmentation' row: "
                           "\"hflip, rotate(degrees=15)\"); never applied when coding.");
DEFINE_string(normalization, "unit", "unit (pixels / 255: the autoencoder reconstructs [0, 1] "
                                     "images) or imagenet.");
// Model.
DEFINE_double(width, 0, "Channel multiplier of the autoencoder; 0 takes the scale's.");
DEFINE_int64(latent_dim, 256, "Size of the FC bottleneck (the SVM's input).");
// Optimisation.
DEFINE_int64(pretrain_epochs, 10, "Stage 1: epochs of the FC-free autoencoder.");
DEFINE_double(pretrain_lr, 0, "Stage 1: learning rate (Adam); 0 takes --lr.");
DEFINE_int64(pretrain_batch_size, 32, "Stage 1: images per step.");
DEFINE_string(pretrain_parts, "all", "Stage 1 trains on: all (train, val and test images, as the "
                                     "study: 'all the data we have'; labels are never read) or "
                                     "train.");
DEFINE_int64(epochs, 10, "Stage 2: fine-tuning epochs of the full autoencoder.");
DEFINE_double(lr, 1e-3, "Stage 2: learning rate (Adam).");
DEFINE_double(beta1, 0.8, "Adam's beta1 (both stages).");
DEFINE_double(beta2, 0.999, "Adam's beta2 (both stages).");
DEFINE_int64(batch_size, 128, "Stage 2: images per step (the study: 'big batch').");
DEFINE_int64(max_epochs, 0, "Cap on each stage's epochs; 0 takes the scale's cap.");
DEFINE_int32(workers, 2, "Loader threads.");
// SVM.
DEFINE_double(svm_c, 1.0, "The SVM's C (the study: 1).");
DEFINE_string(svm_gamma, "scale", "The RBF kernel's gamma: a number, scale or auto "
                                  "(scikit-learn's default: scale).");
DEFINE_string(svm_kernel, "rbf", "rbf (the study's), linear or poly.");
DEFINE_bool(standardize, true, "Scale each code column by the train codes' mean and deviation "
                               "before the SVM.");
DEFINE_bool(epoch_svm, false, "After every fine-tuning epoch, fit the SVM and record its val "
                              "accuracy (svm_val_acc in metrics.jsonl, svm.svg).");

namespace fauna {
namespace {

// Figure 10a: the mean reconstruction loss per epoch of both stages.
std::string LossCurvesSvg(const std::vector<nlohmann::json>& history, const std::string& title) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "epoch of the stage";
  chart.y_label = "reconstruction loss (MSE)";
  chart.integer_x = true;
  for (const auto& [stage, name] :
       {std::pair<const char*, const char*>{"pretrain", "pretraining (no FC layer)"},
        {"finetune", "fine-tuning (FC bottleneck)"}}) {
    Series series;
    series.name = name;
    for (const nlohmann::json& line : history) {
      if (line.value("stage", "") != stage) continue;
      absl::StatusOr<double> loss = NumberFromJson(line.value("loss", nlohmann::json()));
      if (!loss.ok()) continue;
      series.x.push_back(line["epoch"].get<double>());
      series.y.push_back(*loss);
    }
    chart.series.push_back(std::move(series));
  }
  return LineChartSvg(chart);
}

// The SVM's val accuracy per fine-tuning epoch (--epoch_svm).
std::string SvmCurveSvg(const std::vector<nlohmann::json>& history, const std::string& title) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "fine-tuning epoch";
  chart.y_label = "SVM val accuracy";
  chart.y_min = 0;
  chart.y_max = 1;
  chart.integer_x = true;
  Series series;
  series.name = "val accuracy of an SVM on the epoch's codes";
  for (const nlohmann::json& line : history) {
    if (line.value("stage", "") != "finetune" || !line.contains("svm_val_acc")) continue;
    series.x.push_back(line["epoch"].get<double>());
    series.y.push_back(line["svm_val_acc"].get<double>());
  }
  chart.series.push_back(std::move(series));
  return LineChartSvg(chart);
}

absl::Status Run(const std::string& command) {
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime());
  cv::setNumThreads(1);  // OpenCV runs inside the loader's workers.
  ASSIGN_OR_RETURN(Scale scale, ResolveScale(FLAGS_scale, runtime.device.is_cuda()));
  scale = ScaleForData(scale, FLAGS_data);
  ASSIGN_OR_RETURN(PretrainParts pretrain_parts, ParsePretrainParts(FLAGS_pretrain_parts));
  DatasetOptions data_options = DatasetOptionsFromFlags(scale, FLAGS_image_size);
  data_options.augment = FLAGS_augment;
  data_options.normalization = FLAGS_normalization;
  data_options.seed = runtime.seed;
  data_options.threads = runtime.threads;
  const int image_size = data_options.image_size;
  const double width = FLAGS_width > 0 ? FLAGS_width : scale.width;
  const int64_t cap = FLAGS_max_epochs > 0 ? FLAGS_max_epochs : scale.max_epochs;
  const auto capped = [cap](int64_t epochs) { return cap > 0 ? std::min(epochs, cap) : epochs; };

  AutoencoderSvmOptions options;
  options.model = ConvAutoencoderOptions()
                      .image_size(image_size)
                      .latent_dim(FLAGS_latent_dim)
                      .width(width);
  options.pretrain_epochs = capped(FLAGS_pretrain_epochs);
  options.pretrain_lr = FLAGS_pretrain_lr > 0 ? FLAGS_pretrain_lr : FLAGS_lr;
  options.pretrain_batch_size = FLAGS_pretrain_batch_size;
  options.pretrain_parts = pretrain_parts;
  options.finetune_epochs = capped(FLAGS_epochs);
  options.lr = FLAGS_lr;
  options.beta1 = FLAGS_beta1;
  options.beta2 = FLAGS_beta2;
  options.batch_size = FLAGS_batch_size;
  options.svm.kernel = FLAGS_svm_kernel;
  options.svm.C = FLAGS_svm_c;
  options.svm.gamma = FLAGS_svm_gamma;
  options.svm.threads = runtime.threads;
  options.standardize = FLAGS_standardize;
  options.epoch_svm = FLAGS_epoch_svm;
  options.workers = FLAGS_workers;
  options.strict = FLAGS_strict;
  options.progress = FLAGS_progress;
  options.seed = runtime.seed;
  options.device = runtime.device;
  options.resume = FLAGS_resume;
  if (FLAGS_pretrain_lr < 0) {
    return absl::InvalidArgumentError("--pretrain_lr must be >= 0 (0: --lr)");
  }
  // Everything but the folder, checked before any image is decoded.
  const std::string run_dir =
      FLAGS_run_dir.empty() ? DefaultRunDir(FLAGS_name) : UserPath(FLAGS_run_dir);
  options.run_dir = "/";
  RETURN_IF_ERROR(Annotate(ValidateAutoencoderSvmOptions(options), "flags"));
  options.run_dir = run_dir;

  std::error_code error;
  std::filesystem::create_directories(run_dir, error);
  if (error) {
    return absl::PermissionDeniedError("cannot create " + run_dir + ": " + error.message());
  }
  ASSIGN_OR_RETURN(Dataset data, OpenDataset(data_options, run_dir + "/split.csv"));
  // The train part as it is, for its codes (the caches are shared: nothing is decoded again).
  Dataset plain = data;
  if (!FLAGS_augment.empty()) {
    DatasetOptions plain_options = data_options;
    plain_options.augment = "";
    ASSIGN_OR_RETURN(plain, OpenDataset(plain_options, ""));
  }
  std::fprintf(stderr, "%s: scale %s (%s): %d px, width %g, latent %lld, %lld + %lld epochs; "
               "run folder %s\n",
               FLAGS_name.c_str(), scale.name.c_str(), scale.reason.c_str(), image_size, width,
               static_cast<long long>(FLAGS_latent_dim),
               static_cast<long long>(options.pretrain_epochs),
               static_cast<long long>(options.finetune_epochs), run_dir.c_str());

  nlohmann::json data_description = data.description;
  data_description.erase("caches");
  data_description.erase("manifest");
  // What must not change across a resume (paths, progress, workers and threads may).
  options.config = {{"name", FLAGS_name},
                    {"scale", scale.name},
                    {"seed", runtime.seed},
                    {"data", data_description},
                    {"model", "autoencoder"},
                    {"image_size", image_size},
                    {"width", width},
                    {"latent_dim", FLAGS_latent_dim},
                    {"pretrain_epochs", options.pretrain_epochs},
                    {"pretrain_lr", options.pretrain_lr},
                    {"pretrain_batch_size", FLAGS_pretrain_batch_size},
                    {"pretrain_parts", FLAGS_pretrain_parts},
                    {"epochs", options.finetune_epochs},
                    {"lr", FLAGS_lr},
                    {"beta1", FLAGS_beta1},
                    {"beta2", FLAGS_beta2},
                    {"batch_size", FLAGS_batch_size},
                    {"svm_kernel", FLAGS_svm_kernel},
                    {"svm_c", FLAGS_svm_c},
                    {"svm_gamma", FLAGS_svm_gamma},
                    {"standardize", FLAGS_standardize},
                    {"epoch_svm", FLAGS_epoch_svm}};
  nlohmann::json resolved = options.config;
  resolved["threads"] = runtime.threads;
  resolved["device"] = runtime.device.str();
  resolved["run_dir"] = run_dir;
  const std::string config_path = run_dir + "/config.json";
  // A resume checks the stored configuration first: a refused one leaves the file alone.
  if (!FLAGS_resume) {
    RETURN_IF_ERROR(WriteFileAtomically(config_path, resolved.dump(2) + "\n"));
  }

  ASSIGN_OR_RETURN(AutoencoderSvmResult result, TrainAutoencoderSvm(data, plain.train, options));
  if (FLAGS_resume) {
    RETURN_IF_ERROR(WriteFileAtomically(config_path, resolved.dump(2) + "\n"));
  }
  const std::string title = FLAGS_name + " (autoencoder, " + scale.name + " scale)";
  RETURN_IF_ERROR(WriteSvg(run_dir + "/curves.svg", LossCurvesSvg(result.history, title)));
  if (FLAGS_epoch_svm) {
    RETURN_IF_ERROR(WriteSvg(run_dir + "/svm.svg", SvmCurveSvg(result.history, title)));
  }
  if (!result.finished) {
    return absl::AbortedError(FLAGS_name + ": " + result.stop_reason + "; no results written");
  }
  nlohmann::json results = {
      {"name", FLAGS_name},
      {"command", command},
      {"config", options.config},
      {"class_names", data.class_names},
      {"seed", runtime.seed},
      {"split_manifest", data.description["manifest"]},
      {"train_acc", result.train_acc},
      {"val_acc", result.val_acc},
      {"test_acc", result.test_acc},
      {"train_count", result.train_count},
      {"val_count", result.val_count},
      {"test_count", result.test_count},
      {"pretrain_loss", result.pretrain_loss},
      {"finetune_loss", result.finetune_loss},
      {"pretrain_seconds", result.pretrain_seconds},
      {"finetune_seconds", result.finetune_seconds},
      {"codes_seconds", result.codes_seconds},
      {"svm_seconds", result.svm_seconds},
      {"svm", result.svm},
      {"transfer", result.transfer},
      {"stop_reason", result.stop_reason},
      {"resumed_after_epochs", result.resumed_after},
      {"wall_seconds", result.wall_seconds},
      {"threads", runtime.threads},
      {"device", runtime.device.str()},
      {"versions",
       {{"libtorch", TORCH_VERSION}, {"opencv", CV_VERSION}, {"compiler", __VERSION__}}},
      {"files",
       {{"metrics", run_dir + "/metrics.jsonl"},
        {"pretrained", run_dir + "/pretrain.safetensors"},
        {"autoencoder", run_dir + "/autoencoder.safetensors"},
        {"codes", run_dir + "/codes"},
        {"svm", run_dir + "/svm.safetensors"},
        {"curves", run_dir + "/curves.svg"}}},
  };
  RETURN_IF_ERROR(
      WriteFileAtomically(run_dir + "/results.json", ReplaceNonFinite(results).dump(2) + "\n"));
  std::printf("%s: %s; SVM on %lld-d codes: train %.4f, val %.4f, test %.4f accuracy (chance "
              "%.4f); reconstruction loss %.5f (pretraining) %.5f (fine-tuning)\n",
              FLAGS_name.c_str(), result.stop_reason.c_str(),
              static_cast<long long>(FLAGS_latent_dim), result.train_acc, result.val_acc,
              result.test_acc, 1.0 / static_cast<double>(data.class_names.size()),
              result.pretrain_loss, result.finetune_loss);
  std::printf("results: %s/results.json; plot: %s/curves.svg\n", run_dir.c_str(),
              run_dir.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  const std::string command = fauna::JoinArgv(argc, argv);
  fauna::ParseFlags(
      &argc, &argv, "fauna's autoencoder + SVM (the AFHQ study's Table 4); see "
                    "train/autoencoder_svm_main.cc.",
      {{"What the run is", {"name", "run_dir", "scale", "resume", "strict", "progress"}},
       {"Data", {"data", "data_root", "split", "image_size", "synthetic_classes",
                 "synthetic_count", "synthetic_difficulty", "augment", "noise_fraction",
                 "noise_sigma", "normalization", "cache_dir"}},
       {"Model", {"width", "latent_dim"}},
       {"Optimisation", {"pretrain_epochs", "pretrain_lr", "pretrain_batch_size",
                         "pretrain_parts", "epochs", "lr", "beta1", "beta2", "batch_size",
                         "max_epochs", "workers"}},
       {"SVM", {"svm_c", "svm_gamma", "svm_kernel", "standardize", "epoch_svm"}},
       {"Runtime", {"device", "seed", "threads"}}});
  return fauna::ExitCode(
      fauna::GuardTorch("autoencoder_svm", [&] { return fauna::Run(command); }));
}
