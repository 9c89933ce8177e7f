#include "train/seed_stability.h"

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/test_tmp.h"

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A fresh, empty folder in the test's temporary folder.
std::string FreshDir(const std::string& name) {
  const std::string dir = TestTempPath(name);
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  return dir;
}

void Write(const std::string& path, const std::string& text) {
  ASSERT_TRUE(WriteFileAtomically(path, text).ok()) << path;
}

CurveSpec Spec(const std::string& where, const std::string& x, const std::string& y) {
  CurveSpec spec;
  absl::StatusOr<RecordFilter> filter = ParseRecordFilter(where);
  EXPECT_TRUE(filter.ok()) << filter.status();
  if (filter.ok()) spec.where = *filter;
  spec.x_key = x;
  spec.y_key = y;
  return spec;
}

// ---------------------------------------------------------------------------------------------
// Shards

TEST(ParseShard, GoodShards) {
  absl::StatusOr<Shard> shard = ParseShard("0/2");
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ(shard->index, 0);
  EXPECT_EQ(shard->count, 2);
  shard = ParseShard("4/5");
  ASSERT_TRUE(shard.ok()) << shard.status();
  EXPECT_EQ(shard->index, 4);
  EXPECT_EQ(shard->count, 5);
  ASSERT_TRUE(ParseShard("0/1").ok());
}

TEST(ParseShard, BadShardsAreInvalidArgument) {
  for (const char* text :
       {"2/2", "3/2", "a/b", "1/0", "0/0", "1", "", "/", "0/", "/2", "-1/2", "0/-2", " 0/2", "0/2 ",
        "0/2/3", "0.5/2", "+0/2", "99999999999999999999/2"}) {
    absl::StatusOr<Shard> shard = ParseShard(text);
    EXPECT_EQ(shard.status().code(), absl::StatusCode::kInvalidArgument) << "'" << text << "'";
  }
  EXPECT_THAT(ParseShard("2/2").status().message(), HasSubstr("'2/2'"));
  EXPECT_THAT(ParseShard("2/2").status().message(), HasSubstr("i must be less than n"));
  EXPECT_THAT(ParseShard("1/0").status().message(), HasSubstr("n must be at least 1"));
}

TEST(ShardSeeds, EveryNthSeedFromTheIth) {
  EXPECT_THAT(ShardSeeds(0, 5, Shard{0, 1}), ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(ShardSeeds(0, 5, Shard{0, 2}), ElementsAre(0, 2, 4));
  EXPECT_THAT(ShardSeeds(0, 5, Shard{1, 2}), ElementsAre(1, 3));
  EXPECT_THAT(ShardSeeds(/*first_seed=*/10, /*num_seeds=*/5, Shard{1, 2}), ElementsAre(11, 13));
  EXPECT_THAT(ShardSeeds(0, 2, Shard{2, 3}), ElementsAre());
  EXPECT_THAT(ShardSeeds(0, 0, Shard{0, 1}), ElementsAre());
  // The shards of one study together: every seed once.
  std::vector<uint64_t> all;
  for (int64_t i = 0; i < 3; ++i) {
    for (uint64_t seed : ShardSeeds(7, 10, Shard{i, 3})) all.push_back(seed);
  }
  std::sort(all.begin(), all.end());
  EXPECT_THAT(all, ElementsAre(7, 8, 9, 10, 11, 12, 13, 14, 15, 16));
}

// ---------------------------------------------------------------------------------------------
// Record filters and curves

TEST(RecordFilter, ParsesAndMatches) {
  absl::StatusOr<RecordFilter> filter = ParseRecordFilter("phase=cluster");
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->ToString(), "phase=cluster");
  EXPECT_TRUE(filter->Matches({{"phase", "cluster"}, {"epoch", 1}}));
  EXPECT_FALSE(filter->Matches({{"phase", "pretrain"}, {"epoch", 1}}));
  EXPECT_FALSE(filter->Matches({{"epoch", 1}}));
  EXPECT_FALSE(filter->Matches(nlohmann::json::array({1, 2})));

  filter = ParseRecordFilter("phase=cluster,k=3,final=true,lr=1e-3");
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_EQ(filter->conditions.size(), 4u);
  EXPECT_TRUE(filter->Matches({{"phase", "cluster"}, {"k", 3.0}, {"final", true}, {"lr", 0.001}}));
  EXPECT_FALSE(filter->Matches({{"phase", "cluster"}, {"k", 4}, {"final", true}, {"lr", 0.001}}));
  EXPECT_FALSE(filter->Matches({{"phase", "cluster"}, {"k", 3}, {"final", false}, {"lr", 0.001}}));
  EXPECT_FALSE(
      filter->Matches({{"phase", "cluster"}, {"k", "3.0"}, {"final", true}, {"lr", 0.001}}));

  // A value may be empty or hold '='.
  filter = ParseRecordFilter("note=,eq=a=b");
  ASSERT_TRUE(filter.ok()) << filter.status();
  EXPECT_TRUE(filter->Matches({{"note", ""}, {"eq", "a=b"}}));

  filter = ParseRecordFilter("");
  ASSERT_TRUE(filter.ok());
  EXPECT_TRUE(filter->conditions.empty());
  EXPECT_TRUE(filter->Matches({{"anything", 1}}));
  EXPECT_EQ(filter->ToString(), "");
}

TEST(RecordFilter, BadFiltersAreInvalidArgument) {
  for (const char* text : {"phase", "=cluster", "phase=cluster,", ",phase=cluster", "a=1,,b=2"}) {
    EXPECT_EQ(ParseRecordFilter(text).status().code(), absl::StatusCode::kInvalidArgument) << text;
  }
  EXPECT_THAT(ParseRecordFilter("phase").status().message(), HasSubstr("'phase' is no key=value"));
}

// The deep-clustering trainer's lines: pretraining, then clustering epochs.
constexpr const char* kDeepClusterMetrics =
    R"({"phase":"pretrain","epoch":1,"loss":260.1,"seconds":12.0}
{"phase":"pretrain","epoch":2,"loss":233.7,"seconds":12.1}

{"phase":"cluster","epoch":1,"loss":190.5,"train_acc":0.55,"val_acc":0.52,"seconds":3.0}
{"phase":"cluster","epoch":2,"loss":185.5,"train_acc":0.61,"val_acc":"NaN","seconds":3.0}
{"phase":"cluster","epoch":3,"loss":180.5,"train_acc":0.64,"val_acc":0.63,"seconds":3.0}
)";

TEST(ReadCurve, FilteredRecordsInOrderOfX) {
  const std::string path = TestTempPath("curve_metrics.jsonl");
  Write(path, kDeepClusterMetrics);
  absl::StatusOr<Curve> curve = ReadCurve(path, Spec("phase=cluster", "epoch", "val_acc"));
  ASSERT_TRUE(curve.ok()) << curve.status();
  EXPECT_THAT(curve->x, ElementsAre(1, 2, 3));
  ASSERT_EQ(curve->y.size(), 3u);
  EXPECT_EQ(curve->y[0], 0.52);
  EXPECT_TRUE(std::isnan(curve->y[1]));  // "NaN": a number, a gap in the plot
  EXPECT_EQ(curve->y[2], 0.63);

  curve = ReadCurve(path, Spec("phase=pretrain", "epoch", "loss"));
  ASSERT_TRUE(curve.ok()) << curve.status();
  EXPECT_THAT(curve->y, ElementsAre(260.1, 233.7));

  // No filter: every record; the x of both phases coincide, and the later record wins.
  curve = ReadCurve(path, Spec("", "epoch", "loss"));
  ASSERT_TRUE(curve.ok()) << curve.status();
  EXPECT_THAT(curve->x, ElementsAre(1, 2, 3));
  EXPECT_THAT(curve->y, ElementsAre(190.5, 185.5, 180.5));
}

TEST(ReadCurve, ALaterRecordOfTheSameXReplacesTheEarlierAndXIsSorted) {
  // A resumed run repeats epochs 3 and 4 after a checkpoint at epoch 2; no final newline.
  const std::string path = TestTempPath("curve_resumed.jsonl");
  Write(path,
        "{\"epoch\":1,\"val_acc\":0.1}\n{\"epoch\":2,\"val_acc\":0.2}\n"
        "{\"epoch\":3,\"val_acc\":0.3}\n{\"epoch\":4,\"val_acc\":0.4}\n"
        "{\"epoch\":3,\"val_acc\":0.35}\n{\"epoch\":4,\"val_acc\":0.45}\n"
        "{\"epoch\":5,\"val_acc\":0.5}");
  absl::StatusOr<Curve> curve = ReadCurve(path, CurveSpec());
  ASSERT_TRUE(curve.ok()) << curve.status();
  EXPECT_THAT(curve->x, ElementsAre(1, 2, 3, 4, 5));
  EXPECT_THAT(curve->y, ElementsAre(0.1, 0.2, 0.35, 0.45, 0.5));

  Write(path, "{\"step\":30,\"loss\":3}\n{\"step\":10,\"loss\":1}\n{\"step\":20,\"loss\":2}\n");
  curve = ReadCurve(path, Spec("", "step", "loss"));
  ASSERT_TRUE(curve.ok()) << curve.status();
  EXPECT_THAT(curve->x, ElementsAre(10, 20, 30));
  EXPECT_THAT(curve->y, ElementsAre(1, 2, 3));
}

// ReadCurve's error for a metrics file holding `text`.
absl::Status CurveError(const std::string& text, const CurveSpec& spec) {
  const std::string path = TestTempPath("bad_metrics.jsonl");
  EXPECT_TRUE(WriteFileAtomically(path, text).ok());
  return ReadCurve(path, spec).status();
}

TEST(ReadCurve, BadFilesNameTheFileAndLine) {
  const std::string path = TestTempPath("bad_metrics.jsonl");
  const CurveSpec cluster = Spec("phase=cluster", "epoch", "val_acc");

  absl::Status status =
      CurveError("{\"epoch\":1,\"val_acc\":0.5}\n\n{\"epoch\":2,\"val_a", cluster);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path + ":3: malformed JSON line"));

  status = CurveError("{\"epoch\":1,\"val_acc\":0.5}\n[1, 2]\n", CurveSpec());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr(path + ":2: not a JSON object"));

  // A matching record without y (the pretraining records are skipped, and may lack it).
  status = CurveError(
      "{\"phase\":\"pretrain\",\"epoch\":1,\"loss\":3}\n"
      "{\"phase\":\"cluster\",\"epoch\":1,\"loss\":2,\"val_acc\":0.5}\n"
      "{\"phase\":\"cluster\",\"epoch\":2,\"loss\":1}\n",
      cluster);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(path + ":3: no \"val_acc\" in a record with phase=cluster; its keys: "
                               "epoch, loss, phase"));

  status = CurveError("{\"val_acc\":0.5}\n", CurveSpec());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(path + ":1: no \"epoch\" in a record; its keys: val_acc"));

  status = CurveError("{\"epoch\":1,\"val_acc\":\"high\"}\n", CurveSpec());
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(path + ":1: \"val_acc\" is \"high\", not a number"));

  status = CurveError("{\"epoch\":1,\"val_acc\":null}\n", CurveSpec());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(path + ":1: \"val_acc\" is null, not a number"));

  status = CurveError("{\"epoch\":\"NaN\",\"val_acc\":0.5}\n", CurveSpec());
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(path + ":1: \"epoch\" is \"NaN\"; x must be finite"));

  // Nothing matches.
  status = CurveError("{\"epoch\":1,\"val_acc\":0.5}\n{\"epoch\":2,\"val_acc\":0.6}\n", cluster);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(path + ": none of its 2 records has phase=cluster"));
  status = CurveError("\n\n", CurveSpec());
  EXPECT_THAT(std::string(status.message()), HasSubstr(path + ": no records"));

  EXPECT_EQ(ReadCurve(TestTempPath("no_such_metrics.jsonl"), CurveSpec()).status().code(),
            absl::StatusCode::kNotFound);
}

// ---------------------------------------------------------------------------------------------
// Summaries

TEST(Summarize, CountMeanSampleStdMinMax) {
  Summary summary = Summarize({0.5, 0.7, 0.6});
  EXPECT_EQ(summary.count, 3);
  EXPECT_EQ(summary.non_finite, 0);
  EXPECT_NEAR(summary.mean, 0.6, 1e-12);
  EXPECT_NEAR(summary.std_dev, 0.1, 1e-12);  // sqrt((0.01 + 0.01) / 2)
  EXPECT_EQ(summary.min, 0.5);
  EXPECT_EQ(summary.max, 0.7);

  summary = Summarize({0.42});
  EXPECT_EQ(summary.count, 1);
  EXPECT_EQ(summary.mean, 0.42);
  EXPECT_EQ(summary.std_dev, 0);
  EXPECT_EQ(summary.min, 0.42);
  EXPECT_EQ(summary.max, 0.42);

  summary = Summarize({1, kNaN, 3, std::numeric_limits<double>::infinity()});
  EXPECT_EQ(summary.count, 2);
  EXPECT_EQ(summary.non_finite, 2);
  EXPECT_EQ(summary.mean, 2);
  EXPECT_NEAR(summary.std_dev, std::sqrt(2.0), 1e-12);

  for (const std::vector<double>& values : {std::vector<double>{}, std::vector<double>{kNaN}}) {
    summary = Summarize(values);
    EXPECT_EQ(summary.count, 0);
    EXPECT_TRUE(std::isnan(summary.mean));
    EXPECT_TRUE(std::isnan(summary.std_dev));
    EXPECT_TRUE(std::isnan(summary.min));
    EXPECT_TRUE(std::isnan(summary.max));
  }
}

TEST(AggregateCurves, ShorterCurvesStopContributing) {
  const std::vector<Curve> curves = {
      {{1, 2, 3, 4}, {0.1, 0.2, 0.3, 0.4}},
      {{1, 2}, {0.3, 0.4}},  // stopped early
      {{1, 2, 3}, {0.2, kNaN, 0.5}},
  };
  const std::vector<PointSummary> points = AggregateCurves(curves);
  ASSERT_EQ(points.size(), 4u);
  EXPECT_EQ(points[0].x, 1);
  EXPECT_EQ(points[0].y.count, 3);
  EXPECT_NEAR(points[0].y.mean, 0.2, 1e-12);
  EXPECT_NEAR(points[0].y.std_dev, 0.1, 1e-12);
  EXPECT_EQ(points[0].y.min, 0.1);
  EXPECT_EQ(points[0].y.max, 0.3);
  EXPECT_EQ(points[1].y.count, 2);
  EXPECT_EQ(points[1].y.non_finite, 1);
  EXPECT_NEAR(points[1].y.mean, 0.3, 1e-12);
  EXPECT_EQ(points[2].y.count, 2);
  EXPECT_NEAR(points[2].y.mean, 0.4, 1e-12);
  EXPECT_EQ(points[3].x, 4);
  EXPECT_EQ(points[3].y.count, 1);
  EXPECT_EQ(points[3].y.mean, 0.4);
  EXPECT_EQ(points[3].y.std_dev, 0);
  EXPECT_TRUE(AggregateCurves({}).empty());
}

// ---------------------------------------------------------------------------------------------
// Final numbers

TEST(ParseKeyList, CommaSeparatedKeys) {
  absl::StatusOr<std::vector<std::string>> keys = ParseKeyList("test.acc,test.nmi,test.ari");
  ASSERT_TRUE(keys.ok()) << keys.status();
  EXPECT_THAT(*keys, ElementsAre("test.acc", "test.nmi", "test.ari"));
  keys = ParseKeyList("");
  ASSERT_TRUE(keys.ok());
  EXPECT_TRUE(keys->empty());
  for (const char* bad : {"a,,b", "a,", ",a", " ", "a, ,b"}) {
    EXPECT_EQ(ParseKeyList(bad).status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(NumberAtPath, DottedKeys) {
  const nlohmann::json results = {{"test", {{"acc", 0.62}, {"nmi", "NaN"}, {"name", "x"}}},
                                  {"test_acc", 0.9}};
  absl::StatusOr<double> value = NumberAtPath(results, "test.acc");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, 0.62);
  value = NumberAtPath(results, "test_acc");
  ASSERT_TRUE(value.ok());
  EXPECT_EQ(*value, 0.9);
  value = NumberAtPath(results, "test.nmi");
  ASSERT_TRUE(value.ok());
  EXPECT_TRUE(std::isnan(*value));

  EXPECT_EQ(NumberAtPath(results, "test.ari").status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(NumberAtPath(results, "test.ari").status().message(),
              HasSubstr("no \"ari\" in \"test\""));
  EXPECT_THAT(NumberAtPath(results, "val.acc").status().message(),
              HasSubstr("no \"val\" in the document"));
  EXPECT_EQ(NumberAtPath(results, "test.acc.x").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(NumberAtPath(results, "test.name").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NumberAtPath(results, "test").status().code(), absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Seed folders

TEST(SeedDirs, NamesStatesAndListing) {
  EXPECT_EQ(SeedDirName(7), "seed_7");
  const std::string out = FreshDir("seed_dirs");
  for (const char* name : {"seed_10", "seed_2", "seed_0", "seed_07", "seed_x", "seed_", "other"}) {
    std::filesystem::create_directories(out + "/" + name);
  }
  Write(out + "/seed_5", "a file, not a folder");
  absl::StatusOr<std::vector<uint64_t>> seeds = ListSeedDirs(out);
  ASSERT_TRUE(seeds.ok()) << seeds.status();
  EXPECT_THAT(*seeds, ElementsAre(0, 2, 10));
  EXPECT_EQ(ListSeedDirs(out + "/missing").status().code(), absl::StatusCode::kNotFound);

  EXPECT_EQ(StateOfSeedDir(out + "/seed_0"), SeedState::kFresh);
  EXPECT_EQ(StateOfSeedDir(out + "/seed_99"), SeedState::kFresh);
  Write(out + "/seed_0/checkpoint.pt", "weights");
  EXPECT_EQ(StateOfSeedDir(out + "/seed_0"), SeedState::kResumable);
  Write(out + "/seed_0/results.json", "{}");
  EXPECT_EQ(StateOfSeedDir(out + "/seed_0"), SeedState::kFinished);
  EXPECT_EQ(SeedStateName(SeedState::kFresh), "not started");
  EXPECT_EQ(SeedStateName(SeedState::kResumable), "checkpoint");
  EXPECT_EQ(SeedStateName(SeedState::kFinished), "finished");
}

// ---------------------------------------------------------------------------------------------
// A whole study

// Writes a seed's run folder as the deep-clustering trainer would: `epochs` clustering epochs
// (accuracy rising with the seed), and results.json when `finished`.
void WriteSeed(const std::string& out, uint64_t seed, int epochs, bool finished) {
  const std::string dir = out + "/" + SeedDirName(seed);
  std::filesystem::create_directories(dir);
  std::string lines = "{\"phase\":\"pretrain\",\"epoch\":1,\"loss\":250}\n";
  for (int epoch = 1; epoch <= epochs; ++epoch) {
    lines += nlohmann::json({{"phase", "cluster"},
                             {"epoch", epoch},
                             {"val_acc", 0.4 + 0.01 * static_cast<double>(seed) + 0.05 * epoch}})
                 .dump() +
             "\n";
  }
  Write(dir + "/metrics.jsonl", lines);
  if (finished) {
    const double acc = 0.6 + 0.02 * static_cast<double>(seed);
    Write(
        dir + "/results.json",
        nlohmann::json({{"test", {{"acc", acc}, {"nmi", acc - 0.1}, {"ari", acc - 0.2}}}}).dump(2));
  } else {
    Write(dir + "/checkpoint.pt", "weights");
  }
}

StabilitySpec DeepClusterSpec() {
  StabilitySpec spec;
  spec.name = "vade";
  spec.curve = Spec("phase=cluster", "epoch", "val_acc");
  spec.final_keys = {"test.acc", "test.nmi", "test.ari"};
  return spec;
}

TEST(GatherStability, FinishedSeedsCountAndOthersAreListed) {
  const std::string out = FreshDir("study");
  WriteSeed(out, 0, /*epochs=*/4, /*finished=*/true);
  WriteSeed(out, 1, /*epochs=*/4, /*finished=*/true);
  WriteSeed(out, 2, /*epochs=*/2, /*finished=*/true);  // early stopping
  WriteSeed(out, 3, /*epochs=*/1, /*finished=*/false);
  std::filesystem::create_directories(out + "/seed_4");  // not started
  absl::StatusOr<StabilityReport> report = GatherStability(out, DeepClusterSpec());
  ASSERT_TRUE(report.ok()) << report.status();
  ASSERT_EQ(report->seeds.size(), 3u);
  EXPECT_EQ(report->seeds[2].seed, 2u);
  EXPECT_THAT(report->seeds[2].curve.x, ElementsAre(1, 2));
  ASSERT_EQ(report->seeds[1].finals.size(), 3u);
  EXPECT_NEAR(report->seeds[1].finals[0], 0.62, 1e-12);
  ASSERT_EQ(report->unfinished.size(), 2u);
  EXPECT_EQ(report->unfinished[0].first, 3u);
  EXPECT_EQ(report->unfinished[0].second, SeedState::kResumable);
  EXPECT_EQ(report->unfinished[1].second, SeedState::kFresh);

  ASSERT_EQ(report->per_x.size(), 4u);
  EXPECT_EQ(report->per_x[1].y.count, 3);
  EXPECT_NEAR(report->per_x[1].y.mean, 0.51, 1e-12);
  EXPECT_NEAR(report->per_x[1].y.std_dev, 0.01, 1e-12);
  EXPECT_EQ(report->per_x[3].y.count, 2);
  ASSERT_EQ(report->finals.size(), 3u);
  EXPECT_EQ(report->finals[0].count, 3);
  EXPECT_NEAR(report->finals[0].mean, 0.62, 1e-12);
  EXPECT_NEAR(report->finals[0].std_dev, 0.02, 1e-12);
  EXPECT_NEAR(report->finals[2].min, 0.4, 1e-12);
  EXPECT_NEAR(report->finals[2].max, 0.44, 1e-12);
  // Last y: 0.6 and 0.61 at epoch 4, 0.52 at seed 2's epoch 2.
  EXPECT_EQ(report->last_y.count, 3);
  EXPECT_NEAR(report->last_y.min, 0.52, 1e-12);
  EXPECT_NEAR(report->last_y.max, 0.61, 1e-12);

  // JSON: everything, paths relative.
  const nlohmann::json json = StabilityJson(*report);
  EXPECT_EQ(json["name"], "vade");
  EXPECT_EQ(json["where"], "phase=cluster");
  EXPECT_EQ(json["x"], "epoch");
  EXPECT_EQ(json["y"], "val_acc");
  EXPECT_EQ(json["finished_seeds"], nlohmann::json({0, 1, 2}));
  EXPECT_EQ(json["unfinished_seeds"][0]["state"], "checkpoint");
  EXPECT_EQ(json["unfinished_seeds"][1]["state"], "not started");
  EXPECT_EQ(json["per_x"].size(), 4u);
  EXPECT_EQ(json["per_x"][3]["count"], 2);
  EXPECT_EQ(json["per_x"][3]["x"], 4);
  EXPECT_NEAR(json["final"]["test.acc"]["mean"].get<double>(), 0.62, 1e-12);
  EXPECT_NEAR(json["final"]["test.acc"]["per_seed"]["2"].get<double>(), 0.64, 1e-12);
  EXPECT_EQ(json["last_y"]["count"], 3);
  EXPECT_EQ(json["seeds"][2]["dir"], "seed_2");
  EXPECT_EQ(json["seeds"][2]["x"], nlohmann::json({1, 2}));
  EXPECT_NEAR(json["seeds"][0]["final"]["test.nmi"].get<double>(), 0.5, 1e-12);
  EXPECT_THAT(json.dump(), Not(HasSubstr(out)));

  // Markdown: the final table with every seed, the per-epoch table.
  const std::string md = StabilityMarkdown(*report);
  EXPECT_THAT(md, HasSubstr("# Seed stability: vade\n"));
  EXPECT_THAT(md, HasSubstr("3 seeds finished (0, 1, 2); curve: val_acc per epoch (records with "
                            "phase=cluster)."));
  EXPECT_THAT(md, HasSubstr("Not finished, left out: seeds 3 (checkpoint), 4 (not started)."));
  EXPECT_THAT(md, HasSubstr("| metric | seeds | mean \xC2\xB1 std | min | max | seed 0 | seed 1 | "
                            "seed 2 |\n"));
  EXPECT_THAT(md, HasSubstr("| test.acc | 3 | 0.6200 \xC2\xB1 0.0200 | 0.6000 | 0.6400 | 0.6000 | "
                            "0.6200 | 0.6400 |\n"));
  EXPECT_THAT(md, HasSubstr("| val_acc at the last epoch | 3 |"));
  EXPECT_THAT(md, HasSubstr("| 2 | 3 | 0.5100 \xC2\xB1 0.0100 | 0.5000 | 0.5200 |\n"));
  EXPECT_THAT(md, HasSubstr("| 4 | 2 | 0.6050 \xC2\xB1 0.0071 | 0.6000 | 0.6100 |\n"));

  // SVG: a band plot of the three finished seeds.
  const std::string svg = StabilitySvg(*report);
  EXPECT_THAT(svg, HasSubstr(">vade: val_acc over 3 seeds</text>"));
  EXPECT_THAT(svg, HasSubstr(">seed 2</text>"));
  EXPECT_THAT(svg, Not(HasSubstr(">seed 3</text>")));
  EXPECT_THAT(svg, HasSubstr("<path class=\"band\""));
  EXPECT_THAT(svg, HasSubstr(">epoch (phase=cluster)</text>"));

  ASSERT_TRUE(WriteStabilityOutputs(out, *report).ok());
  for (const char* file : {kStabilityJsonFile, kStabilityMarkdownFile, kStabilitySvgFile}) {
    absl::StatusOr<std::string> text = ReadFile(out + "/" + file);
    ASSERT_TRUE(text.ok()) << text.status();
    EXPECT_FALSE(text->empty());
  }
  absl::StatusOr<std::string> text = ReadFile(out + "/" + kStabilityJsonFile);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(nlohmann::json::parse(*text), json);
}

TEST(GatherStability, NonFiniteNumbersAreCountedApart) {
  const std::string out = FreshDir("study_nan");
  WriteSeed(out, 0, 2, true);
  WriteSeed(out, 1, 2, true);
  Write(out + "/seed_1/results.json", R"({"test":{"acc":"NaN","nmi":0.5,"ari":0.4}})");
  absl::StatusOr<StabilityReport> report = GatherStability(out, DeepClusterSpec());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->finals[0].count, 1);
  EXPECT_EQ(report->finals[0].non_finite, 1);
  EXPECT_NEAR(report->finals[0].mean, 0.6, 1e-12);
  const nlohmann::json json = StabilityJson(*report);
  EXPECT_EQ(json["final"]["test.acc"]["per_seed"]["1"], "NaN");
  const std::string md = StabilityMarkdown(*report);
  EXPECT_THAT(md, HasSubstr("| test.acc | 1 (+1 NaN) | 0.6000 \xC2\xB1 0.0000 | 0.6000 | 0.6000 | "
                            "0.6000 | NaN |\n"));
}

TEST(GatherStability, BadStudiesAreClearErrors) {
  const StabilitySpec spec = DeepClusterSpec();
  EXPECT_EQ(GatherStability(TestTempPath("no_such_study"), spec).status().code(),
            absl::StatusCode::kNotFound);

  // No seed finished.
  std::string out = FreshDir("study_unfinished");
  absl::Status status = GatherStability(out, spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("no finished seed in " + out));
  EXPECT_THAT(std::string(status.message()), HasSubstr("no seed_<S> folders"));
  WriteSeed(out, 0, 2, false);
  std::filesystem::create_directories(out + "/seed_1");
  status = GatherStability(out, spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()), HasSubstr("seed_0 checkpoint, seed_1 not started"));

  // A finished seed whose results lack a key, or are malformed.
  out = FreshDir("study_bad_results");
  WriteSeed(out, 0, 2, true);
  WriteSeed(out, 1, 2, true);
  Write(out + "/seed_1/results.json", R"({"test":{"acc":0.5,"nmi":0.4}})");
  status = GatherStability(out, spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(out + "/seed_1/results.json: no \"ari\" in \"test\""));
  Write(out + "/seed_1/results.json", R"({"test":)");
  status = GatherStability(out, spec).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(out + "/seed_1/results.json: malformed JSON"));

  // A finished seed without metrics, with a malformed line, or with no record that matches.
  out = FreshDir("study_bad_metrics");
  WriteSeed(out, 0, 2, true);
  std::filesystem::remove(out + "/seed_0/metrics.jsonl");
  EXPECT_EQ(GatherStability(out, spec).status().code(), absl::StatusCode::kNotFound);
  Write(out + "/seed_0/metrics.jsonl", "{\"phase\":\"cluster\",\"epoch\":1,\"val_acc\":0.5}\n{");
  status = GatherStability(out, spec).status();
  EXPECT_THAT(std::string(status.message()),
              HasSubstr(out + "/seed_0/metrics.jsonl:2: malformed JSON line"));
  Write(out + "/seed_0/metrics.jsonl", "{\"epoch\":1,\"val_acc\":0.5}\n");
  status = GatherStability(out, spec).status();
  EXPECT_THAT(std::string(status.message()), HasSubstr("none of its 1 records has phase=cluster"));
}

TEST(GatherStability, OneSeedHasNoSpread) {
  const std::string out = FreshDir("study_one");
  WriteSeed(out, 4, 3, true);
  StabilitySpec spec = DeepClusterSpec();
  spec.final_keys.clear();
  absl::StatusOr<StabilityReport> report = GatherStability(out, spec);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->per_x[0].y.std_dev, 0);
  EXPECT_TRUE(report->finals.empty());
  const std::string md = StabilityMarkdown(*report);
  EXPECT_THAT(md, HasSubstr("1 seed finished (4)"));
  EXPECT_THAT(StabilitySvg(*report), HasSubstr("over 1 seed</text>"));
}

}  // namespace
}  // namespace fauna
