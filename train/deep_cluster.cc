#include "train/deep_cluster.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <utility>

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <absl/strings/str_cat.h>
#include <torch/autograd.h>
#include <torch/optim/adam.h>

#include "core/atomic_file.h"
#include "core/metrics_sink.h"
#include "core/progress.h"
#include "core/safetensors.h"
#include "core/seed.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "eval/tsne.h"
#include "models/heads/gmm.h"
#include "models/state_dict.h"
#include "models/vade.h"
#include "train/checkpoint.h"
#include "train/optimizer.h"

namespace fauna {
namespace {

constexpr char kPretrain[] = "pretrain";
constexpr char kCluster[] = "cluster";

// Indices of the parts in DeriveSeed streams.
constexpr uint64_t kPretrainStream = 1, kClusterStream = 2, kStartStream = 3;

std::unique_ptr<torch::optim::Adam> MakeAdam(DeepClustererImpl& model, double lr) {
  return std::make_unique<torch::optim::Adam>(model.parameters(), torch::optim::AdamOptions(lr));
}

// The rows the model is fitted on.
at::Tensor FitRows(const ClusterData& data, bool all) {
  if (!all) return data.train.features;
  return at::cat({data.train.features, data.val.features, data.test.features}, 0);
}

// Scores of the model's clusters on each part, and on all parts together ("all").
absl::StatusOr<std::map<std::string, ClusterScores>> ScoreParts(DeepClustererImpl& model,
                                                               const ClusterData& data,
                                                               int64_t batch_size) {
  std::map<std::string, ClusterScores> scores;
  std::vector<at::Tensor> labels, predictions;
  for (const auto& [name, set] : {std::pair<const char*, const FeatureSet*>{"train", &data.train},
                                  {"val", &data.val},
                                  {"test", &data.test}}) {
    if (set->size() == 0) continue;
    predictions.push_back(PredictClusters(model, set->features, batch_size));
    labels.push_back(set->labels);
    ASSIGN_OR_RETURN(scores[name], ScoreClustering(labels.back(), predictions.back()));
  }
  ASSIGN_OR_RETURN(scores["all"], ScoreClustering(at::cat(labels), at::cat(predictions)));
  return scores;
}

struct ClusterEpoch {
  std::string phase;
  int64_t epoch = 0;
  double lr = 0, loss = 0, seconds = 0;
  double train_seconds = 0;  // Of the optimisation pass alone (not scoring).
  std::map<std::string, ClusterScores> scores;

  nlohmann::json ToJson() const {
    nlohmann::json json = {{"phase", phase}, {"epoch", epoch}, {"lr", lr}, {"seconds", seconds},
                           {"train_seconds", train_seconds}};
    if (std::isfinite(loss)) json["loss"] = loss;  // The start has none.
    for (const auto& [part, s] : scores) {
      json[part + "_acc"] = s.accuracy;
      json[part + "_nmi"] = s.nmi;
      json[part + "_ari"] = s.ari;
    }
    return json;
  }
};

// One pass over `x` in a seeded random order: the mean of `loss_fn(batch, its row indices)` over
// the batches, weighted by their rows. Stops at the first non-finite batch loss (returned as it
// is, no step taken).
template <typename LossFn>
double RunEpoch(const at::Tensor& x, int64_t batch_size, uint64_t order_seed,
                torch::optim::Optimizer& optimizer, const LossFn& loss_fn,
                const std::string& label, bool progress) {
  const int64_t n = x.size(0);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(order_seed);
  const at::Tensor order = at::randperm(n, generator, at::kLong);
  std::optional<ProgressBar> bar;
  if (progress) {
    ProgressOptions options;
    options.label = label;
    options.total = n;
    options.unit = "row";
    bar.emplace(std::move(options));
  }
  double total = 0;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t size = std::min(batch_size, n - begin);
    const at::Tensor rows = order.narrow(0, begin, size);
    const at::Tensor loss = loss_fn(x.index_select(0, rows), rows);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) return value;
    optimizer.zero_grad();
    loss.backward();
    optimizer.step();
    total += value * static_cast<double>(size);
    if (bar) bar->Update(begin + size, {{"loss", total / static_cast<double>(begin + size)}});
  }
  if (bar) bar->Finish();
  return total / static_cast<double>(n);
}

// Each cluster's weight, mean and variance of `codes` [N, D] under hard `labels` [N] in [0, k);
// an empty cluster gets a tiny weight, the overall mean and variance.
void PriorFromLabels(const at::Tensor& codes, const at::Tensor& labels, int64_t k,
                     at::Tensor* weights, at::Tensor* means, at::Tensor* variances) {
  const at::Tensor x = codes.to(at::kDouble);
  const at::Tensor one_hot = at::one_hot(labels, k).to(at::kDouble);  // [N, K]
  const at::Tensor counts = one_hot.sum(0);                          // [K]
  const at::Tensor safe = counts.clamp_min(1).unsqueeze(1);
  at::Tensor m = one_hot.t().mm(x) / safe;
  at::Tensor v = one_hot.t().mm(x * x) / safe - m * m;
  const at::Tensor empty = (counts == 0).unsqueeze(1);
  m = at::where(empty, x.mean(0).unsqueeze(0).expand_as(m), m);
  v = at::where(empty, x.var(0).unsqueeze(0).expand_as(v), v);
  *weights = (counts + 1e-6) / (counts.sum() + 1e-6 * static_cast<double>(k));
  *means = m;
  *variances = v.clamp_min(0) + 1e-6;  // GMM's reg_covar
}

// The start's GMM on `x`: `restarts` fits, each from its own k-means start, and the one kept is
// the most likely (likelihood, one Fit with n_init restarts) or, with consensus, the one whose
// clusters agree best with the other fits' (the highest mean NMI to them: the medoid of the
// restarts, which no single unlucky optimum can be). Notes the choice in `record`.
absl::StatusOr<GaussianMixture> FitStartGmm(const at::Tensor& x, GmmOptions gmm_options,
                                            int64_t restarts, StartSelect select,
                                            nlohmann::json* record) {
  (*record)["select"] = select == StartSelect::kLikelihood ? "likelihood" : "consensus";
  if (select == StartSelect::kLikelihood || restarts == 1) {
    gmm_options.n_init = restarts;
    return GaussianMixture::Fit(x, gmm_options);
  }
  std::vector<GaussianMixture> fits;
  std::vector<std::vector<int64_t>> labels;
  const uint64_t seed = gmm_options.seed;
  gmm_options.n_init = 1;
  for (int64_t r = 0; r < restarts; ++r) {
    gmm_options.seed = DeriveSeed(seed, 0, static_cast<uint64_t>(r));
    ASSIGN_OR_RETURN(GaussianMixture fit, GaussianMixture::Fit(x, gmm_options));
    const at::Tensor fit_labels = fit.labels().to(at::kLong).contiguous();
    labels.emplace_back(fit_labels.data_ptr<int64_t>(),
                        fit_labels.data_ptr<int64_t>() + fit_labels.numel());
    fits.push_back(std::move(fit));
  }
  std::vector<double> agreement(static_cast<size_t>(restarts), 0.0);
  for (size_t a = 0; a < labels.size(); ++a) {
    for (size_t b = a + 1; b < labels.size(); ++b) {
      ASSIGN_OR_RETURN(const ContingencyTable table, MakeContingencyTable(labels[a], labels[b]));
      const double nmi = NormalizedMutualInfo(table);
      agreement[a] += nmi / static_cast<double>(restarts - 1);
      agreement[b] += nmi / static_cast<double>(restarts - 1);
    }
  }
  const size_t chosen = static_cast<size_t>(
      std::max_element(agreement.begin(), agreement.end()) - agreement.begin());
  (*record)["chosen_restart"] = chosen;
  (*record)["agreement"] = agreement;
  return std::move(fits[chosen]);
}

// Stage 2: VaDE's prior from the codes of the fit rows. Returns the record of how, and sets
// `gamma` to the start's cluster probabilities of the fit rows [N, K] (float32).
absl::StatusOr<nlohmann::json> StartPrior(VadeImpl& vade, const at::Tensor& fit_rows,
                                          const DeepClusterOptions& options, at::Tensor* gamma) {
  const auto start = std::chrono::steady_clock::now();
  const at::Tensor codes = LatentCodes(vade, fit_rows, options.eval_batch_size);
  const int64_t k = vade.clusters();
  GmmOptions gmm_options;
  gmm_options.k = k;
  gmm_options.seed = DeriveSeed(options.seed, kStartStream, 0);
  nlohmann::json record = {{"restarts", options.gmm_restarts}};
  if (options.start == PriorStart::kGmm) {
    gmm_options.covariance_type = CovarianceType::kDiag;
    ASSIGN_OR_RETURN(GaussianMixture gmm, FitStartGmm(codes, gmm_options, options.gmm_restarts,
                                                      options.start_select, &record));
    vade.set_prior(gmm.weights(), gmm.means(), gmm.covariances());
    ASSIGN_OR_RETURN(*gamma, gmm.PredictProba(codes));
    record["method"] = "gmm";
    record["log_likelihood"] = gmm.lower_bound();
  } else {
    TsneOptions tsne_options;
    tsne_options.dims = 2;
    tsne_options.seed = DeriveSeed(options.seed, kStartStream, 1);
    ASSIGN_OR_RETURN(TsneResult tsne, RunTsne(codes, tsne_options));
    gmm_options.covariance_type = CovarianceType::kFull;
    ASSIGN_OR_RETURN(GaussianMixture gmm,
                     FitStartGmm(tsne.embedding, gmm_options, options.gmm_restarts,
                                 options.start_select, &record));
    at::Tensor weights, means, variances;
    PriorFromLabels(codes, gmm.labels(), k, &weights, &means, &variances);
    vade.set_prior(weights, means, variances);
    ASSIGN_OR_RETURN(*gamma, gmm.PredictProba(tsne.embedding));
    record["method"] = "tsne";
    record["tsne_kl"] = tsne.kl_divergence;
    record["tsne_seconds"] = tsne.affinity_seconds + tsne.optimise_seconds;
    record["map_log_likelihood"] = gmm.lower_bound();
  }
  *gamma = gamma->to(at::kFloat).contiguous();
  record["seconds"] = SecondsSince(start);
  return record;
}

}  // namespace

absl::StatusOr<StartSelect> ParseStartSelect(const std::string& name) {
  if (name == "likelihood") return StartSelect::kLikelihood;
  if (name == "consensus") return StartSelect::kConsensus;
  return absl::InvalidArgumentError("unknown start selection \"" + name +
                                    "\": expected likelihood or consensus");
}

absl::StatusOr<PriorStart> ParsePriorStart(const std::string& name) {
  if (name == "gmm") return PriorStart::kGmm;
  if (name == "tsne") return PriorStart::kTsne;
  return absl::InvalidArgumentError("unknown prior start \"" + name + "\": expected gmm or tsne");
}

absl::Status ValidateDeepClusterOptions(const DeepClusterOptions& options) {
  const auto positive = [](const char* name, double value) -> absl::Status {
    if (value > 0 && std::isfinite(value)) return absl::OkStatus();
    return absl::InvalidArgumentError(absl::StrCat(name, " must be positive, not ", value));
  };
  if (options.pretrain_epochs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("pretrain_epochs must be >= 0, not ", options.pretrain_epochs));
  }
  if (options.epochs < 0) {
    return absl::InvalidArgumentError(absl::StrCat("epochs must be >= 0, not ", options.epochs));
  }
  RETURN_IF_ERROR(positive("pretrain_lr", options.pretrain_lr));
  RETURN_IF_ERROR(
      positive("pretrain_batch_size", static_cast<double>(options.pretrain_batch_size)));
  RETURN_IF_ERROR(positive("gmm_restarts", static_cast<double>(options.gmm_restarts)));
  RETURN_IF_ERROR(positive("lr", options.lr));
  RETURN_IF_ERROR(positive("batch_size", static_cast<double>(options.batch_size)));
  RETURN_IF_ERROR(positive("lr_gamma", options.lr_gamma));
  RETURN_IF_ERROR(positive("eval_batch_size", static_cast<double>(options.eval_batch_size)));
  if (!(options.pretrain_noise >= 0 && options.pretrain_noise < 1)) {
    return absl::InvalidArgumentError(
        absl::StrCat("pretrain_noise must be in [0, 1), not ", options.pretrain_noise));
  }
  if (options.anchor_epochs < 0 || options.anchor_epochs > options.epochs) {
    return absl::InvalidArgumentError(absl::StrCat("anchor_epochs must be in [0, epochs = ",
                                                   options.epochs, "], not ",
                                                   options.anchor_epochs));
  }
  if (options.lr_step_epochs < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("lr_step_epochs must be >= 0, not ", options.lr_step_epochs));
  }
  if (options.run_dir.empty() || !std::filesystem::is_directory(options.run_dir)) {
    return absl::InvalidArgumentError("run_dir \"" + options.run_dir + "\" is not a folder");
  }
  return absl::OkStatus();
}

namespace {

// `rows_of(batch)` for every `batch_size` rows of `x`, concatenated, in eval mode without
// gradients; the model's mode is restored.
template <typename RowsOf>
at::Tensor MapRows(DeepClustererImpl& model, const at::Tensor& x, int64_t batch_size,
                   const RowsOf& rows_of) {
  const bool was_training = model.is_training();
  model.eval();
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> parts;
  for (int64_t begin = 0; begin < x.size(0); begin += batch_size) {
    parts.push_back(rows_of(x.narrow(0, begin, std::min(batch_size, x.size(0) - begin))));
  }
  model.train(was_training);
  return at::cat(parts);
}

}  // namespace

at::Tensor PredictClusters(DeepClustererImpl& model, const at::Tensor& x, int64_t batch_size) {
  return MapRows(model, x, batch_size, [&model](const at::Tensor& rows) {
    return model.responsibilities(rows).argmax(1);
  });
}

at::Tensor LatentCodes(DeepClustererImpl& model, const at::Tensor& x, int64_t batch_size) {
  return MapRows(model, x, batch_size,
                 [&model](const at::Tensor& rows) { return model.latent(rows); });
}

absl::StatusOr<DeepClusterResult> TrainDeepClusterer(std::shared_ptr<DeepClustererImpl> model,
                                                     const ClusterData& data,
                                                     const DeepClusterOptions& options) {
  RETURN_IF_ERROR(ValidateDeepClusterOptions(options));
  for (const auto& [name, set] : {std::pair<const char*, const FeatureSet*>{"train", &data.train},
                                  {"val", &data.val},
                                  {"test", &data.test}}) {
    if (set->size() > 0 && set->dim() != model->input_dim()) {
      return absl::InvalidArgumentError(absl::StrCat("the ", name, " rows have ", set->dim(),
                                                     " columns; the model takes ",
                                                     model->input_dim()));
    }
  }
  if (data.train.size() == 0) return absl::InvalidArgumentError("no training rows");
  const auto started = std::chrono::steady_clock::now();
  VadeImpl* vade = dynamic_cast<VadeImpl*>(model.get());
  const int64_t pretrain_epochs = vade != nullptr ? options.pretrain_epochs : 0;
  const at::Tensor fit_rows = FitRows(data, options.fit_on_all);

  // Progress so far: the phase and the epochs done in it.
  std::string phase = pretrain_epochs > 0 ? kPretrain : kCluster;
  int64_t done = 0;
  bool started_prior = false;  // Clustering epoch 0 (the start) is scored.
  DeepClusterResult result;
  std::unique_ptr<torch::optim::Adam> adam =
      MakeAdam(*model, phase == kPretrain ? options.pretrain_lr : options.lr);
  const std::string checkpoint_path = options.run_dir + "/checkpoint.pt";
  // The start's cluster probabilities of the fit rows, for the anchored warm-up; kept beside the
  // checkpoint so a resumed warm-up anchors to the same ones.
  const std::string start_path = options.run_dir + "/start.safetensors";
  at::Tensor start_gamma;
  if (options.resume && std::filesystem::exists(checkpoint_path)) {
    ASSIGN_OR_RETURN(CheckpointExtras extras, LoadCheckpoint(checkpoint_path, *model, *adam));
    const nlohmann::json& meta = extras.meta;
    if (meta.value("config", nlohmann::json()) != options.config) {
      return absl::FailedPreconditionError(
          checkpoint_path + " was written by a run with another configuration: " +
          meta.value("config", nlohmann::json()).dump() + "; this run: " +
          options.config.dump());
    }
    phase = meta.at("phase").get<std::string>();
    done = meta.at("epoch").get<int64_t>();
    started_prior = phase == kCluster;
    result.history = meta.at("history").get<std::vector<nlohmann::json>>();
    result.start = meta.value("start", nlohmann::json());
    result.resumed_after = static_cast<int64_t>(result.history.size());
    if (started_prior && vade != nullptr && done < options.anchor_epochs) {
      ASSIGN_OR_RETURN(SafetensorsContents start_file, ReadSafetensors(start_path));
      const auto found = start_file.tensors.find("responsibilities");
      if (found == start_file.tensors.end() || found->second.dim() != 2 ||
          found->second.size(0) != fit_rows.size(0)) {
        return absl::DataLossError(start_path + " does not hold this run's start");
      }
      start_gamma = found->second;
    }
  }
  // The metrics file holds this run's epochs only: emptied for a fresh run; on a resume, the
  // checkpoint's history (a line written after the last checkpoint is done again).
  const std::string metrics_path = options.run_dir + "/metrics.jsonl";
  std::string lines;
  for (const nlohmann::json& line : result.history) lines += ReplaceNonFinite(line).dump() + "\n";
  RETURN_IF_ERROR(WriteFileAtomically(metrics_path, lines));
  ASSIGN_OR_RETURN(MetricsSink sink, MetricsSink::Open(metrics_path));
  const auto save = [&]() -> absl::Status {
    return SaveCheckpoint(checkpoint_path, *model, *adam,
                          {{},
                           {{"phase", phase},
                            {"epoch", done},
                            {"history", result.history},
                            {"start", result.start},
                            {"config", options.config}}});
  };
  bool stopped = false;  // By options.keep_going.
  // The scores of the model as it is now, when the last thing done to it was scoring it (then the
  // final scores are those, not another pass over every part).
  std::optional<std::map<std::string, ClusterScores>> scores_of_model;
  const auto record = [&](const ClusterEpoch& epoch) -> absl::Status {
    const nlohmann::json line = epoch.ToJson();
    result.history.push_back(line);
    RETURN_IF_ERROR(sink.Write(line));
    RETURN_IF_ERROR(save());
    if (options.keep_going && !options.keep_going(line)) stopped = true;
    return absl::OkStatus();
  };

  model->train();
  // Stage 1: the autoencoder.
  if (phase == kPretrain) {
    for (int64_t epoch = done + 1; !stopped && epoch <= pretrain_epochs; ++epoch) {
      const auto epoch_start = std::chrono::steady_clock::now();
      SetLearningRate(*adam, options.pretrain_lr);
      const double loss = RunEpoch(
          fit_rows, options.pretrain_batch_size, DeriveSeed(options.seed, kPretrainStream, epoch),
          *adam,
          [vade, &options](const at::Tensor& x, const at::Tensor&) {
            if (options.pretrain_noise == 0) return vade->autoencoder_loss(x).mean();
            // Masking noise: the autoencoder restores the clean rows from corrupted ones.
            const at::Tensor kept = at::rand_like(x) >= options.pretrain_noise;
            return vade->autoencoder_loss(x * kept, x).mean();
          },
          absl::StrCat("pretrain ", epoch, "/", pretrain_epochs), options.progress);
      if (!std::isfinite(loss)) {
        result.diverged = true;
        result.stop_reason = absl::StrCat("non-finite loss (", loss, ") in pretraining epoch ",
                                          epoch);
        break;
      }
      done = epoch;
      const double seconds = SecondsSince(epoch_start);
      ClusterEpoch line{kPretrain, epoch, options.pretrain_lr, loss, seconds, seconds, {}};
      RETURN_IF_ERROR(record(line));
    }
    if (!result.diverged && !stopped) {
      // The pretrained autoencoder alone, for other runs to start from (--init_autoencoder).
      RETURN_IF_ERROR(SaveWeights(*vade->vae(), options.run_dir + "/autoencoder.safetensors"));
      phase = kCluster;
      done = 0;
    }
  }
  // Stage 2: the start, scored as clustering epoch 0.
  if (!result.diverged && !stopped && !started_prior) {
    const auto start_time = std::chrono::steady_clock::now();
    if (vade != nullptr) {
      ASSIGN_OR_RETURN(result.start, StartPrior(*vade, fit_rows, options, &start_gamma));
      RETURN_IF_ERROR(WriteSafetensors(start_path, {{"responsibilities", start_gamma}}));
      // How good the start's own clusters are (the map's, for tsne), before p(c | z) scores it.
      const at::Tensor fit_labels =
          options.fit_on_all ? at::cat({data.train.labels, data.val.labels, data.test.labels})
                             : data.train.labels;
      ASSIGN_OR_RETURN(const ClusterScores own, ScoreClustering(fit_labels, start_gamma.argmax(1)));
      result.start["fit_rows_acc"] = own.accuracy;
      result.start["fit_rows_nmi"] = own.nmi;
    } else {
      result.start = {{"method", "initialisation"}};
    }
    adam = MakeAdam(*model, options.lr);  // Stage 3's own moments.
    ClusterEpoch line{kCluster, 0, options.lr, std::nan(""), SecondsSince(start_time), 0, {}};
    ASSIGN_OR_RETURN(line.scores, ScoreParts(*model, data, options.eval_batch_size));
    scores_of_model = line.scores;
    RETURN_IF_ERROR(record(line));
  }
  // Stage 3: the whole model on its ELBO.
  for (int64_t epoch = done + 1; !result.diverged && !stopped && epoch <= options.epochs;
       ++epoch) {
    const auto epoch_start = std::chrono::steady_clock::now();
    const double lr =
        options.lr * (options.lr_step_epochs > 0
                          ? std::pow(options.lr_gamma, (epoch - 1) / options.lr_step_epochs)
                          : 1.0);
    SetLearningRate(*adam, lr);
    const bool anchored = vade != nullptr && epoch <= options.anchor_epochs;
    const double loss = RunEpoch(
        fit_rows, options.batch_size, DeriveSeed(options.seed, kClusterStream, epoch), *adam,
        [&](const at::Tensor& x, const at::Tensor& rows) {
          if (anchored) return vade->negative_elbo(x, start_gamma.index_select(0, rows)).mean();
          return model->negative_elbo(x).mean();
        },
        absl::StrCat(anchored ? "anchored " : "cluster ", epoch, "/", options.epochs),
        options.progress);
    scores_of_model.reset();  // The epoch's steps changed the model.
    if (!std::isfinite(loss)) {
      result.diverged = true;
      result.stop_reason = absl::StrCat("non-finite loss (", loss, ") in clustering epoch ", epoch);
      break;
    }
    done = epoch;
    ClusterEpoch line{kCluster, epoch, lr, loss, 0, SecondsSince(epoch_start), {}};
    ASSIGN_OR_RETURN(line.scores, ScoreParts(*model, data, options.eval_batch_size));
    scores_of_model = line.scores;
    line.seconds = SecondsSince(epoch_start);
    RETURN_IF_ERROR(record(line));
  }
  if (stopped) {
    result.stop_reason = "stopped by the caller";
  } else if (!result.diverged) {
    result.stop_reason = absl::StrCat("completed ", pretrain_epochs, " pretraining and ",
                                      options.epochs, " clustering epochs");
  }
  if (scores_of_model.has_value()) {
    result.final_scores = *std::move(scores_of_model);
  } else {
    ASSIGN_OR_RETURN(result.final_scores, ScoreParts(*model, data, options.eval_batch_size));
  }
  result.wall_seconds = SecondsSince(started);
  return result;
}

}  // namespace fauna
