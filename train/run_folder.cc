#include "train/run_folder.h"

#include <sys/stat.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/status.h"

namespace fauna {
namespace {

using nlohmann::json;

bool IsFile(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

bool IsFolder(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

// Reads the fields of one JSON object, each error naming the file and the field's dotted key.
class Fields {
 public:
  Fields(const json& object, std::string where, std::string prefix)
      : object_(object), where_(std::move(where)), prefix_(std::move(prefix)) {}

  absl::StatusOr<const json*> Get(const std::string& key, json::value_t type,
                                  const char* expected) const {
    const auto it = object_.find(key);
    if (it == object_.end()) return Error(key, "is missing");
    const bool number = type == json::value_t::number_float;
    if (number ? !it->is_number() : it->type() != type) {
      return Error(key, "is " + it->dump() + ", not " + expected);
    }
    return &*it;
  }

  absl::StatusOr<std::string> String(const std::string& key) const {
    ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::string, "a string"));
    return value->get<std::string>();
  }

  absl::StatusOr<double> Number(const std::string& key) const {
    ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::number_float, "a number"));
    const double number = value->get<double>();
    if (!std::isfinite(number)) return Error(key, "is not finite");
    return number;
  }

  // A whole number >= 0, kept exact up to 2^64 - 1 (a seed).
  absl::StatusOr<uint64_t> Unsigned(const std::string& key) const {
    ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::number_float, "a number"));
    if (!value->is_number_unsigned()) {
      return Error(key, "is " + value->dump() + ", not a whole number >= 0");
    }
    return value->get<uint64_t>();
  }

  // A whole number in [low, high].
  absl::StatusOr<int64_t> Integer(const std::string& key, int64_t low, int64_t high) const {
    ASSIGN_OR_RETURN(double number, Number(key));
    if (number != std::floor(number) || number < static_cast<double>(low) ||
        number > static_cast<double>(high)) {
      return Error(key, "is " + object_.at(key).dump() + ", not a whole number in [" +
                            std::to_string(low) + ", " + std::to_string(high) + "]");
    }
    return static_cast<int64_t>(number);
  }

  bool Has(const std::string& key) const { return object_.contains(key); }

  absl::StatusOr<Fields> Object(const std::string& key) const {
    ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::object, "an object"));
    return Fields(*value, where_, prefix_ + key + ".");
  }

  absl::StatusOr<std::vector<std::string>> Strings(const std::string& key) const {
    ASSIGN_OR_RETURN(const json* value, Get(key, json::value_t::array, "a list of strings"));
    std::vector<std::string> strings;
    for (const json& item : *value) {
      if (!item.is_string()) return Error(key, "holds " + item.dump() + ", not a string");
      strings.push_back(item.get<std::string>());
    }
    return strings;
  }

 private:
  absl::Status Error(const std::string& key, const std::string& what) const {
    return absl::InvalidArgumentError(where_ + ": " + prefix_ + key + " " + what);
  }

  const json& object_;
  std::string where_;
  std::string prefix_;
};

}  // namespace

absl::StatusOr<RunFolder> ReadRunFolder(const std::string& path) {
  if (!IsFolder(path)) return absl::NotFoundError("run folder " + path + " does not exist");
  RunFolder run;
  run.path = path;
  const std::string config_path = path + "/" + kRunConfigFile;
  if (!IsFile(config_path)) {
    return absl::NotFoundError(path + " has no " + kRunConfigFile +
                               ": not a run folder of //train:train");
  }
  run.weights = path + "/" + kRunWeightsFile;
  if (!IsFile(run.weights)) {
    return absl::NotFoundError(path + " has no " + kRunWeightsFile +
                               ": the trainer writes the best weights when a run ends (a run "
                               "still going, killed, or without a best epoch has none)");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(config_path));
  const json config = json::parse(text, /*cb=*/nullptr, /*allow_exceptions=*/false);
  if (config.is_discarded() || !config.is_object()) {
    return absl::InvalidArgumentError(config_path + " is not a JSON object");
  }
  const Fields fields(config, config_path, "");
  ASSIGN_OR_RETURN(run.model, fields.String("model"));
  ASSIGN_OR_RETURN(run.model_config.width, fields.Number("width"));
  ASSIGN_OR_RETURN(const double dropout, fields.Number("dropout"));
  if (dropout >= 0) run.model_config.dropout = dropout;  // < 0: the architecture's default.
  ASSIGN_OR_RETURN(run.model_config.activation, fields.String("activation"));
  ASSIGN_OR_RETURN(run.seed, fields.Unsigned("seed"));

  ASSIGN_OR_RETURN(const Fields data, fields.Object("data"));
  ASSIGN_OR_RETURN(run.original_data, data.String("data"));
  ASSIGN_OR_RETURN(run.data_kind, data.String("kind"));
  ASSIGN_OR_RETURN(const int64_t image_size, data.Integer("image_size", 1, 1 << 16));
  ASSIGN_OR_RETURN(run.class_names, data.Strings("classes"));
  if (run.class_names.size() < 2) {
    return absl::InvalidArgumentError(config_path + ": data.classes names fewer than two classes");
  }
  DatasetOptions& options = run.data;
  options.data = run.original_data;
  options.image_size = static_cast<int>(image_size);
  ASSIGN_OR_RETURN(options.split, data.String("split"));
  ASSIGN_OR_RETURN(options.normalization, data.String("normalization"));
  options.seed = run.seed;
  if (data.Has("noise")) {  // Dirty data (absent from clean runs' configurations).
    ASSIGN_OR_RETURN(const Fields noise, data.Object("noise"));
    ASSIGN_OR_RETURN(options.noise_fraction, noise.Number("fraction"));
    ASSIGN_OR_RETURN(options.noise_sigma, noise.Number("sigma"));
  }
  if (run.data_kind == "synthetic") {
    ASSIGN_OR_RETURN(const Fields synthetic, data.Object("synthetic"));
    ASSIGN_OR_RETURN(const int64_t classes, synthetic.Integer("classes", 2, 1 << 20));
    options.synthetic_classes = static_cast<int>(classes);
    ASSIGN_OR_RETURN(options.synthetic_count,
                     synthetic.Integer("count", 1, std::numeric_limits<int64_t>::max()));
    ASSIGN_OR_RETURN(options.synthetic_difficulty, synthetic.Number("difficulty"));
  } else if (run.data_kind == "folder" || run.data_kind == "manifest") {
    options.data = path + "/" + kRunSplitFile;  // Names its own root.
    if (!IsFile(options.data)) {
      return absl::NotFoundError(path + " has no " + kRunSplitFile + ", the split of its " +
                                 run.data_kind + " data " + run.original_data);
    }
  } else if (run.data_kind != "fashion_mnist") {
    return absl::InvalidArgumentError(config_path + ": data.kind is \"" + run.data_kind +
                                      "\", not synthetic, fashion_mnist, folder or manifest");
  }

  run.model_config.num_classes = static_cast<int64_t>(run.class_names.size());
  run.model_config.image_size = image_size;
  RETURN_IF_ERROR(Annotate(ValidateModelConfig(run.model, run.model_config), config_path));
  return run;
}

}  // namespace fauna
