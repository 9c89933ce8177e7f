#include "eval/svg_plot.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/atomic_file.h"
#include "core/seed.h"

namespace fauna {
namespace {

// Matplotlib's "tab10" colours; series beyond the tenth reuse them dashed.
constexpr const char* kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr size_t kPaletteSize = sizeof(kPalette) / sizeof(kPalette[0]);
constexpr const char* kDashes[] = {"", "7 4", "2 3", "7 3 2 3"};
constexpr size_t kDashCount = sizeof(kDashes) / sizeof(kDashes[0]);
// A band plot's mean line and band: darker and greyer than any palette colour.
constexpr const char* kMeanColour = "#111111";
constexpr const char* kBandColour = "#3d5a80";

// Series with more points than this get markers only where a point stands alone.
constexpr size_t kMaxMarkedPoints = 100;
// Average glyph width of a sans-serif font, as a fraction of its size (to lay out text).
constexpr double kGlyphWidth = 0.6;
constexpr double kTitleFont = 15;
constexpr double kLabelFont = 13;
constexpr double kTickFont = 11;
constexpr double kLegendFont = 12;
constexpr double kLegendRow = 18;
constexpr const char* kFontFamily = "DejaVu Sans, Arial, Helvetica, sans-serif";
// The replacement character U+FFFD, for bytes that are not valid UTF-8 or not allowed in XML.
constexpr const char* kReplacement = "\xEF\xBF\xBD";

// A coordinate or length with at most two decimals and no trailing zeros.
std::string Num(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof(buffer), "%.2f", value);
  std::string text = buffer;
  if (text.find('.') != std::string::npos) {
    text.erase(text.find_last_not_of('0') + 1);
    if (text.back() == '.') text.pop_back();
  }
  if (text == "-0") text = "0";
  return text;
}

// Length of the UTF-8 sequence that starts at text[i], or 0 when it is not valid UTF-8 or is a
// character XML 1.0 does not allow (C0 controls other than tab and line breaks, U+FFFE, U+FFFF).
size_t ValidSequenceLength(const std::string& text, size_t i) {
  const auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char b = byte(i);
  if (b < 0x80) return (b >= 0x20 || b == '\t' || b == '\n' || b == '\r') ? 1 : 0;
  size_t length;
  unsigned char low = 0x80, high = 0xBF;  // range of the second byte
  if (b >= 0xC2 && b <= 0xDF) {
    length = 2;
  } else if (b >= 0xE0 && b <= 0xEF) {
    length = 3;
    if (b == 0xE0) low = 0xA0;   // overlong
    if (b == 0xED) high = 0x9F;  // surrogates
  } else if (b >= 0xF0 && b <= 0xF4) {
    length = 4;
    if (b == 0xF0) low = 0x90;   // overlong
    if (b == 0xF4) high = 0x8F;  // beyond U+10FFFF
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  if (byte(i + 1) < low || byte(i + 1) > high) return 0;
  for (size_t k = 2; k < length; ++k) {
    if (byte(i + k) < 0x80 || byte(i + k) > 0xBF) return 0;
  }
  if (length == 3 && b == 0xEF && byte(i + 1) == 0xBF && byte(i + 2) >= 0xBE) return 0;
  return length;
}

// `text` as XML character data or attribute value.
std::string Escape(const std::string& text) {
  std::string result;
  result.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t length = ValidSequenceLength(text, i);
    if (length == 0) {
      result += kReplacement;
      ++i;
      continue;
    }
    if (length == 1) {
      switch (text[i]) {
        case '&':
          result += "&amp;";
          break;
        case '<':
          result += "&lt;";
          break;
        case '>':
          result += "&gt;";
          break;
        case '"':
          result += "&quot;";
          break;
        case '\'':
          result += "&apos;";
          break;
        default:
          result += text[i];
      }
    } else {
      result.append(text, i, length);
    }
    i += length;
  }
  return result;
}

// Estimated width in pixels of `text` at `font_size` (UTF-8 characters, not bytes).
double TextWidth(const std::string& text, double font_size) {
  size_t characters = 0;
  for (char c : text) characters += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return static_cast<double>(characters) * kGlyphWidth * font_size;
}

// A tick label with as many decimals as the step needs.
std::string FormatTick(double value, double step) {
  if (std::fabs(value) < step * 1e-9) return "0";
  char buffer[64];
  if (std::fabs(value) >= 1e6 || step < 1e-4) {
    std::snprintf(buffer, sizeof(buffer), "%.4g", value);
  } else {
    const int decimals = std::max(0, static_cast<int>(std::ceil(-std::log10(step) - 1e-9)));
    std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
  }
  return buffer;
}

std::string Text(double x, double y, const std::string& text, double font_size,
                 const std::string& anchor, const std::string& extra = "") {
  return "<text x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" font-size=\"" + Num(font_size) +
         "\" text-anchor=\"" + anchor + "\"" + (extra.empty() ? "" : " " + extra) + ">" +
         Escape(text) + "</text>\n";
}

std::string Line(double x1, double y1, double x2, double y2, const std::string& stroke,
                 double width, const std::string& dash = "") {
  return "<line x1=\"" + Num(x1) + "\" y1=\"" + Num(y1) + "\" x2=\"" + Num(x2) + "\" y2=\"" +
         Num(y2) + "\" stroke=\"" + stroke + "\" stroke-width=\"" + Num(width) + "\"" +
         (dash.empty() ? "" : " stroke-dasharray=\"" + dash + "\"") + "/>\n";
}

std::string OpenSvg(double width, double height) {
  const std::string w = Num(width);
  const std::string h = Num(height);
  std::string svg = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  svg += "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + w + "\" height=\"" + h +
         "\" viewBox=\"0 0 " + w + " " + h + "\" font-family=\"" + kFontFamily + "\">\n";
  svg += "<rect x=\"0\" y=\"0\" width=\"" + w + "\" height=\"" + h + "\" fill=\"white\"/>\n";
  return svg;
}

double PowerOfTen(int exponent) { return std::pow(10.0, exponent); }

// m * 10^e computed so that decimal steps come out as the nearest doubles (0.3, not 0.30000004).
double Scaled(double m, int exponent) {
  return exponent >= 0 ? m * PowerOfTen(exponent) : m / PowerOfTen(-exponent);
}

// A rectangle in figure pixels.
struct Box {
  double x, y, w, h;
};

// A vertical dashed line across a panel, listed in its legend.
struct VerticalMarker {
  double x;
  std::string label;
};

// One entry of a legend: a line sample (with a marker unless `marker` is false; only the marker
// when `line` is false) and a label.
struct LegendEntry {
  std::string label;
  std::string colour;
  std::string dash;
  bool marker = true;
  bool line = true;
  // A filled square in `colour` at `swatch_opacity` instead of the line sample (a shaded band).
  bool swatch = false;
  double swatch_opacity = 1;
  double line_width = 2;
};

double LegendEntryWidth(const LegendEntry& entry) {
  return 30 + TextWidth(entry.label, kLegendFont) + 16;
}

// Rows of legend entries that fit in `width`, as [first, end) index ranges.
std::vector<std::pair<size_t, size_t>> LegendRows(const std::vector<LegendEntry>& entries,
                                                  double width) {
  std::vector<std::pair<size_t, size_t>> rows;
  size_t first = 0;
  double used = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    const double w = LegendEntryWidth(entries[i]);
    if (i > first && used + w > width) {
      rows.push_back({first, i});
      first = i;
      used = 0;
    }
    used += w;
  }
  if (first < entries.size()) rows.push_back({first, entries.size()});
  return rows;
}

// Draws the legend rows centred on `centre_x`, the first baseline at `top` + 13.
void DrawLegend(const std::vector<LegendEntry>& entries,
                const std::vector<std::pair<size_t, size_t>>& rows, double centre_x, double top,
                std::string* out) {
  *out += "<g class=\"legend\">\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    double row_width = 0;
    for (size_t i = rows[r].first; i < rows[r].second; ++i) {
      row_width += LegendEntryWidth(entries[i]);
    }
    double x = centre_x - row_width / 2;
    const double y = top + static_cast<double>(r) * kLegendRow + 9;
    for (size_t i = rows[r].first; i < rows[r].second; ++i) {
      const LegendEntry& entry = entries[i];
      if (entry.swatch) {
        *out += "<rect x=\"" + Num(x + 2) + "\" y=\"" + Num(y - 6) +
                "\" width=\"20\" height=\"12\" fill=\"" + entry.colour + "\" fill-opacity=\"" +
                Num(entry.swatch_opacity) + "\"/>\n";
      } else if (entry.line) {
        *out += Line(x, y, x + 24, y, entry.colour, entry.line_width, entry.dash);
      }
      if (entry.marker) {
        *out += "<circle cx=\"" + Num(x + 12) + "\" cy=\"" + Num(y) + "\" r=\"" +
                (entry.line ? "3" : "4") + "\" fill=\"" + entry.colour + "\"/>\n";
      }
      *out += Text(x + 30, y + 4, entry.label, kLegendFont, "start");
      x += LegendEntryWidth(entry);
    }
  }
  *out += "</g>\n";
}

// The legend label of a series: its name, flagged when nothing of it can be drawn.
std::string SeriesLabel(const Series& series, bool has_finite_point) {
  if (series.x.size() != series.y.size()) {
    return series.name + " (" + std::to_string(series.x.size()) + " x, " +
           std::to_string(series.y.size()) + " y)";
  }
  if (series.x.empty()) return series.name + " (no data)";
  if (!has_finite_point) return series.name + " (NaN)";
  return series.name;
}

// How one series of a panel is drawn; the defaults are LineChartSvg's.
struct SeriesStyle {
  // Empty: the palette's colour and dash pattern for the series' index (dashed after the tenth);
  // otherwise this colour, with `dash` (empty: solid).
  std::string colour;
  std::string dash;
  double width = 2;
  double opacity = 1;
  // Whether short series get a marker at every point; a point that stands alone always gets one.
  bool markers = true;
};

// A shaded area from lo[i] to hi[i] at x[i], drawn under the lines and listed in the legend after
// them. Points where x, lo or hi is not finite are gaps.
struct ShadedBand {
  std::string label;
  std::vector<double> x;
  std::vector<double> lo;
  std::vector<double> hi;
  std::string colour;
  double opacity = 0.2;
};

// What a panel draws beyond LineChartSvg's lines: styles by series index (series beyond the list
// take the defaults) and shaded bands.
struct PanelStyle {
  std::vector<SeriesStyle> series;
  std::vector<ShadedBand> bands;
};

// The closed outlines ("M ... Z") of the finite stretches of `band`, mapped by px and py.
template <typename Px, typename Py>
std::string BandPath(const ShadedBand& band, const Px& px, const Py& py) {
  const size_t n = std::min({band.x.size(), band.lo.size(), band.hi.size()});
  const auto finite = [&](size_t i) {
    return std::isfinite(band.x[i]) && std::isfinite(band.lo[i]) && std::isfinite(band.hi[i]);
  };
  std::string path;
  for (size_t first = 0; first < n;) {
    if (!finite(first)) {
      ++first;
      continue;
    }
    size_t end = first;
    while (end < n && finite(end)) ++end;
    // Along the top left to right, then back along the bottom; one point is a vertical stroke.
    path += (path.empty() ? "M" : " M") + Num(px(band.x[first])) + " " + Num(py(band.hi[first]));
    for (size_t i = first + 1; i < end; ++i) {
      path += " L" + Num(px(band.x[i])) + " " + Num(py(band.hi[i]));
    }
    for (size_t i = end; i-- > first;) {
      path += " L" + Num(px(band.x[i])) + " " + Num(py(band.lo[i]));
    }
    path += " Z";
    first = end;
  }
  return path;
}

// Draws `chart` (its own width and height ignored) into `box`; `id` makes the clip path's id
// unique within the document.
void DrawPanel(const LineChart& chart, const Box& box, const std::string& id,
               const std::optional<VerticalMarker>& vertical, std::string* out,
               const PanelStyle& style = PanelStyle()) {
  const auto style_of = [&](size_t s) {
    SeriesStyle result = s < style.series.size() ? style.series[s] : SeriesStyle();
    if (result.colour.empty()) {
      result.colour = kPalette[s % kPaletteSize];
      result.dash = kDashes[(s / kPaletteSize) % kDashCount];
    }
    return result;
  };
  // The data's range over points with both coordinates finite.
  double x_lo = INFINITY, x_hi = -INFINITY, y_lo = INFINITY, y_hi = -INFINITY;
  std::vector<LegendEntry> legend;
  for (size_t s = 0; s < chart.series.size(); ++s) {
    const Series& series = chart.series[s];
    bool has_finite_point = false;
    for (size_t i = 0; i < std::min(series.x.size(), series.y.size()); ++i) {
      if (!std::isfinite(series.x[i]) || !std::isfinite(series.y[i])) continue;
      has_finite_point = true;
      x_lo = std::min(x_lo, series.x[i]);
      x_hi = std::max(x_hi, series.x[i]);
      y_lo = std::min(y_lo, series.y[i]);
      y_hi = std::max(y_hi, series.y[i]);
    }
    const SeriesStyle series_style = style_of(s);
    LegendEntry entry{SeriesLabel(series, has_finite_point), series_style.colour,
                      series_style.dash};
    entry.marker = series_style.markers;
    entry.line_width = std::max(series_style.width, 1.5);
    legend.push_back(entry);
  }
  for (const ShadedBand& band : style.bands) {
    const size_t n = std::min({band.x.size(), band.lo.size(), band.hi.size()});
    bool has_finite_point = false;
    for (size_t i = 0; i < n; ++i) {
      if (!std::isfinite(band.x[i]) || !std::isfinite(band.lo[i]) || !std::isfinite(band.hi[i])) {
        continue;
      }
      has_finite_point = true;
      x_lo = std::min(x_lo, band.x[i]);
      x_hi = std::max(x_hi, band.x[i]);
      y_lo = std::min({y_lo, band.lo[i], band.hi[i]});
      y_hi = std::max({y_hi, band.lo[i], band.hi[i]});
    }
    LegendEntry entry{band.label + (has_finite_point ? "" : " (no data)"), band.colour, "",
                      /*marker=*/false};
    entry.swatch = true;
    entry.swatch_opacity = band.opacity;
    legend.push_back(entry);
  }
  const bool has_data = std::isfinite(x_lo);
  const bool show_vertical = vertical.has_value() && std::isfinite(vertical->x);
  if (show_vertical) {
    legend.push_back({vertical->label, "#555555", "5 4", /*marker=*/false});
    if (has_data) {
      x_lo = std::min(x_lo, vertical->x);
      x_hi = std::max(x_hi, vertical->x);
    }
  }

  // The y axis: fixed ends where given, else the data rounded out to ticks.
  const bool fixed = chart.y_min.has_value() && chart.y_max.has_value();
  const bool fixed_lo = chart.y_min.has_value() && std::isfinite(*chart.y_min) &&
                        (!fixed || *chart.y_min < *chart.y_max);
  const bool fixed_hi = chart.y_max.has_value() && std::isfinite(*chart.y_max) &&
                        (!fixed || *chart.y_min < *chart.y_max);
  if (fixed_lo) y_lo = *chart.y_min;
  if (fixed_hi) y_hi = *chart.y_max;
  if (has_data && y_lo > y_hi) {  // every point lies beyond the one fixed end
    if (fixed_lo) {
      y_hi = y_lo;
    } else {
      y_lo = y_hi;
    }
  }

  // Layout: title, plot area, tick labels, axis labels, legend rows.
  const double top = box.y + (chart.title.empty() ? 14 : 38);
  const double right = box.x + box.w - 18;
  const int max_y_ticks = std::clamp(static_cast<int>((box.h - 120) / 40), 3, 8);
  std::vector<double> y_ticks =
      has_data ? NiceTicks(y_lo, y_hi, max_y_ticks) : std::vector<double>{};
  const double y_step = y_ticks.size() >= 2 ? y_ticks[1] - y_ticks[0] : 1;
  double y_axis_lo = 0, y_axis_hi = 1;
  if (!y_ticks.empty()) {
    y_axis_lo = fixed_lo ? y_lo : y_ticks.front();
    y_axis_hi = fixed_hi ? y_hi : y_ticks.back();
    if (!(y_axis_lo < y_axis_hi)) {
      y_axis_lo = y_ticks.front();
      y_axis_hi = y_ticks.back();
    }
    const double tolerance = (y_axis_hi - y_axis_lo) * 1e-9;
    y_ticks.erase(std::remove_if(y_ticks.begin(), y_ticks.end(),
                                 [&](double t) {
                                   return t < y_axis_lo - tolerance || t > y_axis_hi + tolerance;
                                 }),
                  y_ticks.end());
  }
  double tick_label_width = 0;
  for (double t : y_ticks) {
    tick_label_width = std::max(tick_label_width, TextWidth(FormatTick(t, y_step), kTickFont));
  }
  const double left = box.x + (chart.y_label.empty() ? 10 : 28) + tick_label_width + 8;
  const std::vector<std::pair<size_t, size_t>> rows =
      LegendRows(legend, std::max(right - left, 1.0));
  const double legend_top = box.y + box.h - 8 - static_cast<double>(rows.size()) * kLegendRow;
  const double bottom = legend_top - (chart.x_label.empty() ? 0 : 20) - 24;
  const double width = std::max(right - left, 1.0);
  const double height = std::max(bottom - top, 1.0);

  const int max_x_ticks = std::clamp(static_cast<int>(width / 60), 3, 10);
  const std::vector<double> x_ticks =
      has_data ? NiceTicks(x_lo, x_hi, max_x_ticks, chart.integer_x ? 1 : 0)
               : std::vector<double>{};
  const double x_step = x_ticks.size() >= 2 ? x_ticks[1] - x_ticks[0] : 1;
  const double x_axis_lo = x_ticks.empty() ? 0 : x_ticks.front();
  const double x_axis_hi = x_ticks.empty() ? 1 : x_ticks.back();
  const auto px = [&](double x) {
    return left + (x - x_axis_lo) / (x_axis_hi - x_axis_lo) * width;
  };
  const auto py = [&](double y) {
    return top + height - (y - y_axis_lo) / (y_axis_hi - y_axis_lo) * height;
  };

  *out += "<g class=\"panel\">\n";
  if (!chart.title.empty()) {
    *out += Text(left + width / 2, box.y + 24, chart.title, kTitleFont, "middle",
                 "font-weight=\"bold\"");
  }
  // Grid lines and tick labels.
  for (double t : y_ticks) {
    *out += Line(left, py(t), right, py(t), "#e4e4e4", 1);
    *out += Text(left - 6, py(t) + 4, FormatTick(t, y_step), kTickFont, "end");
  }
  for (double t : x_ticks) {
    *out += Line(px(t), top, px(t), top + height, "#e4e4e4", 1);
    *out += Line(px(t), top + height, px(t), top + height + 4, "#444444", 1);
    *out += Text(px(t), top + height + 17, FormatTick(t, x_step), kTickFont, "middle");
  }
  *out += "<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" + Num(width) +
          "\" height=\"" + Num(height) + "\" fill=\"none\" stroke=\"#444444\"/>\n";
  if (!has_data) {
    *out += Text(left + width / 2, top + height / 2, "no data", kLabelFont, "middle",
                 "fill=\"#888888\"");
  } else {
    // The data, clipped to the plot area (points beyond a fixed y end).
    const std::string clip = "plot-area-" + id;
    *out += "<clipPath id=\"" + clip + "\"><rect x=\"" + Num(left - 4) + "\" y=\"" + Num(top - 4) +
            "\" width=\"" + Num(width + 8) + "\" height=\"" + Num(height + 8) +
            "\"/></clipPath>\n<g clip-path=\"url(#" + clip + ")\">\n";
    for (const ShadedBand& band : style.bands) {
      const std::string path = BandPath(band, px, py);
      if (path.empty()) continue;
      *out += "<path class=\"band\" d=\"" + path + "\" fill=\"" + band.colour +
              "\" fill-opacity=\"" + Num(band.opacity) + "\" stroke=\"none\"><title>" +
              Escape(band.label) + "</title></path>\n";
    }
    if (show_vertical) {
      *out += Line(px(vertical->x), top, px(vertical->x), top + height, "#555555", 1.5, "5 4");
    }
    for (size_t s = 0; s < chart.series.size(); ++s) {
      const SeriesStyle series_style = style_of(s);
      const Series& series = chart.series[s];
      const size_t n = std::min(series.x.size(), series.y.size());
      const auto finite = [&](size_t i) {
        return i < n && std::isfinite(series.x[i]) && std::isfinite(series.y[i]);
      };
      std::string path, markers;
      bool pen_down = false;
      for (size_t i = 0; i < n; ++i) {
        if (!finite(i)) {
          pen_down = false;
          continue;
        }
        path += (pen_down ? " L" : (path.empty() ? "M" : " M")) + Num(px(series.x[i])) + " " +
                Num(py(series.y[i]));
        pen_down = true;
        const bool alone = (i == 0 || !finite(i - 1)) && !finite(i + 1);
        if ((series_style.markers && n <= kMaxMarkedPoints) || alone) {
          markers += "<circle class=\"marker\" cx=\"" + Num(px(series.x[i])) + "\" cy=\"" +
                     Num(py(series.y[i])) + "\" r=\"" +
                     Num(std::max(3.0, series_style.width)) + "\"/>\n";
        }
      }
      const LegendEntry& entry = legend[s];
      *out += "<g class=\"series\" fill=\"" + entry.colour + "\"" +
              (series_style.opacity < 1 ? " opacity=\"" + Num(series_style.opacity) + "\"" : "") +
              ">\n<title>" + Escape(series.name) + "</title>\n";
      if (!path.empty()) {
        *out += "<path d=\"" + path + "\" fill=\"none\" stroke=\"" + entry.colour +
                "\" stroke-width=\"" + Num(series_style.width) + "\" stroke-linejoin=\"round\"" +
                (entry.dash.empty() ? "" : " stroke-dasharray=\"" + entry.dash + "\"") + "/>\n";
      }
      *out += markers + "</g>\n";
    }
    *out += "</g>\n";
  }
  // Axis labels and legend.
  if (!chart.x_label.empty()) {
    *out += Text(left + width / 2, top + height + 38, chart.x_label, kLabelFont, "middle");
  }
  if (!chart.y_label.empty()) {
    const double x = box.x + 16;
    const double y = top + height / 2;
    *out += Text(x, y, chart.y_label, kLabelFont, "middle",
                 "transform=\"rotate(-90 " + Num(x) + " " + Num(y) + ")\"");
  }
  DrawLegend(legend, rows, left + width / 2, legend_top, out);
  *out += "</g>\n";
}

// The colour a fraction `t` of the way from `from` to `to` (RGB), as "rgb(r,g,b)".
std::string Blend(const int from[3], const int to[3], double t) {
  std::string result = "rgb(";
  for (int k = 0; k < 3; ++k) {
    result += std::to_string(static_cast<int>(std::lround(from[k] + (to[k] - from[k]) * t)));
    result += k < 2 ? "," : ")";
  }
  return result;
}

// The heatmap's colour scale (after ColorBrewer's "Blues"): white at 0, dark blue at 1.
constexpr int kHeatStops[3][3] = {{247, 251, 255}, {107, 174, 214}, {8, 48, 107}};

std::string HeatColour(double t) {
  t = std::clamp(t, 0.0, 1.0);
  return t < 0.5 ? Blend(kHeatStops[0], kHeatStops[1], t * 2)
                 : Blend(kHeatStops[1], kHeatStops[2], (t - 0.5) * 2);
}

std::string Percent(double fraction) {
  char buffer[32];
  std::snprintf(buffer, sizeof(buffer), "%.1f%%", fraction * 100);
  return buffer;
}

}  // namespace

std::vector<double> NiceTicks(double lo, double hi, int max_ticks, double min_step) {
  if (!std::isfinite(lo) || !std::isfinite(hi) || max_ticks < 3) return {};
  if (lo > hi) std::swap(lo, hi);
  if (!std::isfinite(min_step) || min_step < 0) min_step = 0;
  if (lo == hi) {
    const double pad = min_step > 0 ? min_step : (lo == 0 ? 1 : std::fabs(lo) / 10);
    lo -= pad;
    hi += pad;
  }
  // Candidate steps 1, 2, 5 x 10^e from a decade below the even split upwards.
  const double raw = (hi - lo) / (max_ticks - 1);
  int exponent = static_cast<int>(std::floor(std::log10(raw))) - 1;
  for (int guard = 0; guard < 40; ++guard, ++exponent) {
    for (double m : {1.0, 2.0, 5.0}) {
      const double step = Scaled(m, exponent);
      if (step < min_step * (1 - 1e-12)) continue;
      const double first = std::floor(lo / step + 1e-9);
      const double last = std::max(std::ceil(hi / step - 1e-9), first + 1);
      if (last - first + 1 > max_ticks) continue;
      std::vector<double> ticks;
      for (double k = first; k <= last; ++k) ticks.push_back(Scaled(k * m, exponent));
      return ticks;
    }
  }
  return {lo, hi};  // only for ranges near the limits of double
}

std::string LineChartSvg(const LineChart& chart) {
  const double width = std::max(chart.width, 120);
  const double height = std::max(chart.height, 120);
  std::string svg = OpenSvg(width, height);
  DrawPanel(chart, Box{0, 0, width, height}, "0", std::nullopt, &svg);
  return svg + "</svg>\n";
}

std::string BandPlotSvg(const BandPlot& plot) {
  LineChart chart;
  chart.title = plot.title;
  chart.x_label = plot.x_label;
  chart.y_label = plot.y_label;
  chart.series = plot.runs;
  chart.y_min = plot.y_min;
  chart.y_max = plot.y_max;
  chart.integer_x = plot.integer_x;
  PanelStyle style;
  for (size_t r = 0; r < plot.runs.size(); ++r) {
    SeriesStyle thin;
    thin.width = 1.2;
    thin.opacity = 0.8;
    thin.markers = false;
    style.series.push_back(thin);
  }
  const bool has_mean = !plot.x.empty() || !plot.mean.empty();
  if (has_mean) {
    chart.series.push_back({plot.mean_name, plot.x, plot.mean});
    SeriesStyle mean;
    mean.colour = kMeanColour;
    mean.width = 2.5;
    mean.markers = false;
    style.series.push_back(mean);
    ShadedBand band;
    band.label = plot.band_name;
    band.colour = kBandColour;
    band.opacity = 0.22;
    const size_t n = std::min({plot.x.size(), plot.mean.size(), plot.spread.size()});
    for (size_t i = 0; i < n; ++i) {
      band.x.push_back(plot.x[i]);
      band.lo.push_back(plot.mean[i] - plot.spread[i]);
      band.hi.push_back(plot.mean[i] + plot.spread[i]);
    }
    style.bands.push_back(band);
  }
  const double width = std::max(plot.width, 120);
  const double height = std::max(plot.height, 120);
  std::string svg = OpenSvg(width, height);
  DrawPanel(chart, Box{0, 0, width, height}, "0", std::nullopt, &svg, style);
  return svg + "</svg>\n";
}

std::string TrainingCurvesSvg(const std::vector<EpochMetrics>& epochs, const std::string& title,
                              std::optional<int64_t> best_epoch) {
  constexpr double kPanelWidth = 500;
  constexpr double kPanelHeight = 400;
  constexpr double kTitleHeight = 34;
  LineChart loss;
  LineChart accuracy;
  loss.title = loss.y_label = "loss";
  accuracy.title = accuracy.y_label = "accuracy";
  for (LineChart* chart : {&loss, &accuracy}) {
    chart->x_label = "epoch";
    chart->integer_x = true;
    chart->series.resize(2);
    chart->series[0].name = "train";
    chart->series[1].name = "val";
  }
  for (const EpochMetrics& e : epochs) {
    const double x = static_cast<double>(e.epoch);
    for (LineChart* chart : {&loss, &accuracy}) {
      for (Series& series : chart->series) series.x.push_back(x);
    }
    loss.series[0].y.push_back(e.train_loss);
    loss.series[1].y.push_back(e.val_loss);
    accuracy.series[0].y.push_back(e.train_acc);
    accuracy.series[1].y.push_back(e.val_acc);
  }
  std::optional<VerticalMarker> marker;
  if (best_epoch.has_value()) {
    marker = VerticalMarker{static_cast<double>(*best_epoch),
                            "best epoch " + std::to_string(*best_epoch)};
  }
  std::string svg = OpenSvg(2 * kPanelWidth, kTitleHeight + kPanelHeight);
  svg += Text(kPanelWidth, 24, title, kTitleFont + 2, "middle", "font-weight=\"bold\"");
  DrawPanel(loss, Box{0, kTitleHeight, kPanelWidth, kPanelHeight}, "loss", marker, &svg);
  DrawPanel(accuracy, Box{kPanelWidth, kTitleHeight, kPanelWidth, kPanelHeight}, "accuracy", marker,
            &svg);
  return svg + "</svg>\n";
}

std::string ConfusionMatrixSvg(const ConfusionMatrix& matrix, const std::string& title) {
  const int64_t n = matrix.num_classes();
  const double cell = std::clamp(480.0 / static_cast<double>(std::max<int64_t>(n, 1)), 16.0, 72.0);
  const double name_font = std::min(12.0, std::max(8.0, cell * 0.7));
  const double count_font = std::clamp(cell * 0.32, 6.0, 14.0);
  double name_width = 0;
  for (const std::string& name : matrix.class_names()) {
    name_width = std::max(name_width, TextWidth(name, name_font));
  }
  // Column names: level when they fit a cell, else at 45 degrees while cells are wide enough
  // apart for that, else upright.
  const bool rotate = name_width > cell - 4;
  const bool upright = rotate && cell < 1.7 * name_font;

  const double left = 40 + name_width + 10;  // "true class" label, names, gap
  const double top = title.empty() ? 40 : 62;
  const double grid = cell * static_cast<double>(n);
  const double below = (upright  ? name_width + 12
                        : rotate ? name_width * 0.71 + 16
                                 : name_font + 12) +
                       30;
  const double width = left + std::max(grid, 200.0) + 100;  // colour bar on the right
  const double height = top + std::max(grid, 60.0) + below;

  std::string svg = OpenSvg(width, height);
  const double centre = left + std::max(grid, 200.0) / 2;
  if (!title.empty()) {
    svg += Text(centre, 24, title, kTitleFont, "middle", "font-weight=\"bold\"");
  }
  char summary[160];
  std::snprintf(summary, sizeof(summary), "accuracy %.4f (%lld samples), macro F1 %.4f",
                matrix.accuracy(), static_cast<long long>(matrix.total()), matrix.macro_f1());
  svg += Text(centre, top - 14, summary, kLegendFont, "middle", "fill=\"#444444\"");
  if (n == 0) {
    svg += Text(centre, top + 30, "no classes", kLabelFont, "middle", "fill=\"#888888\"");
    return svg + "</svg>\n";
  }

  svg += "<g class=\"cells\">\n";
  for (int64_t i = 0; i < n; ++i) {
    const int64_t support = matrix.support(i);
    for (int64_t j = 0; j < n; ++j) {
      const int64_t count = matrix.counts(i, j);
      const double share =
          support == 0 ? 0.0 : static_cast<double>(count) / static_cast<double>(support);
      const double x = left + cell * static_cast<double>(j);
      const double y = top + cell * static_cast<double>(i);
      const std::string& truth = matrix.class_names()[static_cast<size_t>(i)];
      svg +=
          "<rect class=\"cell\" x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" + Num(cell) +
          "\" height=\"" + Num(cell) + "\" fill=\"" + HeatColour(share) +
          "\" stroke=\"white\" stroke-width=\"0.5\"><title>" +
          Escape("true " + truth + ", predicted " + matrix.class_names()[static_cast<size_t>(j)] +
                 ": " + std::to_string(count) + " (" + Percent(share) + " of " + truth + ")") +
          "</title></rect>\n";
      svg += Text(x + cell / 2, y + cell / 2 + count_font * 0.35, std::to_string(count), count_font,
                  "middle", std::string("fill=\"") + (share > 0.55 ? "white" : "#222222") + "\"");
    }
  }
  svg += "</g>\n<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" + Num(grid) +
         "\" height=\"" + Num(grid) + "\" fill=\"none\" stroke=\"#444444\"/>\n";

  // Class names: rows on the left, columns below.
  for (int64_t c = 0; c < n; ++c) {
    const std::string& name = matrix.class_names()[static_cast<size_t>(c)];
    const double middle = cell * (static_cast<double>(c) + 0.5);
    svg += Text(left - 6, top + middle + name_font * 0.35, name, name_font, "end");
    const double x = left + middle + name_font * 0.3;
    if (upright) {
      const double y = top + grid + 6;
      svg += Text(x, y, name, name_font, "end",
                  "transform=\"rotate(-90 " + Num(x) + " " + Num(y) + ")\"");
    } else if (rotate) {
      const double y = top + grid + 6 + name_font * 0.8;
      svg += Text(x, y, name, name_font, "end",
                  "transform=\"rotate(-45 " + Num(x) + " " + Num(y) + ")\"");
    } else {
      svg += Text(left + middle, top + grid + 6 + name_font * 0.8, name, name_font, "middle");
    }
  }
  svg += Text(left + grid / 2, height - 12, "predicted class", kLabelFont, "middle");
  const double label_y = top + grid / 2;
  svg += Text(16, label_y, "true class", kLabelFont, "middle",
              "transform=\"rotate(-90 16 " + Num(label_y) + ")\"");

  // Colour bar: share of the row, 0 at the bottom to 1 at the top.
  const double bar_x = left + std::max(grid, 200.0) + 24;
  const double bar_height = std::max(grid, 60.0);
  svg += "<defs><linearGradient id=\"heat-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int k = 0; k <= 4; ++k) {
    const double t = k / 4.0;
    svg += "<stop offset=\"" + Num(t) + "\" stop-color=\"" + HeatColour(t) + "\"/>";
  }
  svg += "</linearGradient></defs>\n<rect x=\"" + Num(bar_x) + "\" y=\"" + Num(top) +
         "\" width=\"14\" height=\"" + Num(bar_height) +
         "\" fill=\"url(#heat-scale)\" stroke=\"#444444\" stroke-width=\"0.5\"/>\n";
  svg += Text(bar_x + 18, top + 9, "100%", kTickFont, "start");
  svg += Text(bar_x + 18, top + bar_height, "0%", kTickFont, "start");
  const double bar_label_x = bar_x + 50;
  const double bar_label_y = top + bar_height / 2;
  svg += Text(bar_label_x, bar_label_y, "share of true class", kTickFont, "middle",
              "transform=\"rotate(90 " + Num(bar_label_x) + " " + Num(bar_label_y) + ")\"");
  return svg + "</svg>\n";
}

std::string HeatmapSvg(const Heatmap& heatmap) {
  const size_t rows = heatmap.row_names.size();
  const size_t columns = heatmap.column_names.size();
  const double cell = std::clamp(
      560.0 / static_cast<double>(std::max<size_t>(std::max(rows, columns), 1)), 16.0, 64.0);
  const double name_font = std::min(12.0, std::max(8.0, cell * 0.7));
  const double value_font = std::clamp(cell * 0.28, 6.0, 13.0);
  double row_width = 0;
  for (const std::string& name : heatmap.row_names) {
    row_width = std::max(row_width, TextWidth(name, name_font));
  }
  double column_width = 0;
  for (const std::string& name : heatmap.column_names) {
    column_width = std::max(column_width, TextWidth(name, name_font));
  }
  // Column names as ConfusionMatrixSvg lays them out.
  const bool rotate = column_width > cell - 4;
  const bool upright = rotate && cell < 1.7 * name_font;

  const double left = 40 + row_width + 10;  // row label, names, gap
  const double top = heatmap.subtitle.empty() ? (heatmap.title.empty() ? 24 : 46) : 66;
  const double grid_width = cell * static_cast<double>(columns);
  const double grid_height = cell * static_cast<double>(rows);
  const double below = (upright  ? column_width + 12
                        : rotate ? column_width * 0.71 + 16
                                 : name_font + 12) +
                       30;
  const double width = left + std::max(grid_width, 200.0) + 100;  // colour bar on the right
  const double height = top + std::max(grid_height, 60.0) + below;

  std::string svg = OpenSvg(width, height);
  const double centre = left + std::max(grid_width, 200.0) / 2;
  if (!heatmap.title.empty()) {
    svg += Text(centre, 24, heatmap.title, kTitleFont, "middle", "font-weight=\"bold\"");
  }
  if (!heatmap.subtitle.empty()) {
    svg += Text(centre, top - 14, heatmap.subtitle, kLegendFont, "middle", "fill=\"#444444\"");
  }
  if (rows == 0 || columns == 0) {
    svg += Text(centre, top + 30, "no data", kLabelFont, "middle", "fill=\"#888888\"");
    return svg + "</svg>\n";
  }

  svg += "<g class=\"cells\">\n";
  for (size_t r = 0; r < rows; ++r) {
    for (size_t c = 0; c < columns; ++c) {
      const size_t k = r * columns + c;
      const double value = k < heatmap.values.size() ? heatmap.values[k]
                                                     : std::numeric_limits<double>::quiet_NaN();
      const bool known = std::isfinite(value);
      const double x = left + cell * static_cast<double>(c);
      const double y = top + cell * static_cast<double>(r);
      char text[32] = "-";
      if (known) std::snprintf(text, sizeof(text), "%.2f", value);
      const double shade = known ? std::clamp(value, 0.0, 1.0) : 0.0;
      svg += "<rect class=\"cell\" x=\"" + Num(x) + "\" y=\"" + Num(y) + "\" width=\"" +
             Num(cell) + "\" height=\"" + Num(cell) + "\" fill=\"" +
             (known ? HeatColour(shade) : std::string("#e0e0e0")) +
             "\" stroke=\"white\" stroke-width=\"0.5\"><title>" +
             Escape(heatmap.row_names[r] + ", " + heatmap.column_names[c] + ": " +
                    (known ? std::string(text) : "no value")) +
             "</title></rect>\n";
      svg += Text(x + cell / 2, y + cell / 2 + value_font * 0.35, text, value_font, "middle",
                  std::string("fill=\"") + (shade > 0.55 ? "white" : "#222222") + "\"");
    }
  }
  svg += "</g>\n<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" +
         Num(grid_width) + "\" height=\"" + Num(grid_height) +
         "\" fill=\"none\" stroke=\"#444444\"/>\n";

  for (size_t r = 0; r < rows; ++r) {
    const double middle = cell * (static_cast<double>(r) + 0.5);
    svg += Text(left - 6, top + middle + name_font * 0.35, heatmap.row_names[r], name_font, "end");
  }
  for (size_t c = 0; c < columns; ++c) {
    const std::string& name = heatmap.column_names[c];
    const double middle = cell * (static_cast<double>(c) + 0.5);
    const double x = left + middle + name_font * 0.3;
    if (upright) {
      const double y = top + grid_height + 6;
      svg += Text(x, y, name, name_font, "end",
                  "transform=\"rotate(-90 " + Num(x) + " " + Num(y) + ")\"");
    } else if (rotate) {
      const double y = top + grid_height + 6 + name_font * 0.8;
      svg += Text(x, y, name, name_font, "end",
                  "transform=\"rotate(-45 " + Num(x) + " " + Num(y) + ")\"");
    } else {
      svg += Text(left + middle, top + grid_height + 6 + name_font * 0.8, name, name_font,
                  "middle");
    }
  }
  svg += Text(left + grid_width / 2, height - 12, heatmap.column_label, kLabelFont, "middle");
  const double label_y = top + grid_height / 2;
  svg += Text(16, label_y, heatmap.row_label, kLabelFont, "middle",
              "transform=\"rotate(-90 16 " + Num(label_y) + ")\"");

  // Colour bar: 0 at the bottom to 1 at the top.
  const double bar_x = left + std::max(grid_width, 200.0) + 24;
  const double bar_height = std::max(grid_height, 60.0);
  svg += "<defs><linearGradient id=\"heatmap-scale\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">";
  for (int k = 0; k <= 4; ++k) {
    const double t = k / 4.0;
    svg += "<stop offset=\"" + Num(t) + "\" stop-color=\"" + HeatColour(t) + "\"/>";
  }
  svg += "</linearGradient></defs>\n<rect x=\"" + Num(bar_x) + "\" y=\"" + Num(top) +
         "\" width=\"14\" height=\"" + Num(bar_height) +
         "\" fill=\"url(#heatmap-scale)\" stroke=\"#444444\" stroke-width=\"0.5\"/>\n";
  svg += Text(bar_x + 18, top + 9, "1", kTickFont, "start");
  svg += Text(bar_x + 18, top + bar_height, "0", kTickFont, "start");
  const double bar_label_x = bar_x + 40;
  const double bar_label_y = top + bar_height / 2;
  svg += Text(bar_label_x, bar_label_y, heatmap.value_label, kTickFont, "middle",
              "transform=\"rotate(90 " + Num(bar_label_x) + " " + Num(bar_label_y) + ")\"");
  return svg + "</svg>\n";
}

namespace {

// Scatter colours: tab10, then ten more that differ from them and from each other.
constexpr const char* kScatterPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                           "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
                                           "#000075", "#808000", "#469990", "#800000", "#f032e6",
                                           "#000000", "#bfef45", "#ffe119", "#aaffc3", "#dcbeff"};
constexpr size_t kScatterPaletteSize = sizeof(kScatterPalette) / sizeof(kScatterPalette[0]);
constexpr const char* kOtherColour = "#b0b0b0";

// One projection of a scatter plot: axes `a` (across) and `b` (up) of the points.
void DrawScatterPanel(const ScatterPlot& plot, const std::vector<size_t>& order,
                      const std::vector<std::string>& colours, const std::vector<bool>& finite,
                      int a, int b, const Box& box, double radius, std::string* out) {
  const size_t n = finite.size();
  const auto coordinate = [&](size_t i, int axis) {
    return plot.coordinates[i * static_cast<size_t>(plot.dims) + static_cast<size_t>(axis)];
  };
  double lo[2] = {INFINITY, INFINITY}, hi[2] = {-INFINITY, -INFINITY};
  for (size_t i = 0; i < n; ++i) {
    if (!finite[i]) continue;
    for (int k = 0; k < 2; ++k) {
      const double v = coordinate(i, k == 0 ? a : b);
      lo[k] = std::min(lo[k], v);
      hi[k] = std::max(hi[k], v);
    }
  }
  const bool has_data = std::isfinite(lo[0]);
  // Equal scales: both axes span the larger of the two ranges (plus 4% each side).
  double span = has_data ? std::max(hi[0] - lo[0], hi[1] - lo[1]) * 1.08 : 2.0;
  if (!(span > 0)) span = std::max(1.0, std::fabs(lo[0]) + std::fabs(lo[1])) * 0.2;
  double start[2];
  for (int k = 0; k < 2; ++k) start[k] = has_data ? (lo[k] + hi[k]) / 2 - span / 2 : -1.0;

  const std::string name_a = plot.axis_names.size() > static_cast<size_t>(a)
                                 ? plot.axis_names[static_cast<size_t>(a)]
                                 : std::to_string(a + 1);
  const std::string name_b = plot.axis_names.size() > static_cast<size_t>(b)
                                 ? plot.axis_names[static_cast<size_t>(b)]
                                 : std::to_string(b + 1);
  const double left = box.x + 62;
  const double top = box.y + 10;
  const double side = std::max(std::min(box.w - 62 - 14, box.h - 10 - 50), 10.0);
  const double bottom = top + side;
  const auto px = [&](double v) { return left + (v - start[0]) / span * side; };
  const auto py = [&](double v) { return bottom - (v - start[1]) / span * side; };

  *out += "<g class=\"panel\">\n";
  for (int k = 0; k < 2; ++k) {
    std::vector<double> ticks = NiceTicks(start[k], start[k] + span, 6);
    const double step = ticks.size() >= 2 ? ticks[1] - ticks[0] : 1;
    for (double t : ticks) {
      if (t < start[k] - span * 1e-9 || t > start[k] + span * (1 + 1e-9)) continue;
      if (k == 0) {
        *out += Line(px(t), top, px(t), bottom, "#ececec", 1);
        *out += Text(px(t), bottom + 17, FormatTick(t, step), kTickFont, "middle");
      } else {
        *out += Line(left, py(t), left + side, py(t), "#ececec", 1);
        *out += Text(left - 6, py(t) + 4, FormatTick(t, step), kTickFont, "end");
      }
    }
  }
  *out += "<rect x=\"" + Num(left) + "\" y=\"" + Num(top) + "\" width=\"" + Num(side) +
          "\" height=\"" + Num(side) + "\" fill=\"none\" stroke=\"#444444\"/>\n";
  if (!has_data) {
    *out +=
        Text(left + side / 2, top + side / 2, "no data", kLabelFont, "middle", "fill=\"#888888\"");
  }
  *out += "<g class=\"points\" fill-opacity=\"0.8\">\n";
  const std::string r = Num(radius);
  for (size_t i : order) {
    *out += "<circle cx=\"" + Num(px(coordinate(i, a))) + "\" cy=\"" + Num(py(coordinate(i, b))) +
            "\" r=\"" + r + "\" fill=\"" + colours[i] + "\"/>\n";
  }
  *out += "</g>\n";
  *out += Text(left + side / 2, bottom + 38, name_a, kLabelFont, "middle");
  const double label_x = box.x + 16;
  const double label_y = top + side / 2;
  *out += Text(label_x, label_y, name_b, kLabelFont, "middle",
               "transform=\"rotate(-90 " + Num(label_x) + " " + Num(label_y) + ")\"");
  *out += "</g>\n";
}

}  // namespace

std::string ScatterColour(size_t index) { return kScatterPalette[index % kScatterPaletteSize]; }

std::string ScatterPlotSvg(const ScatterPlot& plot) {
  const int dims = plot.dims == 3 ? 3 : 2;
  ScatterPlot checked = plot;
  checked.dims = dims;
  const size_t n =
      std::min(plot.coordinates.size() / static_cast<size_t>(dims), plot.labels.size());
  const size_t classes = plot.class_names.size();
  std::vector<bool> finite(n, true);
  std::vector<std::string> colours(n);
  std::vector<size_t> counts(classes + 1, 0);  // the last: "other"
  size_t not_finite = 0;
  for (size_t i = 0; i < n; ++i) {
    for (int k = 0; k < dims; ++k) {
      finite[i] =
          finite[i] &&
          std::isfinite(plot.coordinates[i * static_cast<size_t>(dims) + static_cast<size_t>(k)]);
    }
    const int64_t label = plot.labels[i];
    const bool known = label >= 0 && static_cast<size_t>(label) < classes;
    colours[i] = known ? ScatterColour(static_cast<size_t>(label)) : kOtherColour;
    if (!finite[i]) {
      ++not_finite;
      continue;
    }
    ++counts[known ? static_cast<size_t>(label) : classes];
  }
  // Drawing order: by a hash of the index, so that classes interleave.
  std::vector<std::pair<uint64_t, size_t>> keyed;
  for (size_t i = 0; i < n; ++i) {
    if (finite[i]) keyed.push_back({SplitMix64(i), i});  // an order that interleaves classes
  }
  std::sort(keyed.begin(), keyed.end());
  std::vector<size_t> order;
  order.reserve(keyed.size());
  for (const auto& [key, i] : keyed) order.push_back(i);
  const double radius = std::clamp(
      4.5 - 0.75 * std::log10(std::max<double>(static_cast<double>(order.size()), 1)), 1.2, 3.5);

  std::vector<LegendEntry> legend;
  for (size_t c = 0; c < classes; ++c) {
    legend.push_back({plot.class_names[c] + " (" + std::to_string(counts[c]) + ")",
                      ScatterColour(c), "", /*marker=*/true, /*line=*/false});
  }
  if (counts[classes] > 0) {
    legend.push_back({"other (" + std::to_string(counts[classes]) + ")", kOtherColour, "",
                      /*marker=*/true, /*line=*/false});
  }
  if (not_finite > 0) {
    legend.push_back({"(" + std::to_string(not_finite) + " not finite)", kOtherColour, "",
                      /*marker=*/false, /*line=*/false});
  }

  const std::vector<std::pair<int, int>> panels =
      dims == 3 ? std::vector<std::pair<int, int>>{{0, 1}, {0, 2}, {1, 2}}
                : std::vector<std::pair<int, int>>{{0, 1}};
  const double panel = std::max(plot.panel_size, 160);
  // Wide enough for the panels and for the title and subtitle; the panels centred.
  const double panels_width = panel * static_cast<double>(panels.size()) + 20;
  const double width = std::max({panels_width, TextWidth(plot.title, kTitleFont + 1) + 40,
                                 TextWidth(plot.subtitle, kLegendFont) + 40});
  const double panels_left = (width - panels_width) / 2;
  const std::vector<std::pair<size_t, size_t>> rows = LegendRows(legend, width - 40);
  const double header = (plot.title.empty() ? 8 : 34) + (plot.subtitle.empty() ? 0 : 20);
  const double height = header + panel + 12 + static_cast<double>(rows.size()) * kLegendRow + 8;

  std::string svg = OpenSvg(width, height);
  if (!plot.title.empty()) {
    svg += Text(width / 2, 24, plot.title, kTitleFont + 1, "middle", "font-weight=\"bold\"");
  }
  if (!plot.subtitle.empty()) {
    svg += Text(width / 2, header - 8, plot.subtitle, kLegendFont, "middle", "fill=\"#444444\"");
  }
  for (size_t p = 0; p < panels.size(); ++p) {
    DrawScatterPanel(checked, order, colours, finite, panels[p].first, panels[p].second,
                     Box{panels_left + 10 + panel * static_cast<double>(p), header, panel, panel},
                     radius, &svg);
  }
  DrawLegend(legend, rows, width / 2, header + panel + 8, &svg);
  return svg + "</svg>\n";
}

std::string BarChartSvg(const BarChart& chart) {
  constexpr double kBar = 14;       // One bar's thickness.
  constexpr double kRowGap = 10;    // Between rows.
  constexpr double kHeader = 40;    // Title.
  constexpr double kLegend = 24;    // Legend line under the title.
  constexpr double kAxis = 46;      // Ticks and the value label under the bars.
  const size_t rows = chart.categories.size();
  const size_t groups = chart.groups.size();
  const auto value = [&](size_t g, size_t c) {
    return g < chart.values.size() && c < chart.values[g].size()
               ? chart.values[g][c]
               : std::numeric_limits<double>::quiet_NaN();
  };
  const auto error = [&](size_t g, size_t c) {
    const double e = g < chart.errors.size() && c < chart.errors[g].size() ? chart.errors[g][c]
                                                                            : 0;
    return std::isfinite(e) ? std::fabs(e) : 0.0;
  };
  double lo = 0;
  double hi = 0;
  bool any = false;
  for (size_t g = 0; g < groups; ++g) {
    for (size_t c = 0; c < rows; ++c) {
      const double v = value(g, c);
      if (!std::isfinite(v)) continue;
      any = true;
      lo = std::min(lo, v - error(g, c));
      hi = std::max(hi, v + error(g, c));
    }
  }
  if (chart.value_min.has_value()) lo = *chart.value_min;
  if (chart.value_max.has_value()) hi = *chart.value_max;
  if (!(hi > lo)) hi = lo + 1;
  const std::vector<double> ticks = NiceTicks(lo, hi, 7);
  if (!ticks.empty()) {
    if (!chart.value_min.has_value()) lo = ticks.front();
    if (!chart.value_max.has_value()) hi = ticks.back();
  }

  double label_width = 60;
  for (size_t c = 0; c < rows; ++c) {
    label_width = std::max(label_width, TextWidth(chart.categories[c], kTickFont) + 24);
  }
  const double width = std::max<double>(chart.width, label_width + 240);
  const double row_height = static_cast<double>(std::max<size_t>(groups, 1)) * kBar + kRowGap;
  const double plot_top = kHeader + kLegend;
  const double plot_height = std::max(1.0, static_cast<double>(rows)) * row_height;
  const double height = plot_top + plot_height + kAxis;
  const double left = label_width;
  const double right = width - 70;  // Room for the last bar's value.
  const auto px = [&](double v) {
    return left + (std::clamp(v, lo, hi) - lo) / (hi - lo) * (right - left);
  };

  std::string svg = OpenSvg(width, height);
  svg += Text(width / 2, 24, chart.title, kTitleFont, "middle", "font-weight=\"bold\"");
  // Legend: a swatch and a name per group, centred.
  double legend_width = 0;
  for (const std::string& name : chart.groups) legend_width += TextWidth(name, kLegendFont) + 34;
  double x = (width - legend_width) / 2;
  for (size_t g = 0; g < groups; ++g) {
    const std::string colour = kPalette[g % kPaletteSize];
    svg += "<rect x=\"" + Num(x) + "\" y=\"" + Num(kHeader + 2) + "\" width=\"12\" height=\"12\" " +
           "fill=\"" + colour + "\"/>\n";
    svg += Text(x + 16, kHeader + 12, chart.groups[g], kLegendFont, "start");
    x += TextWidth(chart.groups[g], kLegendFont) + 34;
  }
  // Grid lines and ticks.
  for (double tick : ticks) {
    if (tick < lo - 1e-12 || tick > hi + 1e-12) continue;
    const double tx = px(tick);
    svg += Line(tx, plot_top, tx, plot_top + plot_height, "#dddddd", 1);
    svg += Text(tx, plot_top + plot_height + 16, FormatTick(tick, ticks.size() > 1
                                                                      ? ticks[1] - ticks[0]
                                                                      : 1),
                kTickFont, "middle");
  }
  svg += Line(left, plot_top, left, plot_top + plot_height, "#333333", 1);
  svg += Line(left, plot_top + plot_height, right, plot_top + plot_height, "#333333", 1);
  svg += Text((left + right) / 2, plot_top + plot_height + 36, chart.value_label, kLabelFont,
              "middle");
  if (!any) {
    svg += Text((left + right) / 2, plot_top + plot_height / 2, "no data", kLabelFont, "middle",
                "fill=\"#888888\"");
  }
  for (size_t c = 0; c < rows; ++c) {
    const double top = plot_top + static_cast<double>(c) * row_height + kRowGap / 2;
    const bool best = c < chart.highlight.size() && chart.highlight[c];
    const std::string label = (best ? "\xE2\x98\x85 " : "") + chart.categories[c];
    svg += Text(left - 8, top + row_height / 2 - kRowGap / 2 + 4, label, kTickFont, "end",
                best ? "font-weight=\"bold\"" : "");
    for (size_t g = 0; g < groups; ++g) {
      const double y = top + static_cast<double>(g) * kBar;
      const double v = value(g, c);
      if (!std::isfinite(v)) {
        svg += Text(left + 4, y + kBar - 3, "n/a", kTickFont - 1, "start", "fill=\"#888888\"");
        continue;
      }
      const double x0 = px(std::max(lo, std::min(0.0, hi)));
      const double x1 = px(v);
      svg += "<rect x=\"" + Num(std::min(x0, x1)) + "\" y=\"" + Num(y + 1) + "\" width=\"" +
             Num(std::fabs(x1 - x0)) + "\" height=\"" + Num(kBar - 2) + "\" fill=\"" +
             kPalette[g % kPaletteSize] + "\"/>\n";
      const double e = error(g, c);
      if (e > 0) {
        svg += Line(px(v - e), y + kBar / 2, px(v + e), y + kBar / 2, "#222222", 1.2);
      }
      char text[32];
      std::snprintf(text, sizeof(text), "%.4g", v);
      svg += Text(std::max(x0, x1) + 4, y + kBar - 3, text, kTickFont - 1, "start");
    }
  }
  return svg + "</svg>\n";
}

absl::Status WriteSvg(const std::string& path, const std::string& svg) {
  return WriteFileAtomically(path, svg);
}

}  // namespace fauna
