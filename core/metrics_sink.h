// Per-epoch metrics as JSON lines: one JSON object per line, appended and flushed as it comes, so a
// run that dies keeps every record written before.
#ifndef FAUNA_CORE_METRICS_SINK_H_
#define FAUNA_CORE_METRICS_SINK_H_

#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// A copy of `value` in which every non-finite number, at any depth, becomes a string: NaN ->
// "NaN", +inf -> "Infinity", -inf -> "-Infinity" (JSON has no such numbers, and nlohmann's
// dump() would silently write null).
nlohmann::json ReplaceNonFinite(const nlohmann::json& value);

// The inverse for one value: a JSON number, or one of the strings "NaN", "Infinity", "-Infinity",
// as a double. Anything else is InvalidArgument ("... is \"abc\", not a number").
absl::StatusOr<double> NumberFromJson(const nlohmann::json& value);

// Appends JSON objects to a file, one per line. Movable, not copyable; closes the file when
// destroyed. A moved-from sink fails every Write with FailedPrecondition.
//
// Example:
//   ASSIGN_OR_RETURN(MetricsSink sink, MetricsSink::Open(run_dir + "/metrics.jsonl"));
//   RETURN_IF_ERROR(sink.Write({{"epoch", 3}, {"loss", 0.412}, {"val_acc", 0.873}}));
class MetricsSink {
 public:
  // Opens `path` for appending, creating the file but not its folder: NotFound when the folder
  // does not exist, PermissionDenied when the file or folder cannot be written.
  static absl::StatusOr<MetricsSink> Open(const std::string& path);

  MetricsSink(MetricsSink&& other) noexcept;
  MetricsSink& operator=(MetricsSink&& other) noexcept;
  MetricsSink(const MetricsSink&) = delete;
  MetricsSink& operator=(const MetricsSink&) = delete;
  ~MetricsSink();

  // Appends `record`, which must be a JSON object (else InvalidArgument), as one compact line and
  // flushes it to the operating system. Non-finite numbers are written as by ReplaceNonFinite;
  // strings that are not valid UTF-8 are InvalidArgument; a failed write is DataLoss.
  absl::Status Write(const nlohmann::json& record);

  // The path given to Open.
  const std::string& path() const { return path_; }

 private:
  MetricsSink(std::string path, FILE* file) : path_(std::move(path)), file_(file) {}

  std::string path_;
  FILE* file_ = nullptr;
};

// Reads a JSON-lines file, one value per non-blank line, in order. NotFound when the file does not
// exist; InvalidArgument naming the line number ("metrics.jsonl:3: ...") for a malformed line.
// The strings "NaN", "Infinity" and "-Infinity" stay strings.
absl::StatusOr<std::vector<nlohmann::json>> ReadJsonLines(const std::string& path);

}  // namespace fauna

#endif  // FAUNA_CORE_METRICS_SINK_H_
