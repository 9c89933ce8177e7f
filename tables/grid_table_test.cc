#include "tables/grid_table.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/test_tmp.h"
#include "tables/grid_runner.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

void Write(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream file(path);
  file << text;
}

GridSpec Spec() {
  GridSpec spec = *ParseGridSpec(nlohmann::json::parse(R"({
    "name": "demo", "title": "Demo table", "study": "demo", "trainer": "train",
    "axes": [{"flag": "lr", "values": ["0.1", "0.01"]}],
    "columns": [{"key": "test_acc", "label": "test accuracy"},
                {"key": "best.val_acc", "label": "val accuracy"},
                {"key": "test_loss", "label": "test loss"}],
    "best": "best.val_acc", "plot": "test_acc"})"),
                                 "demo.json");
  return spec;
}

// Cell lr=0.1: seeds 0 and 1 finished; cell lr=0.01: seed 0 finished with a NaN loss and no
// val accuracy, seed 1 failed after leaving a checkpoint.
std::string MakeRuns() {
  const std::string out = TestTempPath("table");
  Write(out + "/lr=0.1/seed_0/results.json",
        R"({"test_acc": 0.5, "best": {"val_acc": 0.6}, "test_loss": 1.0})");
  Write(out + "/lr=0.1/seed_0/run.json", R"({"seconds": 10})");
  Write(out + "/lr=0.1/seed_1/results.json",
        R"({"test_acc": 0.7, "best": {"val_acc": 0.8}, "test_loss": 0.5})");
  Write(out + "/lr=0.1/seed_1/run.json", R"({"seconds": 12})");
  Write(out + "/lr=0.01/seed_0/results.json", R"({"test_acc": 0.9, "test_loss": "NaN"})");
  Write(out + "/lr=0.01/seed_1/checkpoint.pt", "");
  Write(out + "/lr=0.01/seed_1/run.json",
        R"({"seconds": 3, "last_attempt": {"ended": "exit code 3, log x"}})");
  return out;
}

StudyTable Study() {
  const std::string path = TestTempPath("study.json");
  Write(path, R"({"demo": {"source": "The demo study, Table 9", "note": "A note.",
                  "rows": {"lr=0.1": {"test_acc": 0.95, "test_loss": "NaN"},
                           "lr=1": {"test_acc": 0.1}}}})");
  absl::StatusOr<StudyTable> study = ReadStudyTable(path, "demo");
  EXPECT_TRUE(study.ok()) << study.status();
  return *study;
}

TEST(GatherGrid, SummarisesSeedsMarksTheBestAndPutsTheStudyBeside) {
  const std::string out = MakeRuns();
  const GridSpec spec = Spec();
  const GridRuns runs = *ExpandGrid(spec, "ci");
  absl::StatusOr<GridReport> report =
      GatherGrid(spec, runs, out, {0, 1}, "ci", "synthetic", Study());
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->cells.size(), 2u);
  const GridCellReport& a = report->cells[0];
  EXPECT_EQ(a.label, "lr=0.1");
  EXPECT_EQ(a.finished_seeds.size(), 2u);
  EXPECT_DOUBLE_EQ(a.values[0].mean, 0.6);
  EXPECT_NEAR(a.values[0].std_dev, std::sqrt(0.02), 1e-12);
  EXPECT_DOUBLE_EQ(a.seconds, 22);
  EXPECT_TRUE(a.has_study);
  EXPECT_DOUBLE_EQ(a.study[0], 0.95);
  EXPECT_TRUE(std::isnan(a.study[2]));
  const GridCellReport& b = report->cells[1];
  EXPECT_EQ(b.finished_seeds.size(), 1u);
  ASSERT_EQ(b.unfinished.size(), 1u);
  EXPECT_EQ(b.unfinished[0].second,
            "failed: exit code 3, log x (a checkpoint is kept: a rerun resumes)");
  EXPECT_EQ(b.values[1].count, 0);  // No val accuracy in its results: NaN.
  EXPECT_EQ(b.values[2].non_finite, 1);
  EXPECT_EQ(report->best_cell, 0);  // By val accuracy, which lr=0.01 lacks.
  EXPECT_TRUE(a.best);
  EXPECT_DOUBLE_EQ(report->total_seconds, 25);
  EXPECT_EQ(report->study_only_rows, std::vector<std::string>{"lr=1"});

  const std::string md = GridMarkdown(*report);
  EXPECT_THAT(md, HasSubstr("# Demo table"));
  EXPECT_THAT(md, HasSubstr("Scale `ci`, data `synthetic`, seeds 0, 1; 3 of 4 runs finished"));
  EXPECT_THAT(md, HasSubstr("Study: The demo study, Table 9. A note."));
  // A study column only beside the columns the study reports (not val accuracy).
  EXPECT_THAT(md, HasSubstr("| run | test accuracy | study | val accuracy | test loss | study |"));
  EXPECT_THAT(md, HasSubstr("| \xE2\x98\x85 lr=0.1 | 0.6000 \xC2\xB1 0.1414 | 0.9500 |"));
  EXPECT_THAT(md, HasSubstr("| 0.7500 \xC2\xB1 0.3536 | NaN |"));  // Loss; the study's NaN.
  EXPECT_THAT(md, HasSubstr("| lr=0.01 | 0.9000 | \xE2\x80\x94 | NaN |"));
  EXPECT_THAT(md, HasSubstr("- lr=0.01, seed 1: failed: exit code 3"));
  Write(out + "/lr=0.01/seed_1/run.json", R"({"last_attempt": {"ended": "started"}})");
  EXPECT_EQ(GatherGrid(spec, runs, out, {0, 1}, "ci", "synthetic", std::nullopt)
                ->cells[1].unfinished[0].second,
            "checkpoint (killed; a rerun resumes)");
  EXPECT_THAT(md, HasSubstr("Study rows with no run at this scale: lr=1."));

  const nlohmann::json json = GridJson(*report);
  EXPECT_EQ(json["best"], "lr=0.1");
  EXPECT_EQ(json["cells"][0]["values"]["test_acc"]["per_seed"][1], 0.7);
  EXPECT_EQ(json["cells"][1]["values"]["test_loss"]["mean"], "NaN");
  EXPECT_EQ(json["cells"][0]["study"]["test_loss"], "NaN");
  EXPECT_FALSE(json["cells"][1].contains("study"));
  EXPECT_EQ(json["cells"][0]["axes"]["lr"], "0.1");

  const std::string svg = GridSvg(*report);
  EXPECT_THAT(svg, HasSubstr("study"));
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
  EXPECT_THAT(svg, HasSubstr("fauna (ci)"));
  GridReport fashion = *report;
  fashion.data = "fashion_mnist";
  EXPECT_THAT(GridSvg(fashion), HasSubstr("fauna (ci, fashion_mnist)"));
  // A study entry with no numbers (Fashion-MNIST's published figures in its note): its source
  // and note, no empty study columns or bars.
  fashion.study->rows.clear();
  for (GridCellReport& cell : fashion.cells) cell.has_study = false;
  EXPECT_THAT(GridMarkdown(fashion), HasSubstr("Study: The demo study, Table 9. A note."));
  EXPECT_THAT(GridMarkdown(fashion), Not(HasSubstr("| study |")));
  EXPECT_THAT(GridSvg(fashion), Not(HasSubstr(">study<")));
  ASSERT_TRUE(WriteGridOutputs(out, *report).ok());
  for (const char* ext : {".md", ".json", ".svg"}) {
    EXPECT_TRUE(std::filesystem::exists(out + "/demo" + ext)) << ext;
  }
}

TEST(GatherGrid, NothingRunYetStillMakesATable) {
  const GridSpec spec = Spec();
  absl::StatusOr<GridReport> report = GatherGrid(spec, *ExpandGrid(spec, "ci"),
                                                 TestTempPath("empty"), {0}, "ci", "synthetic",
                                                 std::nullopt);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->best_cell, -1);
  const std::string md = GridMarkdown(*report);
  EXPECT_THAT(md, HasSubstr("0 of 2 runs finished"));
  EXPECT_THAT(md, HasSubstr("- lr=0.1, seed 0: not started"));
  EXPECT_THAT(md, Not(HasSubstr("study")));
}

TEST(GatherGrid, BrokenResultsAreNamed) {
  const std::string out = TestTempPath("broken");
  Write(out + "/lr=0.1/seed_0/results.json", "{not json");
  const GridSpec spec = Spec();
  absl::StatusOr<GridReport> report =
      GatherGrid(spec, *ExpandGrid(spec, "ci"), out, {0}, "ci", "synthetic", std::nullopt);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("lr=0.1/seed_0/results.json is not JSON"));
  Write(out + "/lr=0.1/seed_0/results.json", R"({"test_acc": "high"})");
  report = GatherGrid(spec, *ExpandGrid(spec, "ci"), out, {0}, "ci", "synthetic", std::nullopt);
  ASSERT_FALSE(report.ok());
  EXPECT_THAT(report.status().message(), HasSubstr("\"test_acc\" is \"high\", not a number"));
}

TEST(ReadStudyTable, BadFilesAndEntries) {
  EXPECT_TRUE(absl::IsNotFound(ReadStudyTable("/nonexistent.json", "x").status()));
  const std::string path = TestTempPath("bad_study.json");
  Write(path, R"({"a": {"rows": {}}, "b": {"source": "s", "rows": {"r": {"acc": "high"}}}})");
  EXPECT_TRUE(absl::IsNotFound(ReadStudyTable(path, "c").status()));
  EXPECT_THAT(ReadStudyTable(path, "a").status().message(), HasSubstr("needs a \"source\""));
  EXPECT_THAT(ReadStudyTable(path, "b").status().message(),
              HasSubstr("b.rows.r.acc is \"high\", not a number"));
}

TEST(ReadStudyTableFor, TheDatasEntryThenNoneForFashionMnistThenTheStudys) {
  const std::string path = TestTempPath("for_data.json");
  Write(path, R"({"t": {"source": "study", "rows": {}},
                  "t@fashion_mnist": {"source": "published", "rows": {}},
                  "u": {"source": "study u", "rows": {}}})");
  EXPECT_EQ((*ReadStudyTableFor(path, "t", "fashion_mnist"))->source, "published");
  EXPECT_EQ((*ReadStudyTableFor(path, "t", "synthetic"))->source, "study");
  EXPECT_EQ((*ReadStudyTableFor(path, "t", "/data/afhq"))->source, "study");
  EXPECT_FALSE(ReadStudyTableFor(path, "u", "fashion_mnist")->has_value());
  EXPECT_TRUE(absl::IsNotFound(ReadStudyTableFor(path, "v", "synthetic").status()));
  EXPECT_TRUE(absl::IsNotFound(ReadStudyTableFor("/nonexistent.json", "t", "x").status()));
}

// The project's study numbers: every entry reads, and every grid's study entry exists.
TEST(StudyNumbers, EveryEntryReads) {
  const std::string path = std::string(std::getenv("TEST_SRCDIR")) +
                           "/fauna/tables/study_numbers.json";
  std::ifstream file(path);
  ASSERT_TRUE(file.good()) << path;
  std::stringstream text;
  text << file.rdbuf();
  const nlohmann::json json = nlohmann::json::parse(text.str());
  for (const auto& entry : json.items()) {
    absl::StatusOr<StudyTable> study = ReadStudyTable(path, entry.key());
    EXPECT_TRUE(study.ok()) << study.status();
  }
  const std::string grids = std::string(std::getenv("TEST_SRCDIR")) + "/fauna/tables/grids";
  for (const auto& grid : std::filesystem::directory_iterator(grids)) {
    absl::StatusOr<GridSpec> spec = ReadGridSpec(grid.path().string());
    ASSERT_TRUE(spec.ok()) << spec.status();
    if (!spec->study.empty()) {
      EXPECT_TRUE(json.contains(spec->study)) << grid.path() << " names " << spec->study;
    }
  }
  for (const auto& entry : json.items()) {  // "<study>@<data>" entries belong to a study.
    const std::string key = entry.key();
    if (key.find('@') != std::string::npos) {
      EXPECT_TRUE(json.contains(key.substr(0, key.find('@')))) << key;
    }
  }
}

}  // namespace
}  // namespace fauna
