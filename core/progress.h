// Progress of long work on stderr: a bar redrawn in place on a terminal, a plain line now and then
// in a log file or CI output.
#ifndef FAUNA_CORE_PROGRESS_H_
#define FAUNA_CORE_PROGRESS_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace fauna {

// Named values shown after the counts, in order, e.g. {{"loss", 0.412}, {"acc", 0.873}}.
using ProgressMetrics = std::vector<std::pair<std::string, double>>;

// How a progress line is drawn.
enum class ProgressStyle {
  // For a terminal: "train  [#####.....]  120/500  45.2 img/s  ETA 0:08:24  loss 0.412 acc 0.873",
  // cut to the width so that '\r' can redraw it.
  kBar,
  // For logs: "train: 120/500 (24%), 45.2 img/s, ETA 0:08:24, loss 0.412, acc 0.873".
  kPlain,
};

// One moment of some work, everything a progress line shows.
struct ProgressSnapshot {
  std::string label;
  // Units done; clamped to [0, total] (to >= 0 when the total is unknown).
  int64_t done = 0;
  // Units in all; <= 0 means unknown: no bar, no percentage, no ETA, the elapsed time instead.
  int64_t total = 0;
  // Seconds since the work began; the rate and ETA are left out while it is not positive.
  double elapsed_s = 0.0;
  ProgressMetrics metrics;
  // Name of one unit for the rate ("img" gives "45.2 img/s"); empty gives "45.2/s".
  std::string unit;
  // The work is over: the elapsed time replaces the ETA.
  bool finished = false;
};

// H:MM:SS with whole seconds, rounded; hours are not wrapped ("0:08:24", "12:03:05",
// "100:00:00"). Negative durations read "0:00:00", infinite or NaN ones "-:--:--".
std::string FormatDuration(double seconds);

// A metric value with four significant digits, as printf's "%.4g" (0.87346 -> "0.8735").
std::string FormatMetric(double value);

// The line for `snapshot` in `style`, without '\r' or '\n'. A kBar line is at most `width`
// characters (the bar shrinks first, then the end is cut; `width` <= 0 means no limit); a kPlain
// line is never cut. Rates below 1 keep three significant digits ("0.0312/s"), others one decimal.
//
// Example:
//   RenderProgressLine({"train", 120, 500, /*elapsed_s=*/2.0, {{"loss", 0.412}}, "img"},
//                      ProgressStyle::kPlain)
//   // "train: 120/500 (24%), 60.0 img/s, ETA 0:00:06, loss 0.412"
std::string RenderProgressLine(const ProgressSnapshot& snapshot, ProgressStyle style,
                               int width = 100);

// Settings of a ProgressBar.
struct ProgressOptions {
  // Shown first on every line, e.g. "train epoch 3".
  std::string label;
  // Units in all; <= 0 when unknown.
  int64_t total = 0;
  // Name of one unit for the rate, e.g. "img"; empty for a bare "/s".
  std::string unit;
  // Where lines go; not owned.
  FILE* out = stderr;
  // Off a terminal, seconds between plain lines (the final line is always written).
  double plain_interval_s = 10.0;
  // On a terminal, least seconds between redraws (the last state is always drawn).
  double redraw_interval_s = 0.1;
  // Monotonic seconds; empty means std::chrono::steady_clock. Tests pass a fake clock.
  std::function<double()> clock;
  // -1: a terminal when isatty(fileno(out)); 0: never; 1: always.
  int tty = -1;
  // Columns of a bar line.
  int width = 100;
};

// Reports the progress of one piece of work: on a terminal a single line redrawn with '\r' at most
// every redraw_interval_s, elsewhere a plain line at most every plain_interval_s, and at the end a
// final line with the elapsed time. Not thread-safe; neither copyable nor movable.
//
// Example:
//   ProgressOptions options;
//   options.label = "train epoch 3";
//   options.total = num_batches;
//   options.unit = "batch";
//   ProgressBar bar(std::move(options));
//   for (int64_t i = 0; i < num_batches; ++i) {
//     ...
//     bar.Update(i + 1, {{"loss", running_loss}, {"acc", running_acc}});
//   }
//   bar.Finish();
class ProgressBar {
 public:
  // Starts the clock; writes nothing yet.
  explicit ProgressBar(ProgressOptions options);
  ~ProgressBar();  // Calls Finish() when it has not been called.

  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Records that `done` units are done, with the current metrics (empty: keep the last ones), and
  // writes a line when it is time to. Ignored after Finish().
  void Update(int64_t done, const ProgressMetrics& metrics = {});

  // Writes the final line, with the elapsed time, and on a terminal ends it with '\n'. Empty
  // `metrics` keep those of the last Update. Later calls do nothing.
  void Finish(const ProgressMetrics& metrics = {});

  // Whether lines are drawn as a terminal bar.
  bool is_tty() const { return tty_; }

 private:
  double Now() const;
  ProgressSnapshot Snapshot(double now, bool finished) const;
  void Draw(const ProgressSnapshot& snapshot, bool final_line);

  ProgressOptions options_;
  bool tty_ = false;
  double start_s_ = 0.0;
  double last_write_s_ = 0.0;
  bool written_ = false;
  bool finished_ = false;
  int64_t done_ = 0;
  ProgressMetrics metrics_;
  size_t last_length_ = 0;  // Of the bar line now on screen, to blank what a shorter one leaves.
};

}  // namespace fauna

#endif  // FAUNA_CORE_PROGRESS_H_
