// The seed-stability study (the AFHQ study's Figure 8: GMVAE collapses on some seeds, VaDE does
// not): a training binary run once per seed, each run in its own folder <out>/seed_<S>, then the
// curves and final numbers of every finished seed gathered into <out>/stability.json,
// stability.md (mean ± std, min, max and every seed) and stability.svg (each seed's curve and the
// mean ± std band).
//
//   bazel run //train:seed_stability -- --recipe=<name> --seeds=5
//   bazel run //train:seed_stability -- --recipe=<name> --shard=0/2  # 1/2 elsewhere, same --out
//   bazel run //train:seed_stability -- --recipe=<name> --aggregate_only
//   bazel run //train:seed_stability -- --trainer=bazel-bin/train/train --recipe=vgg16_best
//       --where= --final=test_acc -- --scale=ci      # the classifier trainer (one command line)
//
// The trainer is run as `<trainer> --flagfile=<recipe> --seed=S --run_dir=<out>/seed_S
// --progress=false [--resume] <flags after -->`, its output appended to <out>/seed_S/log.txt. It
// appends one JSON object per line to metrics.jsonl while it runs and writes results.json when it
// is done. So the study can be killed and started again at any time: a seed with results.json is
// done and skipped, one with checkpoint.pt runs again with --resume, others run from the start.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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
#include "eval/text_table.h"
#include "train/child_process.h"
#include "train/run_lock.h"
#include "train/seed_stability.h"

// The trainer.
DEFINE_string(trainer, "",
              "The training binary; default the deep-clustering trainer train/deep_cluster in "
              "the runfiles.");
DEFINE_string(recipe, "",
              "A recipe of train/recipes/ by name: the trainer gets "
              "--flagfile=<runfiles>/train/recipes/<recipe>.flags. (--flagfile=PATH gives the "
              "trainer any flagfile instead.)");
// The seeds.
DEFINE_int64(seeds, 5, "How many seeds: first_seed, ..., first_seed + seeds - 1.");
DEFINE_uint64(first_seed, 0, "The first seed.");
DEFINE_string(shard, "0/1",
              "i/n: run every n-th seed from the i-th, so that n processes (or machines) with "
              "the same --out share the seeds.");
DEFINE_string(out, "",
              "Folder of the study (seed_<S>/ per seed, stability.*); default "
              "runs/stability/<recipe> in the workspace.");
DEFINE_bool(aggregate_only, false, "Run nothing: gather the seed folders there are.");
// What is gathered.
DEFINE_string(where, "phase=cluster",
              "The records of metrics.jsonl that make the curve: key=value[,key=value], or "
              "empty for all.");
DEFINE_string(x, "epoch", "Key of the curve's x in metrics.jsonl.");
DEFINE_string(y, "val_acc", "Key of the curve's y in metrics.jsonl.");
DEFINE_string(final, "test.acc,test.nmi,test.ari",
              "Dotted keys of the final numbers in each seed's results.json, comma-separated.");

namespace fauna {
namespace {

// The default trainer, relative to the workspace in the runfiles, and its target.
constexpr const char* kDefaultTrainer = "train/deep_cluster";
constexpr const char* kDefaultTrainerTarget = "//train:deep_cluster";
constexpr const char* kRecipesFolder = "train/recipes";
constexpr const char* kLogFile = "log.txt";
// Held (flock) while a runner works on a seed, so that two runners never run the same one.
constexpr const char* kLockFile = "runner.lock";

// What the command line asked for besides the flags.
struct CommandLine {
  std::string flagfile;                  // The trainer's --flagfile, if given.
  std::vector<std::string> passthrough;  // The arguments after "--".
};

bool Exists(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

// The names of the recipes in `folder` (name.flags), for an error message.
std::string RecipeNames(const std::string& folder) {
  std::set<std::string> names;
  std::error_code error;
  for (std::filesystem::directory_iterator it(folder, error), end; !error && it != end;
       it.increment(error)) {
    if (it->path().extension() == ".flags") names.insert(it->path().stem().string());
  }
  std::string text;
  for (const std::string& name : names) text += (text.empty() ? "" : ", ") + name;
  return text.empty() ? "none found" : text;
}

// Takes the trainer's --flagfile (any of gflags' spellings) and the arguments after "--" out of
// argv, so that gflags parses only the runner's own flags.
absl::StatusOr<CommandLine> SplitCommandLine(int* argc, char** argv) {
  CommandLine command;
  int kept = 1;
  for (int i = 1; i < *argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") {
      for (int k = i + 1; k < *argc; ++k) command.passthrough.push_back(argv[k]);
      break;
    }
    const std::string name = arg.rfind("--", 0) == 0  ? arg.substr(2)
                             : arg.rfind("-", 0) == 0 ? arg.substr(1)
                                                      : "";
    if (name.rfind("flagfile=", 0) == 0) {
      command.flagfile = name.substr(9);
      continue;
    }
    if (name == "flagfile") {
      if (i + 1 >= *argc) return absl::InvalidArgumentError("--flagfile needs a path");
      command.flagfile = argv[++i];
      continue;
    }
    argv[kept++] = argv[i];
  }
  *argc = kept;
  argv[kept] = nullptr;
  return command;
}

// Refuses trainer flags that the runner sets itself, and the runner's runtime flags (linked in
// with core/runtime), which belong to the trainer.
absl::Status CheckFlags(const CommandLine& command) {
  static const std::set<std::string> kSetByRunner = {"seed",     "run_dir",  "resume",
                                                     "noresume", "progress", "noprogress"};
  for (const std::string& arg : command.passthrough) {
    if (arg.rfind("-", 0) != 0) continue;
    std::string name = arg.substr(arg.rfind("--", 0) == 0 ? 2 : 1);
    name = name.substr(0, name.find('='));
    if (kSetByRunner.count(name) > 0) {
      return absl::InvalidArgumentError(
          arg +
          " after --: the runner sets --seed, --run_dir, --resume and --progress of each "
          "run itself (use --first_seed, --seeds and --out)");
    }
  }
  for (const char* name : {"seed", "threads", "device"}) {
    gflags::CommandLineFlagInfo info;
    if (gflags::GetCommandLineFlagInfo(name, &info) && !info.is_default) {
      return absl::InvalidArgumentError(
          std::string("--") + name + " is a trainer's flag: " +
          (std::string(name) == "seed" ? "the runner gives each run its seed (see --first_seed)"
                                       : "pass it to the trainer after --"));
    }
  }
  if (!FLAGS_recipe.empty() && !command.flagfile.empty()) {
    return absl::InvalidArgumentError("give --recipe or --flagfile, not both");
  }
  if (FLAGS_seeds < 1) {
    return absl::InvalidArgumentError("--seeds=" + std::to_string(FLAGS_seeds) + ": at least 1");
  }
  if (FLAGS_first_seed > UINT64_MAX - static_cast<uint64_t>(FLAGS_seeds)) {
    return absl::InvalidArgumentError("--first_seed + --seeds is beyond the largest seed");
  }
  if (FLAGS_x.empty() || FLAGS_y.empty()) {
    return absl::InvalidArgumentError("--x and --y name keys of metrics.jsonl; neither is empty");
  }
  return absl::OkStatus();
}

// A path's last component without its extension: "train/recipes/vade.flags" -> "vade".
std::string Stem(const std::string& path) { return std::filesystem::path(path).stem().string(); }

// `value` with 4 decimals, or NaN / inf / -inf.
std::string Decimal(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return Fixed(value, 4);
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// "val_acc 0.6123 at epoch 20" for a seed's curve, or why there is none.
std::string LastPoint(const std::string& seed_dir, const CurveSpec& spec) {
  absl::StatusOr<Curve> curve = ReadCurve(seed_dir + "/" + kMetricsFile, spec);
  if (!curve.ok()) return spec.y_key + " ? (" + std::string(curve.status().message()) + ")";
  char x[64];
  std::snprintf(x, sizeof(x), "%g", curve->x.back());
  const double y = curve->y.back();
  return spec.y_key + " " + Decimal(y) + " at " + spec.x_key + " " + x;
}

// The study's settings, resolved from the flags.
struct Study {
  std::string name;
  std::string out;
  std::string trainer;
  std::string flagfile;  // Empty: none.
  std::vector<std::string> passthrough;
  StabilitySpec spec;
};

// Runs the trainer for one seed unless it is done. Returns the failure to report, or "".
absl::StatusOr<std::string> RunSeed(const Study& study, uint64_t seed, const std::string& counter) {
  const std::string dir = study.out + "/" + SeedDirName(seed);
  const std::string label = "seed " + std::to_string(seed) + " " + counter;
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return ErrnoToStatus(error.value(), "cannot create " + dir);
  RunLock lock;
  ASSIGN_OR_RETURN(const bool locked, lock.Take(dir, kLockFile, /*wait=*/false));
  if (!locked) {
    std::printf("%s: skipped, another runner is at it (it holds %s/%s)\n", label.c_str(),
                dir.c_str(), kLockFile);
    std::fflush(stdout);
    return std::string();
  }
  const SeedState state = StateOfSeedDir(dir);
  if (state == SeedState::kFinished) {
    std::printf("%s: already finished, %s\n", label.c_str(),
                LastPoint(dir, study.spec.curve).c_str());
    std::fflush(stdout);
    return std::string();
  }
  const bool resume = state == SeedState::kResumable;
  const std::string log = dir + "/" + kLogFile;
  if (!resume && Exists(dir + "/" + kMetricsFile)) {
    // Lines of an attempt that left no checkpoint: it starts again from the beginning.
    std::filesystem::remove(dir + "/" + kMetricsFile, error);
    if (error) return ErrnoToStatus(error.value(), "cannot remove " + dir + "/" + kMetricsFile);
  }

  std::vector<std::string> argv = {study.trainer};
  if (!study.flagfile.empty()) argv.push_back("--flagfile=" + study.flagfile);
  argv.push_back("--seed=" + std::to_string(seed));
  argv.push_back("--run_dir=" + dir);
  argv.push_back("--progress=false");
  if (resume) argv.push_back("--resume");
  argv.insert(argv.end(), study.passthrough.begin(), study.passthrough.end());
  std::string command;
  for (const std::string& arg : argv) command += (command.empty() ? "" : " ") + arg;
  RETURN_IF_ERROR(AppendLogLine(log, "=== seed_stability " + LocalTimeNow() + ": " +
                                         (resume ? "resuming" : "starting") + ": " + command));
  std::fprintf(stderr, "%s: %s; log %s\n", label.c_str(),
               resume ? "resuming from its checkpoint" : "starting", log.c_str());

  const auto start = std::chrono::steady_clock::now();
  ASSIGN_OR_RETURN(const ChildExit exit, RunChild(argv, log, lock.fd()));
  const double seconds = SecondsSince(start);
  std::string failure;
  if (!exit.ok()) {
    failure = "seed " + std::to_string(seed) + ": " + exit.ToString() + ", log " + log;
  } else if (StateOfSeedDir(dir) != SeedState::kFinished) {
    failure = "seed " + std::to_string(seed) + ": exit code 0 but no " + dir + "/" + kResultsFile +
              ", log " + log;
  }
  if (failure.empty()) {
    std::printf("%s: %s in %.1f s, %s\n", label.c_str(),
                resume ? "resumed and finished" : "finished", seconds,
                LastPoint(dir, study.spec.curve).c_str());
  } else {
    std::printf("%s: FAILED after %.1f s (%s); log %s\n", label.c_str(), seconds,
                exit.ok() ? "no results.json" : exit.ToString().c_str(), log.c_str());
  }
  std::fflush(stdout);
  return failure;
}

// Resolves the trainer, the flagfile, the output folder and the spec from the flags.
absl::StatusOr<Study> ResolveStudy(const CommandLine& command, const char* argv0) {
  Study study;
  const std::string runfiles = RunfilesDir(argv0);
  if (!FLAGS_recipe.empty()) {
    study.flagfile =
        RunfilePath(runfiles, std::string(kRecipesFolder) + "/" + FLAGS_recipe + ".flags");
    if (!Exists(study.flagfile)) {
      return absl::NotFoundError(
          "no recipe " + study.flagfile + " (--recipe=" + FLAGS_recipe +
          "); recipes: " + RecipeNames(RunfilePath(runfiles, kRecipesFolder)) +
          "; or give the trainer any flagfile with --flagfile=PATH");
    }
    study.name = FLAGS_recipe;
  } else if (!command.flagfile.empty()) {
    study.flagfile = UserPath(command.flagfile);
    if (!Exists(study.flagfile)) return absl::NotFoundError("no flagfile " + study.flagfile);
    study.name = Stem(study.flagfile);
  }
  if (FLAGS_trainer.empty()) {
    study.trainer = RunfilePath(runfiles, kDefaultTrainer);
    if (!FLAGS_aggregate_only && !Exists(study.trainer)) {
      return absl::NotFoundError(
          "no trainer at " + study.trainer + " (the default, " + kDefaultTrainerTarget +
          ", in the runfiles); pass --trainer=<path of a training binary>, e.g. "
          "--trainer=bazel-bin/train/train");
    }
  } else {
    study.trainer = UserPath(FLAGS_trainer);
    if (!FLAGS_aggregate_only && !Exists(study.trainer)) {
      return absl::NotFoundError("no trainer at " + study.trainer + " (--trainer)");
    }
  }
  if (study.name.empty()) study.name = Stem(study.trainer);
  study.out = FLAGS_out.empty() ? DefaultRunDir("stability/" + study.name) : UserPath(FLAGS_out);
  study.passthrough = command.passthrough;

  study.spec.name = study.name;
  ASSIGN_OR_RETURN(study.spec.curve.where, ParseRecordFilter(FLAGS_where));
  study.spec.curve.x_key = FLAGS_x;
  study.spec.curve.y_key = FLAGS_y;
  ASSIGN_OR_RETURN(study.spec.final_keys, ParseKeyList(FLAGS_final));
  return study;
}

// Gathers the study and writes its outputs; prints where they are and the final numbers.
absl::Status Aggregate(const Study& study) {
  ASSIGN_OR_RETURN(const StabilityReport report, GatherStability(study.out, study.spec));
  RETURN_IF_ERROR(WriteStabilityOutputs(study.out, report));
  std::printf("%s: %zu finished seeds", study.name.c_str(), report.seeds.size());
  if (!report.unfinished.empty()) std::printf(" (%zu not finished)", report.unfinished.size());
  std::printf("\n");
  const auto print = [](const std::string& name, const Summary& summary) {
    const std::string non_finite =
        summary.non_finite > 0 ? ", " + std::to_string(summary.non_finite) + " NaN" : "";
    std::printf("  %-28s %s +- %s (min %s, max %s; %lld seeds%s)\n", name.c_str(),
                Decimal(summary.mean).c_str(), Decimal(summary.std_dev).c_str(),
                Decimal(summary.min).c_str(), Decimal(summary.max).c_str(),
                static_cast<long long>(summary.count), non_finite.c_str());
  };
  for (size_t k = 0; k < report.finals.size(); ++k) {
    print(study.spec.final_keys[k], report.finals[k]);
  }
  print("last " + study.spec.curve.y_key, report.last_y);
  std::printf("stability: %s/%s, %s, %s\n", study.out.c_str(), kStabilityMarkdownFile,
              kStabilityJsonFile, kStabilitySvgFile);
  return absl::OkStatus();
}

absl::Status Run(const CommandLine& command, const char* argv0) {
  RETURN_IF_ERROR(CheckFlags(command));
  ASSIGN_OR_RETURN(const Shard shard, ParseShard(FLAGS_shard));
  ASSIGN_OR_RETURN(const Study study, ResolveStudy(command, argv0));
  if (FLAGS_aggregate_only) return Aggregate(study);

  std::error_code error;
  std::filesystem::create_directories(study.out, error);
  if (error) return ErrnoToStatus(error.value(), "cannot create " + study.out);
  const std::vector<uint64_t> seeds = ShardSeeds(FLAGS_first_seed, FLAGS_seeds, shard);
  std::string listed;
  for (uint64_t seed : seeds) listed += (listed.empty() ? "" : ", ") + std::to_string(seed);
  std::fprintf(stderr, "%s: seeds %s (shard %s of seeds %llu..%llu) with %s into %s\n",
               study.name.c_str(), listed.empty() ? "none" : listed.c_str(), FLAGS_shard.c_str(),
               static_cast<unsigned long long>(FLAGS_first_seed),
               static_cast<unsigned long long>(FLAGS_first_seed + FLAGS_seeds - 1),
               study.trainer.c_str(), study.out.c_str());
  std::vector<std::string> failures;
  for (size_t i = 0; i < seeds.size(); ++i) {
    const std::string counter =
        "[" + std::to_string(i + 1) + "/" + std::to_string(seeds.size()) + "]";
    ASSIGN_OR_RETURN(const std::string failure, RunSeed(study, seeds[i], counter));
    if (!failure.empty()) failures.push_back(failure);
  }
  const absl::Status aggregated = Aggregate(study);
  if (failures.empty()) return aggregated;
  std::string message = std::to_string(failures.size()) + " of " + std::to_string(seeds.size()) +
                        (seeds.size() == 1 ? " seed" : " seeds") + " failed: ";
  for (size_t i = 0; i < failures.size(); ++i) message += (i > 0 ? "; " : "") + failures[i];
  if (!aggregated.ok()) message += "; and " + std::string(aggregated.message());
  return absl::InternalError(message);
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  absl::StatusOr<fauna::CommandLine> command = fauna::SplitCommandLine(&argc, argv);
  fauna::ParseFlags(
      &argc, &argv,
      "seed_stability: a training binary run with several seeds, each in <out>/seed_<S>, then\n"
      "<out>/stability.{json,md,svg}. --flagfile=PATH is given to the trainer (this runner does\n"
      "not read it), and so are the flags after --. See train/seed_stability_main.cc.",
      {{"The trainer", {"trainer", "recipe"}},
       {"The seeds", {"seeds", "first_seed", "shard", "out", "aggregate_only"}},
       {"What is gathered", {"where", "x", "y", "final"}},
       {"The trainer's, refused here (give them to the trainer after --)",
        {"seed", "threads", "device"}}});
  if (!command.ok()) return fauna::ExitCode(command.status());
  if (argc > 1) {
    return fauna::ExitCode(
        absl::InvalidArgumentError(std::string("unexpected argument '") + argv[1] +
                                   "'; flags for the trainer go after --, e.g. -- --scale=ci"));
  }
  // As train/run_recipe.sh: OpenMP threads that spin while they wait make a busy machine many
  // times slower; the trainers' threads sleep instead, unless the caller said otherwise.
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  return fauna::ExitCode(fauna::Run(*command, argv[0]));
}
