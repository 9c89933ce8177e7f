#include "eval/svg_plot.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <regex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/atomic_file.h"
#include "core/test_tmp.h"
#include "eval/confusion_matrix.h"

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---------------------------------------------------------------------------------------------
// A small well-formedness checker: one root element, balanced and properly nested tags, quoted
// attributes without '<' and without repeats, only the predefined or numeric entities, no stray
// '<' or '&', nothing but white space outside the root, valid UTF-8. Returns the first fault, or
// "" for a well-formed document.

std::string EntityFault(const std::string& text) {
  for (size_t i = text.find('&'); i != std::string::npos; i = text.find('&', i + 1)) {
    const size_t end = text.find(';', i);
    if (end == std::string::npos) return "unterminated '&' in: " + text;
    const std::string entity = text.substr(i + 1, end - i - 1);
    static const std::set<std::string> kNamed = {"amp", "lt", "gt", "quot", "apos"};
    const bool numeric = std::regex_match(entity, std::regex("#[0-9]+|#x[0-9A-Fa-f]+"));
    if (!numeric && kNamed.count(entity) == 0) return "unknown entity &" + entity + ";";
  }
  return "";
}

bool IsValidUtf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const unsigned char b = static_cast<unsigned char>(text[i]);
    const size_t length = b < 0x80         ? 1
                          : (b >> 5) == 6  ? 2
                          : (b >> 4) == 14 ? 3
                          : (b >> 3) == 30 ? 4
                                           : 0;
    if (length == 0 || i + length > text.size()) return false;
    for (size_t k = 1; k < length; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    if (b < 0x20 && b != '\n' && b != '\t' && b != '\r') return false;
    i += length;
  }
  return true;
}

std::string XmlFault(const std::string& xml) {
  if (!IsValidUtf8(xml)) return "not valid UTF-8 (or holds a control character)";
  size_t i = 0;
  if (xml.compare(0, 5, "<?xml") == 0) {
    i = xml.find("?>");
    if (i == std::string::npos) return "unterminated XML declaration";
    i += 2;
  }
  std::vector<std::string> open;
  int roots = 0;
  const std::regex name_re("[A-Za-z_][A-Za-z0-9_:.-]*");
  while (i < xml.size()) {
    if (xml[i] != '<') {
      const size_t end = std::min(xml.find('<', i), xml.size());
      const std::string text = xml.substr(i, end - i);
      if (open.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) {
        return "text outside the root: " + text;
      }
      const std::string fault = EntityFault(text);
      if (!fault.empty()) return fault;
      i = end;
      continue;
    }
    if (xml.compare(i, 4, "<!--") == 0) {
      const size_t end = xml.find("-->", i);
      if (end == std::string::npos) return "unterminated comment";
      i = end + 3;
      continue;
    }
    const size_t end = xml.find('>', i);
    if (end == std::string::npos) return "unterminated tag at " + std::to_string(i);
    std::string tag = xml.substr(i + 1, end - i - 1);
    i = end + 1;
    if (!tag.empty() && tag[0] == '/') {
      const std::string name = tag.substr(1);
      if (open.empty() || open.back() != name) {
        return "</" + name + "> closes " + (open.empty() ? "nothing" : "<" + open.back() + ">");
      }
      open.pop_back();
      continue;
    }
    const bool self_closing = !tag.empty() && tag.back() == '/';
    if (self_closing) tag.pop_back();
    std::smatch match;
    const std::regex head_re("^([A-Za-z_][A-Za-z0-9_:.-]*)");
    if (!std::regex_search(tag, match, head_re)) return "bad tag <" + tag + ">";
    const std::string name = match[1];
    // Attributes: name="value" or name='value', separated by white space.
    std::string rest = tag.substr(name.size());
    std::set<std::string> attributes;
    const std::regex attribute_re("^\\s+([A-Za-z_][A-Za-z0-9_:.-]*)=(\"[^\"<]*\"|'[^'<]*')");
    while (std::regex_search(rest, match, attribute_re)) {
      if (!attributes.insert(match[1]).second) return "repeated attribute " + match[1].str();
      const std::string fault = EntityFault(match[2]);
      if (!fault.empty()) return fault;
      rest = match.suffix();
    }
    if (rest.find_first_not_of(" \t\r\n") != std::string::npos) {
      return "bad attributes in <" + name + ">: " + rest;
    }
    if (open.empty() && ++roots > 1) return "second root <" + name + ">";
    if (!self_closing) open.push_back(name);
  }
  if (!open.empty()) return "<" + open.back() + "> is never closed";
  if (roots != 1) return "no root element";
  return "";
}

TEST(XmlFault, CatchesMalformedDocuments) {
  EXPECT_EQ(XmlFault("<svg><g a=\"1\"/><text>a &amp; b</text></svg>"), "");
  EXPECT_NE(XmlFault("<svg><g></svg>"), "");
  EXPECT_NE(XmlFault("<svg><g></svg></g>"), "");
  EXPECT_NE(XmlFault("<svg><text>a < b</text></svg>"), "");
  EXPECT_NE(XmlFault("<svg><text>a & b</text></svg>"), "");
  EXPECT_NE(XmlFault("<svg a=1></svg>"), "");
  EXPECT_NE(XmlFault("<svg a=\"1\" a=\"2\"></svg>"), "");
  EXPECT_NE(XmlFault("<svg/><svg/>"), "");
  EXPECT_NE(XmlFault("<svg>\xff</svg>"), "");
  EXPECT_NE(XmlFault("<svg>\x01</svg>"), "");
}

// Occurrences of `needle` in `text`.
int Count(const std::string& text, const std::string& needle) {
  int count = 0;
  for (size_t i = text.find(needle); i != std::string::npos; i = text.find(needle, i + 1)) {
    ++count;
  }
  return count;
}

// Every value of attribute `name` in `svg`, in order.
std::vector<std::string> AttributeValues(const std::string& svg, const std::string& name) {
  std::vector<std::string> values;
  const std::regex re("\\s" + name + "=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    values.push_back((*it)[1]);
  }
  return values;
}

// The d attributes of the series paths.
std::vector<std::string> SeriesPaths(const std::string& svg) {
  std::vector<std::string> paths;
  const std::regex re("<path d=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    paths.push_back((*it)[1]);
  }
  return paths;
}

// Checks what every figure must satisfy: well-formed, and no non-finite number leaked into it.
void ExpectGoodSvg(const std::string& svg) {
  EXPECT_EQ(XmlFault(svg), "");
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
  EXPECT_THAT(svg, Not(HasSubstr("inf\"")));
  EXPECT_EQ(svg.rfind("</svg>\n"), svg.size() - 7);
}

// Writes `svg` as an example a person can open (bazel-testlogs/eval/svg_plot_test/test.outputs).
void KeepExample(const std::string& name, const std::string& svg) {
  const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR");
  if (dir != nullptr && *dir != '\0') {
    ASSERT_TRUE(WriteSvg(std::string(dir) + "/" + name, svg).ok());
  }
}

// ---------------------------------------------------------------------------------------------
// NiceTicks

TEST(NiceTicks, DocumentedExamples) {
  EXPECT_THAT(NiceTicks(/*lo=*/0.13, /*hi=*/0.92, /*max_ticks=*/6),
              ElementsAre(0, 0.2, 0.4, 0.6, 0.8, 1.0));
  EXPECT_THAT(NiceTicks(/*lo=*/1, /*hi=*/30, /*max_ticks=*/8),
              ElementsAre(0, 5, 10, 15, 20, 25, 30));
}

TEST(NiceTicks, DecimalStepsAreTheNearestDoubles) {
  const std::vector<double> ticks = NiceTicks(/*lo=*/0.1, /*hi=*/0.5, /*max_ticks=*/5);
  ASSERT_THAT(ticks, ElementsAre(0.1, 0.2, 0.3, 0.4, 0.5));
  EXPECT_EQ(ticks[2], 0.3);  // exactly, not 0.30000000000000004
}

TEST(NiceTicks, NegativeAndSwappedRanges) {
  // Step 2 would need 6 ticks (-4 to 6).
  EXPECT_THAT(NiceTicks(/*lo=*/-3.2, /*hi=*/4.1, /*max_ticks=*/5), ElementsAre(-5, 0, 5));
  EXPECT_EQ(NiceTicks(/*lo=*/4.1, /*hi=*/-3.2, /*max_ticks=*/5),
            NiceTicks(/*lo=*/-3.2, /*hi=*/4.1, /*max_ticks=*/5));
  EXPECT_THAT(NiceTicks(/*lo=*/-0.07, /*hi=*/-0.02, /*max_ticks=*/6),
              ElementsAre(-0.07, -0.06, -0.05, -0.04, -0.03, -0.02));
}

TEST(NiceTicks, DegenerateRangesAreWidened) {
  EXPECT_THAT(NiceTicks(/*lo=*/0, /*hi=*/0, /*max_ticks=*/5), ElementsAre(-1, -0.5, 0, 0.5, 1));
  EXPECT_THAT(NiceTicks(/*lo=*/1, /*hi=*/1, /*max_ticks=*/5, /*min_step=*/1), ElementsAre(0, 1, 2));
  const std::vector<double> ticks = NiceTicks(/*lo=*/0.9, /*hi=*/0.9, /*max_ticks=*/5);
  ASSERT_GE(ticks.size(), 2u);
  EXPECT_LT(ticks.front(), 0.9);
  EXPECT_GT(ticks.back(), 0.9);
}

TEST(NiceTicks, BadArgumentsGiveNoTicks) {
  EXPECT_TRUE(NiceTicks(kNaN, 1, 5).empty());
  EXPECT_TRUE(NiceTicks(0, kInf, 5).empty());
  EXPECT_TRUE(NiceTicks(0, 1, /*max_ticks=*/2).empty());
}

TEST(NiceTicks, MinStepKeepsTicksWhole) {
  EXPECT_THAT(NiceTicks(/*lo=*/1, /*hi=*/3, /*max_ticks=*/10, /*min_step=*/1),
              ElementsAre(1, 2, 3));
  EXPECT_THAT(NiceTicks(/*lo=*/1, /*hi=*/3, /*max_ticks=*/10), Not(ElementsAre(1, 2, 3)));
}

// Over many random ranges: a 1-2-5 step, enclosing, at most max_ticks, and the smallest such step
// (the next smaller 1-2-5 step would need more than max_ticks).
TEST(NiceTicks, PropertiesHoldOnRandomRanges) {
  std::mt19937_64 rng(/*seed=*/7);
  std::uniform_real_distribution<double> exponent(-6, 6), unit(-1, 1);
  std::uniform_int_distribution<int> count(3, 12);
  for (int trial = 0; trial < 2000; ++trial) {
    const double scale = std::pow(10.0, exponent(rng));
    const double lo = unit(rng) * scale;
    const double hi = lo + std::fabs(unit(rng)) * scale + scale * 1e-3;
    const int max_ticks = count(rng);
    const std::vector<double> ticks = NiceTicks(lo, hi, max_ticks);
    SCOPED_TRACE(std::to_string(lo) + " .. " + std::to_string(hi) + ", " +
                 std::to_string(max_ticks));
    ASSERT_GE(ticks.size(), 2u);
    ASSERT_LE(ticks.size(), static_cast<size_t>(max_ticks));
    const double step = ticks[1] - ticks[0];
    EXPECT_LE(ticks.front(), lo + step * 1e-8);
    EXPECT_GE(ticks.back(), hi - step * 1e-8);
    for (size_t k = 2; k < ticks.size(); ++k) {
      EXPECT_NEAR(ticks[k] - ticks[k - 1], step, step * 1e-6);
    }
    const double decade = std::pow(10.0, std::floor(std::log10(step) + 1e-9));
    const double mantissa = step / decade;
    EXPECT_TRUE(std::fabs(mantissa - 1) < 1e-6 || std::fabs(mantissa - 2) < 1e-6 ||
                std::fabs(mantissa - 5) < 1e-6)
        << "step " << step;
    // Ticks sit on multiples of the step.
    EXPECT_NEAR(ticks[0] / step, std::round(ticks[0] / step), 1e-6);
    // The next smaller nice step does not fit.
    const double smaller = std::fabs(mantissa - 1) < 1e-6   ? decade / 2
                           : std::fabs(mantissa - 2) < 1e-6 ? decade
                                                            : decade * 2;
    const double needed = std::ceil(hi / smaller - 1e-9) - std::floor(lo / smaller + 1e-9) + 1;
    EXPECT_GT(needed, max_ticks) << "step " << step << " could have been " << smaller;
  }
}

// ---------------------------------------------------------------------------------------------
// LineChartSvg

LineChart TwoSeries() {
  LineChart chart;
  chart.title = "loss";
  chart.x_label = "epoch";
  chart.y_label = "loss";
  chart.integer_x = true;
  chart.series.resize(2);
  chart.series[0].name = "train";
  chart.series[1].name = "val";
  for (int epoch = 1; epoch <= 10; ++epoch) {
    chart.series[0].x.push_back(epoch);
    chart.series[0].y.push_back(2.0 / epoch);
    chart.series[1].x.push_back(epoch);
    chart.series[1].y.push_back(2.2 / epoch + 0.05);
  }
  return chart;
}

TEST(LineChartSvg, DrawsAxesGridLegendAndOneLinePerSeries) {
  const std::string svg = LineChartSvg(TwoSeries());
  ExpectGoodSvg(svg);
  KeepExample("line_chart.svg", svg);
  EXPECT_EQ(SeriesPaths(svg).size(), 2u);
  EXPECT_EQ(Count(svg, "class=\"marker\""), 20);
  EXPECT_THAT(svg, HasSubstr(">train</text>"));
  EXPECT_THAT(svg, HasSubstr(">val</text>"));
  EXPECT_THAT(svg, HasSubstr(">epoch</text>"));
  // Two distinct colours from the palette.
  EXPECT_THAT(svg, HasSubstr("stroke=\"#1f77b4\""));
  EXPECT_THAT(svg, HasSubstr("stroke=\"#ff7f0e\""));
  EXPECT_THAT(svg, HasSubstr(">10</text>"));
}

TEST(LineChartSvg, IntegerXKeepsTicksWhole) {
  LineChart chart;
  chart.series.resize(1);
  chart.series[0].x = {1, 2, 3};
  chart.series[0].y = {5, 4, 3.5};
  chart.integer_x = true;
  std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">2</text>"));
  EXPECT_THAT(svg, Not(HasSubstr(">1.5</text>")));
  chart.integer_x = false;
  svg = LineChartSvg(chart);
  EXPECT_THAT(svg, HasSubstr(">1.5</text>"));
}

TEST(LineChartSvg, LargerValuesAreDrawnHigher) {
  LineChart chart;
  chart.series.resize(1);
  chart.series[0].x = {0, 1, 2, 3};
  chart.series[0].y = {0.1, 0.4, 0.2, 0.9};
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  std::vector<double> cx, cy;
  const std::regex re("class=\"marker\" cx=\"([-0-9.]+)\" cy=\"([-0-9.]+)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    cx.push_back(std::stod((*it)[1]));
    cy.push_back(std::stod((*it)[2]));
  }
  ASSERT_EQ(cx.size(), 4u);
  EXPECT_LT(cx[0], cx[1]);
  EXPECT_LT(cx[2], cx[3]);
  EXPECT_GT(cy[0], cy[1]);  // SVG's y grows downwards
  EXPECT_LT(cy[1], cy[2]);
  EXPECT_GT(cy[2], cy[3]);
  for (double y : cy) {
    EXPECT_GT(y, 0);
    EXPECT_LT(y, chart.height);
  }
}

TEST(LineChartSvg, SmallestFigureStillMapsPointsInside) {
  LineChart chart = TwoSeries();
  chart.width = 10;  // raised to the 120 px minimum
  chart.height = 10;
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  const std::regex re("class=\"marker\" cx=\"([-0-9.]+)\" cy=\"([-0-9.]+)\"");
  int markers = 0;
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it, ++markers) {
    EXPECT_GE(std::stod((*it)[1]), 0);
    EXPECT_LE(std::stod((*it)[1]), 120);
    EXPECT_GE(std::stod((*it)[2]), 0);
    EXPECT_LE(std::stod((*it)[2]), 120);
  }
  EXPECT_EQ(markers, 20);
}

TEST(LineChartSvg, NonFiniteValuesAreGaps) {
  LineChart chart;
  chart.series.resize(1);
  chart.series[0].name = "loss";
  chart.series[0].x = {1, 2, 3, 4, 5, 6, kNaN, 8};
  chart.series[0].y = {1.0, kNaN, 0.8, 0.7, kInf, 0.5, 0.4, 0.3};
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  KeepExample("line_chart_gaps.svg", svg);
  const std::vector<std::string> paths = SeriesPaths(svg);
  ASSERT_EQ(paths.size(), 1u);
  // Pieces: {1}, {3, 4}, {6}, {8}.
  EXPECT_EQ(Count(paths[0], "M"), 4) << paths[0];
  EXPECT_EQ(Count(paths[0], "L"), 1) << paths[0];
  EXPECT_EQ(Count(svg, "class=\"marker\""), 5);
}

TEST(LineChartSvg, IsolatedPointsKeepMarkersOnLongSeries) {
  LineChart chart;
  chart.series.resize(1);
  for (int i = 0; i < 500; ++i) {
    chart.series[0].x.push_back(i);
    chart.series[0].y.push_back(i == 249 || i == 251 ? kNaN : std::sin(i / 30.0));
  }
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(svg, "class=\"marker\""), 1);  // point 250, between two gaps
  EXPECT_EQ(Count(SeriesPaths(svg)[0], "M"), 3);
}

TEST(LineChartSvg, AllNaNSeriesIsListedAsNaN) {
  LineChart chart = TwoSeries();
  for (double& y : chart.series[1].y) y = kNaN;
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">val (NaN)</text>"));
  EXPECT_EQ(SeriesPaths(svg).size(), 1u);
}

TEST(LineChartSvg, EmptyChartSaysNoData) {
  LineChart chart;
  chart.title = "nothing yet";
  std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">no data</text>"));

  chart.series.resize(2);
  chart.series[0].name = "empty";
  chart.series[1].name = "missing";
  chart.series[1].x = {1, 2};
  chart.series[1].y = {kNaN, kNaN};
  svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">no data</text>"));
  EXPECT_THAT(svg, HasSubstr(">empty (no data)</text>"));
  EXPECT_THAT(svg, HasSubstr(">missing (NaN)</text>"));
  EXPECT_TRUE(SeriesPaths(svg).empty());
}

TEST(LineChartSvg, SinglePointIsAMarker) {
  LineChart chart;
  chart.series.resize(1);
  chart.series[0].name = "one";
  chart.series[0].x = {3};
  chart.series[0].y = {0.5};
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(svg, "class=\"marker\""), 1);
  EXPECT_THAT(svg, Not(HasSubstr(">no data</text>")));
}

TEST(LineChartSvg, MismatchedLengthsShowInTheLegend) {
  LineChart chart;
  chart.series.resize(1);
  chart.series[0].name = "bad";
  chart.series[0].x = {1, 2, 3};
  chart.series[0].y = {0.5, 0.6};
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">bad (3 x, 2 y)</text>"));
  EXPECT_EQ(Count(svg, "class=\"marker\""), 2);
}

TEST(LineChartSvg, EscapesText) {
  LineChart chart = TwoSeries();
  chart.title = "a<b & \"c\" 'd'>";
  chart.series[0].name = "</text><script>";
  chart.y_label = "bad \xff\xfe utf-8 \x01 and caf\xc3\xa9";
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;</text>"));
  EXPECT_THAT(svg, HasSubstr("&lt;/text&gt;&lt;script&gt;"));
  EXPECT_THAT(svg, Not(HasSubstr("<script>")));
  EXPECT_THAT(svg, HasSubstr("bad \xEF\xBF\xBD\xEF\xBF\xBD utf-8 \xEF\xBF\xBD and caf\xc3\xa9"));
}

TEST(LineChartSvg, FixedYRangeSetsTheAxisAndClips) {
  LineChart chart = TwoSeries();
  chart.y_min = 0;
  chart.y_max = 1;
  const std::string svg = LineChartSvg(chart);
  ExpectGoodSvg(svg);
  // Ticks 0 to 1 only, though the data reach 2.25.
  EXPECT_THAT(svg, HasSubstr(">1.0</text>"));
  EXPECT_THAT(svg, HasSubstr(">0</text>"));
  EXPECT_THAT(svg, Not(HasSubstr(">2.0</text>")));
  EXPECT_THAT(svg, Not(HasSubstr(">1.2</text>")));
  EXPECT_THAT(svg, HasSubstr("clip-path=\"url(#plot-area-0)\""));

  // Without the fixed range the ticks follow the data.
  const std::string free = LineChartSvg(TwoSeries());
  EXPECT_THAT(free, HasSubstr(">2.5</text>"));
}

// ---------------------------------------------------------------------------------------------
// TrainingCurvesSvg

std::vector<EpochMetrics> History(int epochs) {
  std::vector<EpochMetrics> history;
  for (int e = 1; e <= epochs; ++e) {
    EpochMetrics m;
    m.epoch = e;
    m.train_loss = 1.1 * std::exp(-e / 6.0) + 0.05;
    m.val_loss = 1.0 * std::exp(-e / 8.0) + 0.2 + (e > 12 ? 0.02 * (e - 12) : 0);
    m.train_acc = 1 - 0.6 * std::exp(-e / 5.0);
    m.val_acc = 0.93 - 0.55 * std::exp(-e / 6.0) - (e > 12 ? 0.004 * (e - 12) : 0);
    history.push_back(m);
  }
  return history;
}

TEST(TrainingCurvesSvg, TwoPanelsWithTrainAndValAndTheBestEpoch) {
  const std::string svg = TrainingCurvesSvg(History(20), "vgg16 & friends", /*best_epoch=*/12);
  ExpectGoodSvg(svg);
  KeepExample("training_curves.svg", svg);
  EXPECT_THAT(svg, HasSubstr(">vgg16 &amp; friends</text>"));
  EXPECT_EQ(Count(svg, "class=\"panel\""), 2);
  EXPECT_EQ(SeriesPaths(svg).size(), 4u);
  EXPECT_EQ(Count(svg, "class=\"marker\""), 80);
  EXPECT_THAT(svg, HasSubstr(">loss</text>"));
  EXPECT_THAT(svg, HasSubstr(">accuracy</text>"));
  EXPECT_EQ(Count(svg, ">best epoch 12</text>"), 2);
  // The marker line in each panel, dashed, plus its two legend samples.
  EXPECT_EQ(Count(svg, "stroke=\"#555555\" stroke-width=\"1.5\" stroke-dasharray=\"5 4\""), 2);
  // Clip path ids are unique in the document.
  const std::vector<std::string> ids = AttributeValues(svg, "id");
  EXPECT_EQ(std::set<std::string>(ids.begin(), ids.end()).size(), ids.size());
}

TEST(TrainingCurvesSvg, WithoutBestEpochOrValidation) {
  std::vector<EpochMetrics> history = History(5);
  for (EpochMetrics& m : history) m.val_loss = m.val_acc = kNaN;
  const std::string svg = TrainingCurvesSvg(history, "no validation");
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, Not(HasSubstr("best epoch")));
  EXPECT_EQ(Count(svg, ">val (NaN)</text>"), 2);
  EXPECT_EQ(SeriesPaths(svg).size(), 2u);
}

TEST(TrainingCurvesSvg, BestEpochOutsideTheDataWidensTheAxis) {
  const std::string svg = TrainingCurvesSvg(History(5), "t", /*best_epoch=*/9);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">best epoch 9</text>"));
  EXPECT_THAT(svg, HasSubstr(">10</text>"));  // the x axis reaches it (ticks 0 to 10)
}

TEST(TrainingCurvesSvg, UnsetValuesAreGaps) {
  EpochMetrics only_train;
  only_train.epoch = 1;
  only_train.train_loss = 0.9;
  const std::string svg = TrainingCurvesSvg({only_train}, "one value");
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(svg, "class=\"marker\""), 1);
  EXPECT_EQ(Count(svg, ">val (NaN)</text>"), 2);
  EXPECT_EQ(Count(svg, ">train (NaN)</text>"), 1);
}

TEST(TrainingCurvesSvg, OneEpochAndNoEpochs) {
  std::string svg = TrainingCurvesSvg(History(1), "first epoch");
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(svg, "class=\"marker\""), 4);
  svg = TrainingCurvesSvg({}, "empty");
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(svg, ">no data</text>"), 2);
}

// ---------------------------------------------------------------------------------------------
// ConfusionMatrixSvg

ConfusionMatrix Matrix(const std::vector<std::string>& names, uint64_t seed) {
  ConfusionMatrix matrix(names);
  std::mt19937_64 rng(seed);
  const int64_t n = static_cast<int64_t>(names.size());
  std::uniform_int_distribution<int64_t> any(0, n - 1);
  std::uniform_real_distribution<double> unit(0, 1);
  for (int64_t i = 0; i < n; ++i) {
    for (int k = 0; k < 40; ++k) {
      EXPECT_TRUE(matrix.Add(i, unit(rng) < 0.75 ? i : any(rng)).ok());
    }
  }
  return matrix;
}

TEST(ConfusionMatrixSvg, OneCellPerPairWithCountsAndNames) {
  ConfusionMatrix matrix({"cat", "dog", "wild"});
  for (int k = 0; k < 7; ++k) ASSERT_TRUE(matrix.Add(0, 0).ok());
  ASSERT_TRUE(matrix.Add(0, 2).ok());
  for (int k = 0; k < 5; ++k) ASSERT_TRUE(matrix.Add(1, 1).ok());
  for (int k = 0; k < 3; ++k) ASSERT_TRUE(matrix.Add(2, 1).ok());
  const std::string svg = ConfusionMatrixSvg(matrix, "AFHQ test");
  ExpectGoodSvg(svg);
  KeepExample("confusion_matrix_3.svg", svg);
  EXPECT_EQ(Count(svg, "class=\"cell\""), 9);
  EXPECT_THAT(svg, HasSubstr(">7</text>"));
  EXPECT_THAT(svg, HasSubstr(">3</text>"));
  EXPECT_EQ(Count(svg, ">wild</text>"), 2);  // row and column
  EXPECT_THAT(svg, Not(HasSubstr("rotate(-45")));
  EXPECT_THAT(svg, HasSubstr("<title>true cat, predicted wild: 1 (12.5% of cat)</title>"));
  EXPECT_THAT(svg, HasSubstr("accuracy 0.7500 (16 samples)"));
  // Row-normalised colour: a full row (wild -> dog, 3 of 3) is the darkest blue; an empty cell
  // the lightest.
  EXPECT_THAT(svg, HasSubstr("fill=\"rgb(8,48,107)\""));
  EXPECT_THAT(svg, HasSubstr("fill=\"rgb(247,251,255)\""));
}

TEST(ConfusionMatrixSvg, FiftyClassesWithLongNames) {
  std::vector<std::string> names;
  for (int c = 0; c < 50; ++c) names.push_back("species_number_" + std::to_string(c));
  const std::string svg = ConfusionMatrixSvg(Matrix(names, /*seed=*/3), "fifty <classes>");
  ExpectGoodSvg(svg);
  KeepExample("confusion_matrix_50.svg", svg);
  EXPECT_EQ(Count(svg, "class=\"cell\""), 2500);
  EXPECT_EQ(Count(svg, "rotate(-90"), 51);  // column names upright, and "true class"
  EXPECT_EQ(Count(svg, "rotate(-45"), 0);
  EXPECT_THAT(svg, HasSubstr(">fifty &lt;classes&gt;</text>"));
  // Still fits a screen.
  const std::vector<std::string> widths = AttributeValues(svg, "width");
  ASSERT_FALSE(widths.empty());
  EXPECT_LT(std::stod(widths[0]), 1400);
}

TEST(ConfusionMatrixSvg, ElevenClassesAndEscapedNames) {
  std::vector<std::string> names = {"amur leopard", "black rhino", "a&b", "<tiger>"};
  for (int c = 4; c < 11; ++c) names.push_back("class " + std::to_string(c));
  const std::string svg = ConfusionMatrixSvg(Matrix(names, /*seed=*/5), "endangered");
  ExpectGoodSvg(svg);
  KeepExample("confusion_matrix_11.svg", svg);
  EXPECT_EQ(Count(svg, "class=\"cell\""), 121);
  EXPECT_THAT(svg, HasSubstr(">a&amp;b</text>"));
  EXPECT_THAT(svg, HasSubstr(">&lt;tiger&gt;</text>"));
  EXPECT_EQ(Count(svg, "rotate(-45"), 11);  // long column names at 45 degrees
}

// ---------------------------------------------------------------------------------------------
// HeatmapSvg

TEST(HeatmapSvg, OneCellPerRowAndColumnWithValuesNamesAndGaps) {
  Heatmap map;
  map.title = "accuracy per class & view";
  map.subtitle = "test part, 24 images";
  map.row_names = {"cat", "dog", "<wild>"};
  map.column_names = {"whole", "left", "top_left", "window_25"};
  map.values = {1.0, 0.5, 0.25, 0,  //
                0.875, std::nan(""), 1, 0.5,
                0.125, 0.5, 0.75};  // One value short: the last cell has none.
  map.row_label = "class";
  map.column_label = "view";
  map.value_label = "accuracy";
  const std::string svg = HeatmapSvg(map);
  ExpectGoodSvg(svg);
  KeepExample("heatmap.svg", svg);
  EXPECT_EQ(Count(svg, "class=\"cell\""), 12);
  EXPECT_THAT(svg, HasSubstr("<title>dog, whole: 0.88</title>"));
  EXPECT_THAT(svg, HasSubstr("<title>dog, left: no value</title>"));
  EXPECT_THAT(svg, HasSubstr("<title>&lt;wild&gt;, window_25: no value</title>"));
  EXPECT_EQ(Count(svg, ">-</text>"), 2);
  EXPECT_EQ(Count(svg, "fill=\"#e0e0e0\""), 2);
  EXPECT_THAT(svg, HasSubstr(">accuracy per class &amp; view</text>"));
  EXPECT_THAT(svg, HasSubstr(">test part, 24 images</text>"));
  EXPECT_THAT(svg, HasSubstr(">&lt;wild&gt;</text>"));
  // 1 is the darkest blue, 0 the lightest.
  EXPECT_THAT(svg, HasSubstr("fill=\"rgb(8,48,107)\""));
  EXPECT_THAT(svg, HasSubstr("fill=\"rgb(247,251,255)\""));
  EXPECT_THAT(svg, HasSubstr(">accuracy</text>"));
}

TEST(HeatmapSvg, ValuesOutsideTheScaleAreClippedAndEmptyTablesSayNoData) {
  Heatmap map;
  map.row_names = {"a"};
  map.column_names = {"x", "y"};
  map.values = {-0.5, 7};
  std::string svg = HeatmapSvg(map);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">-0.50</text>"));
  EXPECT_THAT(svg, HasSubstr(">7.00</text>"));
  EXPECT_THAT(svg, HasSubstr("fill=\"rgb(8,48,107)\""));
  EXPECT_THAT(svg, HasSubstr("fill=\"rgb(247,251,255)\""));
  map.column_names.clear();
  svg = HeatmapSvg(map);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">no data</text>"));
  EXPECT_EQ(Count(svg, "class=\"cell\""), 0);
}

TEST(ConfusionMatrixSvg, EmptyMatrices) {
  std::string svg = ConfusionMatrixSvg(ConfusionMatrix({}), "none");
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">no classes</text>"));
  EXPECT_EQ(Count(svg, "class=\"cell\""), 0);
  svg = ConfusionMatrixSvg(ConfusionMatrix({"a", "b"}), "");
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(svg, "class=\"cell\""), 4);
  EXPECT_THAT(svg, HasSubstr("accuracy 0.0000 (0 samples)"));
}

// ---------------------------------------------------------------------------------------------
// ScatterPlotSvg

// The <g class="points"> groups of a scatter plot, each as its text.
std::vector<std::string> PointGroups(const std::string& svg) {
  std::vector<std::string> groups;
  const std::string open = "<g class=\"points\"";
  for (size_t i = svg.find(open); i != std::string::npos; i = svg.find(open, i + 1)) {
    groups.push_back(svg.substr(i, svg.find("</g>", i) - i));
  }
  return groups;
}

// The legend's text.
std::string Legend(const std::string& svg) {
  const size_t begin = svg.find("<g class=\"legend\">");
  return begin == std::string::npos ? "" : svg.substr(begin, svg.find("</g>", begin) - begin);
}

ScatterPlot ThreeClasses(int dims, int per_class) {
  ScatterPlot plot;
  plot.title = "t-SNE <test>";
  plot.subtitle = "KL 1.0 & more";
  plot.dims = dims;
  plot.class_names = {"cat", "dog & <wolf>", "\"wild\""};
  std::mt19937_64 rng(1);
  std::normal_distribution<double> noise(0, 1);
  for (int c = 0; c < 3; ++c) {  // sorted by class, as features files often are
    for (int i = 0; i < per_class; ++i) {
      for (int k = 0; k < dims; ++k) plot.coordinates.push_back(10.0 * c * (k == 0) + noise(rng));
      plot.labels.push_back(c);
    }
  }
  return plot;
}

// cx and cy of every <circle> in `group`, in order.
std::vector<std::pair<double, double>> Centres(const std::string& group) {
  std::vector<std::pair<double, double>> centres;
  const std::vector<std::string> cx = AttributeValues(group, "cx"),
                                 cy = AttributeValues(group, "cy");
  for (size_t i = 0; i < std::min(cx.size(), cy.size()); ++i) {
    centres.push_back({std::stod(cx[i]), std::stod(cy[i])});
  }
  return centres;
}

TEST(ScatterPlotSvg, TwoDimensionsOnePanelEveryPointAndALegendOfClasses) {
  const std::string svg = ScatterPlotSvg(ThreeClasses(2, 40));
  ExpectGoodSvg(svg);
  KeepExample("scatter_2d.svg", svg);
  const std::vector<std::string> groups = PointGroups(svg);
  ASSERT_EQ(groups.size(), 1u);
  EXPECT_EQ(Count(groups[0], "<circle "), 120);
  for (size_t c = 0; c < 3; ++c) {
    EXPECT_EQ(Count(groups[0], "fill=\"" + ScatterColour(c) + "\""), 40) << c;
  }
  const std::string legend = Legend(svg);
  EXPECT_EQ(Count(legend, "<text "), 3);
  EXPECT_EQ(Count(legend, "<circle "), 3);
  EXPECT_THAT(legend, HasSubstr(">cat (40)</text>"));
  EXPECT_THAT(legend, HasSubstr(">dog &amp; &lt;wolf&gt; (40)</text>"));
  EXPECT_THAT(legend, HasSubstr(">&quot;wild&quot; (40)</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("<wolf>")));
  EXPECT_THAT(svg, HasSubstr(">t-SNE &lt;test&gt;</text>"));
  EXPECT_THAT(svg, HasSubstr(">KL 1.0 &amp; more</text>"));
  // The classes interleave although the input is sorted by class: the first 12 points drawn
  // hold every colour.
  const std::vector<std::string> fills = AttributeValues(groups[0], "fill");
  ASSERT_EQ(fills.size(), 120u);
  const std::set<std::string> first(fills.begin(), fills.begin() + 12);
  EXPECT_EQ(first.size(), 3u);
}

TEST(ScatterPlotSvg, ThreeDimensionsThreeProjections) {
  ScatterPlot plot = ThreeClasses(3, 25);
  plot.axis_names = {"t-SNE 1", "t-SNE 2", "t-SNE 3"};
  const std::string svg = ScatterPlotSvg(plot);
  ExpectGoodSvg(svg);
  KeepExample("scatter_3d.svg", svg);
  const std::vector<std::string> groups = PointGroups(svg);
  ASSERT_EQ(groups.size(), 3u);
  for (const std::string& group : groups) EXPECT_EQ(Count(group, "<circle "), 75);
  // Across: 1, 1, 2; up: 2, 3, 3.
  EXPECT_EQ(Count(svg, ">t-SNE 1</text>"), 2);
  EXPECT_EQ(Count(svg, ">t-SNE 2</text>"), 2);
  EXPECT_EQ(Count(svg, ">t-SNE 3</text>"), 2);
  EXPECT_EQ(Count(Legend(svg), "<text "), 3);
  // Three panels side by side.
  EXPECT_GT(std::stod(AttributeValues(svg, "width")[0]), 3 * 420 - 1);
}

TEST(ScatterPlotSvg, PositionsKeepDirectionsAndEqualScales) {
  ScatterPlot plot;
  plot.class_names = {"origin", "right", "up"};
  plot.coordinates = {0, 0, 10, 0, 0, 1};
  plot.labels = {0, 1, 2};
  const std::string svg = ScatterPlotSvg(plot);
  ExpectGoodSvg(svg);
  std::vector<std::pair<double, double>> at(3);
  const std::string group = PointGroups(svg)[0];
  for (size_t c = 0; c < 3; ++c) {
    const std::string colour = "fill=\"" + ScatterColour(c) + "\"";
    const size_t end = group.find(colour);
    ASSERT_NE(end, std::string::npos);
    const size_t begin = group.rfind("<circle ", end);
    at[c] = Centres(group.substr(begin, end - begin))[0];
  }
  EXPECT_GT(at[1].first, at[0].first);    // right is right
  EXPECT_LT(at[2].second, at[0].second);  // up is up (SVG's y grows downwards)
  // Equal scales: 10 across is 10 times as long as 1 up.
  EXPECT_NEAR((at[1].first - at[0].first) / (at[0].second - at[2].second), 10, 0.2);
}

TEST(ScatterPlotSvg, NonFinitePointsAndUnknownLabels) {
  ScatterPlot plot;
  plot.class_names = {"a", "b"};
  plot.coordinates = {0, 0, 1, 1, kNaN, 2, 3, kInf, 4, 4};
  plot.labels = {0, 1, 0, 1, 7};
  const std::string svg = ScatterPlotSvg(plot);
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(PointGroups(svg)[0], "<circle "), 3);
  const std::string legend = Legend(svg);
  EXPECT_THAT(legend, HasSubstr(">a (1)</text>"));
  EXPECT_THAT(legend, HasSubstr(">b (1)</text>"));
  EXPECT_THAT(legend, HasSubstr(">other (1)</text>"));
  EXPECT_THAT(legend, HasSubstr(">(2 not finite)</text>"));
}

TEST(ScatterPlotSvg, WideEnoughForALongSubtitle) {
  ScatterPlot plot = ThreeClasses(2, 5);
  plot.subtitle = std::string(120, 'x');
  const std::string svg = ScatterPlotSvg(plot);
  ExpectGoodSvg(svg);
  // 120 characters of 12 px type need about 120 * 0.6 * 12 = 864 px.
  EXPECT_GT(std::stod(AttributeValues(svg, "width")[0]), 864);
}

TEST(ScatterPlotSvg, NoPointsSaysNoData) {
  ScatterPlot plot;
  plot.dims = 3;
  plot.class_names = {"a"};
  const std::string svg = ScatterPlotSvg(plot);
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(svg, ">no data</text>"), 3);
  EXPECT_THAT(Legend(svg), HasSubstr(">a (0)</text>"));
}

TEST(ScatterPlotSvg, TwentyDistinctColours) {
  std::set<std::string> colours;
  for (size_t c = 0; c < 20; ++c) colours.insert(ScatterColour(c));
  EXPECT_EQ(colours.size(), 20u);
  EXPECT_EQ(ScatterColour(20), ScatterColour(0));
  ScatterPlot plot;
  for (int c = 0; c < 25; ++c) {
    plot.class_names.push_back("species " + std::to_string(c));
    plot.coordinates.push_back(c);
    plot.coordinates.push_back(c % 5);
    plot.labels.push_back(c);
  }
  const std::string svg = ScatterPlotSvg(plot);
  ExpectGoodSvg(svg);
  EXPECT_EQ(Count(Legend(svg), "<text "), 25);
}

// ---------------------------------------------------------------------------------------------
// BandPlotSvg

// Five seeds' accuracy per epoch (two stop early), with their mean and sample std per epoch.
BandPlot FiveSeeds() {
  BandPlot plot;
  plot.title = "VaDE: val accuracy over 5 seeds";
  plot.x_label = "epoch";
  plot.y_label = "val_acc";
  plot.integer_x = true;
  for (int seed = 0; seed < 5; ++seed) {
    Series run;
    run.name = "seed " + std::to_string(seed);
    const int epochs = seed < 3 ? 12 : 8;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      run.x.push_back(epoch);
      run.y.push_back(0.3 + 0.05 * epoch * (1 + 0.1 * seed) / (1 + 0.05 * epoch));
    }
    plot.runs.push_back(run);
  }
  for (int epoch = 1; epoch <= 12; ++epoch) {
    std::vector<double> values;
    for (const Series& run : plot.runs) {
      if (static_cast<size_t>(epoch) <= run.y.size()) values.push_back(run.y[epoch - 1]);
    }
    double mean = 0;
    for (double v : values) mean += v / static_cast<double>(values.size());
    double sum = 0;
    for (double v : values) sum += (v - mean) * (v - mean);
    plot.x.push_back(epoch);
    plot.mean.push_back(mean);
    plot.spread.push_back(std::sqrt(sum / static_cast<double>(values.size() - 1)));
  }
  return plot;
}

// The d attribute of each <path class="band">.
std::vector<std::string> BandPaths(const std::string& svg) {
  std::vector<std::string> paths;
  const std::regex re("<path class=\"band\" d=\"([^\"]*)\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    paths.push_back((*it)[1]);
  }
  return paths;
}

// The (x, y) points of an SVG path's d attribute, in order.
std::vector<std::pair<double, double>> PathPoints(const std::string& d) {
  std::vector<std::pair<double, double>> points;
  const std::regex re("[ML]([-0-9.]+) ([-0-9.]+)");
  for (auto it = std::sregex_iterator(d.begin(), d.end(), re); it != std::sregex_iterator();
       ++it) {
    points.push_back({std::stod((*it)[1]), std::stod((*it)[2])});
  }
  return points;
}

TEST(BandPlotSvg, ThinRunLinesABandAndAMeanLineOnTop) {
  const std::string svg = BandPlotSvg(FiveSeeds());
  ExpectGoodSvg(svg);
  KeepExample("band_plot.svg", svg);
  // Five runs and the mean: six lines; the mean is the last (drawn on top), thick and solid.
  const std::vector<std::string> lines = SeriesPaths(svg);
  ASSERT_EQ(lines.size(), 6u);
  EXPECT_EQ(Count(svg, "stroke-width=\"1.2\""), 5);
  EXPECT_EQ(Count(svg, "stroke-width=\"2.5\""), 2);  // the line and its legend sample
  EXPECT_LT(svg.find("<path class=\"band\""), svg.find("<path d="));
  EXPECT_GT(svg.rfind("stroke-width=\"2.5\" stroke-linejoin"), svg.rfind("stroke-width=\"1.2\""));
  EXPECT_THAT(svg, Not(HasSubstr("class=\"marker\"")));  // no markers on such lines
  // Legend: every seed, the mean and the band (a swatch).
  for (int seed = 0; seed < 5; ++seed) {
    EXPECT_THAT(svg, HasSubstr(">seed " + std::to_string(seed) + "</text>"));
  }
  EXPECT_THAT(svg, HasSubstr(">mean</text>"));
  EXPECT_THAT(svg, HasSubstr(">mean \xC2\xB1 std</text>"));
  EXPECT_THAT(svg, HasSubstr("fill-opacity=\"0.22\"/>"));
  EXPECT_THAT(svg, HasSubstr(">VaDE: val accuracy over 5 seeds</text>"));
  EXPECT_THAT(svg, HasSubstr(">epoch</text>"));
  EXPECT_THAT(svg, HasSubstr(">val_acc</text>"));
}

TEST(BandPlotSvg, TheBandEnclosesTheMeanAndIsWiderWhereRunsDiffer) {
  const BandPlot plot = FiveSeeds();
  const std::string svg = BandPlotSvg(plot);
  const std::vector<std::string> bands = BandPaths(svg);
  ASSERT_EQ(bands.size(), 1u);
  const std::vector<std::pair<double, double>> outline = PathPoints(bands[0]);
  ASSERT_EQ(outline.size(), 24u);  // 12 along the top, 12 back along the bottom
  const std::vector<std::pair<double, double>> mean = PathPoints(SeriesPaths(svg).back());
  ASSERT_EQ(mean.size(), 12u);
  for (size_t i = 0; i < 12; ++i) {
    const auto& top = outline[i];
    const auto& bottom = outline[23 - i];
    EXPECT_DOUBLE_EQ(top.first, mean[i].first);
    EXPECT_DOUBLE_EQ(bottom.first, mean[i].first);
    EXPECT_LE(top.second, mean[i].second + 0.01);  // y grows downwards
    EXPECT_GE(bottom.second, mean[i].second - 0.01);
  }
  // The spread grows with the epoch: the band is taller at epoch 8 than at epoch 1.
  EXPECT_GT(outline[23 - 7].second - outline[7].second, outline[23].second - outline[0].second);
}

TEST(BandPlotSvg, NonFiniteBandValuesSplitTheBand) {
  BandPlot plot = FiveSeeds();
  plot.spread[4] = kNaN;
  plot.mean[9] = kInf;
  const std::string svg = BandPlotSvg(plot);
  ExpectGoodSvg(svg);
  const std::vector<std::string> bands = BandPaths(svg);
  ASSERT_EQ(bands.size(), 1u);
  EXPECT_EQ(Count(bands[0], "M"), 3) << bands[0];  // epochs 1-4, 6-9, 11-12
  EXPECT_EQ(Count(bands[0], "Z"), 3) << bands[0];
}

TEST(BandPlotSvg, RunsAloneAndNothingAtAll) {
  BandPlot plot = FiveSeeds();
  plot.x.clear();
  plot.mean.clear();
  plot.spread.clear();
  std::string svg = BandPlotSvg(plot);
  ExpectGoodSvg(svg);
  EXPECT_TRUE(BandPaths(svg).empty());
  EXPECT_EQ(SeriesPaths(svg).size(), 5u);
  EXPECT_THAT(svg, Not(HasSubstr(">mean</text>")));

  // One seed: std 0, the band a line under the mean; one point is drawn as a marker.
  BandPlot one;
  one.runs = {{"seed 0", {1}, {0.5}}};
  one.x = {1};
  one.mean = {0.5};
  one.spread = {0};
  svg = BandPlotSvg(one);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, Not(HasSubstr(">no data</text>")));
  EXPECT_EQ(Count(svg, "class=\"marker\""), 2);

  svg = BandPlotSvg(BandPlot());
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">no data</text>"));

  // A band without a single finite value says so in the legend.
  BandPlot empty_band;
  empty_band.x = {1, 2};
  empty_band.mean = {kNaN, kNaN};
  empty_band.spread = {0, 0};
  svg = BandPlotSvg(empty_band);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">mean (NaN)</text>"));
  EXPECT_THAT(svg, HasSubstr(">mean \xC2\xB1 std (no data)</text>"));
}

TEST(BandPlotSvg, FixedYRangeAndManySeeds) {
  BandPlot plot = FiveSeeds();
  plot.y_min = 0;
  plot.y_max = 1;
  for (int seed = 5; seed < 14; ++seed) {
    Series run = plot.runs[0];
    run.name = "seed " + std::to_string(seed);
    plot.runs.push_back(run);
  }
  const std::string svg = BandPlotSvg(plot);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr(">1.0</text>"));
  EXPECT_THAT(svg, HasSubstr(">0</text>"));
  // Seeds beyond the palette's ten colours are dashed; the mean stays solid.
  EXPECT_EQ(Count(svg, "stroke-width=\"1.2\" stroke-linejoin=\"round\" stroke-dasharray"), 4);
  EXPECT_THAT(svg, Not(HasSubstr("stroke-width=\"2.5\" stroke-linejoin=\"round\" stroke-dash")));
}

// ---------------------------------------------------------------------------------------------
// WriteSvg, and a real XML parser's opinion of every kind of figure.

TEST(WriteSvg, WritesTheFileAndReportsABadFolder) {
  const std::string path = TestTempPath("chart.svg");
  const std::string svg = LineChartSvg(TwoSeries());
  ASSERT_TRUE(WriteSvg(path, svg).ok());
  absl::StatusOr<std::string> read = ReadFile(path);
  ASSERT_TRUE(read.ok()) << read.status();
  EXPECT_EQ(*read, svg);
  EXPECT_FALSE(WriteSvg(TestTempPath("no/such/folder/chart.svg"), svg).ok());
}

TEST(WriteSvg, PythonsXmlParserReadsEveryKindOfFigure) {
  LineChart gaps = TwoSeries();
  gaps.title = "<&>\"'";
  gaps.series[0].y[3] = kNaN;
  const std::vector<std::string> svgs = {
      LineChartSvg(gaps), TrainingCurvesSvg(History(7), "curves", /*best_epoch=*/4),
      ConfusionMatrixSvg(Matrix({"cat", "dog & \xff", "wild"}, /*seed=*/1), "m"),
      TrainingCurvesSvg({}, ""), ScatterPlotSvg(ThreeClasses(3, 10)), BandPlotSvg(FiveSeeds())};
  std::string command =
      "/usr/bin/python3 -c 'import sys, xml.dom.minidom\n"
      "for f in sys.argv[1:]:\n"
      "  root = xml.dom.minidom.parse(f).documentElement\n"
      "  assert root.tagName == \"svg\", f' ";
  for (size_t k = 0; k < svgs.size(); ++k) {
    const std::string path = TestTempPath("parsed_" + std::to_string(k) + ".svg");
    ASSERT_TRUE(WriteSvg(path, svgs[k]).ok());
    command += " " + path;
  }
  const int status = std::system(command.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << command;
}

// ---------------------------------------------------------------------------------------------
// BarChartSvg

// The widths of the bars (the rects after the white background and the legend swatches).
std::vector<double> BarWidths(const std::string& svg) {
  std::vector<double> widths;
  const std::regex re("<rect x=\"[^\"]*\" y=\"[^\"]*\" width=\"([^\"]*)\" height=\"12\"");
  for (auto it = std::sregex_iterator(svg.begin(), svg.end(), re); it != std::sregex_iterator();
       ++it) {
    widths.push_back(std::stod((*it)[1]));
  }
  return widths;
}

TEST(BarChartSvg, OneBarPerFiniteValueLongerForLargerValues) {
  BarChart chart;
  chart.title = "VGG16 test accuracy";
  chart.value_label = "test accuracy";
  chart.categories = {"without transfer", "with transfer", "best <&>"};
  chart.groups = {"fauna", "study"};
  chart.values = {{0.35, 0.6, 0.8}, {0.351, std::nan(""), 0.983}};
  chart.errors = {{0.01, 0.02, 0.0}, {}};
  chart.highlight = {false, false, true};
  chart.value_min = 0;
  chart.value_max = 1;
  const std::string svg = BarChartSvg(chart);
  ExpectGoodSvg(svg);
  KeepExample("bar_chart.svg", svg);
  // 5 finite bars of height 12 (legend swatches are 12 x 12 too: 2 of them).
  const std::vector<double> widths = BarWidths(svg);
  ASSERT_EQ(widths.size(), 7u);
  // Swatches, then row by row: 0.35, 0.351, 0.6, (n/a), 0.8, 0.983; lengths proportional.
  EXPECT_EQ(widths[0], 12);
  EXPECT_EQ(widths[1], 12);
  EXPECT_NEAR(widths[4] / widths[2], 0.6 / 0.35, 0.01);
  EXPECT_NEAR(widths[6] / widths[5], 0.983 / 0.8, 0.01);
  EXPECT_THAT(svg, HasSubstr("n/a"));
  EXPECT_THAT(svg, HasSubstr("best &lt;&amp;&gt;"));
  EXPECT_THAT(svg, HasSubstr("font-weight=\"bold\""));
}

TEST(BarChartSvg, EmptyChartSaysNoData) {
  BarChart chart;
  chart.title = "nothing";
  const std::string svg = BarChartSvg(chart);
  ExpectGoodSvg(svg);
  EXPECT_THAT(svg, HasSubstr("no data"));
  BarChart all_nan;
  all_nan.categories = {"a"};
  all_nan.groups = {"fauna"};
  all_nan.values = {{std::nan("")}};
  const std::string nan_svg = BarChartSvg(all_nan);
  ExpectGoodSvg(nan_svg);
  EXPECT_THAT(nan_svg, HasSubstr("no data"));
}

TEST(BarChartSvg, NegativeValuesGrowLeftFromZero) {
  BarChart chart;
  chart.categories = {"a", "b"};
  chart.groups = {"delta"};
  chart.values = {{-0.5, 1.0}};
  const std::string svg = BarChartSvg(chart);
  ExpectGoodSvg(svg);
  const std::vector<double> widths = BarWidths(svg);
  ASSERT_EQ(widths.size(), 3u);
  EXPECT_NEAR(widths[1] * 2, widths[2], 1.0);
}

}  // namespace
}  // namespace fauna
