// The deep-clustering trainer: VaDE or GMVAE (train/deep_cluster.h) on a features file set or on
// the pixels of any --data, without labels (they only score). Recipes under train/recipes/ run it
// as targets (`bazel run //train:vade_3class`); flags after `--` override the recipe.
//
//   bazel run //train:vade_3class                                  # synthetic, small scale
//   bazel run //train:vade_3class -- --features=features/resnet50   # the study's setting
//   bazel run //train:vade_fashion_mnist -- --seed=3                # the real benchmark
//   bazel run //train:vade_3class -- --resume                       # continue a killed run
//
// A run writes into its folder (default runs/<name>): config.json, metrics.jsonl,
// checkpoint.pt, model.safetensors, latent/{train,val,test}.safetensors (the codes as features
// files, for //eval:tsne_main and the heads), curves.svg (the study's Figure 7: ACC, NMI and ARI
// per epoch), loss.svg, clusters.txt (test contingency table) and results.json.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include <ATen/ATen.h>
#include <absl/status/statusor.h>
#include <absl/strings/numbers.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>
#include <opencv2/core/utility.hpp>
#include <torch/version.h>

#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/metrics_sink.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "data/dataset.h"
#include "data/features_file.h"
#include "data/part_rows.h"
#include "eval/svg_plot.h"
#include "models/gmvae.h"
#include "models/state_dict.h"
#include "models/vade.h"
#include "train/data_flags.h"
#include "train/deep_cluster.h"
#include "train/scale.h"

// What the run is.
DEFINE_string(name, "deep_cluster", "Name of the run (a recipe sets it); default runs/<name>.");
DEFINE_string(run_dir, "", "Folder of the run; default runs/<name> in the workspace.");
DEFINE_string(scale, "auto", "paper, small, ci, or auto: the synthetic set's size, the image "
                             "size and the epoch cap, as for the classifier trainer.");
DEFINE_bool(resume, false, "Continue the run in --run_dir from its checkpoint.");
DEFINE_bool(progress, true, "Show progress bars on stderr.");
// Input: features or pixels.
DEFINE_string(features, "", "Folder with train/val/test.safetensors features files (from "
                            "//tools:extract_features); unset: the pixels of --data.");
DEFINE_bool(standardize, false, "Scale each column of --features to mean 0, std 1 (over the fit "
                                "rows); pixels are left as they are.");
// The pixels of --data and how they are read (the shared data flags: train/data_flags.h).
DEFINE_int32(image_size, 0, "Side of the images; 0 takes the scale's (28 for fashion_mnist).");
DEFINE_bool(grey, true, "Pixels of one grey channel instead of three.");
DEFINE_bool(fit_on_all, false, "Fit on train + val + test (every part is still scored alone).");
// Model.
DEFINE_string(model, "vade", "vade or gmvae.");
DEFINE_string(hidden, "500,500,2000", "Widths of the encoder's hidden layers (decoder mirrors).");
DEFINE_int64(latent_dim, 10, "Size of the latent code.");
DEFINE_int64(clusters, 0, "Clusters; 0: the number of classes of the data.");
DEFINE_string(likelihood, "auto", "bernoulli, gaussian, or auto (bernoulli for pixels, gaussian "
                                  "for features).");
DEFINE_double(prior_var_floor, 1e-4, "VaDE: least variance of a prior component.");
DEFINE_bool(learn_weights, true, "VaDE: learn the mixture weights (false: keep the start's).");
// Optimisation.
DEFINE_int64(pretrain_epochs, 10, "VaDE: autoencoder pretraining epochs.");
DEFINE_string(init_autoencoder, "", "VaDE: start from this pretrained autoencoder (another run's "
                                    "autoencoder.safetensors) instead of pretraining.");
DEFINE_double(pretrain_lr, 1e-3, "VaDE: pretraining learning rate (Adam).");
DEFINE_int64(pretrain_batch_size, 256, "VaDE: pretraining rows per step.");
DEFINE_double(pretrain_noise, 0, "VaDE: denoising pretraining, each input value zeroed with this "
                                 "probability (0: none).");
DEFINE_string(start, "gmm", "VaDE's prior start: gmm (on the codes) or tsne (a GMM on a t-SNE "
                            "map of the codes; see train/deep_cluster.h).");
DEFINE_int64(gmm_restarts, 10, "VaDE: restarts of the start's GMM.");
DEFINE_string(start_select, "likelihood", "VaDE: the start's restart kept: likelihood (the most "
                                          "likely) or consensus (the one agreeing best with the "
                                          "others).");
DEFINE_int64(epochs, 10, "Clustering epochs (the scale may cap them).");
DEFINE_int64(anchor_epochs, 0, "VaDE: the first N clustering epochs take the start's clusters "
                               "as the ELBO's responsibilities (see train/deep_cluster.h).");
DEFINE_int64(max_epochs, 0, "Cap on --epochs and --pretrain_epochs; 0 takes the scale's cap.");
DEFINE_double(lr, 1e-4, "Clustering learning rate (Adam).");
DEFINE_int64(batch_size, 64, "Clustering rows per step.");
DEFINE_int64(lr_step_epochs, 0, "Multiply the rate by --lr_gamma every N epochs (0: never).");
DEFINE_double(lr_gamma, 0.9, "Step decay factor.");
DEFINE_int32(workers, 2, "Loader threads (pixels).");

namespace fauna {
namespace {

absl::StatusOr<std::vector<int64_t>> ParseWidths(const std::string& text) {
  std::vector<int64_t> widths;
  for (absl::string_view piece : absl::StrSplit(text, ',', absl::SkipWhitespace())) {
    int64_t width = 0;
    if (!absl::SimpleAtoi(piece, &width) || width < 1) {
      return absl::InvalidArgumentError("--hidden=" + text + ": \"" + std::string(piece) +
                                        "\" is not a positive width");
    }
    widths.push_back(width);
  }
  return widths;
}

// The three parts as rows, and a description for the results.
absl::StatusOr<ClusterData> ReadInput(const Runtime& runtime, const Scale& scale,
                                      nlohmann::json* description) {
  ClusterData data;
  if (!FLAGS_features.empty()) {
    if (FLAGS_noise_fraction > 0) {
      return absl::InvalidArgumentError(
          "--noise_fraction with --features: the noise is added to images, and features files "
          "hold none (extract features with --noise_fraction instead)");
    }
    const std::string folder = UserPath(FLAGS_features);
    for (const auto& [name, set] : {std::pair<const char*, FeatureSet*>{"train", &data.train},
                                    {"val", &data.val},
                                    {"test", &data.test}}) {
      ASSIGN_OR_RETURN(*set, ReadFeatureSet(folder + "/" + name + ".safetensors"));
    }
    RETURN_IF_ERROR(CheckCompatible(data.train, folder + "/train.safetensors", data.val,
                                    folder + "/val.safetensors"));
    RETURN_IF_ERROR(CheckCompatible(data.train, folder + "/train.safetensors", data.test,
                                    folder + "/test.safetensors"));
    *description = {{"features", folder}, {"model", data.train.model},
                    {"layer", data.train.layer}};
    return data;
  }
  // Fashion-MNIST at its own 28 px, whatever the scale (no ScaleForData here).
  Scale pixels_scale = scale;
  if (FLAGS_data == "fashion_mnist") pixels_scale.image_size = 28;
  DatasetOptions options = DatasetOptionsFromFlags(pixels_scale, FLAGS_image_size);
  options.normalization = "unit";  // Pixels in [0, 1], as a Bernoulli likelihood needs.
  options.seed = runtime.seed;
  options.threads = runtime.threads;
  ASSIGN_OR_RETURN(Dataset dataset, OpenDataset(options, ""));
  PartRowsOptions rows;
  rows.batch_size = 256;
  rows.workers = FLAGS_workers;
  rows.progress = FLAGS_progress;
  rows.verb = "read";
  for (const auto& [name, part, set] :
       {std::tuple<const char*, const DataPart*, FeatureSet*>{"train", &dataset.train, &data.train},
        {"val", &dataset.val, &data.val},
        {"test", &dataset.test, &data.test}}) {
    ASSIGN_OR_RETURN(PartRows read, ReadPartRows(name, *part, dataset.class_names,
                                                 PixelRows(FLAGS_grey), rows));
    *set = std::move(read.set);
    set->model = "none";
    set->layer = "pixels";
  }
  *description = dataset.description;
  description->erase("caches");
  description->erase("manifest");
  (*description)["pixels"] = {{"image_size", options.image_size}, {"grey", FLAGS_grey}};
  return data;
}

// Scales every part's columns by the fit rows' mean and standard deviation.
void Standardize(ClusterData& data) {
  const at::Tensor fit = FLAGS_fit_on_all ? at::cat({data.train.features, data.val.features,
                                                     data.test.features})
                                          : data.train.features;
  const at::Tensor mean = fit.mean(0, /*keepdim=*/true);
  const at::Tensor std = fit.std(0, /*unbiased=*/false, /*keepdim=*/true).clamp_min(1e-6);
  for (FeatureSet* set : {&data.train, &data.val, &data.test}) {
    set->features = ((set->features - mean) / std).contiguous();
  }
}

// Figure 7: ACC, NMI and ARI of the train and val parts per clustering epoch (0: the start).
std::string ScoreCurvesSvg(const std::vector<nlohmann::json>& history, const std::string& title) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "epoch (0: the start)";
  chart.y_label = "score";
  chart.y_min = 0;
  chart.y_max = 1;
  chart.integer_x = true;
  for (const char* part : {"train", "val"}) {
    for (const auto& [score, score_name] : {std::pair<const char*, const char*>{"acc", "ACC"},
                                            {"nmi", "NMI"},
                                            {"ari", "ARI"}}) {
      Series series;
      series.name = absl::StrCat(part, " ", score_name);
      const std::string key = absl::StrCat(part, "_", score);
      for (const nlohmann::json& line : history) {
        if (line.value("phase", "") != "cluster" || !line.contains(key)) continue;
        series.x.push_back(line["epoch"].get<double>());
        series.y.push_back(line[key].get<double>());
      }
      chart.series.push_back(std::move(series));
    }
  }
  return LineChartSvg(chart);
}

// The loss per epoch, pretraining and clustering on one axis (epochs counted through).
std::string LossSvg(const std::vector<nlohmann::json>& history, const std::string& title) {
  LineChart chart;
  chart.title = title;
  chart.x_label = "epoch (pretraining, then clustering)";
  chart.y_label = "mean loss per row";
  chart.integer_x = true;
  Series pretrain{"autoencoder (pretraining)", {}, {}}, cluster{"negative ELBO", {}, {}};
  int64_t step = 0;
  for (const nlohmann::json& line : history) {
    absl::StatusOr<double> loss = NumberFromJson(line.value("loss", nlohmann::json()));
    if (line.value("phase", "") == "cluster" && line.value("epoch", 0) == 0) continue;
    ++step;
    if (!loss.ok()) continue;
    Series& series = line.value("phase", "") == "pretrain" ? pretrain : cluster;
    series.x.push_back(static_cast<double>(step));
    series.y.push_back(*loss);
  }
  if (!pretrain.x.empty()) chart.series.push_back(std::move(pretrain));
  chart.series.push_back(std::move(cluster));
  return LineChartSvg(chart);
}

absl::Status Run(const std::string& command) {
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime());
  cv::setNumThreads(1);
  // Everything runs on the CPU; --device=auto is taken to mean it even where a GPU is found.
  if (runtime.device.is_cuda() && FLAGS_device != "auto") {
    return absl::UnimplementedError("the deep-clustering trainer runs on the CPU (--device=cpu)");
  }
  ASSIGN_OR_RETURN(Scale scale, ResolveScale(FLAGS_scale, /*gpu=*/false));
  ASSIGN_OR_RETURN(PriorStart start, ParsePriorStart(FLAGS_start));
  ASSIGN_OR_RETURN(StartSelect start_select, ParseStartSelect(FLAGS_start_select));
  ASSIGN_OR_RETURN(std::vector<int64_t> hidden, ParseWidths(FLAGS_hidden));
  if (FLAGS_model != "vade" && FLAGS_model != "gmvae") {
    return absl::InvalidArgumentError("--model=" + FLAGS_model + ": expected vade or gmvae");
  }
  const bool pixels = FLAGS_features.empty();
  VaeLikelihood likelihood = pixels ? VaeLikelihood::kBernoulli : VaeLikelihood::kGaussian;
  if (FLAGS_likelihood == "bernoulli") {
    likelihood = VaeLikelihood::kBernoulli;
  } else if (FLAGS_likelihood == "gaussian") {
    likelihood = VaeLikelihood::kGaussian;
  } else if (FLAGS_likelihood != "auto") {
    return absl::InvalidArgumentError("--likelihood=" + FLAGS_likelihood +
                                      ": expected bernoulli, gaussian or auto");
  }
  const int64_t cap = FLAGS_max_epochs > 0 ? FLAGS_max_epochs : scale.max_epochs;
  const auto capped = [cap](int64_t epochs) { return cap > 0 ? std::min(epochs, cap) : epochs; };

  const std::string run_dir =
      FLAGS_run_dir.empty() ? DefaultRunDir(FLAGS_name) : UserPath(FLAGS_run_dir);
  std::error_code error;
  std::filesystem::create_directories(run_dir + "/latent", error);
  if (error) {
    return absl::PermissionDeniedError("cannot create " + run_dir + ": " + error.message());
  }

  nlohmann::json input;
  ASSIGN_OR_RETURN(ClusterData data, ReadInput(runtime, scale, &input));
  if (FLAGS_standardize && !pixels) Standardize(data);
  const at::Tensor& train_rows = data.train.features;
  if (likelihood == VaeLikelihood::kBernoulli &&
      (train_rows.min().item<float>() < 0 || train_rows.max().item<float>() > 1)) {
    return absl::InvalidArgumentError(
        "a Bernoulli likelihood needs values in [0, 1]; these rows are not: use "
        "--likelihood=gaussian");
  }
  const int64_t clusters =
      FLAGS_clusters > 0 ? FLAGS_clusters : static_cast<int64_t>(data.train.classes.size());
  std::shared_ptr<DeepClustererImpl> model;
  if (FLAGS_model == "vade") {
    const VadeOptions options = VadeOptions()
                                    .input_dim(data.train.dim())
                                    .hidden(hidden)
                                    .latent_dim(FLAGS_latent_dim)
                                    .likelihood(likelihood)
                                    .clusters(clusters)
                                    .prior_var_floor(FLAGS_prior_var_floor)
                                    .learn_weights(FLAGS_learn_weights);
    RETURN_IF_ERROR(Annotate(ValidateVadeOptions(options), "--model=vade"));
    auto vade = std::make_shared<VadeImpl>(options);
    if (!FLAGS_init_autoencoder.empty()) {
      const std::string path = UserPath(FLAGS_init_autoencoder);
      RETURN_IF_ERROR(Annotate(LoadWeights(*vade->vae(), path).status(), "--init_autoencoder"));
    }
    model = vade;
  } else {
    const GmvaeOptions options = GmvaeOptions()
                                     .input_dim(data.train.dim())
                                     .hidden(hidden)
                                     .latent_dim(FLAGS_latent_dim)
                                     .likelihood(likelihood)
                                     .clusters(clusters);
    RETURN_IF_ERROR(Annotate(ValidateGmvaeOptions(options), "--model=gmvae"));
    model = std::make_shared<GmvaeImpl>(options);
  }

  DeepClusterOptions options;
  options.pretrain_epochs =
      FLAGS_model == "vade" && FLAGS_init_autoencoder.empty() ? capped(FLAGS_pretrain_epochs) : 0;
  options.pretrain_lr = FLAGS_pretrain_lr;
  options.pretrain_batch_size = FLAGS_pretrain_batch_size;
  options.pretrain_noise = FLAGS_pretrain_noise;
  options.start = start;
  options.gmm_restarts = FLAGS_gmm_restarts;
  options.start_select = start_select;
  options.epochs = capped(FLAGS_epochs);
  options.anchor_epochs =
      FLAGS_model == "vade" ? std::min(FLAGS_anchor_epochs, options.epochs) : 0;
  options.lr = FLAGS_lr;
  options.batch_size = FLAGS_batch_size;
  options.lr_step_epochs = FLAGS_lr_step_epochs;
  options.lr_gamma = FLAGS_lr_gamma;
  options.fit_on_all = FLAGS_fit_on_all;
  options.run_dir = run_dir;
  options.resume = FLAGS_resume;
  options.progress = FLAGS_progress;
  options.seed = runtime.seed;
  options.config = {{"name", FLAGS_name},
                    {"scale", scale.name},
                    {"seed", runtime.seed},
                    {"input", input},
                    {"standardize", FLAGS_standardize},
                    {"fit_on_all", FLAGS_fit_on_all},
                    {"model", FLAGS_model},
                    {"hidden", hidden},
                    {"latent_dim", FLAGS_latent_dim},
                    {"clusters", clusters},
                    {"likelihood", likelihood == VaeLikelihood::kBernoulli ? "bernoulli"
                                                                           : "gaussian"},
                    {"prior_var_floor", FLAGS_prior_var_floor},
                    {"learn_weights", FLAGS_learn_weights},
                    {"pretrain_epochs", options.pretrain_epochs},
                    {"init_autoencoder", FLAGS_init_autoencoder},
                    {"pretrain_lr", FLAGS_pretrain_lr},
                    {"pretrain_batch_size", FLAGS_pretrain_batch_size},
                    {"pretrain_noise", FLAGS_pretrain_noise},
                    {"start", FLAGS_start},
                    {"gmm_restarts", FLAGS_gmm_restarts},
                    {"start_select", FLAGS_start_select},
                    {"epochs", options.epochs},
                    {"anchor_epochs", options.anchor_epochs},
                    {"lr", FLAGS_lr},
                    {"batch_size", FLAGS_batch_size},
                    {"lr_step_epochs", FLAGS_lr_step_epochs},
                    {"lr_gamma", FLAGS_lr_gamma}};
  RETURN_IF_ERROR(Annotate(ValidateDeepClusterOptions(options), "flags"));
  nlohmann::json resolved = options.config;
  resolved["threads"] = runtime.threads;
  resolved["run_dir"] = run_dir;
  const std::string config_path = run_dir + "/config.json";
  // A resume checks the checkpoint's configuration first: a refused one leaves the file alone.
  if (!FLAGS_resume) {
    RETURN_IF_ERROR(WriteFileAtomically(config_path, resolved.dump(2) + "\n"));
  }
  std::fprintf(stderr, "%s: %s on %lld x %lld rows (%s), %lld clusters, scale %s; run folder %s\n",
               FLAGS_name.c_str(), FLAGS_model.c_str(),
               static_cast<long long>(data.train.size()),
               static_cast<long long>(data.train.dim()), pixels ? "pixels" : "features",
               static_cast<long long>(clusters), scale.name.c_str(), run_dir.c_str());

  ASSIGN_OR_RETURN(DeepClusterResult result, TrainDeepClusterer(model, data, options));
  if (FLAGS_resume) {
    RETURN_IF_ERROR(WriteFileAtomically(config_path, resolved.dump(2) + "\n"));
  }

  // The model, the latent codes, the figures and the results.
  RETURN_IF_ERROR(SaveWeights(*model, run_dir + "/model.safetensors"));
  for (const auto& [name, set] : {std::pair<const char*, const FeatureSet*>{"train", &data.train},
                                  {"val", &data.val},
                                  {"test", &data.test}}) {
    FeatureSet codes = *set;
    codes.features = LatentCodes(*model, set->features, options.eval_batch_size).contiguous();
    codes.model = FLAGS_model;
    codes.layer = "latent";
    RETURN_IF_ERROR(WriteFeatureSet(run_dir + "/latent/" + name + ".safetensors", codes));
  }
  const std::string title = FLAGS_name + " (" + FLAGS_model + ", " + scale.name + " scale)";
  RETURN_IF_ERROR(WriteSvg(run_dir + "/curves.svg", ScoreCurvesSvg(result.history, title)));
  RETURN_IF_ERROR(WriteSvg(run_dir + "/loss.svg", LossSvg(result.history, title)));
  nlohmann::json scores;
  for (const auto& [part, s] : result.final_scores) {
    scores[part] = {{"acc", s.accuracy}, {"nmi", s.nmi}, {"ari", s.ari},
                    {"samples", s.table.total}};
  }
  const ClusterScores& test = result.final_scores.at("test");
  RETURN_IF_ERROR(WriteFileAtomically(run_dir + "/clusters.txt", test.ToText(data.test.classes)));
  nlohmann::json results = {
      {"name", FLAGS_name},
      {"command", command},
      {"config", options.config},
      {"class_names", data.train.classes},
      {"seed", runtime.seed},
      {"start", result.start},
      {"stop_reason", result.stop_reason},
      {"diverged", result.diverged},
      {"resumed_after", result.resumed_after},
      {"wall_seconds", result.wall_seconds},
      {"threads", runtime.threads},
      {"versions", {{"libtorch", TORCH_VERSION}, {"compiler", __VERSION__}}},
  };
  for (const auto& [part, value] : scores.items()) results[part] = value;
  for (const nlohmann::json& line : result.history) {
    if (line.value("phase", "") == "cluster" && line.value("epoch", -1) == 0) {
      results["start_scores"] = line;
    }
  }
  RETURN_IF_ERROR(
      WriteFileAtomically(run_dir + "/results.json", ReplaceNonFinite(results).dump(2) + "\n"));
  const ClusterScores& all = result.final_scores.at("all");
  std::printf("%s: %s; test ACC %.4f NMI %.4f ARI %.4f (%lld images); all parts ACC %.4f NMI "
              "%.4f (%lld images)\n",
              FLAGS_name.c_str(), result.stop_reason.c_str(), test.accuracy, test.nmi, test.ari,
              static_cast<long long>(data.test.size()), all.accuracy, all.nmi,
              static_cast<long long>(all.table.total));
  std::printf("results: %s/results.json; plots: %s/curves.svg, %s/loss.svg\n", run_dir.c_str(),
              run_dir.c_str(), run_dir.c_str());
  std::printf("latent t-SNE (Figure 9): bazel run //eval:tsne_main -- --features=%s/latent/"
              "test.safetensors --dims=3\n",
              run_dir.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  // For the results file, before gflags removes the flags.
  const std::string command = fauna::JoinArgv(argc, argv);
  fauna::ParseFlags(
      &argc, &argv, "fauna's deep-clustering trainer; see train/deep_cluster_main.cc.",
      {{"What the run is", {"name", "run_dir", "scale", "resume", "progress"}},
       {"Input", {"features", "standardize", "data", "data_root", "split", "image_size", "grey",
                  "synthetic_classes", "synthetic_count", "synthetic_difficulty",
                  "noise_fraction", "noise_sigma", "cache_dir",
                  "fit_on_all", "workers"}},
       {"Model", {"model", "hidden", "latent_dim", "clusters", "likelihood", "prior_var_floor",
                  "learn_weights"}},
       {"Optimisation", {"pretrain_epochs", "init_autoencoder", "pretrain_lr",
                         "pretrain_batch_size", "pretrain_noise", "start", "gmm_restarts",
                         "start_select", "epochs", "anchor_epochs", "max_epochs", "lr",
                         "batch_size", "lr_step_epochs", "lr_gamma"}},
       {"Runtime", {"device", "seed", "threads"}}});
  return fauna::ExitCode(
      fauna::GuardTorch("deep_cluster", [&] { return fauna::Run(command); }));
}
