// The AFHQ study's section E (Table 4, Figure 10): a convolutional autoencoder whose bottleneck
// codes feed an RBF SVM. One call runs the whole pipeline into a run folder, in four stages:
//   1. pretrain  the FC-free ConvAutoencoder (latent_dim 0) on reconstruction (MSE), Adam, on the
//                images of every part ("on all the data we have") or of the train part alone;
//                its weights then go to <run_dir>/pretrain.safetensors;
//   2. finetune  the full autoencoder (the FC bottleneck of `model.latent_dim`), its convolutions
//                initialised from stage 1 (only the FC layers are new), Adam with the study's
//                betas, on the train part (augmented when the data's train part is); its weights
//                then go to <run_dir>/autoencoder.safetensors;
//   3. codes     the bottleneck codes of train, val and test, without augmentation, as features
//                files <run_dir>/codes/{train,val,test}.safetensors (for //models/heads:svm_grid);
//   4. svm       an SVM (the study's RBF kernel, C = 1) fitted on the train codes, each column
//                first standardised by the train codes' mean and deviation (`standardize`);
//                accuracy on train, val and test; the model in <run_dir>/svm.safetensors.
//
// After every training epoch: a line in <run_dir>/metrics.jsonl ({"stage", "epoch", "loss",
// "lr", "seconds", "images_per_s", and with `epoch_svm` the "svm_val_acc" of an SVM on that
// epoch's codes}) and an atomic checkpoint of the stage (<run_dir>/checkpoint_<stage>.pt), so a
// run killed at any moment resumes (`resume`): finished stages are skipped (as
// <run_dir>/stages.json records them), the stage that was running continues from its last
// epoch, and the run ends with the same numbers. Stages 3 and 4 are recomputed on a resume (a
// forward pass and one SVM fit). A non-finite loss stops the run cleanly.
#ifndef FAUNA_TRAIN_AUTOENCODER_SVM_H_
#define FAUNA_TRAIN_AUTOENCODER_SVM_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <absl/status/statusor.h>
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "core/named_tensors.h"
#include "data/dataset.h"
#include "models/autoencoder.h"
#include "models/heads/svm.h"
#include "models/state_dict.h"

namespace fauna {

// Which parts stage 1 trains on.
enum class PretrainParts { kAll, kTrain };

// "all" or "train".
absl::StatusOr<PretrainParts> ParsePretrainParts(const std::string& name);

struct AutoencoderSvmOptions {
  // The fine-tuned network (latent_dim > 0); stage 1 trains the same network with latent_dim 0.
  ConvAutoencoderOptions model;
  // Stage 1.
  int64_t pretrain_epochs = 10;
  double pretrain_lr = 1e-3;
  int64_t pretrain_batch_size = 32;
  PretrainParts pretrain_parts = PretrainParts::kAll;
  // Stage 2 (and Adam's betas for both stages).
  int64_t finetune_epochs = 10;
  double lr = 1e-3;
  double beta1 = 0.8;
  double beta2 = 0.999;
  int64_t batch_size = 128;
  // Stage 4.
  SvmParams svm;
  // Scale each code column by the train codes' mean and standard deviation before the SVM.
  bool standardize = true;
  // After every fine-tuning epoch, fit the SVM on that epoch's train codes and record its val
  // accuracy ("svm_val_acc"; a forward pass over train and val and one SVM fit per epoch).
  bool epoch_svm = false;
  // Images per forward pass when coding.
  int64_t code_batch_size = 256;
  int workers = 2;
  bool strict = false;  // An unreadable image is an error, not skipped with a warning.
  bool progress = true;
  uint64_t seed = 0;
  c10::Device device = c10::Device(c10::kCPU);
  // Where every output goes (must exist).
  std::string run_dir;
  // Continue the run in run_dir, written with the same `config`.
  bool resume = false;
  // Kept in the checkpoints and stages.json and compared on resume.
  nlohmann::json config = nlohmann::json::object();
  // When set, called with each training epoch's metrics line after its checkpoint is written;
  // false stops the run there, as a kill would (tests interrupt runs with it).
  std::function<bool(const nlohmann::json& line)> keep_going;
};

// Checks the options: epochs >= 0, positive rates and batch sizes, betas in [0, 1), a model with
// latent_dim > 0, valid SVM parameters, an existing run_dir.
absl::Status ValidateAutoencoderSvmOptions(const AutoencoderSvmOptions& options);

// What TrainAutoencoderSvm gives.
struct AutoencoderSvmResult {
  // Every metrics.jsonl line of the training stages, those before a resume included.
  std::vector<nlohmann::json> history;
  // All four stages ran; false when stopped by keep_going or a non-finite loss.
  bool finished = false;
  bool diverged = false;
  std::string stop_reason;
  // The last epoch's mean reconstruction loss of each training stage (NaN without epochs).
  double pretrain_loss = 0, finetune_loss = 0;
  // Seconds of each stage: the training stages' summed over their epochs (also across a resume),
  // the codes and the SVM of this process.
  double pretrain_seconds = 0, finetune_seconds = 0, codes_seconds = 0, svm_seconds = 0;
  // The SVM's accuracy on each part's codes, and the part sizes.
  double train_acc = 0, val_acc = 0, test_acc = 0;
  int64_t train_count = 0, val_count = 0, test_count = 0;
  // The SVM: gamma as resolved, support vectors, and how the pretrained weights went into the
  // fine-tuned network ({"loaded": N, "new": [the FC keys]}).
  nlohmann::json svm;
  nlohmann::json transfer;
  // Training epochs done before this process (0 for a fresh run).
  int64_t resumed_after = 0;
  double wall_seconds = 0;  // Of this process.
};

// Runs the four stages on `data`, whose train part may be augmented, coding `plain_train` (the
// same train part without augmentation; data.train itself when it has none). Errors: bad options,
// parts whose images differ in shape from the model's, a checkpoint or stages.json of another
// configuration on resume, a failed write, an SVM that cannot be fitted (a class without codes).
absl::StatusOr<AutoencoderSvmResult> TrainAutoencoderSvm(const Dataset& data,
                                                         const DataPart& plain_train,
                                                         const AutoencoderSvmOptions& options);

// Loads stage 1's weights (a latent_dim 0 network's) into `full`: every tensor must fit, and
// only the FC layers' keys may be missing from `pretrained`, which are left as `full` has them.
// Returns the report (its `missing`: the FC keys); an error names any other missing, unexpected
// or mismatched key.
absl::StatusOr<LoadReport> LoadPretrainedAutoencoder(ConvAutoencoderImpl& full,
                                                     const NamedTensors& pretrained);

}  // namespace fauna

#endif  // FAUNA_TRAIN_AUTOENCODER_SVM_H_
