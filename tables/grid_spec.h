// A table of a study as a grid file: which runs make its rows, and which numbers of each run's
// results it shows. A grid file is JSON:
//
//   {
//     "name": "afhq_figure2_sgd",            names the outputs (<name>.md/.json/.svg)
//     "title": "ResNet-50, SGD grid (AFHQ study, Figure 2)",
//     "study": "afhq_figure2_sgd",           optional: its entry in tables/study_numbers.json
//     "steps": [                             optional: runs every cell of a seed needs first
//       {"name": "backbone", "trainer": "train", "recipe": "endangered_model4",
//        "flags": ["--synthetic_classes=11"]}],
//     "trainer": "train",                    the cells' binary (see tables/trainer_kind.h)
//     "recipe": "resnet50_best",             optional: train/recipes/<recipe>.flags
//     "flags": ["--optimizer=sgd"],          every cell's
//     "rows": [{"name": "scratch", "flags": []},
//              {"name": "transfer",
//               "flags": ["--init_weights={step:backbone}/model.safetensors"]}],
//     "axes": [{"flag": "lr", "values": ["0.01", "0.001"]}],
//     "scales": {"ci": {"flags": ["--epochs=2"], "axes": {"lr": ["0.01"]}, "rows": ["scratch"]}},
//     "columns": [{"key": "test_acc", "label": "test accuracy"}],
//     "best": "val_acc",                     optional: the column whose largest value marks a cell
//     "plot": "test_acc"                     optional: the bar chart's column (default the first)
//   }
//
// The cells are the rows (one unnamed row when there are none) times every combination of the
// axes' values; a row may name its own "trainer" and "recipe". A scale may add flags, narrow an
// axis to some of its values and keep some rows (by name). A cell's flags are the file's, then the
// scale's, then the row's, then its axis values as --flag=value; later flags win, as gflags reads
// them. Flags may hold placeholders that the runner fills in: {out} (the table's folder), {dir}
// (the run's own folder), {step:NAME} (that step's folder for the same seed), {seed}, {scale},
// {data}.
#ifndef FAUNA_TABLES_GRID_SPEC_H_
#define FAUNA_TABLES_GRID_SPEC_H_

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace fauna {

// A number a table shows: a dotted key of a run's results.json ("test_acc", "test.acc") and the
// column's title.
struct GridColumn {
  std::string key;
  std::string label;
};

// One run of the table: a step (run before the cells) or a row of the file.
struct GridRunSpec {
  std::string name;
  std::string trainer;  // Empty: the file's trainer.
  // Empty: for a row the file's recipe, if any; for a step none (a step such as
  // extract_features takes no recipe).
  std::string recipe;
  std::vector<std::string> flags;
};

// An axis of the grid: a trainer flag and the values it takes.
struct GridAxis {
  std::string flag;
  std::vector<std::string> values;
};

// What a scale changes.
struct GridScale {
  std::vector<std::string> flags;
  // Axis flag -> the values kept, each one of the axis's.
  std::map<std::string, std::vector<std::string>> axes;
  // The rows kept, by name; empty: all.
  std::vector<std::string> rows;
};

// A grid file, read and checked.
struct GridSpec {
  std::string name;
  std::string title;
  std::string study;
  std::vector<GridRunSpec> steps;
  std::string trainer;
  std::string recipe;
  std::vector<std::string> flags;
  std::vector<GridRunSpec> rows;
  std::vector<GridAxis> axes;
  std::map<std::string, GridScale> scales;
  std::vector<GridColumn> columns;
  std::string best;
  std::string plot;
};

// Reads a grid file from JSON. `origin` names it in errors ("tables/grids/x.json: ..."). Errors
// (InvalidArgument): a field of the wrong type or unknown (a misspelt key is not ignored); a name
// that is not [a-z0-9_]+; no trainer; no columns; a row, step, column or axis without its name,
// key or flag; two rows, steps, columns or axes with one name; an axis without values or with a
// value twice; a flag that does not start with "--"; a scale narrowing an axis the file does not
// have, to a value the axis does not have, or keeping a row the file does not have; a scale
// other than ci, small and paper; "best" or "plot" that is not a column's key.
absl::StatusOr<GridSpec> ParseGridSpec(const nlohmann::json& json, const std::string& origin);

// Reads and parses the grid file at `path` (NotFound when missing, InvalidArgument when it is not
// JSON, naming the file and the line).
absl::StatusOr<GridSpec> ReadGridSpec(const std::string& path);

// One run the table needs, with its flags before the placeholders are filled in.
struct GridRun {
  // "scratch", "lr=0.01 momentum=0.9", "transfer, lr=0.01"; a step's name.
  std::string label;
  // The run's folder inside the table's (per seed: <dir>/seed_<S>): the label with every
  // character but [a-z0-9._=-] made '_' ("lr=0.01_momentum=0.9").
  std::string dir;
  std::string row;  // The row's name ("" for the unnamed row, and for steps).
  std::vector<std::pair<std::string, std::string>> axis_values;
  std::string trainer;
  std::string recipe;  // Empty: none.
  std::vector<std::string> flags;
};

// The scale's runs: the steps (in the file's order) and the cells (rows in order, then the axes'
// values, the last axis varying fastest). An unknown scale takes the file as it is. Errors: two
// runs with one folder name (e.g. rows "a b" and "a_b"), or a step named as a cell's folder.
struct GridRuns {
  std::vector<GridRun> steps;
  std::vector<GridRun> cells;
};
absl::StatusOr<GridRuns> ExpandGrid(const GridSpec& spec, const std::string& scale);

// The names of the steps that the cells `cells` (indices into runs.cells) need: those their flags
// name ({step:NAME}) and, in turn, the steps those steps' flags name. The others need not run
// for these cells (grid --rows).
std::set<std::string> StepsNeeded(const GridRuns& runs, const std::vector<size_t>& cells);

// The values of the placeholders of one run.
struct Placeholders {
  std::string out, dir, seed, scale, data;
  std::map<std::string, std::string> steps;  // Step name -> its folder.
};

// `text` with every {out}, {dir}, {seed}, {scale}, {data} and {step:NAME} replaced. Errors: an
// unknown placeholder or step ("{step:nope}"; a step sees only the steps before it), an unclosed
// '{'.
absl::StatusOr<std::string> FillPlaceholders(const std::string& text, const Placeholders& values);

}  // namespace fauna

#endif  // FAUNA_TABLES_GRID_SPEC_H_
