#include "train/seed_stability.h"

#include <sys/stat.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_join.h"
#include "core/atomic_file.h"
#include "core/metrics_sink.h"
#include "core/status.h"
#include "eval/svg_plot.h"
#include "eval/text_table.h"

namespace fauna {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Digits after the point of the numbers in stability.md.
constexpr int kDecimals = 4;
// Longest excerpt of a bad line quoted in an error.
constexpr size_t kMaxQuoted = 80;

bool IsFile(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISREG(info.st_mode);
}

// A non-negative decimal number made of digits only (no sign, no spaces), or nothing.
std::optional<uint64_t> ParseDigits(std::string_view text) {
  if (text.empty() || text.size() > 19) return std::nullopt;
  uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  return value;
}

// The pieces of `text` between commas ("" gives one empty piece).
std::vector<std::string_view> SplitCommas(std::string_view text) {
  std::vector<std::string_view> parts;
  for (size_t start = 0;;) {
    const size_t comma = text.find(',', start);
    if (comma == std::string_view::npos) {
      parts.push_back(text.substr(start));
      return parts;
    }
    parts.push_back(text.substr(start, comma - start));
    start = comma + 1;
  }
}

std::string_view StripSpaces(std::string_view text) {
  const size_t first = text.find_first_not_of(" \t");
  if (first == std::string_view::npos) return {};
  return text.substr(first, text.find_last_not_of(" \t") - first + 1);
}

std::string Quoted(std::string_view text) {
  std::string shown(text.substr(0, kMaxQuoted));
  if (text.size() > kMaxQuoted) shown += "...";
  return "'" + shown + "'";
}

// The keys of a JSON object, comma-separated.
std::string KeysOf(const nlohmann::json& record) {
  std::vector<std::string> keys;
  for (const auto& item : record.items()) keys.push_back(item.key());
  return keys.empty() ? "(none)" : absl::StrJoin(keys, ", ");
}

// The number at `key` of a matching `record`, for ReadCurve's errors located at `where`.
absl::StatusOr<double> CurveValue(const nlohmann::json& record, const std::string& key,
                                  const std::string& where, const RecordFilter& filter) {
  const auto it = record.find(key);
  if (it == record.end()) {
    const std::string which =
        filter.conditions.empty() ? "a record" : "a record with " + filter.ToString();
    return absl::InvalidArgumentError(where + ": no \"" + key + "\" in " + which +
                                      "; its keys: " + KeysOf(record));
  }
  absl::StatusOr<double> value = NumberFromJson(*it);
  if (!value.ok()) {
    return absl::InvalidArgumentError(where + ": \"" + key + "\" is " + it->dump() +
                                      ", not a number");
  }
  return *value;
}

// A value for stability.md: kDecimals decimals, or NaN / inf / -inf.
std::string Number(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "inf" : "-inf";
  return Fixed(value, kDecimals);
}

// An x for stability.md and the legend: whole numbers without decimals (epochs).
std::string XText(double x) {
  char buffer[64];
  if (std::isfinite(x) && x == std::round(x) && std::fabs(x) < 1e15) {
    std::snprintf(buffer, sizeof(buffer), "%.0f", x);
  } else {
    std::snprintf(buffer, sizeof(buffer), "%g", x);
  }
  return buffer;
}

// "0.6200 ± 0.0123", or "-" without a finite value.
std::string MeanStd(const Summary& summary) {
  if (summary.count == 0) return "-";
  return Number(summary.mean) + " \xC2\xB1 " + Number(summary.std_dev);
}

// The count of a summary for stability.md: "5", or "4 (+1 NaN)".
std::string CountText(const Summary& summary) {
  std::string text = std::to_string(summary.count);
  if (summary.non_finite > 0) text += " (+" + std::to_string(summary.non_finite) + " NaN)";
  return text;
}

nlohmann::json SummaryJson(const Summary& summary) {
  return {{"count", summary.count}, {"non_finite", summary.non_finite},
          {"mean", summary.mean},   {"std", summary.std_dev},
          {"min", summary.min},     {"max", summary.max}};
}

// Each finished seed's last y (NaN for an empty curve).
std::vector<double> LastYs(const StabilityReport& report) {
  std::vector<double> values;
  for (const SeedOutcome& outcome : report.seeds) {
    values.push_back(outcome.curve.y.empty() ? kNaN : outcome.curve.y.back());
  }
  return values;
}

// What the curve is, in words: "val_acc per epoch (records with phase=cluster)".
std::string CurveWords(const CurveSpec& spec) {
  std::string words = spec.y_key + " per " + spec.x_key;
  if (!spec.where.conditions.empty()) words += " (records with " + spec.where.ToString() + ")";
  return words;
}

// A Markdown table row of `cells`.
std::string Row(const std::vector<std::string>& cells) {
  return "| " + absl::StrJoin(cells, " | ") + " |\n";
}

}  // namespace

absl::StatusOr<Shard> ParseShard(std::string_view text) {
  const auto bad = [&](const std::string& why) {
    return absl::InvalidArgumentError("bad shard " + Quoted(text) + ": " + why +
                                      "; want i/n with 0 <= i < n, e.g. 0/2 and 1/2");
  };
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos) return bad("no '/'");
  const std::optional<uint64_t> index = ParseDigits(text.substr(0, slash));
  const std::optional<uint64_t> count = ParseDigits(text.substr(slash + 1));
  if (!index.has_value() || !count.has_value()) return bad("i and n must be whole numbers");
  constexpr uint64_t kMaxCount = uint64_t{1} << 40;
  if (*count == 0 || *count > kMaxCount) return bad("n must be at least 1");
  if (*index >= *count) return bad("i must be less than n");
  return Shard{static_cast<int64_t>(*index), static_cast<int64_t>(*count)};
}

std::vector<uint64_t> ShardSeeds(uint64_t first_seed, int64_t num_seeds, const Shard& shard) {
  std::vector<uint64_t> seeds;
  if (shard.count < 1 || shard.index < 0) return seeds;
  for (int64_t k = shard.index; k < num_seeds; k += shard.count) {
    seeds.push_back(first_seed + static_cast<uint64_t>(k));
  }
  return seeds;
}

bool RecordFilter::Matches(const nlohmann::json& record) const {
  if (!record.is_object()) return false;
  for (const auto& [key, value] : conditions) {
    const auto it = record.find(key);
    if (it == record.end()) return false;
    if (it->is_string()) {
      if (it->get_ref<const std::string&>() != value) return false;
    } else if (it->is_boolean()) {
      if ((it->get<bool>() ? "true" : "false") != value) return false;
    } else if (it->is_number()) {
      double wanted = 0;
      if (!absl::SimpleAtod(value, &wanted) || it->get<double>() != wanted) return false;
    } else {
      return false;
    }
  }
  return true;
}

std::string RecordFilter::ToString() const {
  std::vector<std::string> parts;
  for (const auto& [key, value] : conditions) parts.push_back(key + "=" + value);
  return absl::StrJoin(parts, ",");
}

absl::StatusOr<RecordFilter> ParseRecordFilter(std::string_view text) {
  RecordFilter filter;
  if (text.empty()) return filter;
  for (std::string_view part : SplitCommas(text)) {
    const size_t equals = part.find('=');
    if (equals == std::string_view::npos || equals == 0) {
      return absl::InvalidArgumentError("bad record filter " + Quoted(text) + ": " + Quoted(part) +
                                        " is no key=value; want e.g. phase=cluster");
    }
    filter.conditions.push_back(
        {std::string(part.substr(0, equals)), std::string(part.substr(equals + 1))});
  }
  return filter;
}

absl::StatusOr<Curve> ReadCurve(const std::string& metrics_path, const CurveSpec& spec) {
  ASSIGN_OR_RETURN(const std::string text, ReadFile(metrics_path));
  std::map<double, double> points;
  int64_t records = 0;
  int64_t line_number = 0;
  for (size_t start = 0; start < text.size();) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string_view line(text.data() + start, end - start);
    start = end + 1;
    ++line_number;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    const std::string where = metrics_path + ":" + std::to_string(line_number);
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
      return absl::InvalidArgumentError(where + ": malformed JSON line " + Quoted(line) + ": " +
                                        e.what());
    }
    if (!record.is_object()) {
      return absl::InvalidArgumentError(where + ": not a JSON object: " + Quoted(line));
    }
    ++records;
    if (!spec.where.Matches(record)) continue;
    ASSIGN_OR_RETURN(const double x, CurveValue(record, spec.x_key, where, spec.where));
    if (!std::isfinite(x)) {
      return absl::InvalidArgumentError(where + ": \"" + spec.x_key + "\" is " +
                                        record.at(spec.x_key).dump() + "; x must be finite");
    }
    ASSIGN_OR_RETURN(const double y, CurveValue(record, spec.y_key, where, spec.where));
    points[x] = y;
  }
  if (points.empty()) {
    if (spec.where.conditions.empty()) {
      return absl::InvalidArgumentError(metrics_path + ": no records");
    }
    return absl::InvalidArgumentError(metrics_path + ": none of its " + std::to_string(records) +
                                      " records has " + spec.where.ToString());
  }
  Curve curve;
  for (const auto& [x, y] : points) {
    curve.x.push_back(x);
    curve.y.push_back(y);
  }
  return curve;
}

Summary Summarize(const std::vector<double>& values) {
  Summary summary;
  double sum = 0;
  for (double v : values) {
    if (!std::isfinite(v)) {
      ++summary.non_finite;
      continue;
    }
    if (summary.count == 0) {
      summary.min = summary.max = v;
    } else {
      summary.min = std::min(summary.min, v);
      summary.max = std::max(summary.max, v);
    }
    ++summary.count;
    sum += v;
  }
  if (summary.count == 0) return summary;
  summary.mean = sum / static_cast<double>(summary.count);
  double squares = 0;
  for (double v : values) {
    if (std::isfinite(v)) squares += (v - summary.mean) * (v - summary.mean);
  }
  summary.std_dev =
      summary.count > 1 ? std::sqrt(squares / static_cast<double>(summary.count - 1)) : 0.0;
  return summary;
}

std::vector<PointSummary> AggregateCurves(const std::vector<Curve>& curves) {
  std::map<double, std::vector<double>> by_x;
  for (const Curve& curve : curves) {
    for (size_t i = 0; i < std::min(curve.x.size(), curve.y.size()); ++i) {
      by_x[curve.x[i]].push_back(curve.y[i]);
    }
  }
  std::vector<PointSummary> result;
  for (const auto& [x, values] : by_x) result.push_back({x, Summarize(values)});
  return result;
}

absl::StatusOr<std::vector<std::string>> ParseKeyList(std::string_view text) {
  std::vector<std::string> keys;
  if (text.empty()) return keys;
  for (std::string_view part : SplitCommas(text)) {
    if (StripSpaces(part).empty()) {
      return absl::InvalidArgumentError("bad key list " + Quoted(text) +
                                        ": an empty key; want e.g. test.acc,test.nmi");
    }
    keys.emplace_back(StripSpaces(part));
  }
  return keys;
}

absl::StatusOr<double> NumberAtPath(const nlohmann::json& document, const std::string& dotted_key) {
  const nlohmann::json* value = &document;
  std::string path;
  for (size_t start = 0; start <= dotted_key.size();) {
    size_t dot = dotted_key.find('.', start);
    if (dot == std::string::npos) dot = dotted_key.size();
    const std::string key = dotted_key.substr(start, dot - start);
    start = dot + 1;
    if (!value->is_object() || !value->contains(key)) {
      return absl::NotFoundError("no \"" + key + "\" in " +
                                 (path.empty() ? "the document" : "\"" + path + "\""));
    }
    value = &value->at(key);
    path += (path.empty() ? "" : ".") + key;
  }
  absl::StatusOr<double> number = NumberFromJson(*value);
  if (!number.ok()) {
    return absl::InvalidArgumentError("\"" + dotted_key + "\" is " + value->dump() +
                                      ", not a number");
  }
  return *number;
}

std::string SeedDirName(uint64_t seed) { return "seed_" + std::to_string(seed); }

absl::StatusOr<std::vector<uint64_t>> ListSeedDirs(const std::string& out_dir) {
  std::error_code error;
  if (!std::filesystem::is_directory(out_dir, error)) {
    return absl::NotFoundError(out_dir + " is no folder");
  }
  std::vector<uint64_t> seeds;
  for (std::filesystem::directory_iterator it(out_dir, error), end; !error && it != end;
       it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("seed_", 0) != 0) continue;
    const std::optional<uint64_t> seed = ParseDigits(std::string_view(name).substr(5));
    std::error_code kind_error;
    if (!seed.has_value() || SeedDirName(*seed) != name || !it->is_directory(kind_error)) {
      continue;
    }
    seeds.push_back(*seed);
  }
  if (error) return absl::InternalError("cannot list " + out_dir + ": " + error.message());
  std::sort(seeds.begin(), seeds.end());
  return seeds;
}

SeedState StateOfSeedDir(const std::string& seed_dir) {
  if (IsFile(seed_dir + "/" + kResultsFile)) return SeedState::kFinished;
  if (IsFile(seed_dir + "/" + kCheckpointFile)) return SeedState::kResumable;
  return SeedState::kFresh;
}

std::string SeedStateName(SeedState state) {
  switch (state) {
    case SeedState::kFresh:
      return "not started";
    case SeedState::kResumable:
      return "checkpoint";
    case SeedState::kFinished:
      return "finished";
  }
  return "?";
}

absl::StatusOr<StabilityReport> GatherStability(const std::string& out_dir,
                                                const StabilitySpec& spec) {
  ASSIGN_OR_RETURN(const std::vector<uint64_t> seeds, ListSeedDirs(out_dir));
  StabilityReport report;
  report.spec = spec;
  for (uint64_t seed : seeds) {
    const std::string dir = out_dir + "/" + SeedDirName(seed);
    const SeedState state = StateOfSeedDir(dir);
    if (state != SeedState::kFinished) {
      report.unfinished.push_back({seed, state});
      continue;
    }
    SeedOutcome outcome;
    outcome.seed = seed;
    ASSIGN_OR_RETURN(outcome.curve, ReadCurve(dir + "/" + kMetricsFile, spec.curve));
    const std::string results_path = dir + "/" + kResultsFile;
    ASSIGN_OR_RETURN(const std::string text, ReadFile(results_path));
    nlohmann::json results;
    try {
      results = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      return absl::InvalidArgumentError(results_path + ": malformed JSON: " + e.what());
    }
    for (const std::string& key : spec.final_keys) {
      absl::StatusOr<double> value = NumberAtPath(results, key);
      if (!value.ok()) {
        return absl::Status(value.status().code(), results_path + ": " +
                                                       std::string(value.status().message()) +
                                                       " (the final key " + key + ")");
      }
      outcome.finals.push_back(*value);
    }
    report.seeds.push_back(std::move(outcome));
  }
  if (report.seeds.empty()) {
    std::vector<std::string> states;
    for (const auto& [seed, state] : report.unfinished) {
      states.push_back(SeedDirName(seed) + " " + SeedStateName(state));
    }
    return absl::FailedPreconditionError(
        "no finished seed in " + out_dir + " (none has " + kResultsFile + "): " +
        (states.empty() ? std::string("no seed_<S> folders") : absl::StrJoin(states, ", ")));
  }
  std::vector<Curve> curves;
  for (const SeedOutcome& outcome : report.seeds) curves.push_back(outcome.curve);
  report.per_x = AggregateCurves(curves);
  report.last_y = Summarize(LastYs(report));
  for (size_t k = 0; k < spec.final_keys.size(); ++k) {
    std::vector<double> values;
    for (const SeedOutcome& outcome : report.seeds) values.push_back(outcome.finals[k]);
    report.finals.push_back(Summarize(values));
  }
  return report;
}

nlohmann::json StabilityJson(const StabilityReport& report) {
  const StabilitySpec& spec = report.spec;
  nlohmann::json finished = nlohmann::json::array();
  nlohmann::json seeds = nlohmann::json::array();
  for (const SeedOutcome& outcome : report.seeds) {
    finished.push_back(outcome.seed);
    nlohmann::json finals = nlohmann::json::object();
    for (size_t k = 0; k < spec.final_keys.size(); ++k) {
      finals[spec.final_keys[k]] = outcome.finals[k];
    }
    seeds.push_back({{"seed", outcome.seed},
                     {"dir", SeedDirName(outcome.seed)},
                     {"x", outcome.curve.x},
                     {"y", outcome.curve.y},
                     {"final", finals}});
  }
  nlohmann::json unfinished = nlohmann::json::array();
  for (const auto& [seed, state] : report.unfinished) {
    unfinished.push_back({{"seed", seed}, {"state", SeedStateName(state)}});
  }
  nlohmann::json per_x = nlohmann::json::array();
  for (const PointSummary& point : report.per_x) {
    nlohmann::json entry = SummaryJson(point.y);
    entry["x"] = point.x;
    per_x.push_back(entry);
  }
  // Each summary with every seed's value, by seed.
  const auto with_values = [&](const Summary& summary, const std::vector<double>& values) {
    nlohmann::json entry = SummaryJson(summary);
    entry["per_seed"] = nlohmann::json::object();
    for (size_t i = 0; i < report.seeds.size(); ++i) {
      entry["per_seed"][std::to_string(report.seeds[i].seed)] = values[i];
    }
    return entry;
  };
  nlohmann::json finals = nlohmann::json::object();
  for (size_t k = 0; k < spec.final_keys.size(); ++k) {
    std::vector<double> values;
    for (const SeedOutcome& outcome : report.seeds) values.push_back(outcome.finals[k]);
    finals[spec.final_keys[k]] = with_values(report.finals[k], values);
  }
  return ReplaceNonFinite({{"name", spec.name},
                           {"where", spec.curve.where.ToString()},
                           {"x", spec.curve.x_key},
                           {"y", spec.curve.y_key},
                           {"final_keys", spec.final_keys},
                           {"finished_seeds", finished},
                           {"unfinished_seeds", unfinished},
                           {"final", finals},
                           {"last_y", with_values(report.last_y, LastYs(report))},
                           {"per_x", per_x},
                           {"seeds", seeds}});
}

std::string StabilityMarkdown(const StabilityReport& report) {
  const StabilitySpec& spec = report.spec;
  std::vector<std::string> finished;
  for (const SeedOutcome& outcome : report.seeds) finished.push_back(std::to_string(outcome.seed));
  std::string md = "# Seed stability: " + spec.name + "\n\n";
  md += std::to_string(report.seeds.size()) + (report.seeds.size() == 1 ? " seed" : " seeds") +
        " finished (" + absl::StrJoin(finished, ", ") + "); curve: " + CurveWords(spec.curve) +
        ".\n";
  if (!report.unfinished.empty()) {
    std::vector<std::string> states;
    for (const auto& [seed, state] : report.unfinished) {
      states.push_back(std::to_string(seed) + " (" + SeedStateName(state) + ")");
    }
    md += "Not finished, left out: seed" + std::string(states.size() == 1 ? " " : "s ") +
          absl::StrJoin(states, ", ") + ".\n";
  }

  md += "\n## Final results\n\n";
  std::vector<std::string> header = {"metric", "seeds", "mean \xC2\xB1 std", "min", "max"};
  std::vector<std::string> rule = {"---", "--:", "--:", "--:", "--:"};
  for (const SeedOutcome& outcome : report.seeds) {
    header.push_back("seed " + std::to_string(outcome.seed));
    rule.push_back("--:");
  }
  md += Row(header) + Row(rule);
  const auto summary_row = [&](const std::string& name, const Summary& summary,
                               const std::vector<double>& values) {
    std::vector<std::string> cells = {name, CountText(summary), MeanStd(summary),
                                      summary.count > 0 ? Number(summary.min) : "-",
                                      summary.count > 0 ? Number(summary.max) : "-"};
    for (double v : values) cells.push_back(Number(v));
    return Row(cells);
  };
  for (size_t k = 0; k < spec.final_keys.size(); ++k) {
    std::vector<double> values;
    for (const SeedOutcome& outcome : report.seeds) values.push_back(outcome.finals[k]);
    md += summary_row(spec.final_keys[k], report.finals[k], values);
  }
  md += summary_row(spec.curve.y_key + " at the last " + spec.curve.x_key, report.last_y,
                    LastYs(report));

  md += "\n## " + CurveWords(spec.curve) + "\n\n";
  md += Row({spec.curve.x_key, "seeds", "mean \xC2\xB1 std", "min", "max"});
  md += Row({"--:", "--:", "--:", "--:", "--:"});
  for (const PointSummary& point : report.per_x) {
    md += Row({XText(point.x), CountText(point.y), MeanStd(point.y),
               point.y.count > 0 ? Number(point.y.min) : "-",
               point.y.count > 0 ? Number(point.y.max) : "-"});
  }
  return md;
}

std::string StabilitySvg(const StabilityReport& report) {
  const StabilitySpec& spec = report.spec;
  BandPlot plot;
  plot.title = spec.name + ": " + spec.curve.y_key + " over " +
               std::to_string(report.seeds.size()) +
               (report.seeds.size() == 1 ? " seed" : " seeds");
  plot.x_label = spec.curve.x_key;
  if (!spec.curve.where.conditions.empty()) {
    plot.x_label += " (" + spec.curve.where.ToString() + ")";
  }
  plot.y_label = spec.curve.y_key;
  bool integer_x = true;
  for (const SeedOutcome& outcome : report.seeds) {
    plot.runs.push_back({"seed " + std::to_string(outcome.seed), outcome.curve.x, outcome.curve.y});
    for (double x : outcome.curve.x) integer_x = integer_x && x == std::round(x);
  }
  plot.integer_x = integer_x;
  for (const PointSummary& point : report.per_x) {
    plot.x.push_back(point.x);
    plot.mean.push_back(point.y.mean);
    plot.spread.push_back(point.y.std_dev);
  }
  return BandPlotSvg(plot);
}

absl::Status WriteStabilityOutputs(const std::string& out_dir, const StabilityReport& report) {
  RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/" + kStabilityJsonFile,
                                      StabilityJson(report).dump(2) + "\n"));
  RETURN_IF_ERROR(
      WriteFileAtomically(out_dir + "/" + kStabilityMarkdownFile, StabilityMarkdown(report)));
  return WriteSvg(out_dir + "/" + kStabilitySvgFile, StabilitySvg(report));
}

}  // namespace fauna
