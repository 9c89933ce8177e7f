// Draws a run's training curves (loss and accuracy, train and val, per epoch) from its
// metrics.jsonl into curves.svg beside it; it can be run while the run is still going.
//
//   bazel run //eval:plot_run -- runs/vgg16_best                  # runs/vgg16_best/curves.svg
//   bazel run //eval:plot_run -- runs/x/metrics.jsonl --out=/tmp/x.svg --best_by=val_loss
//
// Each line of metrics.jsonl is a JSON object; lines with an "epoch" are read for "train_loss",
// "train_acc", "val_loss" and "val_acc" (a missing value, null, "NaN" or "Infinity" is a gap) and
// other lines (a final test summary, say) are skipped. A resumed run that wrote an epoch again is
// drawn with the last record of each epoch.
#include <sys/stat.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/flags.h"
#include "core/metrics_sink.h"
#include "core/runtime.h"
#include "core/status.h"
#include "eval/svg_plot.h"

DEFINE_string(out, "", "SVG file to write; default curves.svg beside metrics.jsonl.");
DEFINE_string(title, "", "Figure title; default the run folder's name.");
DEFINE_string(best_by, "val_acc",
              "How to pick the epoch marked best: val_acc (highest), val_loss (lowest) or none.");

namespace fauna {
namespace {

constexpr const char* kMetricsFile = "metrics.jsonl";
constexpr const char* kCurvesFile = "curves.svg";

bool IsFolder(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

std::string FolderOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// The last component of `path`, resolved first so that "." names the folder.
std::string BaseName(const std::string& path) {
  char* real = ::realpath(path.c_str(), nullptr);
  std::string trimmed = real != nullptr ? real : path;
  std::free(real);
  while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
  const size_t slash = trimmed.find_last_of('/');
  return slash == std::string::npos ? trimmed : trimmed.substr(slash + 1);
}

// A metric value: a number, or null / missing / "NaN" / "Infinity" / "-Infinity" (as MetricsSink
// writes non-finite numbers).
absl::StatusOr<double> MetricValue(const nlohmann::json& record, const std::string& key,
                                   const std::string& where) {
  const auto it = record.find(key);
  if (it == record.end() || it->is_null()) return std::numeric_limits<double>::quiet_NaN();
  absl::StatusOr<double> value = NumberFromJson(*it);
  if (value.ok()) return value;
  return absl::InvalidArgumentError(where + ": " + key + " is " + it->dump() + ", not a number");
}

// The epochs of `records` (from `path`), in order of epoch, the last record of each epoch winning.
absl::StatusOr<std::vector<EpochMetrics>> EpochsOf(const std::vector<nlohmann::json>& records,
                                                   const std::string& path) {
  std::map<int64_t, EpochMetrics> epochs;
  for (size_t i = 0; i < records.size(); ++i) {
    const nlohmann::json& record = records[i];
    const std::string where = path + ": record " + std::to_string(i + 1);
    if (!record.is_object()) {
      return absl::InvalidArgumentError(where + " is " + std::string(record.type_name()) +
                                        ", not a JSON object");
    }
    const auto epoch = record.find("epoch");
    if (epoch == record.end()) continue;
    // A whole number, also when written as 3.0.
    const bool whole = epoch->is_number_integer() ||
                       (epoch->is_number_float() && std::isfinite(epoch->get<double>()) &&
                        epoch->get<double>() == std::floor(epoch->get<double>()) &&
                        std::fabs(epoch->get<double>()) < 1e15);
    if (!whole) {
      return absl::InvalidArgumentError(where + ": epoch is " + epoch->dump() +
                                        ", not a whole number");
    }
    EpochMetrics metrics;
    metrics.epoch = epoch->is_number_integer() ? epoch->get<int64_t>()
                                               : static_cast<int64_t>(epoch->get<double>());
    ASSIGN_OR_RETURN(metrics.train_loss, MetricValue(record, "train_loss", where));
    ASSIGN_OR_RETURN(metrics.train_acc, MetricValue(record, "train_acc", where));
    ASSIGN_OR_RETURN(metrics.val_loss, MetricValue(record, "val_loss", where));
    ASSIGN_OR_RETURN(metrics.val_acc, MetricValue(record, "val_acc", where));
    epochs[metrics.epoch] = metrics;
  }
  std::vector<EpochMetrics> result;
  for (const auto& [epoch, metrics] : epochs) result.push_back(metrics);
  return result;
}

// The epoch with the highest val_acc or the lowest val_loss (the first on ties); none when no
// epoch has a finite value.
std::optional<int64_t> BestEpoch(const std::vector<EpochMetrics>& epochs, const std::string& by) {
  std::optional<int64_t> best;
  double best_value = 0;
  for (const EpochMetrics& e : epochs) {
    const double value = by == "val_acc" ? e.val_acc : -e.val_loss;
    if (std::isfinite(value) && (!best.has_value() || value > best_value)) {
      best = e.epoch;
      best_value = value;
    }
  }
  return best;
}

absl::Status Run(int argc, char** argv) {
  if (argc != 2) {
    return absl::InvalidArgumentError(
        "usage: plot_run <run folder or metrics.jsonl> [--out=curves.svg] [--title=...] "
        "[--best_by=val_acc|val_loss|none]");
  }
  if (FLAGS_best_by != "val_acc" && FLAGS_best_by != "val_loss" && FLAGS_best_by != "none") {
    return absl::InvalidArgumentError("--best_by must be val_acc, val_loss or none, not '" +
                                      FLAGS_best_by + "'");
  }
  std::string input = UserPath(argv[1]);
  if (IsFolder(input)) input += std::string("/") + kMetricsFile;
  ASSIGN_OR_RETURN(std::vector<nlohmann::json> records, ReadJsonLines(input));
  ASSIGN_OR_RETURN(std::vector<EpochMetrics> epochs, EpochsOf(records, input));
  if (epochs.empty()) {
    return absl::FailedPreconditionError(input + " has no epoch records (yet)");
  }
  const std::string folder = FolderOf(input);
  const std::string out = FLAGS_out.empty() ? folder + "/" + kCurvesFile : UserPath(FLAGS_out);
  const std::string title = FLAGS_title.empty() ? BaseName(folder) : FLAGS_title;
  const std::optional<int64_t> best =
      FLAGS_best_by == "none" ? std::nullopt : BestEpoch(epochs, FLAGS_best_by);
  RETURN_IF_ERROR(WriteSvg(out, TrainingCurvesSvg(epochs, title, best)));
  std::printf("wrote %s (%zu epochs", out.c_str(), epochs.size());
  if (best.has_value()) {
    std::printf(", best epoch %lld by %s", static_cast<long long>(*best), FLAGS_best_by.c_str());
  }
  std::printf(")\n");
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(
      &argc, &argv,
      "plot_run <run folder or metrics.jsonl>: draws the run's training curves as SVG.");
  return fauna::ExitCode(fauna::Run(argc, argv));
}
