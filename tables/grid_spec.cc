#include "tables/grid_spec.h"

#include <fstream>
#include <set>
#include <sstream>
#include <string_view>

#include "absl/status/status.h"
#include "core/status.h"

namespace fauna {
namespace {

using Json = nlohmann::json;

absl::Status Error(const std::string& origin, const std::string& what) {
  return absl::InvalidArgumentError(origin + ": " + what);
}

// Checks that `object` is a JSON object whose keys are all in `allowed`.
absl::Status CheckObject(const Json& object, const std::set<std::string>& allowed,
                         const std::string& where) {
  if (!object.is_object()) return absl::InvalidArgumentError(where + " is not an object");
  for (const auto& item : object.items()) {
    if (allowed.count(item.key()) == 0) {
      std::string names;
      for (const std::string& name : allowed) names += (names.empty() ? "" : ", ") + name;
      return absl::InvalidArgumentError(where + ": unknown field \"" + item.key() +
                                        "\" (known: " + names + ")");
    }
  }
  return absl::OkStatus();
}

// The string at `key` of `object`, or `fallback` when absent.
absl::StatusOr<std::string> String(const Json& object, const std::string& key,
                                   const std::string& where, const std::string& fallback = "") {
  if (!object.contains(key)) return fallback;
  if (!object[key].is_string()) {
    return absl::InvalidArgumentError(where + ": \"" + key + "\" is not a string");
  }
  return object[key].get<std::string>();
}

// The array of strings at `key` of `object`; empty when absent.
absl::StatusOr<std::vector<std::string>> Strings(const Json& object, const std::string& key,
                                                 const std::string& where) {
  std::vector<std::string> values;
  if (!object.contains(key)) return values;
  const Json& array = object[key];
  if (!array.is_array()) {
    return absl::InvalidArgumentError(where + ": \"" + key + "\" is not an array of strings");
  }
  for (const Json& value : array) {
    if (!value.is_string()) {
      return absl::InvalidArgumentError(where + ": \"" + key + "\" holds " + value.dump() +
                                        ", not a string");
    }
    values.push_back(value.get<std::string>());
  }
  return values;
}

absl::StatusOr<std::vector<std::string>> Flags(const Json& object, const std::string& where) {
  ASSIGN_OR_RETURN(std::vector<std::string> flags, Strings(object, "flags", where));
  for (const std::string& flag : flags) {
    if (flag.rfind("--", 0) != 0 || flag.size() == 2) {
      return absl::InvalidArgumentError(where + ": flag \"" + flag +
                                        "\" does not start with --");
    }
  }
  return flags;
}

bool IsName(const std::string& name) {
  if (name.empty()) return false;
  for (char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) return false;
  }
  return true;
}

// Reads "steps" or "rows".
absl::StatusOr<std::vector<GridRunSpec>> Runs(const Json& json, const std::string& key) {
  std::vector<GridRunSpec> runs;
  if (!json.contains(key)) return runs;
  if (!json[key].is_array()) return absl::InvalidArgumentError("\"" + key + "\" is not an array");
  std::set<std::string> names;
  for (size_t i = 0; i < json[key].size(); ++i) {
    const Json& item = json[key][i];
    const std::string where = key + "[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(CheckObject(item, {"name", "trainer", "recipe", "flags"}, where));
    GridRunSpec run;
    ASSIGN_OR_RETURN(run.name, String(item, "name", where));
    if (run.name.empty()) return absl::InvalidArgumentError(where + " has no \"name\"");
    if (!names.insert(run.name).second) {
      return absl::InvalidArgumentError(where + ": a second \"" + run.name + "\"");
    }
    ASSIGN_OR_RETURN(run.trainer, String(item, "trainer", where));
    ASSIGN_OR_RETURN(run.recipe, String(item, "recipe", where));
    ASSIGN_OR_RETURN(run.flags, Flags(item, where));
    runs.push_back(std::move(run));
  }
  return runs;
}

absl::StatusOr<std::vector<GridAxis>> Axes(const Json& json) {
  std::vector<GridAxis> axes;
  if (!json.contains("axes")) return axes;
  if (!json["axes"].is_array()) return absl::InvalidArgumentError("\"axes\" is not an array");
  std::set<std::string> flags;
  for (size_t i = 0; i < json["axes"].size(); ++i) {
    const Json& item = json["axes"][i];
    const std::string where = "axes[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(CheckObject(item, {"flag", "values"}, where));
    GridAxis axis;
    ASSIGN_OR_RETURN(axis.flag, String(item, "flag", where));
    if (axis.flag.empty() || axis.flag.rfind("-", 0) == 0 ||
        axis.flag.find('=') != std::string::npos) {
      return absl::InvalidArgumentError(where + ": \"flag\" is a flag's name without -- (\"lr\")");
    }
    if (!flags.insert(axis.flag).second) {
      return absl::InvalidArgumentError(where + ": a second axis of --" + axis.flag);
    }
    ASSIGN_OR_RETURN(axis.values, Strings(item, "values", where));
    if (axis.values.empty()) return absl::InvalidArgumentError(where + " has no values");
    std::set<std::string> seen;
    for (const std::string& value : axis.values) {
      if (!seen.insert(value).second) {
        return absl::InvalidArgumentError(where + ": value \"" + value + "\" twice");
      }
    }
    axes.push_back(std::move(axis));
  }
  return axes;
}

absl::StatusOr<std::vector<GridColumn>> Columns(const Json& json) {
  std::vector<GridColumn> columns;
  if (!json.contains("columns") || !json["columns"].is_array() || json["columns"].empty()) {
    return absl::InvalidArgumentError("\"columns\" must be a non-empty array");
  }
  std::set<std::string> keys;
  for (size_t i = 0; i < json["columns"].size(); ++i) {
    const Json& item = json["columns"][i];
    const std::string where = "columns[" + std::to_string(i) + "]";
    RETURN_IF_ERROR(CheckObject(item, {"key", "label"}, where));
    GridColumn column;
    ASSIGN_OR_RETURN(column.key, String(item, "key", where));
    if (column.key.empty()) return absl::InvalidArgumentError(where + " has no \"key\"");
    if (!keys.insert(column.key).second) {
      return absl::InvalidArgumentError(where + ": a second column of \"" + column.key + "\"");
    }
    ASSIGN_OR_RETURN(column.label, String(item, "label", where, column.key));
    columns.push_back(std::move(column));
  }
  return columns;
}

absl::StatusOr<GridScale> Scale(const Json& item, const std::string& where, const GridSpec& spec) {
  RETURN_IF_ERROR(CheckObject(item, {"flags", "axes", "rows"}, where));
  GridScale scale;
  ASSIGN_OR_RETURN(scale.flags, Flags(item, where));
  ASSIGN_OR_RETURN(scale.rows, Strings(item, "rows", where));
  for (const std::string& row : scale.rows) {
    bool known = false;
    for (const GridRunSpec& spec_row : spec.rows) known = known || spec_row.name == row;
    if (!known) return absl::InvalidArgumentError(where + ": no row \"" + row + "\"");
  }
  if (item.contains("axes")) {
    if (!item["axes"].is_object()) {
      return absl::InvalidArgumentError(where + ": \"axes\" is not an object of flag: [values]");
    }
    for (const auto& entry : item["axes"].items()) {
      const GridAxis* axis = nullptr;
      for (const GridAxis& spec_axis : spec.axes) {
        if (spec_axis.flag == entry.key()) axis = &spec_axis;
      }
      if (axis == nullptr) {
        return absl::InvalidArgumentError(where + ": no axis --" + entry.key());
      }
      ASSIGN_OR_RETURN(std::vector<std::string> values,
                       Strings(item["axes"], entry.key(), where + ".axes"));
      if (values.empty()) {
        return absl::InvalidArgumentError(where + ": axis --" + entry.key() + " keeps no value");
      }
      for (const std::string& value : values) {
        bool known = false;
        for (const std::string& axis_value : axis->values) known = known || axis_value == value;
        if (!known) {
          return absl::InvalidArgumentError(where + ": axis --" + entry.key() +
                                            " has no value \"" + value + "\"");
        }
      }
      scale.axes[entry.key()] = std::move(values);
    }
  }
  return scale;
}

absl::StatusOr<GridSpec> Parse(const Json& json) {
  RETURN_IF_ERROR(CheckObject(json,
                              {"name", "title", "study", "steps", "trainer", "recipe", "flags",
                               "rows", "axes", "scales", "columns", "best", "plot"},
                              "the grid"));
  GridSpec spec;
  ASSIGN_OR_RETURN(spec.name, String(json, "name", "the grid"));
  if (!IsName(spec.name)) {
    return absl::InvalidArgumentError("\"name\" \"" + spec.name + "\" is not [a-z0-9_]+");
  }
  ASSIGN_OR_RETURN(spec.title, String(json, "title", "the grid", spec.name));
  ASSIGN_OR_RETURN(spec.study, String(json, "study", "the grid"));
  ASSIGN_OR_RETURN(spec.trainer, String(json, "trainer", "the grid"));
  ASSIGN_OR_RETURN(spec.recipe, String(json, "recipe", "the grid"));
  ASSIGN_OR_RETURN(spec.flags, Flags(json, "the grid"));
  ASSIGN_OR_RETURN(spec.steps, Runs(json, "steps"));
  ASSIGN_OR_RETURN(spec.rows, Runs(json, "rows"));
  for (const GridRunSpec& run : spec.steps) {
    if (!IsName(run.name)) {
      return absl::InvalidArgumentError("step \"" + run.name + "\": a step's name is [a-z0-9_]+");
    }
  }
  if (spec.trainer.empty()) {
    for (const GridRunSpec& row : spec.rows) {
      if (row.trainer.empty()) {
        return absl::InvalidArgumentError("no \"trainer\" (for the grid, or for row \"" +
                                          row.name + "\")");
      }
    }
    if (spec.rows.empty()) return absl::InvalidArgumentError("no \"trainer\"");
  }
  for (const GridRunSpec& step : spec.steps) {
    if (step.trainer.empty() && spec.trainer.empty()) {
      return absl::InvalidArgumentError("step \"" + step.name + "\" has no \"trainer\"");
    }
  }
  ASSIGN_OR_RETURN(spec.axes, Axes(json));
  ASSIGN_OR_RETURN(spec.columns, Columns(json));
  ASSIGN_OR_RETURN(spec.best, String(json, "best", "the grid"));
  ASSIGN_OR_RETURN(spec.plot, String(json, "plot", "the grid", spec.columns.front().key));
  for (const std::string* key : {&spec.best, &spec.plot}) {
    if (key->empty()) continue;
    bool known = false;
    for (const GridColumn& column : spec.columns) known = known || column.key == *key;
    if (!known) {
      return absl::InvalidArgumentError("\"" + *key + "\" (best or plot) is not a column's key");
    }
  }
  if (json.contains("scales")) {
    if (!json["scales"].is_object()) return absl::InvalidArgumentError("\"scales\" is no object");
    for (const auto& entry : json["scales"].items()) {
      if (entry.key() != "ci" && entry.key() != "small" && entry.key() != "paper") {
        return absl::InvalidArgumentError("scale \"" + entry.key() +
                                          "\" is not ci, small or paper");
      }
      ASSIGN_OR_RETURN(spec.scales[entry.key()],
                       Scale(entry.value(), "scales." + entry.key(), spec));
    }
  }
  return spec;
}

// The folder name of a label: [a-z0-9._=-] kept, upper case lowered, the rest '_'.
std::string DirName(const std::string& label) {
  std::string dir;
  for (char c : label) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    const bool keep = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '=' ||
                      c == '-' || c == '_';
    dir += keep ? c : '_';
  }
  return dir;
}

}  // namespace

absl::StatusOr<GridSpec> ParseGridSpec(const nlohmann::json& json, const std::string& origin) {
  absl::StatusOr<GridSpec> spec = Parse(json);
  if (!spec.ok()) return Error(origin, std::string(spec.status().message()));
  return spec;
}

absl::StatusOr<GridSpec> ReadGridSpec(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError("no grid file " + path);
  std::stringstream text;
  text << file.rdbuf();
  Json json;
  try {
    json = Json::parse(text.str());
  } catch (const Json::parse_error& error) {
    return Error(path, std::string("not JSON: ") + error.what());
  }
  return ParseGridSpec(json, path);
}

absl::StatusOr<GridRuns> ExpandGrid(const GridSpec& spec, const std::string& scale_name) {
  static const GridScale kNoScale;
  const auto found = spec.scales.find(scale_name);
  const GridScale& scale = found == spec.scales.end() ? kNoScale : found->second;

  GridRuns runs;
  std::set<std::string> dirs;
  for (const GridRunSpec& step : spec.steps) {
    GridRun run;
    run.label = run.dir = step.name;
    run.trainer = step.trainer.empty() ? spec.trainer : step.trainer;
    run.recipe = step.recipe;
    run.flags = step.flags;
    dirs.insert(run.dir);
    runs.steps.push_back(std::move(run));
  }

  std::vector<GridRunSpec> rows;
  for (const GridRunSpec& row : spec.rows) {
    bool kept = scale.rows.empty();
    for (const std::string& name : scale.rows) kept = kept || name == row.name;
    if (kept) rows.push_back(row);
  }
  if (spec.rows.empty()) rows.push_back(GridRunSpec());
  std::vector<GridAxis> axes = spec.axes;
  for (GridAxis& axis : axes) {
    const auto narrowed = scale.axes.find(axis.flag);
    if (narrowed != scale.axes.end()) axis.values = narrowed->second;
  }
  size_t combinations = 1;
  for (const GridAxis& axis : axes) combinations *= axis.values.size();
  for (const GridRunSpec& row : rows) {
    for (size_t k = 0; k < combinations; ++k) {
      // Combination k in mixed radix, the last axis varying fastest.
      std::vector<size_t> index(axes.size());
      size_t rest = k;
      for (size_t a = axes.size(); a-- > 0;) {
        index[a] = rest % axes[a].values.size();
        rest /= axes[a].values.size();
      }
      GridRun cell;
      cell.row = row.name;
      cell.trainer = row.trainer.empty() ? spec.trainer : row.trainer;
      cell.recipe = row.recipe.empty() ? spec.recipe : row.recipe;
      cell.flags = spec.flags;
      cell.flags.insert(cell.flags.end(), scale.flags.begin(), scale.flags.end());
      cell.flags.insert(cell.flags.end(), row.flags.begin(), row.flags.end());
      std::string values;
      for (size_t a = 0; a < axes.size(); ++a) {
        const std::string& value = axes[a].values[index[a]];
        cell.axis_values.emplace_back(axes[a].flag, value);
        cell.flags.push_back("--" + axes[a].flag + "=" + value);
        values += (values.empty() ? "" : " ") + axes[a].flag + "=" + value;
      }
      cell.label = row.name.empty()  ? values
                   : values.empty() ? row.name
                                    : row.name + ", " + values;
      if (cell.label.empty()) cell.label = "run";
      cell.dir = DirName(cell.label);
      if (cell.dir.find_first_not_of('.') == std::string::npos) {
        return absl::InvalidArgumentError(spec.name + ": a run named \"" + cell.label +
                                          "\" would have no folder of its own");
      }
      if (!dirs.insert(cell.dir).second) {
        return absl::InvalidArgumentError(spec.name + ": two runs share the folder \"" + cell.dir +
                                          "\" (rename a row or step)");
      }
      runs.cells.push_back(std::move(cell));
    }
  }
  return runs;
}

namespace {

// The NAMEs of every {step:NAME} in `flags`.
void AddStepsNamedIn(const std::vector<std::string>& flags, std::set<std::string>& names) {
  static constexpr std::string_view kOpen = "{step:";
  for (const std::string& flag : flags) {
    for (size_t at = flag.find(kOpen); at != std::string::npos; at = flag.find(kOpen, at + 1)) {
      const size_t close = flag.find('}', at);
      if (close == std::string::npos) break;  // FillPlaceholders refuses it.
      names.insert(flag.substr(at + kOpen.size(), close - at - kOpen.size()));
    }
  }
}

}  // namespace

std::set<std::string> StepsNeeded(const GridRuns& runs, const std::vector<size_t>& cells) {
  std::set<std::string> needed;
  for (size_t cell : cells) AddStepsNamedIn(runs.cells.at(cell).flags, needed);
  // A step sees only the steps before it: from the last, each needed step adds what it names.
  for (size_t i = runs.steps.size(); i-- > 0;) {
    if (needed.count(runs.steps[i].label) > 0) AddStepsNamedIn(runs.steps[i].flags, needed);
  }
  return needed;
}

absl::StatusOr<std::string> FillPlaceholders(const std::string& text, const Placeholders& values) {
  std::string filled;
  size_t at = 0;
  while (at < text.size()) {
    const size_t open = text.find('{', at);
    if (open == std::string::npos) {
      filled += text.substr(at);
      break;
    }
    filled += text.substr(at, open - at);
    const size_t close = text.find('}', open);
    if (close == std::string::npos) {
      return absl::InvalidArgumentError("\"" + text + "\": a '{' without its '}'");
    }
    const std::string name = text.substr(open + 1, close - open - 1);
    if (name == "out") {
      filled += values.out;
    } else if (name == "dir") {
      filled += values.dir;
    } else if (name == "seed") {
      filled += values.seed;
    } else if (name == "scale") {
      filled += values.scale;
    } else if (name == "data") {
      filled += values.data;
    } else if (name.rfind("step:", 0) == 0 && values.steps.count(name.substr(5)) > 0) {
      filled += values.steps.at(name.substr(5));
    } else {
      return absl::InvalidArgumentError(
          "\"" + text + "\": unknown placeholder {" + name +
          "} (known: {out}, {dir}, {seed}, {scale}, {data}, {step:NAME} of a step)");
    }
    at = close + 1;
  }
  return filled;
}

}  // namespace fauna
