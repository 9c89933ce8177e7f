#include "tables/grid_spec.h"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Json = nlohmann::json;

Json Grid() {
  return Json::parse(R"({
    "name": "demo",
    "title": "A demo grid",
    "steps": [{"name": "pretrain", "recipe": "vgg16_best", "flags": ["--synthetic_classes=11"]}],
    "trainer": "train",
    "recipe": "vgg16_best",
    "flags": ["--data={data}"],
    "rows": [{"name": "scratch"},
             {"name": "transfer", "flags": ["--init_weights={step:pretrain}/model.safetensors"]}],
    "axes": [{"flag": "lr", "values": ["0.01", "0.001"]},
             {"flag": "momentum", "values": ["0.8", "0.9"]}],
    "scales": {"ci": {"flags": ["--epochs=1"], "axes": {"lr": ["0.01"]}, "rows": ["transfer"]}},
    "columns": [{"key": "test_acc", "label": "test accuracy"}, {"key": "best.val_acc"}],
    "best": "best.val_acc"
  })");
}

std::string ParseError(const Json& json) {
  absl::StatusOr<GridSpec> spec = ParseGridSpec(json, "demo.json");
  EXPECT_FALSE(spec.ok());
  return spec.ok() ? "" : std::string(spec.status().message());
}

TEST(ParseGridSpec, ReadsEveryField) {
  absl::StatusOr<GridSpec> spec = ParseGridSpec(Grid(), "demo.json");
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_EQ(spec->name, "demo");
  EXPECT_EQ(spec->title, "A demo grid");
  ASSERT_EQ(spec->steps.size(), 1u);
  EXPECT_EQ(spec->steps[0].recipe, "vgg16_best");
  EXPECT_EQ(spec->rows.size(), 2u);
  EXPECT_EQ(spec->axes.size(), 2u);
  EXPECT_EQ(spec->columns[1].label, "best.val_acc");  // The key when no label.
  EXPECT_EQ(spec->plot, "test_acc");                  // The first column by default.
  EXPECT_EQ(spec->best, "best.val_acc");
  EXPECT_THAT(spec->scales.at("ci").axes.at("lr"), ElementsAre("0.01"));
}

TEST(ExpandGrid, RowsTimesAxesLastAxisFastest) {
  const GridSpec spec = *ParseGridSpec(Grid(), "demo.json");
  absl::StatusOr<GridRuns> runs = ExpandGrid(spec, "small");  // Not in "scales": all of it.
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->steps.size(), 1u);
  EXPECT_EQ(runs->steps[0].trainer, "train");  // The file's.
  EXPECT_EQ(runs->steps[0].recipe, "vgg16_best");
  ASSERT_EQ(runs->cells.size(), 8u);
  EXPECT_EQ(runs->cells[0].label, "scratch, lr=0.01 momentum=0.8");
  EXPECT_EQ(runs->cells[1].label, "scratch, lr=0.01 momentum=0.9");
  EXPECT_EQ(runs->cells[2].label, "scratch, lr=0.001 momentum=0.8");
  EXPECT_EQ(runs->cells[4].label, "transfer, lr=0.01 momentum=0.8");
  EXPECT_EQ(runs->cells[4].dir, "transfer__lr=0.01_momentum=0.8");
  EXPECT_THAT(runs->cells[4].flags,
              ElementsAre("--data={data}", "--init_weights={step:pretrain}/model.safetensors",
                          "--lr=0.01", "--momentum=0.8"));
  EXPECT_EQ(runs->cells[4].row, "transfer");
}

TEST(ExpandGrid, AScaleNarrowsAxesKeepsRowsAndAddsFlags) {
  const GridSpec spec = *ParseGridSpec(Grid(), "demo.json");
  absl::StatusOr<GridRuns> runs = ExpandGrid(spec, "ci");
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->cells.size(), 2u);
  EXPECT_EQ(runs->cells[0].label, "transfer, lr=0.01 momentum=0.8");
  EXPECT_THAT(runs->cells[1].flags,
              ElementsAre("--data={data}", "--epochs=1",
                          "--init_weights={step:pretrain}/model.safetensors", "--lr=0.01",
                          "--momentum=0.9"));
}

TEST(ExpandGrid, NoRowsNoAxesIsOneRun) {
  Json json = Grid();
  json.erase("rows");
  json.erase("axes");
  json.erase("scales");
  absl::StatusOr<GridRuns> runs = ExpandGrid(*ParseGridSpec(json, "x"), "ci");
  ASSERT_TRUE(runs.ok()) << runs.status();
  ASSERT_EQ(runs->cells.size(), 1u);
  EXPECT_EQ(runs->cells[0].label, "run");
}

TEST(ExpandGrid, RowsSharingAFolderAreAnError) {
  Json json = Grid();
  json["rows"] = Json::parse(R"([{"name": "a b"}, {"name": "a_b"}])");
  json.erase("scales");
  json.erase("axes");
  absl::StatusOr<GridRuns> runs = ExpandGrid(*ParseGridSpec(json, "x"), "ci");
  ASSERT_FALSE(runs.ok());
  EXPECT_THAT(runs.status().message(), HasSubstr("share the folder \"a_b\""));
}

TEST(ExpandGrid, ARunNamedDotsIsRefused) {
  Json json = Grid();
  json["rows"] = Json::parse(R"([{"name": ".."}])");
  json.erase("scales");
  json.erase("axes");
  absl::StatusOr<GridRuns> runs = ExpandGrid(*ParseGridSpec(json, "x"), "ci");
  ASSERT_FALSE(runs.ok());
  EXPECT_THAT(runs.status().message(), HasSubstr("would have no folder of its own"));
}

TEST(ParseGridSpec, BadFilesAreRefusedWithWhatIsWrong) {
  Json json = Grid();
  json["colums"] = 1;
  EXPECT_THAT(ParseError(json), HasSubstr("unknown field \"colums\""));
  json = Grid();
  json["name"] = "Bad Name";
  EXPECT_THAT(ParseError(json), HasSubstr("is not [a-z0-9_]+"));
  json = Grid();
  json.erase("trainer");
  EXPECT_THAT(ParseError(json), HasSubstr("no \"trainer\""));
  json = Grid();
  json["columns"] = Json::array();
  EXPECT_THAT(ParseError(json), HasSubstr("\"columns\" must be a non-empty array"));
  json = Grid();
  json["rows"][1]["name"] = "scratch";
  EXPECT_THAT(ParseError(json), HasSubstr("a second \"scratch\""));
  json = Grid();
  json["axes"][0]["values"] = Json::array();
  EXPECT_THAT(ParseError(json), HasSubstr("has no values"));
  json = Grid();
  json["axes"][0]["values"] = Json::parse(R"(["1", "1"])");
  EXPECT_THAT(ParseError(json), HasSubstr("value \"1\" twice"));
  json = Grid();
  json["axes"][0]["flag"] = "--lr";
  EXPECT_THAT(ParseError(json), HasSubstr("a flag's name without --"));
  json = Grid();
  json["flags"] = Json::parse(R"(["lr=1"])");
  EXPECT_THAT(ParseError(json), HasSubstr("does not start with --"));
  json = Grid();
  json["scales"]["ci"]["axes"]["lr"] = Json::parse(R"(["0.5"])");
  EXPECT_THAT(ParseError(json), HasSubstr("has no value \"0.5\""));
  json = Grid();
  json["scales"]["ci"]["axes"]["batch"] = Json::parse(R"(["1"])");
  EXPECT_THAT(ParseError(json), HasSubstr("no axis --batch"));
  json = Grid();
  json["scales"]["ci"]["rows"] = Json::parse(R"(["nope"])");
  EXPECT_THAT(ParseError(json), HasSubstr("no row \"nope\""));
  json = Grid();
  json["best"] = "val_acc";
  EXPECT_THAT(ParseError(json), HasSubstr("is not a column's key"));
  json = Grid();
  json["rows"][0]["flags"] = "--lr=1";
  EXPECT_THAT(ParseError(json), HasSubstr("is not an array of strings"));
  json = Grid();
  json["scales"]["smal"] = Json::object();
  EXPECT_THAT(ParseError(json), HasSubstr("scale \"smal\" is not ci, small or paper"));
  EXPECT_THAT(ParseError(Json::array()), HasSubstr("demo.json: the grid is not an object"));
}

TEST(ReadGridSpec, MissingAndMalformedFiles) {
  absl::StatusOr<GridSpec> missing = ReadGridSpec("/nonexistent/grid.json");
  EXPECT_TRUE(absl::IsNotFound(missing.status()));
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/bad.json";
  FILE* file = std::fopen(path.c_str(), "w");
  std::fputs("{\"name\": ", file);
  std::fclose(file);
  absl::StatusOr<GridSpec> bad = ReadGridSpec(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_THAT(bad.status().message(), HasSubstr("bad.json: not JSON"));
}

TEST(FillPlaceholders, FillsEveryKindAndRefusesUnknownOnes) {
  Placeholders values;
  values.out = "/o";
  values.dir = "/o/a/seed_1";
  values.seed = "1";
  values.scale = "ci";
  values.data = "synthetic";
  values.steps["pretrain"] = "/o/pretrain/seed_1";
  EXPECT_EQ(*FillPlaceholders("--x={out}|{dir}|{seed}|{scale}|{data}|{step:pretrain}/m", values),
            "--x=/o|/o/a/seed_1|1|ci|synthetic|/o/pretrain/seed_1/m");
  EXPECT_EQ(*FillPlaceholders("--plain", values), "--plain");
  EXPECT_THAT(FillPlaceholders("--x={nope}", values).status().message(),
              HasSubstr("unknown placeholder {nope}"));
  EXPECT_THAT(FillPlaceholders("--x={step:other}", values).status().message(),
              HasSubstr("unknown placeholder {step:other}"));
  EXPECT_THAT(FillPlaceholders("--x={out", values).status().message(),
              HasSubstr("without its '}'"));
}

TEST(StepsNeeded, TheStepsACellNamesAndTheStepsTheyName) {
  auto run = [](std::string label, std::vector<std::string> flags) {
    GridRun r;
    r.label = std::move(label);
    r.flags = std::move(flags);
    return r;
  };
  GridRuns runs;
  runs.steps = {run("pretrain", {"--x=1"}),
                run("features", {"--from={step:pretrain}/model.safetensors"}),
                run("unused", {})};
  runs.cells = {run("scratch", {"--lr=0.01"}),
                run("svm", {"--train={step:features}/train.safetensors",
                            "--val={step:features}/val.safetensors"}),
                run("both", {"--a={step:unused}{step:pretrain}"})};
  EXPECT_EQ(StepsNeeded(runs, {0}), std::set<std::string>());
  EXPECT_EQ(StepsNeeded(runs, {1}), (std::set<std::string>{"features", "pretrain"}));
  EXPECT_EQ(StepsNeeded(runs, {0, 2}), (std::set<std::string>{"pretrain", "unused"}));
  EXPECT_EQ(StepsNeeded(runs, {0, 1, 2}),
            (std::set<std::string>{"features", "pretrain", "unused"}));
}

// Every grid file of the project parses and expands at every scale.
TEST(GridFiles, EveryProjectGridParsesAndExpands) {
  const std::string folder = std::string(std::getenv("TEST_SRCDIR")) + "/fauna/tables/grids";
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(folder)) {
    ++files;
    absl::StatusOr<GridSpec> spec = ReadGridSpec(entry.path().string());
    ASSERT_TRUE(spec.ok()) << spec.status();
    EXPECT_EQ(spec->name, entry.path().stem().string()) << "a grid's name is its file's";
    for (const char* scale : {"ci", "small", "paper"}) {
      absl::StatusOr<GridRuns> runs = ExpandGrid(*spec, scale);
      ASSERT_TRUE(runs.ok()) << entry.path() << " " << scale << ": " << runs.status();
      EXPECT_FALSE(runs->cells.empty());
    }
  }
  EXPECT_GE(files, 2);
}

}  // namespace
}  // namespace fauna
