// The tables of both studies: each grid file of tables/grids/ (or any grid file) run and merged
// into <out>/<name>.md, .json and .svg, with the study's numbers beside fauna's.
//
//   bazel run //tables:grid -- --grids=endangered_models --scale=small
//   bazel run //tables:grid -- --grids=all --scale=small            # every table, and an index
//   bazel run //tables:grid -- --grids=afhq_figure2_sgd --shard=0/2   # 1/2 elsewhere, same --out
//   bazel run //tables:grid -- --grids=x.json --merge_only
//
// Every run (a step or a cell, per seed) is one trainer process in <out>/<name>/<run>/seed_<S>
// (tables/grid_runner.h): a finished run is skipped, a killed one resumed, so a table can be
// stopped at any moment and run again. Flags after -- go to every cell's trainer.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <system_error>
#include <vector>

#include <gflags/gflags.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/runtime.h"
#include "core/status.h"
#include "tables/grid_runner.h"
#include "tables/grid_spec.h"
#include "tables/grid_table.h"
#include "tables/trainer_kind.h"
#include "train/seed_stability.h"

DEFINE_string(grids, "",
              "Comma-separated tables: names of tables/grids/<name>.json, paths of grid files "
              "(*.json), or all.");
DEFINE_string(scale, "small", "ci, small or paper: the trainers' --scale and the grid's subset.");
DEFINE_string(data, "synthetic", "The data of the runs that take {data} (see each grid file).");
DEFINE_int64(seeds, 1, "Seeds per cell: first_seed, ..., first_seed + seeds - 1.");
DEFINE_uint64(first_seed, 0, "The first seed.");
DEFINE_string(out, "",
              "Folder of the tables; default runs/tables/<scale> in the workspace "
              "(runs/tables/<scale>_<data's name> for other --data).");
DEFINE_string(shard, "0/1",
              "i/n: run every n-th cell (cells x seeds, cell-major) from the i-th, so that n "
              "processes or machines with one --out share a table; steps run where needed.");
DEFINE_int32(jobs, 1, "Runs at once on this machine (each trainer uses --threads of its own).");
DEFINE_int32(run_threads, 0, "--threads of every run; 0: each binary's default (one per core).");
DEFINE_string(rows, "",
              "Comma-separated row names: run only these rows' cells now (the table shows every "
              "row, the others as not run until a later run without --rows). Every table named "
              "must have them; only the steps their cells name ({step:NAME}) run.");
DEFINE_bool(merge_only, false, "Run nothing: write the tables from the runs there are.");
DEFINE_string(trainer_path, "",
              "name=path[,name=path]: a trainer binary other than the one in the runfiles.");
DEFINE_string(study_numbers, "",
              "The studies' numbers; default tables/study_numbers.json in the runfiles.");

namespace fauna {
namespace {

constexpr const char* kGridsFolder = "tables/grids";
constexpr const char* kStudyNumbers = "tables/study_numbers.json";
constexpr const char* kRecipesFolder = "train/recipes";

bool Exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

// The grid files --grids names.
absl::StatusOr<std::vector<std::string>> GridFiles(const std::string& runfiles) {
  const std::string folder = RunfilePath(runfiles, kGridsFolder);
  std::set<std::string> known;
  std::error_code error;
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() == ".json") known.insert(it->path().stem().string());
  }
  std::string names;
  for (const std::string& name : known) names += (names.empty() ? "" : ", ") + name;
  std::vector<std::string> files;
  if (FLAGS_grids.empty()) {
    return absl::InvalidArgumentError("--grids: name tables (" + names + "), or all");
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> items, ParseKeyList(FLAGS_grids));
  for (const std::string& item : items) {
    if (item == "all") {
      for (const std::string& name : known) files.push_back(folder + "/" + name + ".json");
    } else if (item.size() > 5 && item.substr(item.size() - 5) == ".json") {
      files.push_back(UserPath(item));
    } else if (known.count(item) > 0) {
      files.push_back(folder + "/" + item + ".json");
    } else {
      return absl::NotFoundError("no table \"" + item + "\" (tables: " + names + ")");
    }
  }
  return files;
}

// Trainer name -> binary: the runfiles', then --trainer_path's.
absl::StatusOr<std::map<std::string, std::string>> Trainers(const std::string& runfiles) {
  std::map<std::string, std::string> trainers;
  for (const TrainerKind& kind : TrainerKinds()) {
    const std::string path = RunfilePath(runfiles, kind.runfile);
    if (Exists(path)) trainers[kind.name] = std::filesystem::absolute(path).string();
  }
  ASSIGN_OR_RETURN(const std::vector<std::string> paths, ParseKeyList(FLAGS_trainer_path));
  for (const std::string& item : paths) {
    const size_t equals = item.find('=');
    if (equals == std::string::npos) {
      return absl::InvalidArgumentError("--trainer_path: \"" + item + "\" is not name=path");
    }
    const std::string name = item.substr(0, equals);
    RETURN_IF_ERROR(FindTrainerKind(name).status());
    const std::string path = UserPath(item.substr(equals + 1));
    if (!Exists(path)) return absl::NotFoundError("--trainer_path: no binary " + path);
    trainers[name] = std::filesystem::absolute(path).string();
  }
  return trainers;
}

std::string OutcomeText(const absl::StatusOr<RunOutcome>& outcome) {
  if (!outcome.ok()) return "ERROR: " + std::string(outcome.status().message());
  char seconds[32];
  std::snprintf(seconds, sizeof(seconds), "%.1f s", outcome->seconds);
  switch (outcome->kind) {
    case RunOutcome::Kind::kAlreadyFinished:
      return "already finished";
    case RunOutcome::Kind::kFinished:
      return std::string(outcome->message.empty() ? "finished" : "resumed and finished") +
             " in " + seconds;
    case RunOutcome::Kind::kBusy:
      return "skipped: " + outcome->message;
    case RunOutcome::Kind::kFailed:
      return "FAILED: " + outcome->message;
  }
  return "?";
}

bool Failed(const absl::StatusOr<RunOutcome>& outcome) {
  return !outcome.ok() || outcome->kind == RunOutcome::Kind::kFailed;
}

// --rows, each name checked against `spec`'s rows (an unknown one is InvalidArgument).
absl::StatusOr<std::vector<std::string>> RowsOf(const GridSpec& spec) {
  ASSIGN_OR_RETURN(std::vector<std::string> rows, ParseKeyList(FLAGS_rows));
  for (const std::string& row : rows) {
    bool known = false;
    for (const GridRunSpec& spec_row : spec.rows) known = known || spec_row.name == row;
    if (!known) {
      return absl::InvalidArgumentError("--rows: " + spec.name + " has no row \"" + row + "\"");
    }
  }
  return rows;
}

// Runs (unless --merge_only) and merges one table; returns the failures.
absl::StatusOr<std::vector<std::string>> MakeTable(const std::string& grid_file,
                                                   const GridRunOptions& base,
                                                   const std::string& study_numbers,
                                                   std::string* markdown_name) {
  ASSIGN_OR_RETURN(const GridSpec spec, ReadGridSpec(grid_file));
  ASSIGN_OR_RETURN(const GridRuns runs, ExpandGrid(spec, base.scale));
  GridRunOptions options = base;
  options.out = base.out + "/" + spec.name;
  std::optional<StudyTable> study;
  if (!spec.study.empty()) {
    ASSIGN_OR_RETURN(study, ReadStudyTableFor(study_numbers, spec.study, options.data));
  }
  std::vector<std::string> failures;
  if (!FLAGS_merge_only) {
    ASSIGN_OR_RETURN(GridPlan plan, PlanGrid(runs, options));
    ASSIGN_OR_RETURN(const std::vector<std::string> rows, RowsOf(spec));
    if (!rows.empty()) {  // Only these rows' cells, and only the steps they need.
      std::vector<PlannedRun> kept;
      std::vector<size_t> kept_indices;
      for (PlannedRun& cell : plan.cells) {
        const std::string& row = runs.cells[cell.index].row;
        if (std::find(rows.begin(), rows.end(), row) != rows.end()) {
          kept.push_back(cell);
          kept_indices.push_back(cell.index);
        }
      }
      plan.cells = std::move(kept);
      const std::set<std::string> needed = StepsNeeded(runs, kept_indices);
      std::vector<PlannedRun> steps;
      for (PlannedRun& step : plan.steps) {
        if (needed.count(runs.steps[step.index].label) > 0) steps.push_back(step);
      }
      plan.steps = std::move(steps);
    }
    std::fprintf(stderr, "%s: %zu steps and %zu cells to run (of %zu cells x %zu seeds), %s\n",
                 spec.name.c_str(), plan.steps.size(), plan.cells.size(), runs.cells.size(),
                 options.seeds.size(), options.out.c_str());
    size_t done = 0;
    size_t total = plan.steps.size() + plan.cells.size();
    std::set<std::pair<std::string, uint64_t>> failed_steps;
    const auto report = [&](const PlannedRun& run, const absl::StatusOr<RunOutcome>& outcome) {
      ++done;
      std::printf("%s [%zu/%zu] %s%s: %s\n", spec.name.c_str(), done, total,
                  run.is_step ? "step " : "", run.label.c_str(), OutcomeText(outcome).c_str());
      std::fflush(stdout);
      if (Failed(outcome)) {
        failures.push_back(spec.name + ": " + run.label + ": " +
                           (outcome.ok() ? outcome->message
                                         : std::string(outcome.status().message())));
        if (run.is_step) failed_steps.insert({runs.steps[run.index].dir, run.seed});
      }
    };
    const auto skip = [&](const PlannedRun& run) -> std::string {
      for (const GridRun& step : runs.steps) {
        if (failed_steps.count({step.dir, run.seed}) > 0) {
          const std::string why =
              "step " + step.label + " of seed " + std::to_string(run.seed) + " failed";
          const absl::Status recorded = RecordSkip(run, why);
          return recorded.ok() ? why : why + " (" + std::string(recorded.message()) + ")";
        }
      }
      return "";
    };
    // Steps one at a time, in order: a step may read the steps before it (a model, then its
    // features), and waits for another runner that holds one.
    ExecuteRuns(plan.steps, /*jobs=*/1, /*wait_for_lock=*/true, report, skip);
    const std::vector<absl::StatusOr<RunOutcome>> outcomes =
        ExecuteRuns(plan.cells, FLAGS_jobs, /*wait_for_lock=*/false, report, skip);
    // Cells another runner (a shard) held: wait for it, so that this table is whole too.
    std::vector<PlannedRun> busy;
    for (size_t i = 0; i < outcomes.size(); ++i) {
      if (outcomes[i].ok() && outcomes[i]->kind == RunOutcome::Kind::kBusy) {
        busy.push_back(plan.cells[i]);
      }
    }
    total += busy.size();
    ExecuteRuns(busy, FLAGS_jobs, /*wait_for_lock=*/true, report, skip);
  }
  ASSIGN_OR_RETURN(const GridReport table,
                   GatherGrid(spec, runs, options.out, options.seeds, options.scale,
                              options.data, study));
  RETURN_IF_ERROR(WriteGridOutputs(base.out, table));
  std::printf("%s", GridMarkdown(table).c_str());
  std::printf("table: %s/%s.md, .json, .svg\n\n", base.out.c_str(), spec.name.c_str());
  std::fflush(stdout);
  *markdown_name = spec.name + ".md: " + spec.title;
  return failures;
}

absl::Status Run(const std::vector<std::string>& passthrough, const char* argv0) {
  if (FLAGS_scale != "ci" && FLAGS_scale != "small" && FLAGS_scale != "paper") {
    return absl::InvalidArgumentError("--scale=" + FLAGS_scale + ": ci, small or paper");
  }
  if (FLAGS_seeds < 1) return absl::InvalidArgumentError("--seeds: at least 1");
  if (FLAGS_jobs < 1) return absl::InvalidArgumentError("--jobs: at least 1");
  const std::string runfiles = RunfilesDir(argv0);
  ASSIGN_OR_RETURN(const std::vector<std::string> files, GridFiles(runfiles));
  GridRunOptions options;
  options.scale = FLAGS_scale;
  options.data = FLAGS_data;
  options.seeds.clear();
  for (int64_t s = 0; s < FLAGS_seeds; ++s) options.seeds.push_back(FLAGS_first_seed + s);
  ASSIGN_OR_RETURN(options.shard, ParseShard(FLAGS_shard));
  ASSIGN_OR_RETURN(options.trainers, Trainers(runfiles));
  options.recipes_dir = std::filesystem::absolute(RunfilePath(runfiles, kRecipesFolder)).string();
  options.passthrough = passthrough;
  if (FLAGS_run_threads < 0) return absl::InvalidArgumentError("--run_threads: 0 or more");
  options.threads = FLAGS_run_threads;
  // Runs on other data go elsewhere by default: a finished run is never taken for another's.
  std::string data_suffix;
  if (FLAGS_data != "synthetic") {
    data_suffix = "_";
    std::string data = FLAGS_data;
    while (data.size() > 1 && data.back() == '/') data.pop_back();
    for (char c : std::filesystem::path(data).filename().string()) {
      data_suffix += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
    }
  }
  const std::string out = FLAGS_out.empty()
                              ? DefaultRunDir("tables/" + FLAGS_scale + data_suffix)
                              : UserPath(FLAGS_out);
  options.out = std::filesystem::absolute(out).string();
  const std::string study_numbers =
      FLAGS_study_numbers.empty() ? RunfilePath(runfiles, kStudyNumbers)
                                  : UserPath(FLAGS_study_numbers);
  std::error_code error;
  std::filesystem::create_directories(options.out, error);
  if (error) return ErrnoToStatus(error.value(), "cannot create " + options.out);

  if (!FLAGS_rows.empty()) {  // Every table named has the rows, before any of them runs.
    for (const std::string& file : files) {
      ASSIGN_OR_RETURN(const GridSpec spec, ReadGridSpec(file));
      RETURN_IF_ERROR(RowsOf(spec).status());
    }
  }
  std::vector<std::string> failures;
  std::vector<std::string> index;
  for (const std::string& file : files) {
    std::string entry;
    absl::StatusOr<std::vector<std::string>> table_failures =
        MakeTable(file, options, study_numbers, &entry);
    if (!table_failures.ok()) {  // The other tables go on.
      if (files.size() == 1) return table_failures.status();
      std::fprintf(stderr, "error: %s\n", std::string(table_failures.status().message()).c_str());
      failures.push_back(std::string(table_failures.status().message()));
      continue;
    }
    failures.insert(failures.end(), table_failures->begin(), table_failures->end());
    index.push_back(entry);
  }
  if (files.size() > 1) {
    std::string readme = "# fauna's tables at the " + FLAGS_scale + " scale\n\n";
    for (const std::string& entry : index) {
      const std::string file = entry.substr(0, entry.find(':'));
      readme += "- [" + entry.substr(entry.find(':') + 2) + "](" + file + ")\n";
    }
    RETURN_IF_ERROR(WriteFileAtomically(options.out + "/README.md", readme));
    std::printf("index: %s/README.md\n", options.out.c_str());
  }
  if (failures.empty()) return absl::OkStatus();
  std::string message = std::to_string(failures.size()) + " runs failed: ";
  for (size_t i = 0; i < failures.size(); ++i) message += (i > 0 ? "; " : "") + failures[i];
  return absl::InternalError(message);
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  std::vector<std::string> passthrough;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--") {
      for (int k = i + 1; k < argc; ++k) passthrough.push_back(argv[k]);
      argc = i;
      argv[argc] = nullptr;
      break;
    }
  }
  fauna::ParseFlags(&argc, &argv,
                    "grid: the studies' tables, each a grid of trainer runs merged into\n"
                    "<out>/<name>.{md,json,svg}. See tables/grid_main.cc.",
                    {{"The tables", {"grids", "scale", "data", "seeds", "first_seed", "out"}},
                     {"How they run",
                      {"rows", "shard", "jobs", "run_threads", "merge_only", "trainer_path",
                       "study_numbers"}}});
  if (argc > 1) {
    return fauna::ExitCode(absl::InvalidArgumentError(
        std::string("unexpected argument '") + argv[1] + "'; trainer flags go after --"));
  }
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  return fauna::ExitCode(fauna::Run(passthrough, argv[0]));
}
