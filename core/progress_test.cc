#include "core/progress.h"

#include <cstdio>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <string>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

ProgressSnapshot Snap(int64_t done, int64_t total, double elapsed_s,
                      ProgressMetrics metrics = {}) {
  ProgressSnapshot snapshot;
  snapshot.label = "train";
  snapshot.done = done;
  snapshot.total = total;
  snapshot.elapsed_s = elapsed_s;
  snapshot.metrics = std::move(metrics);
  return snapshot;
}

int Count(const std::string& text, char c) {
  int n = 0;
  for (char x : text) n += x == c;
  return n;
}

// A FILE* that writes into memory, for checking what a ProgressBar prints.
class MemoryFile {
 public:
  MemoryFile() : file_(open_memstream(&buffer_, &size_)) {}
  ~MemoryFile() {
    std::fclose(file_);
    std::free(buffer_);
  }
  FILE* get() const { return file_; }
  std::string text() {
    std::fflush(file_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  FILE* file_;
};

TEST(FormatDuration, WritesHoursMinutesSeconds) {
  EXPECT_EQ(FormatDuration(0), "0:00:00");
  EXPECT_EQ(FormatDuration(504), "0:08:24");
  EXPECT_EQ(FormatDuration(12 * 3600 + 3 * 60 + 5), "12:03:05");
  EXPECT_EQ(FormatDuration(100 * 3600), "100:00:00");
  EXPECT_EQ(FormatDuration(59.6), "0:01:00");
  EXPECT_EQ(FormatDuration(-3), "0:00:00");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::infinity()), "-:--:--");
  EXPECT_EQ(FormatDuration(std::nan("")), "-:--:--");
}

TEST(FormatMetric, KeepsFourSignificantDigits) {
  EXPECT_EQ(FormatMetric(0.412), "0.412");
  EXPECT_EQ(FormatMetric(0.87346), "0.8735");
  EXPECT_EQ(FormatMetric(1234.56), "1235");
  EXPECT_EQ(FormatMetric(1.5e-5), "1.5e-05");
  EXPECT_EQ(FormatMetric(3), "3");
}

TEST(RenderProgressLine, PlainAtStartMiddleAndEnd) {
  EXPECT_EQ(RenderProgressLine(Snap(0, 500, 0.0), ProgressStyle::kPlain), "train: 0/500 (0%)");
  // 120 in 2 s: 60/s, 380 left -> 6.33 s.
  EXPECT_EQ(RenderProgressLine(Snap(120, 500, 2.0, {{"loss", 0.412}, {"acc", 0.873}}),
                               ProgressStyle::kPlain),
            "train: 120/500 (24%), 60.0/s, ETA 0:00:06, loss 0.412, acc 0.873");
  ProgressSnapshot end = Snap(500, 500, 11.0);
  end.finished = true;
  end.unit = "img";
  EXPECT_EQ(RenderProgressLine(end, ProgressStyle::kPlain),
            "train: 500/500 (100%), 45.5 img/s, elapsed 0:00:11");
}

TEST(RenderProgressLine, MatchesTheHeaderExample) {
  EXPECT_EQ(RenderProgressLine({"train", 120, 500, /*elapsed_s=*/2.0, {{"loss", 0.412}}, "img"},
                               ProgressStyle::kPlain),
            "train: 120/500 (24%), 60.0 img/s, ETA 0:00:06, loss 0.412");
}

TEST(RenderProgressLine, EtaAndRateValues) {
  // 100 of 1000 in 60 s: 1.67/s, 900 left -> 540 s.
  EXPECT_EQ(RenderProgressLine(Snap(100, 1000, 60.0), ProgressStyle::kPlain),
            "train: 100/1000 (10%), 1.7/s, ETA 0:09:00");
  // Slow work keeps three significant digits of the rate: 1 in 32 s.
  EXPECT_EQ(RenderProgressLine(Snap(1, 10, 32.0), ProgressStyle::kPlain),
            "train: 1/10 (10%), 0.0312/s, ETA 0:04:48");
  // Nothing done yet but time passed: a zero rate and no ETA.
  EXPECT_EQ(RenderProgressLine(Snap(0, 10, 5.0), ProgressStyle::kPlain),
            "train: 0/10 (0%), 0.0/s");
}

TEST(RenderProgressLine, BarFillsWithTheFractionDone) {
  ProgressSnapshot start = Snap(0, 500, 0.0);
  const std::string empty = RenderProgressLine(start, ProgressStyle::kBar, /*width=*/100);
  EXPECT_THAT(empty, StartsWith("train  [....."));
  EXPECT_THAT(empty, EndsWith(".]  0/500"));
  EXPECT_EQ(Count(empty, '#'), 0);

  ProgressSnapshot middle = Snap(250, 500, 5.0, {{"loss", 0.412}, {"acc", 0.873}});
  middle.unit = "img";
  const std::string half = RenderProgressLine(middle, ProgressStyle::kBar, /*width=*/100);
  EXPECT_THAT(half, HasSubstr("]  250/500  50.0 img/s  ETA 0:00:05  loss 0.412 acc 0.873"));
  const std::string bar = half.substr(half.find('[') + 1, half.find(']') - half.find('[') - 1);
  EXPECT_EQ(Count(bar, '#'), static_cast<int>(bar.size()) / 2);  // Half, rounded down.
  EXPECT_EQ(Count(bar, '#') + Count(bar, '.'), static_cast<int>(bar.size()));
  EXPECT_LE(half.size(), 100u);

  ProgressSnapshot end = Snap(500, 500, 10.0);
  end.finished = true;
  const std::string full = RenderProgressLine(end, ProgressStyle::kBar, /*width=*/100);
  EXPECT_THAT(full, HasSubstr("#]  500/500  50.0/s  elapsed 0:00:10"));
  EXPECT_THAT(full, Not(HasSubstr(".]")));
}

TEST(RenderProgressLine, BarStaysWithinTheWidth) {
  ProgressSnapshot snapshot = Snap(3, 10, 1.0, {{"loss", 0.5}, {"accuracy", 0.25}});
  for (int width : {20, 40, 60, 80}) {
    EXPECT_LE(RenderProgressLine(snapshot, ProgressStyle::kBar, width).size(),
              static_cast<size_t>(width));
  }
  // A wide terminal gets a bar of at most 40 inside.
  const std::string wide = RenderProgressLine(snapshot, ProgressStyle::kBar, /*width=*/300);
  EXPECT_EQ(wide.find(']') - wide.find('['), 41u);
}

TEST(RenderProgressLine, UnknownTotalHasNoBarPercentOrEta) {
  ProgressSnapshot snapshot = Snap(120, 0, 4.0, {{"loss", 1.25}});
  EXPECT_EQ(RenderProgressLine(snapshot, ProgressStyle::kPlain),
            "train: 120, 30.0/s, elapsed 0:00:04, loss 1.25");
  EXPECT_EQ(RenderProgressLine(snapshot, ProgressStyle::kBar),
            "train  120  30.0/s  elapsed 0:00:04  loss 1.25");
  snapshot.total = -1;
  EXPECT_THAT(RenderProgressLine(snapshot, ProgressStyle::kPlain), Not(HasSubstr("ETA")));
}

TEST(RenderProgressLine, ClampsDoneToTheTotal) {
  EXPECT_EQ(RenderProgressLine(Snap(700, 500, 10.0), ProgressStyle::kPlain),
            "train: 500/500 (100%), 50.0/s, ETA 0:00:00");
  EXPECT_EQ(RenderProgressLine(Snap(-5, 500, 10.0), ProgressStyle::kPlain),
            "train: 0/500 (0%), 0.0/s");
  const std::string bar = RenderProgressLine(Snap(700, 500, 10.0), ProgressStyle::kBar);
  EXPECT_THAT(bar, HasSubstr("#]  500/500"));
}

TEST(RenderProgressLine, NoLabel) {
  ProgressSnapshot snapshot = Snap(1, 2, 0.0);
  snapshot.label = "";
  EXPECT_EQ(RenderProgressLine(snapshot, ProgressStyle::kPlain), "1/2 (50%)");
  EXPECT_THAT(RenderProgressLine(snapshot, ProgressStyle::kBar), StartsWith("["));
}

ProgressOptions FakeOptions(FILE* out, int tty, const double* now) {
  ProgressOptions options;
  options.label = "eval";
  options.total = 100;
  options.out = out;
  options.tty = tty;
  options.clock = [now] { return *now; };
  return options;
}

TEST(ProgressBar, PlainWritesOnlyAtIntervalsAndAtFinish) {
  MemoryFile out;
  double now = 1000.0;
  ProgressBar bar(FakeOptions(out.get(), /*tty=*/0, &now));
  EXPECT_FALSE(bar.is_tty());
  for (int i = 1; i <= 9; ++i) {
    now = 1000.0 + i;
    bar.Update(i);
  }
  EXPECT_EQ(out.text(), "");
  now = 1010.0;
  bar.Update(10, {{"loss", 0.5}});
  EXPECT_EQ(out.text(), "eval: 10/100 (10%), 1.0/s, ETA 0:01:30, loss 0.5\n");
  now = 1015.0;
  bar.Update(15);
  EXPECT_EQ(Count(out.text(), '\n'), 1);
  now = 1020.0;
  bar.Update(20);
  EXPECT_EQ(Count(out.text(), '\n'), 2);
  now = 1022.0;
  bar.Update(22);
  bar.Finish();
  EXPECT_THAT(out.text(), EndsWith("\neval: 22/100 (22%), 1.0/s, elapsed 0:00:22, loss 0.5\n"));
  EXPECT_EQ(Count(out.text(), '\n'), 3);
  EXPECT_EQ(Count(out.text(), '\r'), 0);
  bar.Finish();  // A second Finish writes nothing.
  bar.Update(50);
  EXPECT_EQ(Count(out.text(), '\n'), 3);
}

TEST(ProgressBar, PlainShortWorkWritesOnlyTheFinalLine) {
  MemoryFile out;
  double now = 0.0;
  {
    ProgressBar bar(FakeOptions(out.get(), /*tty=*/0, &now));
    now = 2.0;
    bar.Update(100, {{"acc", 0.75}});
  }  // The destructor finishes.
  EXPECT_EQ(out.text(), "eval: 100/100 (100%), 50.0/s, elapsed 0:00:02, acc 0.75\n");
}

TEST(ProgressBar, TtyRedrawsInPlaceAndEndsWithANewline) {
  MemoryFile out;
  double now = 0.0;
  ProgressBar bar(FakeOptions(out.get(), /*tty=*/1, &now));
  EXPECT_TRUE(bar.is_tty());
  now = 0.01;
  bar.Update(1);  // The first update draws.
  EXPECT_EQ(Count(out.text(), '\r'), 1);
  now = 0.05;
  bar.Update(2);  // Too soon.
  EXPECT_EQ(Count(out.text(), '\r'), 1);
  now = 0.2;
  bar.Update(3);
  EXPECT_EQ(Count(out.text(), '\r'), 2);
  now = 0.21;
  bar.Update(100);  // The end is always drawn.
  EXPECT_EQ(Count(out.text(), '\r'), 3);
  EXPECT_EQ(Count(out.text(), '\n'), 0);
  now = 0.25;
  bar.Finish({{"acc", 0.9}});
  const std::string text = out.text();
  EXPECT_EQ(Count(text, '\r'), 4);
  EXPECT_EQ(Count(text, '\n'), 1);
  EXPECT_THAT(text, StartsWith("\reval  ["));
  EXPECT_THAT(text, EndsWith("]  100/100  400.0/s  elapsed 0:00:00  acc 0.9\n"));
}

TEST(ProgressBar, TtyBlanksWhatAShorterLineLeaves) {
  MemoryFile out;
  double now = 0.0;
  ProgressBar bar(FakeOptions(out.get(), /*tty=*/1, &now));
  now = 1.0;
  bar.Update(1, {{"a_long_metric_name", 0.123456}});
  const size_t first = out.text().size() - 1;  // Without the '\r'.
  now = 2.0;
  bar.Update(2, {{"x", 1}});
  const std::string text = out.text();
  const std::string second = text.substr(text.rfind('\r') + 1);
  EXPECT_EQ(second.size(), first);
  EXPECT_THAT(second, HasSubstr("x 1 "));
  EXPECT_EQ(second.find_last_not_of(' '), second.find("x 1") + 2);  // Then only blanks.
}

TEST(ProgressBar, DetectsThatAMemoryFileIsNoTerminal) {
  MemoryFile out;
  ProgressOptions options;
  options.out = out.get();
  options.total = 0;
  ProgressBar bar(std::move(options));
  EXPECT_FALSE(bar.is_tty());
  bar.Update(5);
  bar.Finish();
  EXPECT_THAT(out.text(), StartsWith("5, "));
}

}  // namespace
}  // namespace fauna
