#include "robustness/partial_views.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

#include <absl/strings/ascii.h>
#include <absl/strings/str_join.h>
#include <absl/strings/str_split.h>

#include "core/status.h"
#include "core/stopwatch.h"
#include "data/augment/pipeline.h"
#include "data/dataset.h"
#include "models/backbone.h"
#include "models/registry.h"
#include "models/state_dict.h"
#include "train/run_folder.h"

namespace fauna {
namespace {

using json = nlohmann::json;

bool GoodName(const std::string& name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' ||
           c == '.';
  });
}

// `views` checked (names, specs) with whole first: its canonical specs, in the same order.
absl::StatusOr<std::vector<ViewResult>> CheckViews(const std::vector<ViewKind>& views) {
  std::vector<ViewResult> checked;
  std::set<std::string> names;
  bool has_whole = false;
  for (const ViewKind& view : views) {
    if (!GoodName(view.name)) {
      return absl::InvalidArgumentError("view name '" + view.name +
                                        "' must be letters, digits, '_', '-' or '.'");
    }
    if (!names.insert(view.name).second) {
      return absl::InvalidArgumentError("view '" + view.name + "' is named twice");
    }
    absl::StatusOr<Pipeline> pipeline = Pipeline::Parse(view.spec);
    if (!pipeline.ok()) return Annotate(pipeline.status(), "view '" + view.name + "'");
    if (view.name == kWholeView) {
      if (!pipeline->empty()) {
        return absl::InvalidArgumentError(std::string("view '") + kWholeView +
                                          "' is the image as it is (an empty spec), not '" +
                                          view.spec + "': name that view otherwise");
      }
      has_whole = true;
    }
    ViewResult result;
    result.view = view;
    result.canonical_spec = pipeline->empty() ? "" : pipeline->spec();
    checked.push_back(std::move(result));
  }
  if (!has_whole) checked.insert(checked.begin(), ViewResult{{kWholeView, ""}, "", {}, 0});
  std::stable_partition(checked.begin(), checked.end(),
                        [](const ViewResult& r) { return r.view.name == kWholeView; });
  return checked;
}

// Each class's accuracy (its recall) by name; NaN for a class without images.
json PerClass(const ConfusionMatrix& matrix) {
  json per_class = json::object();
  for (int64_t c = 0; c < matrix.num_classes(); ++c) {
    const double value = matrix.support(c) > 0 ? matrix.recall(c)
                                               : std::numeric_limits<double>::quiet_NaN();
    per_class[matrix.class_names()[static_cast<size_t>(c)]] = value;
  }
  return per_class;
}

// Replaces every non-finite number in `node` (a class without images: NaN) by null.
void NonFiniteToNull(json& node) {
  if (node.is_number_float() && !std::isfinite(node.get<double>())) {
    node = nullptr;
  } else if (node.is_structured()) {
    for (json& child : node) NonFiniteToNull(child);
  }
}

int64_t Correct(const ConfusionMatrix& matrix) {
  int64_t correct = 0;
  for (int64_t c = 0; c < matrix.num_classes(); ++c) correct += matrix.counts(c, c);
  return correct;
}

// The share of images named right; NaN without images.
double Accuracy(const ConfusionMatrix& matrix) {
  return matrix.total() > 0 ? matrix.accuracy() : std::numeric_limits<double>::quiet_NaN();
}

json Summary(const ConfusionMatrix& matrix) {
  return {{"acc", Accuracy(matrix)},
          {"correct", Correct(matrix)},
          {"count", matrix.total()},
          {"per_class", PerClass(matrix)}};
}

std::string Fixed(double value, int decimals) {
  if (!std::isfinite(value)) return "-";
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  return buffer;
}

// A Markdown table cell: '|' escaped.
std::string Cell(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

}  // namespace

std::vector<ViewKind> DefaultViewKinds() {
  return {
      {kWholeView, ""},
      {"left", "partial(region=left, keep=0.5)"},
      {"right", "partial(region=right, keep=0.5)"},
      {"top", "partial(region=top, keep=0.5)"},
      {"bottom", "partial(region=bottom, keep=0.5)"},
      {"top_left", "partial(region=top_left, keep=0.25)"},
      {"top_right", "partial(region=top_right, keep=0.25)"},
      {"bottom_left", "partial(region=bottom_left, keep=0.25)"},
      {"bottom_right", "partial(region=bottom_right, keep=0.25)"},
      {"center_50", "partial(region=center, keep=0.5)"},
      {"center_25", "partial(region=center, keep=0.25)"},
      {"window_25", "partial(region=window, keep=0.25)"},
      {"occluded", "occlude"},
  };
}

absl::StatusOr<std::vector<ViewKind>> ParseViewKinds(const std::string& text) {
  std::vector<ViewKind> views;
  if (absl::StripAsciiWhitespace(text).empty()) {
    return absl::InvalidArgumentError("empty view list: expected name:spec;name:spec");
  }
  for (absl::string_view entry : absl::StrSplit(text, ';')) {
    const std::string item(absl::StripAsciiWhitespace(entry));
    if (item.empty()) {
      return absl::InvalidArgumentError("view list '" + text + "' has an empty entry");
    }
    const size_t colon = item.find(':');
    if (colon == std::string::npos) {
      return absl::InvalidArgumentError("view '" + item + "': expected name:spec");
    }
    ViewKind view;
    view.name = std::string(absl::StripAsciiWhitespace(item.substr(0, colon)));
    view.spec = std::string(absl::StripAsciiWhitespace(item.substr(colon + 1)));
    views.push_back(std::move(view));
  }
  RETURN_IF_ERROR(CheckViews(views).status());
  return views;
}

absl::StatusOr<PartialViewsResult> EvaluateViews(const std::string& run_path,
                                                 const PartialViewsOptions& options) {
  if (options.part != "train" && options.part != "val" && options.part != "test") {
    return absl::InvalidArgumentError("part '" + options.part + "': expected train, val or test");
  }
  if (options.batch_size < 1) {
    return absl::InvalidArgumentError("batch size " + std::to_string(options.batch_size) +
                                      ": must be at least 1");
  }
  ASSIGN_OR_RETURN(std::vector<ViewResult> views, CheckViews(options.views));
  ASSIGN_OR_RETURN(RunFolder run, ReadRunFolder(run_path));
  ASSIGN_OR_RETURN(Backbone model, CreateModel(run.model, run.model_config));
  RETURN_IF_ERROR(Annotate(LoadWeights(*model, run.weights).status(), run.weights));
  model->to(options.device);
  model->eval();

  PartialViewsResult result;
  result.run = run.path;
  result.model = run.model;
  result.part = options.part;
  result.class_names = run.class_names;
  result.whole = ConfusionMatrix(run.class_names);
  result.partial = ConfusionMatrix(run.class_names);
  const std::vector<int64_t> input_shape = {3, run.data.image_size, run.data.image_size};
  for (size_t v = 0; v < views.size(); ++v) {
    ViewResult& view = views[v];
    const auto start = std::chrono::steady_clock::now();
    DatasetOptions data_options = run.data;
    data_options.cache_dir = options.cache_dir;
    data_options.threads = options.threads;
    // The train part's augmentation is its own option; val and test take eval_augment.
    (options.part == "train" ? data_options.augment : data_options.eval_augment) =
        view.view.spec;
    ASSIGN_OR_RETURN(Dataset data, OpenDataset(data_options, /*manifest_path=*/""));
    if (data.class_names != run.class_names) {
      return absl::FailedPreconditionError(
          "the data of " + run.path + " now has the classes " +
          absl::StrJoin(data.class_names, ", ") + ", not the run's " +
          absl::StrJoin(run.class_names, ", ") + " (changed since the run?)");
    }
    const DataPart& part = options.part == "train" ? data.train
                           : options.part == "val" ? data.val
                                                   : data.test;
    if (part.image_shape != input_shape) {
      return absl::InvalidArgumentError(
          "view '" + view.view.name + "' makes images of " +
          std::to_string(part.image_shape.size() == 3 ? part.image_shape[2] : 0) + " x " +
          std::to_string(part.image_shape.size() == 3 ? part.image_shape[1] : 0) +
          " px; the model takes " + std::to_string(run.data.image_size) +
          " px (keep resize_back=true)");
    }
    if (v == 0) {
      result.data = data.description;
      result.data.erase("caches");
      result.data.erase("eval_augment");
      result.data.erase("augment");
    }
    absl::StatusOr<Evaluation> evaluation = Evaluate(model, part, run.class_names,
                                                     options.batch_size, options.workers,
                                                     options.device);
    if (!evaluation.ok()) return Annotate(evaluation.status(), "view '" + view.view.name + "'");
    view.evaluation = *std::move(evaluation);
    view.seconds = SecondsSince(start);
    if (view.view.name == kWholeView) {
      result.whole = view.evaluation.confusion;
    } else {
      RETURN_IF_ERROR(result.partial.Merge(view.evaluation.confusion));
    }
    if (options.on_view) options.on_view(view, v, views.size());
  }
  result.views = std::move(views);
  return result;
}

json PartialViewsJson(const PartialViewsResult& result) {
  json views = json::object();
  json order = json::array();
  for (const ViewResult& view : result.views) {
    const ConfusionMatrix& matrix = view.evaluation.confusion;
    json entry = Summary(matrix);
    entry["spec"] = view.canonical_spec;
    entry["loss"] = view.evaluation.loss;
    entry["seconds"] = view.seconds;
    entry["confusion"] = matrix.ToJson();
    views[view.view.name] = std::move(entry);
    order.push_back(view.view.name);
  }
  const auto study = [](int correct, int count) {
    return json{{"acc", static_cast<double>(correct) / count},
                {"correct", correct},
                {"count", count}};
  };
  json out = {
      {"run", result.run},
      {"model", result.model},
      {"part", result.part},
      {"class_names", result.class_names},
      {"view_order", std::move(order)},
      {"views", std::move(views)},
      {"whole", Summary(result.whole)},
      {"partial", Summary(result.partial)},
      {"study",
       {{"whole", study(kStudyWholeCorrect, kStudyWholeCount)},
        {"partial", study(kStudyPartialCorrect, kStudyPartialCount)},
        {"source", "seeds/002_28e05bda99d44304.txt, Evaluation: Model 4 on 11 whole-animal and "
                   "11 partial real images"}}},
      {"data", result.data},
  };
  NonFiniteToNull(out);
  return out;
}

std::string PartialViewsMarkdown(const PartialViewsResult& result) {
  const int64_t images = result.views.empty() ? 0 : result.views.front().evaluation.count;
  std::string md = "# Partial-image test: " + result.model + " of " + result.run + "\n\n";
  md += "The " + result.part + " part (" + std::to_string(images) +
        " images) seen whole and through each view; accuracy is the share of images whose class "
        "the model names.\n\n";
  md += "| view | spec | accuracy | correct / images |\n|---|---|---:|---:|\n";
  for (const ViewResult& view : result.views) {
    const ConfusionMatrix& matrix = view.evaluation.confusion;
    md += "| " + Cell(view.view.name) + " | " +
          (view.canonical_spec.empty() ? "(none)" : "`" + Cell(view.canonical_spec) + "`") +
          " | " + Fixed(view.evaluation.accuracy, 4) + " | " + std::to_string(Correct(matrix)) +
          " / " + std::to_string(matrix.total()) + " |\n";
  }
  md += "| **all partial views pooled** | | " +
        Fixed(Accuracy(result.partial), 4) + " | " +
        std::to_string(Correct(result.partial)) + " / " + std::to_string(result.partial.total()) +
        " |\n";
  md += "| *study, Model 4: whole animals* | 11 real images | " +
        Fixed(static_cast<double>(kStudyWholeCorrect) / kStudyWholeCount, 4) + " | " +
        std::to_string(kStudyWholeCorrect) + " / " + std::to_string(kStudyWholeCount) + " |\n";
  md += "| *study, Model 4: partial animals* | 11 real images | " +
        Fixed(static_cast<double>(kStudyPartialCorrect) / kStudyPartialCount, 4) + " | " +
        std::to_string(kStudyPartialCorrect) + " / " + std::to_string(kStudyPartialCount) +
        " |\n\n";

  md += "## Accuracy per class and view\n\n| class (images) |";
  std::string rule = "|---|";
  for (const ViewResult& view : result.views) {
    md += " " + Cell(view.view.name) + " |";
    rule += "---:|";
  }
  md += " partial pooled |\n" + rule + "---:|\n";
  for (size_t c = 0; c < result.class_names.size(); ++c) {
    const int64_t k = static_cast<int64_t>(c);
    md += "| " + Cell(result.class_names[c]) + " (" + std::to_string(result.whole.support(k)) +
          ") |";
    for (const ViewResult& view : result.views) {
      const ConfusionMatrix& matrix = view.evaluation.confusion;
      md += " " + (matrix.support(k) > 0 ? Fixed(matrix.recall(k), 2) : "-") + " |";
    }
    md += " " + (result.partial.support(k) > 0 ? Fixed(result.partial.recall(k), 2) : "-") +
          " |\n";
  }
  return md;
}

Heatmap PartialViewsHeatmap(const PartialViewsResult& result) {
  Heatmap map;
  map.title = "Partial-image test: " + result.model + ", " + result.part + " part";
  char subtitle[160];
  std::snprintf(subtitle, sizeof(subtitle),
                "whole %s, all partial views pooled %s (study's Model 4: 11/11, 7/11)",
                Fixed(Accuracy(result.whole), 3).c_str(),
                Fixed(Accuracy(result.partial), 3).c_str());
  map.subtitle = subtitle;
  map.row_names = result.class_names;
  map.row_names.push_back("all classes");
  for (const ViewResult& view : result.views) map.column_names.push_back(view.view.name);
  map.column_names.push_back("partial pooled");
  const size_t columns = map.column_names.size();
  map.values.assign(map.row_names.size() * columns, std::numeric_limits<double>::quiet_NaN());
  const auto fill = [&](size_t column, const ConfusionMatrix& matrix) {
    for (size_t c = 0; c < result.class_names.size(); ++c) {
      const int64_t k = static_cast<int64_t>(c);
      if (matrix.support(k) > 0) map.values[c * columns + column] = matrix.recall(k);
    }
    if (matrix.total() > 0) {
      map.values[result.class_names.size() * columns + column] = matrix.accuracy();
    }
  };
  for (size_t v = 0; v < result.views.size(); ++v) fill(v, result.views[v].evaluation.confusion);
  fill(columns - 1, result.partial);
  map.row_label = "true class";
  map.column_label = "view";
  map.value_label = "accuracy";
  return map;
}

}  // namespace fauna
