// Training without labels: the loop of VaDE and GMVAE (models/deep_clusterer.h) on rows of
// features or pixels, the AFHQ study's section D. Labels are read only to score.
//
// VaDE trains in three stages, each resumable:
//   1. pretrain  the VAE as an autoencoder (z = posterior mean, reconstruction only), Adam;
//                its weights are then written to <run_dir>/autoencoder.safetensors;
//   2. start     the mixture prior from the pretrained codes, without labels:
//                  gmm   a diagonal GMM fitted on the codes, `gmm_restarts` restarts, the most
//                        likely kept (the reference code's start) or the consensus
//                        (`start_select`);
//                  tsne  a 2-D t-SNE map of the codes, a full-covariance GMM on the map with
//                        restarts (selected as for gmm), and the prior set to each of its
//                        clusters' weight, mean and variance in the code space (a manifold step
//                        as N2D takes: clusters that are curved or touching in the code space are
//                        separated on the map);
//   3. cluster   the whole model on its ELBO, Adam. The first `anchor_epochs` are an anchored
//                warm-up: the ELBO's responsibilities are the start's cluster probabilities
//                (fixed; <run_dir>/start.safetensors) instead of p(c | z). The start's clusters
//                come from a map of the codes (tsne) and need not be Gaussian in the code space;
//                the warm-up moves the codes and the prior until the code-space mixture holds
//                them, where scoring the start with p(c | z) at once would reassign points to the
//                nearest Gaussian and lose the map's clustering.
// GMVAE has no stages 1 and 2: it trains from its initialisation, as the study ran it.
//
// After every epoch: a line in <run_dir>/metrics.jsonl ({"phase": "pretrain"|"cluster",
// "epoch", "lr", "loss", "seconds", "train_seconds" (the optimisation pass without scoring), and
// for clustering epochs "<part>_acc", "<part>_nmi", "<part>_ari" of the train, val and test
// parts and of all three together ("all_acc", ...; Hungarian-matched ACC), and an atomic
// <run_dir>/checkpoint.pt, so a run killed at any moment resumes (options.resume) and ends with
// the same numbers. Clustering epoch 0 scores the start. A non-finite loss stops the run cleanly.
#ifndef FAUNA_TRAIN_DEEP_CLUSTER_H_
#define FAUNA_TRAIN_DEEP_CLUSTER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <nlohmann/json.hpp>

#include "data/features_file.h"
#include "eval/clustering_metrics.h"
#include "models/deep_clusterer.h"

namespace fauna {

// How VaDE's prior starts (stage 2).
enum class PriorStart { kGmm, kTsne };

// "gmm" or "tsne".
absl::StatusOr<PriorStart> ParsePriorStart(const std::string& name);

// Which of the start's GMM restarts is kept: the most likely, or the consensus (the restart whose
// clusters agree best, by mean NMI, with the other restarts'; no labels). On Fashion-MNIST codes
// the most likely of 12 restarts was not the best clustering, the consensus was closer to it.
enum class StartSelect { kLikelihood, kConsensus };

// "likelihood" or "consensus".
absl::StatusOr<StartSelect> ParseStartSelect(const std::string& name);

struct DeepClusterOptions {
  // Stage 1 (VaDE only).
  int64_t pretrain_epochs = 10;
  double pretrain_lr = 1e-3;
  int64_t pretrain_batch_size = 256;
  // Denoising pretraining: each input value is zeroed with this probability and the clean row
  // is the target (0: a plain autoencoder).
  double pretrain_noise = 0;
  // Stage 2 (VaDE only).
  PriorStart start = PriorStart::kGmm;
  int64_t gmm_restarts = 10;
  StartSelect start_select = StartSelect::kLikelihood;
  // Stage 3.
  int64_t epochs = 10;
  int64_t anchor_epochs = 0;  // VaDE: the anchored warm-up's epochs, counted in `epochs`.
  double lr = 1e-4;
  int64_t batch_size = 64;
  // Multiply the rate by lr_gamma every lr_step_epochs clustering epochs (0: never).
  int64_t lr_step_epochs = 0;
  double lr_gamma = 1.0;
  // Fit on train + val + test (clustering is transductive; published Fashion-MNIST figures are
  // on all 70,000 images) instead of the train part only. Every part is still scored alone.
  bool fit_on_all = false;
  // Rows per forward pass when scoring.
  int64_t eval_batch_size = 4096;
  // Where metrics.jsonl and checkpoint.pt go (must exist).
  std::string run_dir;
  // Continue from <run_dir>/checkpoint.pt, written with the same `config`.
  bool resume = false;
  bool progress = true;
  uint64_t seed = 0;
  // Kept in every checkpoint and compared on resume.
  nlohmann::json config = nlohmann::json::object();
  // When set, called with each epoch's metrics line after its checkpoint is written; false stops
  // the run there, as a kill would (tests use it to interrupt a run at any epoch).
  std::function<bool(const nlohmann::json& line)> keep_going;
};

// Checks the options: epoch counts >= 0, positive batch sizes and rates, anchor_epochs within
// epochs, a noise level in [0, 1), an existing run_dir.
absl::Status ValidateDeepClusterOptions(const DeepClusterOptions& options);

// The rows to cluster: each part's features float32 [N, D] and labels (for scoring only).
struct ClusterData {
  FeatureSet train, val, test;
};

struct DeepClusterResult {
  // Every epoch's metrics.jsonl line, those before a resume included.
  std::vector<nlohmann::json> history;
  // Scores of the final model by part ("train", "val", "test", and "all" three together).
  std::map<std::string, ClusterScores> final_scores;
  // The start (clustering epoch 0) and how it was chosen: {"method", "seconds", ...,
  // "fit_rows_acc" and "fit_rows_nmi": the scores of the start's own clusters on the fit rows}.
  nlohmann::json start;
  std::string stop_reason;
  bool diverged = false;
  // Lines of metrics.jsonl (epochs of both phases and the start) done before this process; 0 for
  // a fresh run.
  int64_t resumed_after = 0;
  double wall_seconds = 0;    // Of this process.
};

// Trains `model` (a VadeImpl or a GmvaeImpl, on the CPU) on `data`. Errors: bad options, data
// whose width is not the model's input, a checkpoint that does not match on resume, a failed
// write.
absl::StatusOr<DeepClusterResult> TrainDeepClusterer(std::shared_ptr<DeepClustererImpl> model,
                                                     const ClusterData& data,
                                                     const DeepClusterOptions& options);

// Hard cluster assignments (argmax of the responsibilities) of the rows of `x`, in eval mode
// without gradients, `batch_size` rows at a time. The model's mode is restored.
at::Tensor PredictClusters(DeepClustererImpl& model, const at::Tensor& x, int64_t batch_size);

// The latent codes (posterior means) of the rows of `x`, as PredictClusters computes.
at::Tensor LatentCodes(DeepClustererImpl& model, const at::Tensor& x, int64_t batch_size);

}  // namespace fauna

#endif  // FAUNA_TRAIN_DEEP_CLUSTER_H_
