// The binaries a table's runs may use, and how each is told where to write, when it is done and
// how it resumes. A grid file names them ("trainer": "train"); the table runner finds them in its
// runfiles (or where --trainer_path puts them).
#ifndef FAUNA_TABLES_TRAINER_KIND_H_
#define FAUNA_TABLES_TRAINER_KIND_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace fauna {

struct TrainerKind {
  // The name grid files use: "train".
  std::string name;
  // The binary, relative to the workspace ("train/train"), and its target ("//train:train").
  std::string runfile;
  std::string target;
  // Arguments that put the run's output in its folder, with {dir} for the folder:
  // {"--run_dir={dir}"}, {"--out={dir}/results.json"}.
  std::vector<std::string> dir_args;
  // The file in the run's folder that says the run finished: its results.
  std::string done_file = "results.json";
  // The file that says a killed run can resume with --resume; empty when the binary cannot.
  std::string checkpoint_file;
  // Whether the binary takes --seed (core/runtime's, every fauna binary does), --scale and
  // --progress.
  bool takes_seed = true;
  bool takes_scale = true;
  bool takes_progress = true;
};

// Every kind, by name: train, deep_cluster, autoencoder_svm, extract_features, svm_grid,
// partial_image_test.
const std::vector<TrainerKind>& TrainerKinds();

// The kind called `name`; NotFound naming the known ones.
absl::StatusOr<TrainerKind> FindTrainerKind(const std::string& name);

}  // namespace fauna

#endif  // FAUNA_TABLES_TRAINER_KIND_H_
