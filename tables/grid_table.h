// A table's merge step: the finished runs of a grid read back from their folders (only files: it
// runs nothing), each cell's numbers summarised over its seeds, the best cell marked, the study's
// own numbers beside them, written as <name>.md, <name>.json and <name>.svg.
#ifndef FAUNA_TABLES_GRID_TABLE_H_
#define FAUNA_TABLES_GRID_TABLE_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "tables/grid_spec.h"
#include "train/seed_stability.h"

namespace fauna {

// What a study reported for one of its tables: per row (named as the grid's cell it matches),
// numbers per column key. Read from tables/study_numbers.json:
//   {"afhq_table1": {"source": "AFHQ study (seeds/000), Table 1", "note": "...",
//                    "rows": {"best": {"test_acc": 0.983, "test_loss": 0.064}, ...}}}
// A number may be "NaN" (the study's NaN losses) or null (not reported).
struct StudyTable {
  std::string source;
  std::string note;
  std::vector<std::string> row_order;
  std::map<std::string, std::map<std::string, double>> rows;
};

// The entry `key` of the study-numbers file at `path`. Errors: a missing file or key (NotFound),
// malformed JSON or an entry without "source" or "rows", a value that is no number.
absl::StatusOr<StudyTable> ReadStudyTable(const std::string& path, const std::string& key);

// The study's numbers for a table run on `data`: the entry "<key>@<data>" when the file has one
// (numbers published for that data), else none for Fashion-MNIST (the studies' photographs are
// not it), else the entry `key` (the synthetic set stands in for the studies' data, and a
// user's folder is that data). Errors as ReadStudyTable's.
absl::StatusOr<std::optional<StudyTable>> ReadStudyTableFor(const std::string& path,
                                                            const std::string& key,
                                                            const std::string& data);

// One cell of the table, over its seeds.
struct GridCellReport {
  std::string label;
  std::string dir;
  std::vector<std::pair<std::string, std::string>> axis_values;
  std::vector<uint64_t> finished_seeds;
  // Seeds without results, and why: "not started", "checkpoint" (killed, resumable), or how its
  // last attempt failed.
  std::vector<std::pair<uint64_t, std::string>> unfinished;
  // Per column: the summary over the finished seeds, and each finished seed's value (NaN where a
  // run's results lack the key).
  std::vector<Summary> values;
  std::vector<std::vector<double>> per_seed;
  // Per column, the study's number (NaN: none); has_study when the study has this row.
  std::vector<double> study;
  bool has_study = false;
  // Seconds of the cell's runs (all seeds, all attempts).
  double seconds = 0;
  bool best = false;
};

// A table gathered from its folder.
struct GridReport {
  std::string name;
  std::string title;
  std::vector<GridColumn> columns;
  std::string best_key;
  std::string plot_key;
  std::string scale;
  std::string data;
  std::vector<uint64_t> seeds;
  std::vector<GridCellReport> cells;
  // The best cell (largest mean of best_key), or -1.
  int best_cell = -1;
  // Seconds of the steps' runs and of everything.
  double step_seconds = 0;
  double total_seconds = 0;
  std::optional<StudyTable> study;
  // Study rows that match no cell of this scale (e.g. a row a smaller scale leaves out).
  std::vector<std::string> study_only_rows;
};

// Reads the runs of `runs` under `out` for `seeds`. A cell counts the seeds whose run finished;
// numbers are read from each finished run's done file (results.json) at the columns' dotted keys.
// Errors: a finished run's results that are not JSON, or whose value at a key is no number.
absl::StatusOr<GridReport> GatherGrid(const GridSpec& spec, const GridRuns& runs,
                                      const std::string& out, const std::vector<uint64_t>& seeds,
                                      const std::string& scale, const std::string& data,
                                      const std::optional<StudyTable>& study);

// The report as JSON (numbers as ReplaceNonFinite writes them); the same runs give the same
// document except for the seconds.
nlohmann::json GridJson(const GridReport& report);

// The report as Markdown: the title, scale, data, seeds and wall time, then one line per cell with
// each column's value (mean ± std over seeds) and the study's beside it, the best cell marked ★;
// then the unfinished runs and the study's rows without a cell.
std::string GridMarkdown(const GridReport& report);

// A bar chart of the plot column: each cell's value (± std) beside the study's.
std::string GridSvg(const GridReport& report);

// Writes <out>/<name>.md, .json and .svg, each atomically.
absl::Status WriteGridOutputs(const std::string& out, const GridReport& report);

}  // namespace fauna

#endif  // FAUNA_TABLES_GRID_TABLE_H_
