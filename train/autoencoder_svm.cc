#include "train/autoencoder_svm.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <optional>
#include <system_error>
#include <utility>

#include <ATen/ATen.h>
#include <absl/strings/match.h>
#include <absl/strings/str_cat.h>
#include <absl/strings/str_join.h>
#include <torch/autograd.h>
#include <torch/optim/adam.h>

#include "core/atomic_file.h"
#include "core/metrics_sink.h"
#include "core/progress.h"
#include "core/seed.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "core/tensor_file.h"
#include "data/features_file.h"
#include "data/loader.h"
#include "data/part_rows.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace fauna {
namespace {

using nlohmann::json;

// The "loss" of a stage's record: a number, or "NaN" as ReplaceNonFinite writes a stage that ran
// no epoch; NaN when absent or unreadable.
double LossOf(const json& record) {
  if (!record.is_object() || !record.contains("loss")) return std::nan("");
  absl::StatusOr<double> loss = NumberFromJson(record.at("loss"));
  return loss.ok() ? *loss : std::nan("");
}

constexpr char kPretrain[] = "pretrain";
constexpr char kFinetune[] = "finetune";
// DeriveSeed streams: each stage's initialisation and batch order.
constexpr uint64_t kPretrainStream = 1, kFinetuneStream = 2;

std::string StagesPath(const std::string& run_dir) { return run_dir + "/stages.json"; }
std::string CheckpointPath(const std::string& run_dir, const std::string& stage) {
  return run_dir + "/checkpoint_" + stage + ".pt";
}

// The FC layers that the pretrained (latent_dim 0) network lacks.
bool IsFcKey(const std::string& key) {
  return absl::StartsWith(key, "encoder.fc.") || absl::StartsWith(key, "decoder.fc.");
}

// One writer over several parts: item i of the concatenation is item i - offset of its part.
struct Concatenation {
  int64_t size = 0;
  std::vector<int64_t> image_shape;
  ExampleWriter write_example;
};

absl::StatusOr<Concatenation> Concatenate(const std::vector<const DataPart*>& parts) {
  Concatenation all;
  std::vector<int64_t> ends;
  std::vector<ExampleWriter> writers;
  for (const DataPart* part : parts) {
    if (!all.image_shape.empty() && part->image_shape != all.image_shape) {
      return absl::InvalidArgumentError(
          "the train part's images (after augmentation) are " +
          absl::StrJoin(parts[0]->image_shape, "x") + ", the others' " +
          absl::StrJoin(part->image_shape, "x") + ": pretraining on all parts needs one size");
    }
    all.image_shape = part->image_shape;
    all.size += part->size;
    ends.push_back(all.size);
    writers.push_back(part->write_example);
  }
  all.write_example = [ends, writers](int64_t index, int64_t epoch,
                                      const at::Tensor& image) -> absl::StatusOr<int64_t> {
    const size_t k = static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), index) -
                                         ends.begin());
    if (k >= ends.size()) return absl::OutOfRangeError("item " + std::to_string(index));
    const int64_t begin = k == 0 ? 0 : ends[k - 1];
    return writers[k](index - begin, epoch, image);
  };
  return all;
}

// What the run has finished, as <run_dir>/stages.json keeps it.
struct Stages {
  json config;
  std::vector<json> history;
  json done = json::object();  // stage name -> {"loss", "seconds"}
};

absl::Status WriteStages(const std::string& run_dir, const Stages& stages) {
  const json record = {{"config", stages.config},
                       {"history", stages.history},
                       {"done", stages.done}};
  return WriteFileAtomically(StagesPath(run_dir), ReplaceNonFinite(record).dump(2) + "\n");
}

absl::StatusOr<Stages> ReadStages(const std::string& run_dir) {
  const std::string path = StagesPath(run_dir);
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  const json record = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (record.is_discarded() || !record.is_object() || !record.contains("config") ||
      !record.contains("history") || !record.contains("done") ||
      !record["history"].is_array() || !record["done"].is_object()) {
    return absl::DataLossError(path + " is not a stages record of this trainer");
  }
  Stages stages;
  stages.config = record["config"];
  stages.history = record["history"].get<std::vector<json>>();
  stages.done = record["done"];
  return stages;
}

absl::Status CheckConfig(const json& found, const json& expected, const std::string& path) {
  if (found == expected) return absl::OkStatus();
  // Name the first setting that differs.
  std::string differs = "?";
  for (const auto& [key, value] : expected.items()) {
    if (!found.contains(key) || found[key] != value) {
      differs = key;
      break;
    }
  }
  return absl::FailedPreconditionError(path + " was written by a run with another configuration "
                                       "(first difference: " + differs + "); start afresh "
                                       "without --resume or use another --run_dir");
}

// The bottleneck codes of `part`, in order, without augmentation draws beyond the part's own.
absl::StatusOr<FeatureSet> Codes(ConvAutoencoderImpl& model, const std::string& name,
                                 const DataPart& part, const std::vector<std::string>& classes,
                                 const AutoencoderSvmOptions& options) {
  const bool was_training = model.is_training();
  model.eval();
  const c10::Device device = options.device;
  PartRowsOptions rows;
  rows.batch_size = options.code_batch_size;
  rows.workers = options.workers;
  rows.strict = options.strict;
  rows.progress = options.progress;
  rows.verb = "code";
  absl::StatusOr<PartRows> read = ReadPartRows(
      name, part, classes,
      [&model, device](const at::Tensor& images) -> absl::StatusOr<at::Tensor> {
        torch::NoGradGuard no_grad;
        return model.features(images.to(device)).to(at::kCPU, at::kFloat).contiguous();
      },
      rows);
  model.train(was_training);
  if (!read.ok()) return read.status();
  read->set.model = "autoencoder";
  read->set.layer = "bottleneck";
  return std::move(read->set);
}

// The SVM of stage 4 on codes: fitted on `train` (standardised first when asked), with its
// accuracy on each of `scored`.
struct SvmFit {
  std::optional<SvmModel> model;
  at::Tensor mean, std;  // Of the train codes' columns (standardize), else undefined.
  std::vector<double> accuracies;
};

absl::StatusOr<SvmFit> FitSvm(const FeatureSet& train, const std::vector<const FeatureSet*>& scored,
                              const AutoencoderSvmOptions& options) {
  SvmFit fit;
  at::Tensor x = train.features;
  const auto prepare = [&fit](const at::Tensor& features) {
    if (!fit.mean.defined()) return features;
    return ((features - fit.mean) / fit.std).contiguous();
  };
  if (options.standardize) {
    fit.mean = x.mean(0, /*keepdim=*/true);
    fit.std = x.std(0, /*unbiased=*/false, /*keepdim=*/true).clamp_min(1e-6);
  }
  ASSIGN_OR_RETURN(SvmModel model,
                   SvmModel::Fit(prepare(x), train.labels,
                                 static_cast<int64_t>(train.classes.size()), options.svm));
  for (const FeatureSet* set : scored) {
    fit.accuracies.push_back(model.Accuracy(prepare(set->features), set->labels));
  }
  fit.model = std::move(model);
  return fit;
}

// One training stage's loop.
struct StageRun {
  std::string stage;
  int64_t epochs = 0;
  double lr = 0;
  int64_t batch_size = 0;
  uint64_t stream = 0;
  const Concatenation* items = nullptr;
};

}  // namespace

absl::StatusOr<PretrainParts> ParsePretrainParts(const std::string& name) {
  if (name == "all") return PretrainParts::kAll;
  if (name == "train") return PretrainParts::kTrain;
  return absl::InvalidArgumentError("--pretrain_parts=" + name + ": expected all or train");
}

absl::Status ValidateAutoencoderSvmOptions(const AutoencoderSvmOptions& options) {
  const auto positive = [](const char* name, double value) -> absl::Status {
    if (value > 0 && std::isfinite(value)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(name, " must be positive, not ", value));
  };
  if (options.pretrain_epochs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("pretrain_epochs must be >= 0, not ", options.pretrain_epochs));
  }
  if (options.finetune_epochs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("finetune_epochs must be >= 0, not ", options.finetune_epochs));
  }
  RETURN_IF_ERROR(positive("pretrain_lr", options.pretrain_lr));
  RETURN_IF_ERROR(positive("lr", options.lr));
  RETURN_IF_ERROR(
      positive("pretrain_batch_size", static_cast<double>(options.pretrain_batch_size)));
  RETURN_IF_ERROR(positive("batch_size", static_cast<double>(options.batch_size)));
  RETURN_IF_ERROR(positive("code_batch_size", static_cast<double>(options.code_batch_size)));
  for (const auto& [name, beta] : {std::pair<const char*, double>{"beta1", options.beta1},
                                   {"beta2", options.beta2}}) {
    if (!(beta >= 0 && beta < 1)) {
      return absl::InvalidArgumentError(absl::StrCat(name, " must be in [0, 1), not ", beta));
    }
  }
  if (options.model.latent_dim() < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "latent_dim must be >= 1 (the FC bottleneck), not ", options.model.latent_dim()));
  }
  RETURN_IF_ERROR(ValidateConvAutoencoderOptions(options.model));
  RETURN_IF_ERROR(ValidateSvmParams(options.svm));
  if (options.run_dir.empty() || !std::filesystem::is_directory(options.run_dir)) {
    return absl::InvalidArgumentError("run_dir \"" + options.run_dir + "\" is not a folder");
  }
  return absl::OkStatus();
}

absl::StatusOr<LoadReport> LoadPretrainedAutoencoder(ConvAutoencoderImpl& full,
                                                     const NamedTensors& pretrained) {
  LoadOptions load;
  load.strict = false;
  ASSIGN_OR_RETURN(LoadReport report, LoadStateDict(full, pretrained, load));
  std::vector<std::string> wrong;
  for (const std::string& key : report.missing) {
    if (!IsFcKey(key)) wrong.push_back("missing " + key);
  }
  for (const std::string& key : report.unexpected) wrong.push_back("unexpected " + key);
  if (!wrong.empty()) {
    return absl::InvalidArgumentError(
        "the pretrained weights are not this autoencoder's without its FC layers: " +
        absl::StrJoin(wrong, ", "));
  }
  return report;
}

absl::StatusOr<AutoencoderSvmResult> TrainAutoencoderSvm(const Dataset& data,
                                                         const DataPart& plain_train,
                                                         const AutoencoderSvmOptions& options) {
  RETURN_IF_ERROR(ValidateAutoencoderSvmOptions(options));
  const int64_t size = options.model.image_size();
  const std::vector<int64_t> model_shape = {options.model.in_channels(), size, size};
  for (const auto& [name, part] : {std::pair<const char*, const DataPart*>{"train", &data.train},
                                   {"val", &data.val},
                                   {"test", &data.test},
                                   {"train (unaugmented)", &plain_train}}) {
    if (part->image_shape != model_shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          "the ", name, " part's images are ", absl::StrJoin(part->image_shape, "x"),
          "; the autoencoder takes ", absl::StrJoin(model_shape, "x")));
    }
  }
  const auto started = std::chrono::steady_clock::now();
  const std::string& run_dir = options.run_dir;
  AutoencoderSvmResult result;

  // What is done already.
  Stages stages;
  stages.config = options.config;
  if (options.resume && std::filesystem::exists(StagesPath(run_dir))) {
    ASSIGN_OR_RETURN(stages, ReadStages(run_dir));
    RETURN_IF_ERROR(CheckConfig(stages.config, options.config, StagesPath(run_dir)));
  } else if (!options.resume) {
    // A fresh run: nothing of an earlier run in this folder may be taken for this one's.
    for (const std::string& path :
         {StagesPath(run_dir), CheckpointPath(run_dir, kPretrain),
          CheckpointPath(run_dir, kFinetune)}) {
      std::error_code error;
      std::filesystem::remove(path, error);
    }
  }
  result.history = stages.history;
  // Training epochs done before this process: known when the first stage to run here starts.
  std::optional<int64_t> resumed_after;
  const auto stage_done = [&stages](const std::string& stage) {
    return stages.done.contains(stage);
  };

  // The metrics file holds this run's epochs: rewritten from what is known, then appended to.
  const std::string metrics_path = run_dir + "/metrics.jsonl";
  bool stopped = false;
  std::optional<MetricsSink> sink;
  const auto open_metrics = [&]() -> absl::Status {
    std::string lines;
    for (const json& line : result.history) lines += ReplaceNonFinite(line).dump() + "\n";
    RETURN_IF_ERROR(WriteFileAtomically(metrics_path, lines));
    sink.reset();
    ASSIGN_OR_RETURN(MetricsSink opened, MetricsSink::Open(metrics_path));
    sink.emplace(std::move(opened));
    return absl::OkStatus();
  };

  // The parts each stage trains on.
  std::vector<const DataPart*> pretrain_parts = {&data.train};
  if (options.pretrain_parts == PretrainParts::kAll) {
    pretrain_parts = {&data.train, &data.val, &data.test};
  }
  ASSIGN_OR_RETURN(const Concatenation pretrain_items, Concatenate(pretrain_parts));
  ASSIGN_OR_RETURN(const Concatenation finetune_items, Concatenate({&data.train}));

  // Per fine-tuning epoch (epoch_svm): an SVM on the epoch's codes, scored on val.
  const auto epoch_svm = [&](ConvAutoencoderImpl& model) -> absl::StatusOr<double> {
    AutoencoderSvmOptions quiet = options;
    quiet.progress = false;
    ASSIGN_OR_RETURN(FeatureSet train, Codes(model, "train", plain_train, data.class_names, quiet));
    ASSIGN_OR_RETURN(FeatureSet val, Codes(model, "val", data.val, data.class_names, quiet));
    ASSIGN_OR_RETURN(SvmFit fit, FitSvm(train, {&val}, options));
    return fit.accuracies[0];
  };

  // Trains `model` for one stage, from its checkpoint when resuming; returns the last loss.
  const auto train_stage = [&](ConvAutoencoderImpl& model, const StageRun& run,
                               bool* resumed) -> absl::StatusOr<double> {
    torch::optim::Adam adam(model.parameters(), torch::optim::AdamOptions(run.lr).betas(
                                                    {options.beta1, options.beta2}));
    const std::string checkpoint = CheckpointPath(run_dir, run.stage);
    int64_t done = 0;
    double last_loss = std::nan("");
    *resumed = false;
    if (options.resume && std::filesystem::exists(checkpoint)) {
      ASSIGN_OR_RETURN(CheckpointExtras extras, LoadCheckpoint(checkpoint, model, adam));
      RETURN_IF_ERROR(CheckConfig(extras.meta.value("config", json()), options.config,
                                  checkpoint));
      done = extras.meta.at("epoch").get<int64_t>();
      result.history = extras.meta.at("history").get<std::vector<json>>();
      last_loss = LossOf(extras.meta);
      *resumed = true;
    }
    if (!resumed_after) resumed_after = static_cast<int64_t>(result.history.size());
    RETURN_IF_ERROR(open_metrics());
    LoaderOptions loader_options;
    loader_options.batch_size = run.batch_size;
    loader_options.workers = options.workers;
    loader_options.seed = DeriveSeed(options.seed, run.stream, 0);
    loader_options.strict = options.strict;
    Loader loader(run.items->size, run.items->image_shape, run.items->write_example,
                  loader_options);
    model.train();
    for (int64_t epoch = done + 1; epoch <= run.epochs; ++epoch) {
      const auto epoch_start = std::chrono::steady_clock::now();
      SetLearningRate(adam, run.lr);
      RETURN_IF_ERROR(loader.StartEpoch(epoch));
      std::optional<ProgressBar> bar;
      if (options.progress) {
        ProgressOptions progress;
        progress.label = absl::StrCat(run.stage, " ", epoch, "/", run.epochs);
        progress.total = run.items->size;
        progress.unit = "img";
        bar.emplace(std::move(progress));
      }
      double total = 0;
      int64_t seen = 0;
      while (true) {
        ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
        if (!batch) break;
        const at::Tensor images = batch->images.to(options.device);
        const at::Tensor loss = model.reconstruction_loss(images);
        const double value = loss.item<double>();
        if (!std::isfinite(value)) {
          result.diverged = true;
          result.stop_reason = absl::StrCat("non-finite loss (", value, ") in ", run.stage,
                                            " epoch ", epoch);
          return value;
        }
        adam.zero_grad();
        loss.backward();
        adam.step();
        total += value * static_cast<double>(images.size(0));
        seen += images.size(0);
        if (bar) bar->Update(seen, {{"loss", total / static_cast<double>(seen)}});
      }
      if (bar) bar->Finish();
      if (seen == 0) return absl::InvalidArgumentError("no " + run.stage + " image could be read");
      last_loss = total / static_cast<double>(seen);
      const double train_seconds = SecondsSince(epoch_start);
      json line = {{"stage", run.stage}, {"epoch", epoch}, {"loss", last_loss},
                   {"lr", run.lr}, {"images_per_s", static_cast<double>(seen) / train_seconds}};
      if (run.stage == kFinetune && options.epoch_svm) {
        ASSIGN_OR_RETURN(line["svm_val_acc"], epoch_svm(model));
        model.train();
      }
      line["seconds"] = SecondsSince(epoch_start);
      result.history.push_back(line);
      RETURN_IF_ERROR(sink->Write(line));
      RETURN_IF_ERROR(SaveCheckpoint(checkpoint, model, adam,
                                     {{},
                                      {{"stage", run.stage},
                                       {"epoch", epoch},
                                       {"loss", last_loss},
                                       {"history", result.history},
                                       {"config", options.config}}}));
      if (options.keep_going && !options.keep_going(line)) {
        stopped = true;
        result.stop_reason = "stopped by the caller";
        break;
      }
    }
    return last_loss;
  };
  // The seconds of a stage's epochs in the history.
  const auto stage_seconds = [&result](const std::string& stage) {
    double seconds = 0;
    for (const json& line : result.history) {
      if (line.value("stage", "") == stage) seconds += line.value("seconds", 0.0);
    }
    return seconds;
  };
  const auto finish_stage = [&](const std::string& stage, torch::nn::Module& model,
                                const std::string& weights, double loss) -> absl::Status {
    RETURN_IF_ERROR(SaveWeights(model, run_dir + "/" + weights));
    stages.history = result.history;
    stages.done[stage] = {{"loss", loss}, {"seconds", stage_seconds(stage)},
                          {"weights", weights}};
    return WriteStages(run_dir, stages);
  };

  // Stage 1: the FC-free autoencoder.
  const std::string pretrained_path = run_dir + "/pretrain.safetensors";
  if (!stage_done(kPretrain)) {
    ConvAutoencoderOptions pretrain_options = options.model;
    pretrain_options.latent_dim(0);
    at::manual_seed(DeriveSeed(options.seed, kPretrainStream, 1));
    ConvAutoencoder model(pretrain_options);
    model->to(options.device);
    bool resumed = false;
    ASSIGN_OR_RETURN(const double loss,
                     train_stage(*model,
                                 {kPretrain, options.pretrain_epochs, options.pretrain_lr,
                                  options.pretrain_batch_size, kPretrainStream, &pretrain_items},
                                 &resumed));
    if (result.diverged || stopped) {
      result.resumed_after = resumed_after.value_or(0);
      result.wall_seconds = SecondsSince(started);
      return result;
    }
    RETURN_IF_ERROR(finish_stage(kPretrain, *model, "pretrain.safetensors", loss));
  }
  result.pretrain_loss = LossOf(stages.done[kPretrain]);

  // Stage 2: the full autoencoder from stage 1's weights.
  at::manual_seed(DeriveSeed(options.seed, kFinetuneStream, 1));
  ConvAutoencoder model(options.model);
  const std::string autoencoder_path = run_dir + "/autoencoder.safetensors";
  ASSIGN_OR_RETURN(const NamedTensors pretrained, ReadTensorFile(pretrained_path));
  ASSIGN_OR_RETURN(const LoadReport transfer, LoadPretrainedAutoencoder(*model, pretrained));
  result.transfer = {{"loaded", transfer.loaded.size()}, {"new", transfer.missing}};
  model->to(options.device);
  if (!stage_done(kFinetune)) {
    bool resumed = false;
    ASSIGN_OR_RETURN(const double loss,
                     train_stage(*model,
                                 {kFinetune, options.finetune_epochs, options.lr,
                                  options.batch_size, kFinetuneStream, &finetune_items},
                                 &resumed));
    if (result.diverged || stopped) {
      result.resumed_after = resumed_after.value_or(0);
      result.wall_seconds = SecondsSince(started);
      return result;
    }
    RETURN_IF_ERROR(finish_stage(kFinetune, *model, "autoencoder.safetensors", loss));
  } else {
    RETURN_IF_ERROR(LoadWeights(*model, autoencoder_path).status());
    RETURN_IF_ERROR(open_metrics());
  }
  result.finetune_loss = LossOf(stages.done[kFinetune]);
  result.resumed_after = resumed_after.value_or(static_cast<int64_t>(result.history.size()));
  result.pretrain_seconds = stage_seconds(kPretrain);
  result.finetune_seconds = stage_seconds(kFinetune);

  // Stage 3: the codes.
  const auto codes_start = std::chrono::steady_clock::now();
  std::error_code error;
  std::filesystem::create_directories(run_dir + "/codes", error);
  if (error) return absl::PermissionDeniedError("cannot create " + run_dir + "/codes");
  FeatureSet codes[3];
  const char* names[] = {"train", "val", "test"};
  const DataPart* parts[] = {&plain_train, &data.val, &data.test};
  for (size_t k = 0; k < 3; ++k) {
    ASSIGN_OR_RETURN(codes[k], Codes(*model, names[k], *parts[k], data.class_names, options));
    RETURN_IF_ERROR(
        WriteFeatureSet(run_dir + "/codes/" + names[k] + ".safetensors", codes[k]));
  }
  result.codes_seconds = SecondsSince(codes_start);

  // Stage 4: the SVM.
  const auto svm_start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(SvmFit fit, FitSvm(codes[0], {&codes[0], &codes[1], &codes[2]}, options));
  result.svm_seconds = SecondsSince(svm_start);
  RETURN_IF_ERROR(fit.model->Save(run_dir + "/svm.safetensors", data.class_names));
  result.train_acc = fit.accuracies[0];
  result.val_acc = fit.accuracies[1];
  result.test_acc = fit.accuracies[2];
  result.train_count = codes[0].size();
  result.val_count = codes[1].size();
  result.test_count = codes[2].size();
  result.svm = {{"kernel", options.svm.kernel},
                {"C", options.svm.C},
                {"gamma", options.svm.gamma},
                {"gamma_value", fit.model->kernel().gamma},
                {"standardize", options.standardize},
                {"support_vectors", fit.model->support().size(0)},
                {"code_dim", codes[0].dim()},
                {"converged", fit.model->stats().converged}};
  const json line = {{"stage", "svm"},           {"train_acc", result.train_acc},
                     {"val_acc", result.val_acc}, {"test_acc", result.test_acc},
                     {"codes_seconds", result.codes_seconds},
                     {"seconds", result.svm_seconds}};
  RETURN_IF_ERROR(sink->Write(line));
  result.finished = true;
  result.stop_reason = absl::StrCat("completed ", options.pretrain_epochs, " pretraining and ",
                                    options.finetune_epochs, " fine-tuning epochs");
  result.wall_seconds = SecondsSince(started);
  return result;
}

}  // namespace fauna
