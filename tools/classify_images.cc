#include "tools/classify_images.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>
#include <utility>

#include <ATen/ATen.h>
#include <torch/types.h>

#include "core/status.h"
#include "core/torch_status.h"
#include "data/decode.h"
#include "data/image_file.h"
#include "models/registry.h"
#include "models/state_dict.h"
#include "train/run_folder.h"

namespace fauna {
namespace {

absl::StatusOr<Normalization> ParseNormalization(const std::string& name) {
  if (name == "imagenet") return kImageNetNormalization;
  if (name == "unit") return kUnitNormalization;
  return absl::InvalidArgumentError("normalization '" + name + "': expected imagenet or unit");
}

std::string CsvField(const std::string& text) {
  if (text.find_first_of(",\"\r\n") == std::string::npos) return text;
  std::string quoted = "\"";
  for (char c : text) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string Probability(double p) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.6f", p);
  return buffer;
}

}  // namespace

absl::StatusOr<Classifier> LoadClassifier(const ClassifierOptions& options) {
  Classifier classifier;
  classifier.device = options.device;
  ModelConfig config;
  std::string normalization = "imagenet";
  if (!options.run.empty()) {
    ASSIGN_OR_RETURN(RunFolder run, ReadRunFolder(options.run));
    classifier.model = run.model;
    classifier.weights = run.weights;
    classifier.class_names = run.class_names;
    classifier.image_size = run.data.image_size;
    normalization = run.data.normalization;
    config = run.model_config;
  } else if (options.model.empty()) {
    return absl::InvalidArgumentError("a classifier needs a run folder, or a model with weights "
                                      "and classes");
  } else {
    config.width = 1;
    if (options.weights.empty() || options.classes.empty()) {
      return absl::InvalidArgumentError("model " + options.model + " without a run folder needs "
                                        "weights and class names");
    }
  }
  if (!options.model.empty()) classifier.model = options.model;
  if (!options.weights.empty()) classifier.weights = options.weights;
  if (!options.classes.empty()) classifier.class_names = options.classes;
  if (options.image_size > 0) classifier.image_size = options.image_size;
  if (options.width > 0) config.width = options.width;
  if (!options.normalization.empty()) normalization = options.normalization;
  if (classifier.class_names.size() < 2) {
    return absl::InvalidArgumentError("a classifier needs at least two classes, got " +
                                      std::to_string(classifier.class_names.size()));
  }
  ASSIGN_OR_RETURN(classifier.normalization, ParseNormalization(normalization));
  config.num_classes = static_cast<int64_t>(classifier.class_names.size());
  config.image_size = classifier.image_size;
  ASSIGN_OR_RETURN(classifier.module, CreateModel(classifier.model, config));
  absl::StatusOr<LoadReport> loaded = LoadWeights(*classifier.module, classifier.weights);
  if (!loaded.ok()) {
    return Annotate(loaded.status(), classifier.weights + " for " + classifier.model + " with " +
                                         std::to_string(config.num_classes) + " classes");
  }
  classifier.module->to(classifier.device);
  classifier.module->eval();
  return classifier;
}

std::vector<std::string> CollectImageFiles(const std::vector<std::string>& inputs) {
  std::vector<std::string> files;
  for (const std::string& input : inputs) {
    std::error_code error;
    if (!std::filesystem::is_directory(input, error)) {
      files.push_back(input);
      continue;
    }
    std::vector<std::string> found;
    std::filesystem::recursive_directory_iterator it(
        input, std::filesystem::directory_options::skip_permission_denied, error);
    for (; !error && it != std::filesystem::recursive_directory_iterator(); it.increment(error)) {
      std::error_code kind;
      if (it->is_regular_file(kind) && HasImageExtension(it->path().string())) {
        found.push_back(it->path().string());
      }
    }
    if (error) files.push_back(input);  // An unreadable folder: named when classified.
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

absl::StatusOr<at::Tensor> PreprocessImage(const std::string& path, int image_size,
                                           const Normalization& normalization) {
  DecodeOptions decode;  // As OpenDataset's decoded caches: resize, automatic interpolation.
  decode.size = image_size;
  ASSIGN_OR_RETURN(cv::Mat rgb, DecodeFile(path, decode));
  return ToTensor(rgb, normalization);
}

absl::StatusOr<Classification> ClassifyImages(const Classifier& classifier,
                                              const std::vector<std::string>& paths,
                                              int64_t top_k, int64_t batch_size) {
  if (top_k < 1) {
    return absl::InvalidArgumentError("top_k " + std::to_string(top_k) + ": must be at least 1");
  }
  if (batch_size < 1) {
    return absl::InvalidArgumentError("batch size " + std::to_string(batch_size) +
                                      ": must be at least 1");
  }
  const int64_t k =
      std::min<int64_t>(top_k, static_cast<int64_t>(classifier.class_names.size()));
  Classification result;
  Backbone module = classifier.module;  // A handle: forward is not const.
  std::vector<at::Tensor> images;
  std::vector<std::string> names;
  const auto flush = [&]() -> absl::Status {
    if (images.empty()) return absl::OkStatus();
    return GuardTorch("classify", [&] {
      c10::NoGradGuard no_grad;
      const at::Tensor logits =
          module->forward(at::stack(images).to(classifier.device)).to(at::kCPU);
      const at::Tensor probabilities = at::softmax(logits.to(at::kDouble), /*dim=*/1);
      const auto [values, indices] = probabilities.topk(k, /*dim=*/1);
      for (size_t i = 0; i < names.size(); ++i) {
        const int64_t row = static_cast<int64_t>(i);
        Prediction prediction;
        prediction.path = names[i];
        prediction.logits = logits[row].clone();
        for (int64_t r = 0; r < k; ++r) {
          prediction.classes.push_back(indices[row][r].item<int64_t>());
          prediction.probabilities.push_back(values[row][r].item<double>());
        }
        result.predictions.push_back(std::move(prediction));
      }
      images.clear();
      names.clear();
    });
  };
  for (const std::string& path : paths) {
    absl::StatusOr<at::Tensor> image =
        PreprocessImage(path, classifier.image_size, classifier.normalization);
    if (!image.ok()) {
      result.skipped.push_back({path, std::string(image.status().message())});
      continue;
    }
    images.push_back(*std::move(image));
    names.push_back(path);
    if (static_cast<int64_t>(images.size()) == batch_size) RETURN_IF_ERROR(flush());
  }
  RETURN_IF_ERROR(flush());
  return result;
}

std::string PredictionTable(const Classifier& classifier,
                            const std::vector<Prediction>& predictions) {
  size_t path_width = 4;
  size_t class_width = 5;
  size_t ranks = 0;
  for (const Prediction& prediction : predictions) {
    path_width = std::max(path_width, prediction.path.size());
    ranks = std::max(ranks, prediction.classes.size());
    for (int64_t c : prediction.classes) {
      class_width = std::max(class_width, classifier.class_names[static_cast<size_t>(c)].size());
    }
  }
  const auto pad = [](std::string text, size_t width) {
    text.resize(std::max(width, text.size()), ' ');
    return text;
  };
  std::string table = pad("path", path_width);
  for (size_t r = 0; r < ranks; ++r) {
    table += "  " + pad("top " + std::to_string(r + 1), class_width + 9);
  }
  table += "\n";
  for (const Prediction& prediction : predictions) {
    std::string row = pad(prediction.path, path_width);
    for (size_t r = 0; r < prediction.classes.size(); ++r) {
      char probability[16];
      std::snprintf(probability, sizeof(probability), "%.4f", prediction.probabilities[r]);
      row += "  " + pad(classifier.class_names[static_cast<size_t>(prediction.classes[r])],
                        class_width) +
             "  " + probability + " ";
    }
    while (!row.empty() && row.back() == ' ') row.pop_back();
    table += row + "\n";
  }
  return table;
}

std::string PredictionCsv(const Classifier& classifier,
                          const std::vector<Prediction>& predictions) {
  std::string csv = "path,rank,class,probability\n";
  for (const Prediction& prediction : predictions) {
    for (size_t r = 0; r < prediction.classes.size(); ++r) {
      csv += CsvField(prediction.path) + "," + std::to_string(r + 1) + "," +
             CsvField(classifier.class_names[static_cast<size_t>(prediction.classes[r])]) + "," +
             Probability(prediction.probabilities[r]) + "\n";
    }
  }
  return csv;
}

}  // namespace fauna
