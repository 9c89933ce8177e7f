// A finished trainer run, reopened: what train/train_main.cc wrote into its run folder that another
// tool needs to use the run's model on the run's data, with the same split and preprocessing.
//   config.json        the resolved configuration: model, width, dropout, activation, seed, and
//                      under "data" the --data, its kind, image size, split, normalization, the
//                      synthetic set's settings and the class names
//   model.safetensors  the best weights (written when the run ends)
//   split.csv          the exact split, for data made of files (a folder or a manifest)
// The run's other files (results.json, metrics.jsonl, checkpoint.pt, plots) are not needed.
#ifndef FAUNA_TRAIN_RUN_FOLDER_H_
#define FAUNA_TRAIN_RUN_FOLDER_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "data/dataset.h"
#include "models/registry.h"

namespace fauna {

// The files of a run folder, by name.
inline constexpr char kRunConfigFile[] = "config.json";
inline constexpr char kRunWeightsFile[] = "model.safetensors";
inline constexpr char kRunSplitFile[] = "split.csv";

// What a run folder says about the run's model and data.
struct RunFolder {
  // The folder, as given.
  std::string path;
  // The registered model name and the options it was built with: num_classes is the number of
  // the run's classes, image_size the run's image size.
  std::string model;
  ModelConfig model_config;
  // <path>/model.safetensors.
  std::string weights;
  // The run's class names, in label order.
  std::vector<std::string> class_names;
  // The --data the run was given and its kind: synthetic, fashion_mnist, folder or manifest.
  std::string original_data;
  std::string data_kind;
  // The run's data as OpenDataset reopens it: for data made of files, `data` is <path>/split.csv
  // (the very train, val and test items); otherwise the run's --data with its synthetic settings.
  // The split, image size, normalization and seed are the run's. `augment` is left empty (features
  // and evaluation see the images as they are); cache_dir and threads are the caller's.
  DatasetOptions data;
  // The run's --seed.
  uint64_t seed = 0;
};

// Reads the run folder `path`. Errors name the folder and what is wrong: no such folder, a folder
// without config.json (not a run folder) or without model.safetensors (a run that has not
// finished), a config.json that is not JSON or lacks a field (named), data made of files without
// its split.csv, a model name the registry does not know.
//
// Example:
//   ASSIGN_OR_RETURN(RunFolder run, ReadRunFolder("runs/vgg16_best"));
//   ASSIGN_OR_RETURN(Backbone model, CreateModel(run.model, run.model_config));
//   RETURN_IF_ERROR(LoadWeights(*model, run.weights).status());
//   ASSIGN_OR_RETURN(Dataset data, OpenDataset(run.data, /*manifest_path=*/""));
absl::StatusOr<RunFolder> ReadRunFolder(const std::string& path);

}  // namespace fauna

#endif  // FAUNA_TRAIN_RUN_FOLDER_H_
