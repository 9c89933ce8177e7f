#include "tables/trainer_kind.h"

#include "absl/status/status.h"

namespace fauna {

const std::vector<TrainerKind>& TrainerKinds() {
  static const std::vector<TrainerKind> kinds = [] {
    std::vector<TrainerKind> all;
    TrainerKind train;
    train.name = "train";
    train.runfile = "train/train";
    train.target = "//train:train";
    train.dir_args = {"--run_dir={dir}"};
    train.checkpoint_file = "checkpoint.pt";
    all.push_back(train);

    TrainerKind deep_cluster = train;
    deep_cluster.name = "deep_cluster";
    deep_cluster.runfile = "train/deep_cluster";
    deep_cluster.target = "//train:deep_cluster";
    all.push_back(deep_cluster);

    TrainerKind autoencoder_svm = train;
    autoencoder_svm.name = "autoencoder_svm";
    autoencoder_svm.runfile = "train/autoencoder_svm";
    autoencoder_svm.target = "//train:autoencoder_svm";
    autoencoder_svm.checkpoint_file = "checkpoint_pretrain.pt";
    all.push_back(autoencoder_svm);

    TrainerKind extract;
    extract.name = "extract_features";
    extract.runfile = "tools/extract_features";
    extract.target = "//tools:extract_features";
    extract.dir_args = {"--out={dir}"};
    extract.done_file = "extraction.json";
    // With --run the run fixes the scale (and --scale is refused): grid files that extract with
    // --model pass --scale={scale} themselves.
    extract.takes_scale = false;
    all.push_back(extract);

    TrainerKind svm;
    svm.name = "svm_grid";
    svm.runfile = "models/heads/svm_grid";
    svm.target = "//models/heads:svm_grid";
    svm.dir_args = {"--out={dir}/results.json"};
    svm.takes_scale = false;
    all.push_back(svm);

    TrainerKind partial;
    partial.name = "partial_image_test";
    partial.runfile = "robustness/partial_image_test";
    partial.target = "//robustness:partial_image_test";
    partial.dir_args = {"--out={dir}"};
    partial.takes_scale = false;
    partial.takes_progress = false;
    all.push_back(partial);
    return all;
  }();
  return kinds;
}

absl::StatusOr<TrainerKind> FindTrainerKind(const std::string& name) {
  std::string names;
  for (const TrainerKind& kind : TrainerKinds()) {
    if (kind.name == name) return kind;
    names += (names.empty() ? "" : ", ") + kind.name;
  }
  return absl::NotFoundError("no trainer \"" + name + "\" (known: " + names + ")");
}

}  // namespace fauna
