// Figures as hand-written SVG, with no plotting library: line charts, the studies' training curves
// (loss and accuracy per epoch) and confusion-matrix heatmaps. The output is a standalone,
// well-formed XML document that any browser shows; text is escaped (and invalid UTF-8 replaced),
// so class names and titles may hold any bytes.
#ifndef FAUNA_EVAL_SVG_PLOT_H_
#define FAUNA_EVAL_SVG_PLOT_H_

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "eval/confusion_matrix.h"

namespace fauna {

// One line of a chart: the points (x[i], y[i]). A point with a NaN or infinite coordinate is a
// gap: the line stops before it and starts again after it.
struct Series {
  std::string name;
  std::vector<double> x;
  std::vector<double> y;
};

// A line chart: axes with 1-2-5 ticks and grid lines, one coloured line with markers per series
// (a fixed palette of 10 colours, then the same colours dashed), a legend under the x axis.
struct LineChart {
  std::string title;
  std::string x_label;
  std::string y_label;
  std::vector<Series> series;
  // Fixed ends of the y axis (e.g. 0 and 1 for accuracy); an end not given follows the data,
  // rounded out to a tick. Points beyond a fixed end are clipped. Ignored when y_min >= y_max.
  std::optional<double> y_min;
  std::optional<double> y_max;
  // Ticks on the x axis only at whole numbers (epochs).
  bool integer_x = false;
  // Size of the figure in pixels.
  int width = 640;
  int height = 420;
};

// Ascending, evenly spaced "nice" ticks that enclose [lo, hi]: the first tick is <= lo, the last
// >= hi, and the step is the smallest of 1, 2 or 5 times a power of ten (at least `min_step`,
// e.g. 1 for whole numbers) that needs at most `max_ticks` ticks. lo > hi are swapped; lo == hi is
// widened by min_step (or by a tenth of |lo|, or by 1 at 0). Empty when lo or hi is not finite or
// max_ticks < 3 (two ticks on multiples of a step cannot enclose a range around 0).
//
// Example:
//   NiceTicks(/*lo=*/0.13, /*hi=*/0.92, /*max_ticks=*/6)  // {0, 0.2, 0.4, 0.6, 0.8, 1}
//   NiceTicks(/*lo=*/1, /*hi=*/30, /*max_ticks=*/8)       // {0, 5, 10, 15, 20, 25, 30}
std::vector<double> NiceTicks(double lo, double hi, int max_ticks, double min_step = 0);

// `chart` as an SVG document. It never fails: a chart with no finite point draws its frame with
// the message "no data"; a series with no finite point is listed in the legend as "name (NaN)"
// (or "name (no data)" when empty); a series whose x and y differ in length draws the points
// they have in common and is listed as "name (N x, M y)", so the fault shows.
std::string LineChartSvg(const LineChart& chart);

// The spread of repeated runs of one experiment, e.g. one model trained with several seeds (the
// AFHQ study's Figure 8): each run a thin line, and over them per x the mean as a thick dark line
// inside a shaded band from mean - spread to mean + spread (one standard deviation, say).
struct BandPlot {
  std::string title;
  std::string x_label;
  std::string y_label;
  // One thin line per run, in the palette's colours, each listed in the legend by name.
  std::vector<Series> runs;
  // The mean line and band: at x[i] the mean[i], shaded from mean[i] - spread[i] to
  // mean[i] + spread[i]. A non-finite value is a gap; none at all draws the runs alone.
  std::vector<double> x;
  std::vector<double> mean;
  std::vector<double> spread;
  // Legend labels of the mean line and of the band.
  std::string mean_name = "mean";
  std::string band_name = "mean \xC2\xB1 std";
  // As LineChart's.
  std::optional<double> y_min;
  std::optional<double> y_max;
  bool integer_x = false;
  int width = 720;
  int height = 460;
};

// `plot` as an SVG document, laid out as LineChartSvg's (axes, ticks, grid, legend under the x
// axis) with the band under the run lines and the mean line on top; the band is one
// <path class="band"> per finite stretch. It never fails, as LineChartSvg.
//
// Example:
//   BandPlot plot{"VaDE: val accuracy over 5 seeds", "epoch", "val_acc"};
//   plot.runs = {seed0, seed1, ...};  // Series named "seed 0", ...
//   plot.x = epochs; plot.mean = means; plot.spread = stds;
//   RETURN_IF_ERROR(WriteSvg(out + "/stability.svg", BandPlotSvg(plot)));
std::string BandPlotSvg(const BandPlot& plot);

// One row of a run's metrics.jsonl; a value that was not measured is NaN (the default), drawn as a
// gap.
struct EpochMetrics {
  int64_t epoch = 0;
  double train_loss = std::numeric_limits<double>::quiet_NaN();
  double train_acc = std::numeric_limits<double>::quiet_NaN();
  double val_loss = std::numeric_limits<double>::quiet_NaN();
  double val_acc = std::numeric_limits<double>::quiet_NaN();
};

// The studies' training figure: two panels side by side, loss (train and val) and accuracy (train
// and val) per epoch, under `title`. `best_epoch`, when given, is marked in both panels by a
// vertical dashed line (listed in the legends as "best epoch N").
//
// Example:
//   RETURN_IF_ERROR(WriteSvg(run_dir + "/curves.svg",
//                            TrainingCurvesSvg(history, "vgg16, AFHQ", /*best_epoch=*/12)));
std::string TrainingCurvesSvg(const std::vector<EpochMetrics>& epochs, const std::string& title,
                              std::optional<int64_t> best_epoch = std::nullopt);

// A heatmap of `matrix`: one cell per (true, predicted) pair (rows: true class, columns:
// predicted), coloured by the share of its row (white 0 to dark blue 1), with the count printed in
// it and a tooltip; class names on both axes (the column names turned 45 or 90 degrees when wider
// than a cell); accuracy and macro F1 under the title; a colour bar. Cells shrink to 16 px so that
// about 50 classes still fit on a screen.
std::string ConfusionMatrixSvg(const ConfusionMatrix& matrix, const std::string& title);

// A table of values in [0, 1] as coloured cells, e.g. accuracy per class (rows) and view of the
// images (columns) in the partial-image test.
struct Heatmap {
  std::string title;
  // A line under the title; none when empty.
  std::string subtitle;
  std::vector<std::string> row_names;
  std::vector<std::string> column_names;
  // rows x columns values, row-major: the cell (r, c) is values[r * columns + c]. A NaN (or
  // infinite) value, or one the list is too short to hold, is a cell without a value.
  std::vector<double> values;
  // What the rows, the columns and the colours stand for.
  std::string row_label;
  std::string column_label;
  std::string value_label = "value";
};

// `heatmap` as an SVG document: one <rect class="cell"> per (row, column), coloured by its value
// clipped to [0, 1] (white 0 to dark blue 1, as ConfusionMatrixSvg) with the value printed in it
// to two decimals and a tooltip naming the row, the column and the value; a cell without a value
// is light grey with "-"; row names on the left, column names under the cells (turned 45 or 90
// degrees when wider than a cell); a colour bar. It never fails: no rows or columns draws "no
// data".
//
// Example:
//   Heatmap map;
//   map.title = "Model 4: accuracy per class and view";
//   map.row_names = classes; map.column_names = views; map.values = accuracies;  // rows x views
//   RETURN_IF_ERROR(WriteSvg(out + "/partial_views.svg", HeatmapSvg(map)));
std::string HeatmapSvg(const Heatmap& heatmap);

// Points of several classes in 2 or 3 dimensions (a t-SNE embedding, say), one colour per class.
struct ScatterPlot {
  std::string title;
  // A line under the title (e.g. "KL 1.234, trustworthiness 0.981"); none when empty.
  std::string subtitle;
  // 2 or 3: the length of each point in `coordinates`.
  int dims = 2;
  // N points, row-major: point i is coordinates[i * dims .. (i + 1) * dims).
  std::vector<double> coordinates;
  // N class indices into class_names; others (and a shorter list) are drawn grey as "other".
  std::vector<int64_t> labels;
  std::vector<std::string> class_names;
  // Names of the `dims` axes; empty for "1", "2", "3".
  std::vector<std::string> axis_names;
  // Side of one square panel in pixels.
  int panel_size = 420;
};

// Colour of class `index` in a scatter plot: matplotlib's tab10, then 10 more colours chosen to
// differ from them (navy, olive, teal, maroon, magenta, black, lime, yellow, mint, lavender), then
// the same 20 again.
std::string ScatterColour(size_t index);

// `plot` as an SVG document: for 2-D one square panel, for 3-D three side by side (the xy, xz and
// yz projections), each with equal scales on both axes, ticks and axis names; points drawn as
// small translucent dots (radius shrinking with N) in an order that interleaves the classes, so
// that no class hides under another; a legend of the class names, each with its point count,
// under the panels. Each panel's dots are one <g class="points"> of N <circle> elements. Points
// with a non-finite coordinate are left out and counted in the legend as "(N not finite)". It
// never fails: no points draws the frames with "no data".
//
// Example:
//   ScatterPlot plot{"t-SNE of vgg16 features", "KL 1.21, trustworthiness 0.98", /*dims=*/3};
//   ... fill coordinates, labels, class_names ...
//   RETURN_IF_ERROR(WriteSvg(out + "/tsne.svg", ScatterPlotSvg(plot)));
std::string ScatterPlotSvg(const ScatterPlot& plot);

// Grouped horizontal bars: one row per category (a table's cell), one bar per group in it (fauna's
// number, the study's), for numbers that are compared rather than followed over time.
struct BarChart {
  std::string title;
  std::string value_label;
  // One row of bars each, top to bottom.
  std::vector<std::string> categories;
  // One bar per group in every row, coloured from the palette and named in the legend.
  std::vector<std::string> groups;
  // values[g][c]: group g's bar in row c. NaN or infinite: no bar, "n/a" written in its place.
  std::vector<std::vector<double>> values;
  // Optional error[g][c] (a standard deviation): a whisker from value - error to value + error.
  std::vector<std::vector<double>> errors;
  // Rows whose label is drawn bold with a marker (the best cell); may be shorter than categories.
  std::vector<bool> highlight;
  // Fixed ends of the value axis; an end not given follows the data (0 is always shown).
  std::optional<double> value_min;
  std::optional<double> value_max;
  int width = 760;
};

// `chart` as an SVG document: category labels on the left, the value axis with 1-2-5 ticks and
// grid lines at the bottom, each bar's value written at its end, a legend at the top. It never
// fails: missing values draw "n/a", a chart without finite values draws its frame and "no data".
std::string BarChartSvg(const BarChart& chart);

// Writes `svg` to `path` atomically (core/atomic_file.h).
absl::Status WriteSvg(const std::string& path, const std::string& svg);

}  // namespace fauna

#endif  // FAUNA_EVAL_SVG_PLOT_H_
