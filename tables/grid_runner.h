// Running a table's runs: each run (a step or a cell, for one seed) is one process of its trainer
// writing into its own folder <out>/<run>/seed_<S>. A run whose done file is there is skipped, one
// with a checkpoint is resumed, the others start from the beginning; so a table can be killed at
// any moment and run again, and only the missing runs are done. A lock file in each folder keeps
// two runners (shards, or --jobs of one) off the same run. What a run printed is appended to its
// log.txt; how long it took (over all its attempts) is kept in its run.json.
#ifndef FAUNA_TABLES_GRID_RUNNER_H_
#define FAUNA_TABLES_GRID_RUNNER_H_

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tables/grid_spec.h"
#include "tables/trainer_kind.h"
#include "train/seed_stability.h"

namespace fauna {

// Files of a run's folder that the runner writes.
inline constexpr const char* kRunLogFile = "log.txt";
inline constexpr const char* kRunRecordFile = "run.json";
inline constexpr const char* kRunLockFile = "runner.lock";

// What the runs of a table are given.
struct GridRunOptions {
  std::string out;                  // The table's folder.
  std::string scale;                // --scale of the trainers that take it, and {scale}.
  std::string data = "synthetic";   // {data}.
  std::vector<uint64_t> seeds = {0};
  Shard shard;                      // Which cells this process runs (steps: those its cells need).
  // Trainer kind name -> its binary. A kind missing here is an error when a run needs it.
  std::map<std::string, std::string> trainers;
  // Folder of the recipes (<recipe>.flags).
  std::string recipes_dir;
  // --threads of every run (every fauna binary takes it); 0 leaves it to each binary.
  int threads = 0;
  // Appended to every cell's flags (not the steps').
  std::vector<std::string> passthrough;
};

// One process to run.
struct PlannedRun {
  std::string label;  // "lr=0.01, seed 0"
  bool is_step = false;
  size_t index = 0;   // In GridRuns::steps or GridRuns::cells.
  uint64_t seed = 0;
  std::string dir;    // <out>/<run dir>/seed_<S>
  TrainerKind kind;
  // The command, without --resume: the trainer, --flagfile=<recipe>, --scale, --seed, --threads,
  // --progress=false, the run's flags (placeholders filled), the passthrough (cells), then the
  // kind's folder arguments.
  std::vector<std::string> argv;
};

// The folder of run `dir_name` for `seed`: <out>/<dir_name>/seed_<S>.
std::string RunFolder(const std::string& out, const std::string& dir_name, uint64_t seed);

// The steps and the cells to run: the cells of the seeds in options.seeds that fall to
// options.shard (counting cell-major: cell 0 with every seed, then cell 1, ...), and every step of
// the seeds those cells have. Errors: a trainer kind that is unknown or has no binary in
// options.trainers, a recipe with no file, a bad placeholder.
struct GridPlan {
  std::vector<PlannedRun> steps;
  std::vector<PlannedRun> cells;
};
absl::StatusOr<GridPlan> PlanGrid(const GridRuns& runs, const GridRunOptions& options);

// How far a run got.
enum class RunState {
  kFresh,      // Neither the done file nor a checkpoint.
  kResumable,  // A checkpoint (of a kind that has one) but no done file.
  kFinished,   // The done file.
};
RunState StateOfRun(const std::string& dir, const TrainerKind& kind);

// How running a planned run went.
struct RunOutcome {
  enum class Kind {
    kAlreadyFinished,  // Its done file was there: not run.
    kFinished,         // Run (or resumed) to its end now.
    kBusy,             // Another runner holds its lock: not run.
    kFailed,           // It ran and failed (message says how), or a step it needs failed.
  };
  Kind kind = Kind::kFailed;
  std::string message;
  double seconds = 0;  // Of this attempt.
};

// Runs `run` unless finished (resuming it when it can), its output appended to its log.txt.
// With wait_for_lock, waits for another runner's lock instead of returning kBusy (steps: a shard
// needs them finished, whoever runs them). Errors are the runner's own (a folder it cannot make,
// a lock it cannot take, a binary it cannot start); a failing trainer is an outcome.
absl::StatusOr<RunOutcome> ExecuteRun(const PlannedRun& run, bool wait_for_lock);

// Runs `runs` on `jobs` threads (at least 1), each run as ExecuteRun, and returns their outcomes
// in order. `report(run, outcome)` is called, one call at a time, as each ends; `skip(run)`, when
// given, is asked before each run starts and a non-empty answer fails the run with that message
// (a cell whose step failed).
std::vector<absl::StatusOr<RunOutcome>> ExecuteRuns(
    const std::vector<PlannedRun>& runs, int jobs, bool wait_for_lock,
    const std::function<void(const PlannedRun&, const absl::StatusOr<RunOutcome>&)>& report,
    const std::function<std::string(const PlannedRun&)>& skip = nullptr);

// Records in the run's run.json that it was not run, and why ("step backbone of seed 0 failed"),
// so that the table says so.
absl::Status RecordSkip(const PlannedRun& run, const std::string& why);

// Total seconds of all attempts of the run in `dir` (its run.json), 0 when none.
double RunSeconds(const std::string& dir);

}  // namespace fauna

#endif  // FAUNA_TABLES_GRID_RUNNER_H_
