// The seed-stability study of a training binary (the AFHQ study's Figure 8, where GMVAE collapses
// and VaDE does not): one recipe trained with seeds first, ..., first + N - 1, each into its own
// folder <out>/seed_<S>, then every finished seed's curve (a metric per epoch, from its
// metrics.jsonl) and final numbers (from its results.json) gathered into per-epoch mean ± std, a
// table and a band plot. What is here reads files and makes numbers and text; the binary
// (seed_stability_main.cc) runs the trainers.
#ifndef FAUNA_TRAIN_SEED_STABILITY_H_
#define FAUNA_TRAIN_SEED_STABILITY_H_

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// The files of a seed's run folder that the study reads, and the ones it writes into <out>.
inline constexpr const char* kMetricsFile = "metrics.jsonl";
inline constexpr const char* kResultsFile = "results.json";
inline constexpr const char* kCheckpointFile = "checkpoint.pt";
inline constexpr const char* kStabilityJsonFile = "stability.json";
inline constexpr const char* kStabilityMarkdownFile = "stability.md";
inline constexpr const char* kStabilitySvgFile = "stability.svg";

// --shard=i/n: a process that runs every n-th seed, starting at the i-th, so that n processes
// with i = 0, ..., n - 1 run every seed once between them.
struct Shard {
  int64_t index = 0;
  int64_t count = 1;
};

// Reads "i/n", two decimal numbers with 0 <= i < n (e.g. "0/1", "1/2"); anything else ("2/2",
// "a/b", "1/0", "1", "-1/2", " 0/2") is InvalidArgument.
absl::StatusOr<Shard> ParseShard(std::string_view text);

// The seeds of `shard` among first_seed, ..., first_seed + num_seeds - 1, ascending: those at
// positions shard.index, shard.index + shard.count, ... Empty when num_seeds <= shard.index.
//
// Example:
//   ShardSeeds(/*first_seed=*/10, /*num_seeds=*/5, Shard{1, 2})  // {11, 13}
std::vector<uint64_t> ShardSeeds(uint64_t first_seed, int64_t num_seeds, const Shard& shard);

// Which records of a metrics.jsonl make a curve: conditions key=value that must all hold. A
// record holds key=value when its value at `key` is the string `value`, a number equal to `value`
// read as a number, or the boolean true or false spelt so. No conditions: every record.
struct RecordFilter {
  std::vector<std::pair<std::string, std::string>> conditions;

  // Whether `record` (a JSON object; anything else never matches) holds every condition.
  bool Matches(const nlohmann::json& record) const;

  // The conditions as ParseRecordFilter reads them, e.g. "phase=cluster"; "" for none.
  std::string ToString() const;
};

// Reads "key=value[,key=value...]", e.g. "phase=cluster"; "" is no condition. A condition without
// '=' or with an empty key is InvalidArgument.
absl::StatusOr<RecordFilter> ParseRecordFilter(std::string_view text);

// What one seed's curve is: y_key against x_key over the records that `where` lets through.
struct CurveSpec {
  RecordFilter where;
  std::string x_key = "epoch";
  std::string y_key = "val_acc";
};

// One seed's curve: y[i] at x[i], x ascending and distinct, every x finite (a y may be NaN: a
// diverged epoch).
struct Curve {
  std::vector<double> x;
  std::vector<double> y;
};

// The curve of `spec` in the JSON-lines file `metrics_path`. Blank lines are skipped; a later
// record with the same x replaces an earlier one (a resumed run repeats the epochs after its
// checkpoint). Numbers are read with NumberFromJson ("NaN", "Infinity" and "-Infinity" are
// numbers). Errors name the file and line: NotFound for a missing file; InvalidArgument for a
// malformed line ("metrics.jsonl:3: malformed JSON line: ..."), a line that is not an object, a
// matching record without x_key or y_key ("metrics.jsonl:7: no \"val_acc\" in a record with
// phase=cluster; its keys: epoch, loss, phase"), a value that is no number, a non-finite x, and a
// file where no record matches.
absl::StatusOr<Curve> ReadCurve(const std::string& metrics_path, const CurveSpec& spec);

// Count, mean, sample standard deviation, min and max of some values; the non-finite ones (NaN,
// infinities: diverged runs) are counted apart and left out of the rest.
struct Summary {
  int64_t count = 0;       // Finite values.
  int64_t non_finite = 0;  // Values left out.
  double mean = std::numeric_limits<double>::quiet_NaN();
  // Sample standard deviation (n - 1 in the denominator); 0 for one value.
  double std_dev = std::numeric_limits<double>::quiet_NaN();
  double min = std::numeric_limits<double>::quiet_NaN();
  double max = std::numeric_limits<double>::quiet_NaN();
};

// The summary of `values`; mean, std, min and max stay NaN when no value is finite.
Summary Summarize(const std::vector<double>& values);

// The summary of the curves' y at one x.
struct PointSummary {
  double x = 0;
  Summary y;
};

// For every x of any curve, ascending, the summary of the y of the curves that have that x. A
// curve that ends early (early stopping) simply stops contributing: later summaries count fewer.
std::vector<PointSummary> AggregateCurves(const std::vector<Curve>& curves);

// Reads a comma-separated list of keys, e.g. "test.acc,test.nmi,test.ari"; "" is none. An empty
// item ("a,,b", "a,") is InvalidArgument.
absl::StatusOr<std::vector<std::string>> ParseKeyList(std::string_view text);

// The number at a dotted key of a JSON document: "test.acc" is document["test"]["acc"], "test_acc"
// is document["test_acc"]. NotFound when a part is missing ("no \"acc\" in \"test\""),
// InvalidArgument when the value is no number (see NumberFromJson).
absl::StatusOr<double> NumberAtPath(const nlohmann::json& document, const std::string& dotted_key);

// The folder name of a seed's run inside the study's folder: "seed_7".
std::string SeedDirName(uint64_t seed);

// The seeds that have a folder named SeedDirName(seed) in `out_dir` (other names, such as
// "seed_07" or "seed_x", are not seeds), ascending. NotFound when out_dir is no folder.
absl::StatusOr<std::vector<uint64_t>> ListSeedDirs(const std::string& out_dir);

// How far a seed's run got.
enum class SeedState {
  kFresh,      // Neither results.json nor checkpoint.pt: run it from the start.
  kResumable,  // A checkpoint.pt but no results.json: run it again with --resume.
  kFinished,   // A results.json: done.
};

// The state of the run folder `seed_dir` (which need not exist: then kFresh).
SeedState StateOfSeedDir(const std::string& seed_dir);

// "not started", "checkpoint" or "finished".
std::string SeedStateName(SeedState state);

// What a study gathers and how its outputs are titled.
struct StabilitySpec {
  // The study's name, e.g. the recipe's ("deep_cluster_vade"); titles the outputs.
  std::string name;
  CurveSpec curve;
  // Dotted keys of the numbers read from each finished seed's results.json.
  std::vector<std::string> final_keys;
};

// What one finished seed gave.
struct SeedOutcome {
  uint64_t seed = 0;
  Curve curve;
  // The numbers at StabilitySpec::final_keys, in that order.
  std::vector<double> finals;
};

// A study gathered from the seed folders of its output folder.
struct StabilityReport {
  StabilitySpec spec;
  // Finished seeds, ascending.
  std::vector<SeedOutcome> seeds;
  // Seed folders without results.json, ascending, with their state.
  std::vector<std::pair<uint64_t, SeedState>> unfinished;
  // The curves summarised per x (AggregateCurves).
  std::vector<PointSummary> per_x;
  // Each seed's last y, summarised.
  Summary last_y;
  // One summary per final key, in the order of spec.final_keys.
  std::vector<Summary> finals;
};

// Reads every seed folder of `out_dir` (ListSeedDirs): the curve and final numbers of each
// finished one, the state of the others. Every shard's seeds count, since shards share the
// folder. Errors: NotFound when out_dir does not exist; FailedPrecondition when no seed has
// finished ("no finished seed in DIR: ..."); ReadCurve's errors for a finished seed's metrics,
// and a finished seed's results.json that is malformed or lacks a final key (naming the file).
absl::StatusOr<StabilityReport> GatherStability(const std::string& out_dir,
                                                const StabilitySpec& spec);

// The report as JSON: the spec, the finished and unfinished seeds, the per-x summaries, the
// summaries of the last y and of each final key with every seed's value, and every seed's curve.
// Non-finite numbers are the strings "NaN", "Infinity", "-Infinity" (ReplaceNonFinite). No paths
// or times: the same seed folders give the same bytes, however they were sharded.
nlohmann::json StabilityJson(const StabilityReport& report);

// The report as a Markdown document: which seeds finished, a table of the final numbers (mean ±
// std, min, max and each seed's value; one row per final key, and one for the last y) and a
// table of the summaries per x.
std::string StabilityMarkdown(const StabilityReport& report);

// The band plot (BandPlotSvg): each seed's curve, and the mean ± std per x.
std::string StabilitySvg(const StabilityReport& report);

// Writes stability.json, stability.md and stability.svg into `out_dir`, each atomically.
absl::Status WriteStabilityOutputs(const std::string& out_dir, const StabilityReport& report);

}  // namespace fauna

#endif  // FAUNA_TRAIN_SEED_STABILITY_H_
