#include "tables/grid_table.h"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "core/atomic_file.h"
#include "core/metrics_sink.h"
#include "core/status.h"
#include "eval/svg_plot.h"
#include "tables/grid_runner.h"
#include "tables/trainer_kind.h"

namespace fauna {
namespace {

using Json = nlohmann::json;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

absl::StatusOr<Json> ReadJsonFile(const std::string& path) {
  std::ifstream file(path);
  if (!file) return absl::NotFoundError("no file " + path);
  std::stringstream text;
  text << file.rdbuf();
  Json json = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return absl::InvalidArgumentError(path + " is not JSON");
  return json;
}

// `value` with 4 decimals, or NaN.
std::string Decimal(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.4f", value);
  return buffer;
}

// "12 min 3 s", "45.2 s".
std::string Duration(double seconds) {
  char buffer[64];
  if (seconds < 60) {
    std::snprintf(buffer, sizeof(buffer), "%.1f s", seconds);
  } else if (seconds < 3600) {
    std::snprintf(buffer, sizeof(buffer), "%d min %d s", static_cast<int>(seconds / 60),
                  static_cast<int>(std::fmod(seconds, 60)));
  } else {
    std::snprintf(buffer, sizeof(buffer), "%d h %d min", static_cast<int>(seconds / 3600),
                  static_cast<int>(std::fmod(seconds, 3600) / 60));
  }
  return buffer;
}

// "0.8123 ± 0.0100" over several seeds, "0.8123" for one, "NaN" when none is finite, with the
// count of non-finite seeds.
std::string SummaryText(const Summary& summary) {
  std::string text;
  if (summary.count == 0) {
    text = "NaN";
  } else if (summary.count == 1) {
    text = Decimal(summary.mean);
  } else {
    text = Decimal(summary.mean) + " \xC2\xB1 " + Decimal(summary.std_dev);
  }
  if (summary.non_finite > 0 && summary.count > 0) {
    text += " (" + std::to_string(summary.non_finite) + " NaN)";
  }
  return text;
}

std::string SeedsText(const std::vector<uint64_t>& seeds) {
  std::string text;
  for (uint64_t seed : seeds) text += (text.empty() ? "" : ", ") + std::to_string(seed);
  return text;
}

// Why the run in `dir` has no results: how its last attempt failed, or its state (a run killed
// while it ran last ended "started").
std::string Unfinished(const std::string& dir, const TrainerKind& kind) {
  const bool resumable = StateOfRun(dir, kind) == RunState::kResumable;
  std::error_code error;
  const std::string record_path = dir + "/" + kRunRecordFile;
  if (std::filesystem::exists(record_path, error)) {
    absl::StatusOr<Json> record = ReadJsonFile(record_path);
    const std::string ended =
        record.ok() && record->contains("last_attempt")
            ? (*record)["last_attempt"].value("ended", std::string("?"))
            : std::string("started");
    if (ended.rfind("skipped: ", 0) == 0) return ended;
    if (ended != "finished" && ended != "started") {
      return "failed: " + ended + (resumable ? " (a checkpoint is kept: a rerun resumes)" : "");
    }
  }
  return resumable ? "checkpoint (killed; a rerun resumes)" : "not started";
}

// Whether the study gives a number for column `key` in some row: a column it never reports gets
// no "study" column beside it (a table on Fashion-MNIST, say, with no published figure).
bool StudyHasColumn(const GridReport& report, const std::string& key) {
  if (!report.study.has_value()) return false;
  for (const auto& [row, values] : report.study->rows) {
    if (values.count(key) > 0) return true;
  }
  return false;
}

}  // namespace

absl::StatusOr<StudyTable> ReadStudyTable(const std::string& path, const std::string& key) {
  ASSIGN_OR_RETURN(const Json json, ReadJsonFile(path));
  if (!json.is_object() || !json.contains(key)) {
    return absl::NotFoundError(path + ": no entry \"" + key + "\"");
  }
  const Json& entry = json[key];
  if (!entry.is_object() || !entry.contains("source") || !entry["source"].is_string() ||
      !entry.contains("rows") || !entry["rows"].is_object()) {
    return absl::InvalidArgumentError(path + ": \"" + key +
                                      "\" needs a \"source\" string and a \"rows\" object");
  }
  StudyTable table;
  table.source = entry["source"].get<std::string>();
  table.note = entry.value("note", std::string());
  for (const auto& row : entry["rows"].items()) {
    if (!row.value().is_object()) {
      return absl::InvalidArgumentError(path + ": " + key + ".rows." + row.key() +
                                        " is no object");
    }
    table.row_order.push_back(row.key());
    std::map<std::string, double>& values = table.rows[row.key()];
    for (const auto& value : row.value().items()) {
      if (value.value().is_null()) continue;
      absl::StatusOr<double> number = NumberFromJson(value.value());
      if (!number.ok()) {
        return absl::InvalidArgumentError(path + ": " + key + ".rows." + row.key() + "." +
                                          value.key() + " is " + value.value().dump() +
                                          ", not a number");
      }
      values[value.key()] = *number;
    }
  }
  return table;
}

absl::StatusOr<std::optional<StudyTable>> ReadStudyTableFor(const std::string& path,
                                                            const std::string& key,
                                                            const std::string& data) {
  absl::StatusOr<StudyTable> for_data = ReadStudyTable(path, key + "@" + data);
  if (for_data.ok()) return std::optional<StudyTable>(*std::move(for_data));
  if (!absl::IsNotFound(for_data.status()) || !ReadJsonFile(path).ok()) {
    return for_data.status();
  }
  if (data == "fashion_mnist") return std::optional<StudyTable>();
  ASSIGN_OR_RETURN(StudyTable study, ReadStudyTable(path, key));
  return std::optional<StudyTable>(std::move(study));
}

absl::StatusOr<GridReport> GatherGrid(const GridSpec& spec, const GridRuns& runs,
                                      const std::string& out, const std::vector<uint64_t>& seeds,
                                      const std::string& scale, const std::string& data,
                                      const std::optional<StudyTable>& study) {
  GridReport report;
  report.name = spec.name;
  report.title = spec.title;
  report.columns = spec.columns;
  report.best_key = spec.best;
  report.plot_key = spec.plot;
  report.scale = scale;
  report.data = data;
  report.seeds = seeds;
  report.study = study;
  for (const GridRun& step : runs.steps) {
    for (uint64_t seed : seeds) report.step_seconds += RunSeconds(RunFolder(out, step.dir, seed));
  }
  report.total_seconds = report.step_seconds;
  std::set<std::string> matched;
  for (const GridRun& run : runs.cells) {
    ASSIGN_OR_RETURN(const TrainerKind kind, FindTrainerKind(run.trainer));
    GridCellReport cell;
    cell.label = run.label;
    cell.dir = run.dir;
    cell.axis_values = run.axis_values;
    cell.per_seed.resize(spec.columns.size());
    for (uint64_t seed : seeds) {
      const std::string dir = RunFolder(out, run.dir, seed);
      cell.seconds += RunSeconds(dir);
      if (StateOfRun(dir, kind) != RunState::kFinished) {
        cell.unfinished.emplace_back(seed, Unfinished(dir, kind));
        continue;
      }
      const std::string path = dir + "/" + kind.done_file;
      ASSIGN_OR_RETURN(const Json results, ReadJsonFile(path));
      cell.finished_seeds.push_back(seed);
      for (size_t c = 0; c < spec.columns.size(); ++c) {
        absl::StatusOr<double> value = NumberAtPath(results, spec.columns[c].key);
        if (!value.ok() && !absl::IsNotFound(value.status())) {
          return absl::InvalidArgumentError(path + ": " + std::string(value.status().message()));
        }
        cell.per_seed[c].push_back(value.ok() ? *value : kNaN);
      }
    }
    for (const std::vector<double>& values : cell.per_seed) {
      cell.values.push_back(Summarize(values));
    }
    cell.study.assign(spec.columns.size(), kNaN);
    if (study.has_value() && study->rows.count(run.label) > 0) {
      cell.has_study = true;
      matched.insert(run.label);
      const std::map<std::string, double>& row = study->rows.at(run.label);
      for (size_t c = 0; c < spec.columns.size(); ++c) {
        const auto found = row.find(spec.columns[c].key);
        if (found != row.end()) cell.study[c] = found->second;
      }
    }
    report.total_seconds += cell.seconds;
    report.cells.push_back(std::move(cell));
  }
  if (study.has_value()) {
    for (const std::string& row : study->row_order) {
      if (matched.count(row) == 0) report.study_only_rows.push_back(row);
    }
  }
  if (!spec.best.empty()) {
    size_t column = 0;
    while (spec.columns[column].key != spec.best) ++column;
    double best = -std::numeric_limits<double>::infinity();
    for (size_t i = 0; i < report.cells.size(); ++i) {
      const double mean = report.cells[i].values[column].mean;
      if (std::isfinite(mean) && mean > best) {
        best = mean;
        report.best_cell = static_cast<int>(i);
      }
    }
    if (report.best_cell >= 0) report.cells[report.best_cell].best = true;
  }
  return report;
}

nlohmann::json GridJson(const GridReport& report) {
  Json json;
  json["name"] = report.name;
  json["title"] = report.title;
  json["scale"] = report.scale;
  json["data"] = report.data;
  json["seeds"] = report.seeds;
  json["columns"] = Json::array();
  for (const GridColumn& column : report.columns) {
    json["columns"].push_back({{"key", column.key}, {"label", column.label}});
  }
  json["best_key"] = report.best_key.empty() ? Json(nullptr) : Json(report.best_key);
  json["best"] = report.best_cell >= 0 ? Json(report.cells[report.best_cell].label) : Json(nullptr);
  json["cells"] = Json::array();
  for (const GridCellReport& cell : report.cells) {
    Json entry = {{"label", cell.label}, {"dir", cell.dir}, {"best", cell.best},
                  {"finished_seeds", cell.finished_seeds}, {"seconds", cell.seconds}};
    entry["axes"] = Json::object();
    for (const auto& [flag, value] : cell.axis_values) entry["axes"][flag] = value;
    entry["unfinished"] = Json::array();
    for (const auto& [seed, why] : cell.unfinished) {
      entry["unfinished"].push_back({{"seed", seed}, {"state", why}});
    }
    entry["values"] = Json::object();
    for (size_t c = 0; c < report.columns.size(); ++c) {
      const Summary& s = cell.values[c];
      entry["values"][report.columns[c].key] =
          ReplaceNonFinite({{"mean", s.mean}, {"std", s.std_dev}, {"min", s.min}, {"max", s.max},
                            {"count", s.count}, {"non_finite", s.non_finite},
                            {"per_seed", cell.per_seed[c]}});
    }
    if (cell.has_study) {
      entry["study"] = Json::object();
      for (size_t c = 0; c < report.columns.size(); ++c) {
        if (!std::isnan(cell.study[c]) || report.study->rows.at(cell.label).count(
                                               report.columns[c].key) > 0) {
          entry["study"][report.columns[c].key] = ReplaceNonFinite(cell.study[c]);
        }
      }
    }
    json["cells"].push_back(std::move(entry));
  }
  if (report.study.has_value()) {
    json["study"] = {{"source", report.study->source}, {"note", report.study->note},
                     {"rows_without_cell", report.study_only_rows}};
  }
  json["seconds"] = {{"steps", report.step_seconds}, {"total", report.total_seconds}};
  return json;
}

std::string GridMarkdown(const GridReport& report) {
  std::string md = "# " + report.title + "\n\n";
  size_t finished = 0;
  size_t runs = 0;
  for (const GridCellReport& cell : report.cells) {
    finished += cell.finished_seeds.size();
    runs += cell.finished_seeds.size() + cell.unfinished.size();
  }
  md += "Scale `" + report.scale + "`, data `" + report.data + "`, seeds " +
        SeedsText(report.seeds) + "; " + std::to_string(finished) + " of " +
        std::to_string(runs) + " runs finished; wall time " + Duration(report.total_seconds) +
        " (the runs' own times summed" +
        (report.step_seconds > 0 ? ", " + Duration(report.step_seconds) + " of it shared steps"
                                 : std::string()) +
        ").\n\n";
  if (report.study.has_value()) {
    md += "Study: " + report.study->source + "." +
          (report.study->note.empty() ? "" : " " + report.study->note) + "\n\n";
  }
  std::vector<bool> study_column;  // Whether a "study" column stands beside each column.
  for (const GridColumn& column : report.columns) {
    study_column.push_back(StudyHasColumn(report, column.key));
  }
  md += "| run |";
  std::string rule = "|---|";
  for (size_t c = 0; c < report.columns.size(); ++c) {
    md += " " + report.columns[c].label + " |";
    rule += "---:|";
    if (study_column[c]) {
      md += " study |";
      rule += "---:|";
    }
  }
  md += " seconds |\n" + rule + "---:|\n";
  for (const GridCellReport& cell : report.cells) {
    md += "| " + std::string(cell.best ? "\xE2\x98\x85 " : "") + cell.label + " |";
    for (size_t c = 0; c < report.columns.size(); ++c) {
      md += " " + (cell.finished_seeds.empty() ? std::string("\xE2\x80\x94")
                                               : SummaryText(cell.values[c])) +
            " |";
      if (study_column[c]) {
        const bool reported =
            cell.has_study && report.study->rows.at(cell.label).count(report.columns[c].key) > 0;
        md += " " + (reported ? Decimal(cell.study[c]) : std::string("\xE2\x80\x94")) + " |";
      }
    }
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%.0f", cell.seconds);
    md += std::string(" ") + seconds + " |\n";
  }
  if (report.best_cell >= 0) {
    std::string best_label = report.best_key;
    for (const GridColumn& column : report.columns) {
      if (column.key == report.best_key) best_label = column.label;
    }
    md += "\n\xE2\x98\x85 the best run by " + best_label + ".";
    if (report.seeds.size() > 1) md += " Values are mean \xC2\xB1 std over the seeds.";
    md += "\n";
  } else if (report.seeds.size() > 1) {
    md += "\nValues are mean \xC2\xB1 std over the seeds.\n";
  }
  std::string unfinished;
  for (const GridCellReport& cell : report.cells) {
    for (const auto& [seed, why] : cell.unfinished) {
      unfinished += "- " + cell.label + ", seed " + std::to_string(seed) + ": " + why + "\n";
    }
  }
  if (!unfinished.empty()) md += "\nNot finished:\n\n" + unfinished;
  if (!report.study_only_rows.empty()) {
    md += "\nStudy rows with no run at this scale:";
    for (const std::string& row : report.study_only_rows) md += " " + row + ";";
    md.back() = '.';
    md += "\n";
  }
  return md;
}

std::string GridSvg(const GridReport& report) {
  BarChart chart;
  chart.title = report.title;
  size_t column = 0;
  for (size_t c = 0; c < report.columns.size(); ++c) {
    if (report.columns[c].key == report.plot_key) column = c;
  }
  chart.value_label = report.columns[column].label;
  // The data is named where it is not the default synthetic set ("fauna (small, fashion_mnist)").
  chart.groups = {"fauna (" + report.scale +
                  (report.data == "synthetic" || report.data.empty() ? "" : ", " + report.data) +
                  ")"};
  chart.values.resize(1);
  chart.errors.resize(1);
  const bool with_study = StudyHasColumn(report, report.columns[column].key);
  if (with_study) {
    chart.groups.push_back("study");
    chart.values.resize(2);
  }
  for (const GridCellReport& cell : report.cells) {
    chart.categories.push_back(cell.label);
    chart.values[0].push_back(cell.values[column].mean);
    chart.errors[0].push_back(cell.values[column].count > 1 ? cell.values[column].std_dev : 0);
    if (with_study) chart.values[1].push_back(cell.study[column]);
    chart.highlight.push_back(cell.best);
  }
  return BarChartSvg(chart);
}

absl::Status WriteGridOutputs(const std::string& out, const GridReport& report) {
  const std::string base = out + "/" + report.name;
  RETURN_IF_ERROR(WriteFileAtomically(base + ".json", GridJson(report).dump(2) + "\n"));
  RETURN_IF_ERROR(WriteFileAtomically(base + ".md", GridMarkdown(report)));
  return WriteSvg(base + ".svg", GridSvg(report));
}

}  // namespace fauna
