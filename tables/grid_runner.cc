#include "tables/grid_runner.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <sstream>
#include <system_error>
#include <thread>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "core/atomic_file.h"
#include "core/status.h"
#include "train/child_process.h"
#include "train/run_lock.h"

namespace fauna {
namespace {

bool Exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

nlohmann::json ReadRecord(const std::string& dir) {
  std::ifstream file(dir + "/" + kRunRecordFile);
  if (!file) return nlohmann::json::object();
  std::stringstream text;
  text << file.rdbuf();
  nlohmann::json record = nlohmann::json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  return record.is_object() ? record : nlohmann::json::object();
}

// What decides a run's results in its command: all but the binary's path (another checkout's or
// a Bazel action's), --threads, --progress and --resume.
std::vector<std::string> DecisiveArgs(const std::vector<std::string>& argv) {
  std::vector<std::string> args;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg.rfind("--threads=", 0) == 0 || arg.rfind("--progress=", 0) == 0 ||
        arg == "--resume") {
      continue;
    }
    args.push_back(arg);
  }
  return args;
}

// "" when the run in `dir` was started with the same decisive arguments as `run` (or never
// started); else the first difference.
std::string CommandDifference(const PlannedRun& run) {
  const nlohmann::json record = ReadRecord(run.dir);
  if (!record.contains("argv") || !record["argv"].is_array()) return "";
  std::vector<std::string> before;
  for (const nlohmann::json& arg : record["argv"]) {
    if (arg.is_string()) before.push_back(arg.get<std::string>());
  }
  const std::vector<std::string> was = DecisiveArgs(before);
  const std::vector<std::string> now = DecisiveArgs(run.argv);
  for (size_t i = 0; i < std::max(was.size(), now.size()); ++i) {
    const std::string a = i < was.size() ? was[i] : "(nothing)";
    const std::string b = i < now.size() ? now[i] : "(nothing)";
    if (a != b) return a + " then, " + b + " now";
  }
  return "";
}

// Adds an attempt to the run's run.json: its command, seconds and how it ended.
absl::Status RecordAttempt(const PlannedRun& run, double seconds, const std::string& ended,
                           bool count = true) {
  nlohmann::json record = ReadRecord(run.dir);
  const double before = record.value("seconds", 0.0);
  record["label"] = run.label;
  record["argv"] = run.argv;
  record["seconds"] = before + seconds;
  record["attempts"] = record.value("attempts", 0) + (count ? 1 : 0);
  record["last_attempt"] = {{"ended", ended}, {"seconds", seconds}, {"at", LocalTimeNow()}};
  return WriteFileAtomically(run.dir + "/" + kRunRecordFile, record.dump(2) + "\n");
}

std::string Joined(const std::vector<std::string>& argv) {
  std::string text;
  for (const std::string& arg : argv) text += (text.empty() ? "" : " ") + arg;
  return text;
}

}  // namespace

std::string RunFolder(const std::string& out, const std::string& dir_name, uint64_t seed) {
  return out + "/" + dir_name + "/" + SeedDirName(seed);
}

absl::StatusOr<GridPlan> PlanGrid(const GridRuns& runs, const GridRunOptions& options) {
  GridPlan plan;
  // The cells of this shard, cell-major, and the seeds they have.
  std::set<uint64_t> shard_seeds;
  std::vector<std::pair<size_t, uint64_t>> cells;
  int64_t position = 0;
  for (size_t c = 0; c < runs.cells.size(); ++c) {
    for (uint64_t seed : options.seeds) {
      if (position++ % options.shard.count == options.shard.index) {
        cells.emplace_back(c, seed);
        shard_seeds.insert(seed);
      }
    }
  }

  const auto plan_run = [&](const GridRun& run, bool is_step, size_t index,
                            uint64_t seed) -> absl::StatusOr<PlannedRun> {
    PlannedRun planned;
    planned.label = run.label + ", seed " + std::to_string(seed);
    planned.is_step = is_step;
    planned.index = index;
    planned.seed = seed;
    planned.dir = RunFolder(options.out, run.dir, seed);
    ASSIGN_OR_RETURN(planned.kind, FindTrainerKind(run.trainer));
    const auto binary = options.trainers.find(run.trainer);
    if (binary == options.trainers.end() || binary->second.empty()) {
      return absl::NotFoundError("no binary for trainer \"" + run.trainer + "\" (" +
                                 planned.kind.target + ")");
    }
    Placeholders values;
    values.out = options.out;
    values.dir = planned.dir;
    values.seed = std::to_string(seed);
    values.scale = options.scale;
    values.data = options.data;
    // A step sees the steps before it; a cell sees them all.
    const size_t visible = is_step ? index : runs.steps.size();
    for (size_t s = 0; s < visible; ++s) {
      values.steps[runs.steps[s].dir] = RunFolder(options.out, runs.steps[s].dir, seed);
    }
    planned.argv.push_back(binary->second);
    if (!run.recipe.empty()) {
      const std::string flagfile = options.recipes_dir + "/" + run.recipe + ".flags";
      if (!Exists(flagfile)) {
        return absl::NotFoundError("run \"" + run.label + "\": no recipe " + flagfile);
      }
      planned.argv.push_back("--flagfile=" + flagfile);
    }
    if (planned.kind.takes_scale && !options.scale.empty()) {
      planned.argv.push_back("--scale=" + options.scale);
    }
    if (planned.kind.takes_seed) planned.argv.push_back("--seed=" + std::to_string(seed));
    if (options.threads > 0) planned.argv.push_back("--threads=" + std::to_string(options.threads));
    if (planned.kind.takes_progress) planned.argv.push_back("--progress=false");
    std::vector<std::string> flags = run.flags;
    flags.insert(flags.end(), planned.kind.dir_args.begin(), planned.kind.dir_args.end());
    for (const std::string& flag : flags) {
      absl::StatusOr<std::string> filled = FillPlaceholders(flag, values);
      if (!filled.ok()) {
        return absl::InvalidArgumentError("run \"" + run.label + "\": " +
                                          std::string(filled.status().message()));
      }
      planned.argv.push_back(*filled);
    }
    if (!is_step) {  // The user's, as typed: no placeholders.
      planned.argv.insert(planned.argv.end() - static_cast<std::ptrdiff_t>(
                                                   planned.kind.dir_args.size()),
                          options.passthrough.begin(), options.passthrough.end());
    }
    return planned;
  };

  for (uint64_t seed : options.seeds) {
    if (shard_seeds.count(seed) == 0) continue;
    for (size_t s = 0; s < runs.steps.size(); ++s) {
      ASSIGN_OR_RETURN(PlannedRun planned, plan_run(runs.steps[s], true, s, seed));
      plan.steps.push_back(std::move(planned));
    }
  }
  for (const auto& [c, seed] : cells) {
    ASSIGN_OR_RETURN(PlannedRun planned, plan_run(runs.cells[c], false, c, seed));
    plan.cells.push_back(std::move(planned));
  }
  return plan;
}

RunState StateOfRun(const std::string& dir, const TrainerKind& kind) {
  if (Exists(dir + "/" + kind.done_file)) return RunState::kFinished;
  if (!kind.checkpoint_file.empty() && Exists(dir + "/" + kind.checkpoint_file)) {
    return RunState::kResumable;
  }
  return RunState::kFresh;
}

absl::StatusOr<RunOutcome> ExecuteRun(const PlannedRun& run, bool wait_for_lock) {
  std::error_code error;
  std::filesystem::create_directories(run.dir, error);
  if (error) return ErrnoToStatus(error.value(), "cannot create " + run.dir);
  RunLock lock;
  ASSIGN_OR_RETURN(const bool locked, lock.Take(run.dir, kRunLockFile, wait_for_lock));
  RunOutcome outcome;
  if (!locked) {
    outcome.kind = RunOutcome::Kind::kBusy;
    outcome.message = "another runner holds " + run.dir + "/" + kRunLockFile;
    return outcome;
  }
  const std::string difference = CommandDifference(run);
  if (!difference.empty()) {
    outcome.kind = RunOutcome::Kind::kFailed;
    outcome.message = run.dir + " holds a run with other flags (" + difference +
                      "): delete that folder to run it again, or use another --out";
    return outcome;
  }
  const RunState state = StateOfRun(run.dir, run.kind);
  if (state == RunState::kFinished) {
    outcome.kind = RunOutcome::Kind::kAlreadyFinished;
    return outcome;
  }
  std::vector<std::string> argv = run.argv;
  const bool resume = state == RunState::kResumable;
  if (resume) argv.push_back("--resume");
  const std::string log = run.dir + "/" + kRunLogFile;
  RETURN_IF_ERROR(AppendLogLine(log, "=== grid " + LocalTimeNow() +
                                         (resume ? ": resuming: " : ": starting: ") + Joined(argv)));
  // The command goes on record before the run starts, so that a killed run is compared too.
  RETURN_IF_ERROR(RecordAttempt(run, 0, "started", /*count=*/false));
  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const ChildExit exit, RunChild(argv, log, lock.fd()));
  outcome.seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!exit.ok()) {
    outcome.kind = RunOutcome::Kind::kFailed;
    outcome.message = exit.ToString() + ", log " + log;
  } else if (StateOfRun(run.dir, run.kind) != RunState::kFinished) {
    outcome.kind = RunOutcome::Kind::kFailed;
    outcome.message = "exit code 0 but no " + run.kind.done_file + ", log " + log;
  } else {
    outcome.kind = RunOutcome::Kind::kFinished;
    if (resume) outcome.message = "resumed";
  }
  RETURN_IF_ERROR(RecordAttempt(run, outcome.seconds,
                                outcome.kind == RunOutcome::Kind::kFinished ? "finished"
                                                                            : outcome.message));
  return outcome;
}

std::vector<absl::StatusOr<RunOutcome>> ExecuteRuns(
    const std::vector<PlannedRun>& runs, int jobs, bool wait_for_lock,
    const std::function<void(const PlannedRun&, const absl::StatusOr<RunOutcome>&)>& report,
    const std::function<std::string(const PlannedRun&)>& skip) {
  std::vector<absl::StatusOr<RunOutcome>> outcomes(runs.size(),
                                                   absl::UnknownError("not run"));
  std::atomic<size_t> next{0};
  std::mutex report_mutex;
  const auto work = [&] {
    for (size_t i = next++; i < runs.size(); i = next++) {
      const std::string reason = skip ? skip(runs[i]) : std::string();
      if (!reason.empty()) {
        RunOutcome skipped;
        skipped.kind = RunOutcome::Kind::kFailed;
        skipped.message = reason;
        outcomes[i] = skipped;
      } else {
        outcomes[i] = ExecuteRun(runs[i], wait_for_lock);
      }
      std::lock_guard<std::mutex> hold(report_mutex);
      if (report) report(runs[i], outcomes[i]);
    }
  };
  const size_t threads = std::min<size_t>(std::max(jobs, 1), std::max<size_t>(runs.size(), 1));
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  return outcomes;
}

absl::Status RecordSkip(const PlannedRun& run, const std::string& why) {
  std::error_code error;
  std::filesystem::create_directories(run.dir, error);
  if (error) return ErrnoToStatus(error.value(), "cannot create " + run.dir);
  nlohmann::json record = ReadRecord(run.dir);
  record["label"] = run.label;
  record["last_attempt"] = {{"ended", "skipped: " + why}, {"seconds", 0}, {"at", LocalTimeNow()}};
  return WriteFileAtomically(run.dir + "/" + kRunRecordFile, record.dump(2) + "\n");
}

double RunSeconds(const std::string& dir) {
  const nlohmann::json record = ReadRecord(dir);
  const auto seconds = record.find("seconds");
  return seconds != record.end() && seconds->is_number() ? seconds->get<double>() : 0.0;
}

}  // namespace fauna
