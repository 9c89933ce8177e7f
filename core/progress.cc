#include "core/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace fauna {
namespace {

constexpr int kMinBarWidth = 10;  // Inner width of the bar, without its brackets.
constexpr int kMaxBarWidth = 40;
constexpr int kUnlimitedBarWidth = 30;  // Where the line has no width limit.
constexpr char kBarSeparator[] = "  ";
constexpr char kPlainSeparator[] = ", ";

std::string Join(const std::vector<std::string>& parts, const std::string& separator) {
  std::string joined;
  for (const std::string& part : parts) {
    if (!joined.empty()) joined += separator;
    joined += part;
  }
  return joined;
}

std::string FormatRate(double rate, const std::string& unit) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), rate >= 1.0 || rate == 0.0 ? "%.1f" : "%.3g", rate);
  return std::string(buffer) + (unit.empty() ? "/s" : " " + unit + "/s");
}

// The parts of a line after the bar: counts, rate, time and metrics, each present or not.
struct LineParts {
  std::string counts;
  std::string rate;
  std::string time;
  std::vector<std::string> metrics;  // "loss 0.412"
};

LineParts MakeParts(const ProgressSnapshot& snapshot, int64_t done, bool known_total) {
  LineParts parts;
  parts.counts = std::to_string(done);
  if (known_total) parts.counts += "/" + std::to_string(snapshot.total);

  double rate = 0.0;
  const bool has_rate = snapshot.elapsed_s > 0.0 && std::isfinite(snapshot.elapsed_s);
  if (has_rate) {
    rate = static_cast<double>(done) / snapshot.elapsed_s;
    parts.rate = FormatRate(rate, snapshot.unit);
  }
  if (snapshot.finished || !known_total) {
    parts.time = "elapsed " + FormatDuration(snapshot.elapsed_s);
  } else if (has_rate && rate > 0.0) {
    parts.time = "ETA " + FormatDuration(static_cast<double>(snapshot.total - done) / rate);
  }
  for (const auto& [name, value] : snapshot.metrics) {
    parts.metrics.push_back(name + " " + FormatMetric(value));
  }
  return parts;
}

std::string RenderBar(const ProgressSnapshot& snapshot, int64_t done, bool known_total,
                      const LineParts& parts, int width) {
  std::vector<std::string> after = {parts.counts};
  if (!parts.rate.empty()) after.push_back(parts.rate);
  if (!parts.time.empty()) after.push_back(parts.time);
  if (!parts.metrics.empty()) after.push_back(Join(parts.metrics, " "));

  std::vector<std::string> all;
  if (!snapshot.label.empty()) all.push_back(snapshot.label);
  if (known_total) {
    // Everything but the bar's inside: the other parts, their separators and the brackets.
    std::vector<std::string> others = all;
    others.insert(others.end(), after.begin(), after.end());
    const int fixed = static_cast<int>(Join(others, kBarSeparator).size()) +
                      static_cast<int>(sizeof(kBarSeparator) - 1) + 2;
    const int inner =
        width > 0 ? std::clamp(width - fixed, kMinBarWidth, kMaxBarWidth) : kUnlimitedBarWidth;
    const int filled = static_cast<int>(
        std::floor(inner * static_cast<double>(done) / static_cast<double>(snapshot.total)));
    all.push_back("[" + std::string(filled, '#') + std::string(inner - filled, '.') + "]");
  }
  all.insert(all.end(), after.begin(), after.end());
  std::string line = Join(all, kBarSeparator);
  if (width > 0 && line.size() > static_cast<size_t>(width)) line.resize(width);
  return line;
}

std::string RenderPlain(const ProgressSnapshot& snapshot, int64_t done, bool known_total,
                        const LineParts& parts) {
  std::vector<std::string> items = {parts.counts};
  if (known_total) {
    const int64_t percent = static_cast<int64_t>(
        std::floor(100.0 * static_cast<double>(done) / static_cast<double>(snapshot.total)));
    items.back() += " (" + std::to_string(percent) + "%)";
  }
  if (!parts.rate.empty()) items.push_back(parts.rate);
  if (!parts.time.empty()) items.push_back(parts.time);
  items.insert(items.end(), parts.metrics.begin(), parts.metrics.end());
  const std::string body = Join(items, kPlainSeparator);
  return snapshot.label.empty() ? body : snapshot.label + ": " + body;
}

}  // namespace

std::string FormatDuration(double seconds) {
  // Beyond ~3e14 s the hours no longer fit comfortably; such an ETA means "unknown" anyway.
  if (!std::isfinite(seconds) || seconds > 1e14) return "-:--:--";
  const long long total = seconds > 0.0 ? std::llround(seconds) : 0;
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%lld:%02lld:%02lld", total / 3600, total / 60 % 60,
                total % 60);
  return buffer;
}

std::string FormatMetric(double value) {
  char buffer[48];
  std::snprintf(buffer, sizeof(buffer), "%.4g", value);
  return buffer;
}

std::string RenderProgressLine(const ProgressSnapshot& snapshot, ProgressStyle style, int width) {
  const bool known_total = snapshot.total > 0;
  int64_t done = std::max<int64_t>(snapshot.done, 0);
  if (known_total) done = std::min(done, snapshot.total);
  const LineParts parts = MakeParts(snapshot, done, known_total);
  return style == ProgressStyle::kBar ? RenderBar(snapshot, done, known_total, parts, width)
                                      : RenderPlain(snapshot, done, known_total, parts);
}

ProgressBar::ProgressBar(ProgressOptions options) : options_(std::move(options)) {
  if (!options_.clock) {
    options_.clock = [] {
      return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch())
          .count();
    };
  }
  if (options_.tty >= 0) {
    tty_ = options_.tty != 0;
  } else {
    tty_ = options_.out != nullptr && isatty(fileno(options_.out)) == 1;
  }
  start_s_ = Now();
  last_write_s_ = start_s_;
}

ProgressBar::~ProgressBar() { Finish(); }

void ProgressBar::Update(int64_t done, const ProgressMetrics& metrics) {
  if (finished_) return;
  done_ = done;
  if (!metrics.empty()) metrics_ = metrics;
  const double now = Now();
  bool due;
  if (tty_) {
    const bool at_end = options_.total > 0 && done >= options_.total;
    due = !written_ || at_end || now - last_write_s_ >= options_.redraw_interval_s;
  } else {
    due = now - last_write_s_ >= options_.plain_interval_s;
  }
  if (!due) return;
  last_write_s_ = now;
  written_ = true;
  Draw(Snapshot(now, /*finished=*/false), /*final_line=*/false);
}

void ProgressBar::Finish(const ProgressMetrics& metrics) {
  if (finished_) return;
  finished_ = true;
  if (!metrics.empty()) metrics_ = metrics;
  Draw(Snapshot(Now(), /*finished=*/true), /*final_line=*/true);
}

double ProgressBar::Now() const { return options_.clock(); }

ProgressSnapshot ProgressBar::Snapshot(double now, bool finished) const {
  ProgressSnapshot snapshot;
  snapshot.label = options_.label;
  snapshot.done = done_;
  snapshot.total = options_.total;
  snapshot.elapsed_s = now - start_s_;
  snapshot.metrics = metrics_;
  snapshot.unit = options_.unit;
  snapshot.finished = finished;
  return snapshot;
}

void ProgressBar::Draw(const ProgressSnapshot& snapshot, bool final_line) {
  if (options_.out == nullptr) return;
  std::string text;
  if (tty_) {
    const std::string line = RenderProgressLine(snapshot, ProgressStyle::kBar, options_.width);
    text = "\r" + line;
    if (line.size() < last_length_) text += std::string(last_length_ - line.size(), ' ');
    last_length_ = line.size();
    if (final_line) text += "\n";
  } else {
    text = RenderProgressLine(snapshot, ProgressStyle::kPlain) + "\n";
  }
  std::fwrite(text.data(), 1, text.size(), options_.out);
  std::fflush(options_.out);
}

}  // namespace fauna
