// EvaluateViews and //robustness:partial_image_test (the second argument) on a tiny run the
// trainer (the first argument) makes here at the ci scale: whole is what `train --evaluate` scores
// for the same weights and part, count for count; views change the images; the same call gives
// the same numbers; bad input is one line and exit 1.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "core/test_tmp.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "robustness/partial_views.h"
#include "train/run_folder.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using json = nlohmann::json;

std::string& Trainer() {
  static std::string* const trainer = new std::string();
  return *trainer;
}

std::string& Tool() {
  static std::string* const tool = new std::string();
  return *tool;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `binary` with `flags`; OpenMP threads sleep while they wait.
Outcome RunCommand(const std::string& binary, const std::string& flags) {
  const std::string out_path = TestTempPath("stdout.txt");
  const std::string err_path = TestTempPath("stderr.txt");
  setenv("OMP_WAIT_POLICY", "PASSIVE", /*overwrite=*/0);
  const int status =
      std::system((binary + " " + flags + " >" + out_path + " 2>" + err_path).c_str());
  Outcome outcome;
  outcome.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  outcome.out = ReadText(out_path);
  outcome.err = ReadText(err_path);
  return outcome;
}

const std::string kCache = TestTempPath("cache");
const std::string kCommon = " --cache_dir=" + kCache + " --threads=2";
// The run's data and model, as the trainer takes them (and `train --evaluate` again).
const std::string kRunFlags =
    "--model=endangered_model4 --scale=ci --epochs=2 --synthetic_count=240 --seed=3 "
    "--batch_size=32 --workers=1 --progress=false --augment=hflip";

// The run every test shares, trained once per test process.
const std::string& TinyRun() {
  static const std::string* const run = [] {
    auto* path = new std::string(TestTempPath("tiny_run"));
    std::filesystem::remove_all(*path);
    const Outcome trained = RunCommand(Trainer(), kRunFlags + " --run_dir=" + *path + kCommon);
    EXPECT_EQ(trained.code, 0) << trained.err;
    return path;
  }();
  return *run;
}

PartialViewsOptions Options(const std::string& part = "test") {
  PartialViewsOptions options;
  options.part = part;
  options.cache_dir = kCache;
  options.threads = 2;
  options.batch_size = 32;  // The run's, as `train --evaluate` takes it from kRunFlags.
  options.workers = 1;
  return options;
}

const ViewResult* Find(const PartialViewsResult& result, const std::string& name) {
  for (const ViewResult& view : result.views) {
    if (view.view.name == name) return &view;
  }
  return nullptr;
}

TEST(PartialViews, WholeIsWhatTrainEvaluateScoresCountForCount) {
  const std::string run = TinyRun();
  const std::string evaluated = TestTempPath("evaluated");
  const Outcome evaluate =
      RunCommand(Trainer(), kRunFlags + " --evaluate=" + run + "/model.safetensors --run_dir=" +
                                evaluated + kCommon);
  ASSERT_EQ(evaluate.code, 0) << evaluate.err;
  const json evaluation = json::parse(ReadText(evaluated + "/evaluation.json"));
  for (const std::string part : {"val", "test"}) {
    absl::StatusOr<PartialViewsResult> result = EvaluateViews(run, Options(part));
    ASSERT_TRUE(result.ok()) << result.status();
    ASSERT_EQ(result->views.front().view.name, kWholeView);
    const Evaluation& whole = result->views.front().evaluation;
    EXPECT_EQ(whole.accuracy, evaluation[part + "_acc"].get<double>()) << part;
    EXPECT_EQ(whole.count, evaluation[part + "_count"].get<int64_t>()) << part;
    EXPECT_EQ(whole.loss, evaluation[part + "_loss"].get<double>()) << part;
    EXPECT_EQ(whole.confusion.ToJson()["counts"], evaluation[part + "_confusion"]["counts"])
        << part;
    EXPECT_EQ(result->whole.raw_counts(), whole.confusion.raw_counts());
    EXPECT_EQ(result->part, part);
  }
}

TEST(PartialViews, ViewsChangeTheImagesAndPartialPoolsEveryOtherView) {
  absl::StatusOr<PartialViewsResult> result = EvaluateViews(TinyRun(), Options());
  ASSERT_TRUE(result.ok()) << result.status();
  const std::vector<ViewKind> defaults = DefaultViewKinds();
  ASSERT_EQ(result->views.size(), defaults.size());
  for (size_t v = 0; v < defaults.size(); ++v) {
    EXPECT_EQ(result->views[v].view.name, defaults[v].name);
  }
  const Evaluation& whole = result->views.front().evaluation;
  EXPECT_EQ(whole.count, 24);  // 10% of 240.
  int64_t pooled = 0;
  for (const ViewResult& view : result->views) {
    EXPECT_EQ(view.evaluation.count, whole.count) << view.view.name;
    if (view.view.name == kWholeView) continue;
    pooled += view.evaluation.count;
    // Other images, other logits: the loss moves even where the argmax does not.
    EXPECT_NE(view.evaluation.loss, whole.loss) << view.view.name;
  }
  EXPECT_EQ(result->partial.total(), pooled);
  EXPECT_EQ(result->partial.total(), 12 * whole.count);

  // The pixels the model saw: the left view's item i is the left half of the whole item i.
  absl::StatusOr<RunFolder> run = ReadRunFolder(TinyRun());
  ASSERT_TRUE(run.ok()) << run.status();
  DatasetOptions data_options = run->data;
  data_options.cache_dir = kCache;
  absl::StatusOr<Dataset> plain = OpenDataset(data_options, "");
  data_options.eval_augment = Find(*result, "left")->view.spec;
  absl::StatusOr<Dataset> left = OpenDataset(data_options, "");
  ASSERT_TRUE(plain.ok() && left.ok());
  const at::Tensor a = MakeExample(plain->test.image_shape, plain->test.write_example, 0, 0)->image;
  const at::Tensor b = MakeExample(left->test.image_shape, left->test.write_example, 0, 0)->image;
  EXPECT_FALSE(a.equal(b));
  // Stretched back from 16 columns to 32: column 0 of the view is column 0 of the image.
  EXPECT_LT((a.select(2, 0) - b.select(2, 0)).abs().max().item<float>(), 0.15f);
}

TEST(PartialViews, TheSameCallGivesTheSameNumbers) {
  PartialViewsOptions options = Options();
  options.views = {{"window_25", "partial(region=window, keep=0.25)"}, {"occluded", "occlude"}};
  absl::StatusOr<PartialViewsResult> a = EvaluateViews(TinyRun(), options);
  options.workers = 2;  // The loader's thread count changes nothing.
  absl::StatusOr<PartialViewsResult> b = EvaluateViews(TinyRun(), options);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->views.size(), 3u);  // whole added first.
  EXPECT_EQ(a->views.front().view.name, kWholeView);
  for (size_t v = 0; v < a->views.size(); ++v) {
    EXPECT_EQ(a->views[v].evaluation.loss, b->views[v].evaluation.loss);
    EXPECT_EQ(a->views[v].evaluation.confusion.raw_counts(),
              b->views[v].evaluation.confusion.raw_counts());
  }
}

TEST(PartialViews, TrainPartTakesTheViewAsItsAugmentation) {
  PartialViewsOptions options = Options("train");
  options.views = {{"left", "partial(region=left)"}};
  absl::StatusOr<PartialViewsResult> result = EvaluateViews(TinyRun(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->views.size(), 2u);
  EXPECT_EQ(result->whole.total(), 192);
  // Not the run's hflip: whole is the images as they are.
  EXPECT_NE(result->views[0].evaluation.loss, result->views[1].evaluation.loss);
}

TEST(PartialViews, ReportsHoldEveryNumberUnderReadableKeys) {
  PartialViewsOptions options = Options();
  options.views = {{"left", "partial(region=left)"}, {"top_left", "partial(region=top_left, "
                                                                  "keep=0.25)"}};
  absl::StatusOr<PartialViewsResult> result = EvaluateViews(TinyRun(), options);
  ASSERT_TRUE(result.ok()) << result.status();
  const json out = PartialViewsJson(*result);
  EXPECT_EQ(out["view_order"], json({"whole", "left", "top_left"}));
  EXPECT_EQ(out["views"]["whole"]["spec"], "");
  EXPECT_EQ(out["views"]["left"]["spec"], "partial(region=left, keep=0.5, resize_back=true)");
  EXPECT_EQ(out["whole"]["acc"].get<double>(), result->whole.accuracy());
  EXPECT_EQ(out["views"]["whole"]["acc"], out["whole"]["acc"]);
  EXPECT_EQ(out["partial"]["count"], 48);
  EXPECT_EQ(out["partial"]["correct"].get<int64_t>(),
            out["views"]["left"]["correct"].get<int64_t>() +
                out["views"]["top_left"]["correct"].get<int64_t>());
  for (const std::string& name : result->class_names) {
    EXPECT_TRUE(out["views"]["top_left"]["per_class"][name].is_number()) << name;
  }
  EXPECT_EQ(out["study"]["partial"]["correct"], 7);
  EXPECT_EQ(out["study"]["whole"]["count"], 11);
  EXPECT_EQ(out["views"]["left"]["confusion"]["total"], 24);

  const std::string md = PartialViewsMarkdown(*result);
  EXPECT_THAT(md, HasSubstr("| whole | (none) |"));
  EXPECT_THAT(md, HasSubstr("| **all partial views pooled** |"));
  EXPECT_THAT(md, HasSubstr("| class (images) | whole | left | top_left | partial pooled |"));
  EXPECT_THAT(md, HasSubstr("| cat (8) |"));

  const Heatmap map = PartialViewsHeatmap(*result);
  EXPECT_EQ(map.row_names.size(), 4u);  // 3 classes and all classes.
  EXPECT_EQ(map.column_names.size(), 4u);
  EXPECT_EQ(map.values.size(), 16u);
  EXPECT_EQ(map.values[3 * 4 + 0], result->whole.accuracy());
  EXPECT_EQ(map.values[3 * 4 + 3], result->partial.accuracy());
}

TEST(PartialViews, ParsesViewListsAndRefusesBadOnes) {
  absl::StatusOr<std::vector<ViewKind>> views =
      ParseViewKinds(" whole: ; left : partial(region=left, keep=0.5) ;box:occlude(area=0.1:0.2)");
  ASSERT_TRUE(views.ok()) << views.status();
  ASSERT_EQ(views->size(), 3u);
  EXPECT_EQ((*views)[1].name, "left");
  EXPECT_EQ((*views)[1].spec, "partial(region=left, keep=0.5)");
  EXPECT_EQ((*views)[2].spec, "occlude(area=0.1:0.2)");
  for (const auto& [text, message] : std::vector<std::pair<std::string, std::string>>{
           {"", "empty view list"},
           {"left:partial(region=left);;", "empty entry"},
           {"left", "expected name:spec"},
           {"a b:occlude", "view name 'a b'"},
           {":occlude", "view name ''"},
           {"x:occlude;x:hflip", "named twice"},
           {"x:partial(region=diagonal)", "view 'x'"},
           {"whole:hflip", "the image as it is"}}) {
    const absl::Status status = ParseViewKinds(text).status();
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << text;
    EXPECT_THAT(std::string(status.message()), HasSubstr(message)) << text;
  }
}

TEST(PartialViews, BadInputIsAClearError) {
  PartialViewsOptions options = Options("holdout");
  EXPECT_THAT(std::string(EvaluateViews(TinyRun(), options).status().message()),
              HasSubstr("expected train, val or test"));
  options = Options();
  options.views = {{"small", "partial(region=left, resize_back=false)"}};
  EXPECT_THAT(std::string(EvaluateViews(TinyRun(), options).status().message()),
              HasSubstr("view 'small' makes images of 16 x 32 px; the model takes 32 px"));
  options = Options();
  EXPECT_EQ(EvaluateViews(TestTempPath("no_such_run"), options).status().code(),
            absl::StatusCode::kNotFound);
}

// The binary: its three files, a line per view, and one line for each bad input.
TEST(PartialImageTest, WritesResultsMarkdownAndSvg) {
  const std::string out = TestTempPath("binary_out");
  const Outcome outcome = RunCommand(Tool(), "--run=" + TinyRun() + " --out=" + out +
                                                 " --batch_size=32" + kCommon);
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("[1/13] whole"));
  EXPECT_THAT(outcome.err, HasSubstr("[13/13] occluded"));
  EXPECT_THAT(outcome.out, HasSubstr("whole: accuracy "));
  const json results = json::parse(ReadText(out + "/results.json"));
  absl::StatusOr<PartialViewsResult> direct = EvaluateViews(TinyRun(), Options());
  ASSERT_TRUE(direct.ok());
  json expected = PartialViewsJson(*direct);
  json got = results;
  for (json* file : {&expected, &got}) {
    for (auto& [name, view] : (*file)["views"].items()) view.erase("seconds");
  }
  EXPECT_EQ(got["views"], expected["views"]);  // The same numbers in a second process.
  EXPECT_EQ(got["partial"], expected["partial"]);
  EXPECT_THAT(ReadText(out + "/partial_views.md"), HasSubstr("| window_25 |"));
  const std::string svg = ReadText(out + "/partial_views.svg");
  EXPECT_THAT(svg, StartsWith("<?xml"));
  EXPECT_THAT(svg, HasSubstr(">center_25</text>"));

  // Default folder: <run>/partial_views.
  const Outcome default_out = RunCommand(Tool(), "--run=" + TinyRun() +
                                                     " --views='l:partial(region=left)'" + kCommon);
  ASSERT_EQ(default_out.code, 0) << default_out.err;
  EXPECT_TRUE(std::filesystem::exists(TinyRun() + "/partial_views/results.json"));
}

TEST(PartialImageTest, BadInputIsOneLineAndExitOne) {
  const std::string unfinished = TestTempPath("unfinished_run");
  std::filesystem::create_directories(unfinished);
  std::filesystem::copy_file(TinyRun() + "/config.json", unfinished + "/config.json",
                             std::filesystem::copy_options::overwrite_existing);
  const std::string run = " --run=" + TinyRun();
  for (const auto& [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {"", "--run=<run folder> is required"},
           {"--run=" + TestTempPath("no_such_run"), "does not exist"},
           {"--run=" + unfinished, "has no model.safetensors"},
           {run + " --views='x:partial(region=nowhere)'", "--views: view 'x'"},
           {run + " --views='x'", "expected name:spec"},
           {run + " --part=holdout", "expected train, val or test"},
           {run + " --batch_size=0", "at least 1"},
           {run + " stray", "unexpected argument 'stray'"}}) {
    const Outcome outcome = RunCommand(Tool(), flags + kCommon + " --out=" + TestTempPath("bad"));
    EXPECT_EQ(outcome.code, 1) << flags;
    EXPECT_THAT(outcome.err, HasSubstr("error: ")) << flags;
    EXPECT_THAT(outcome.err, HasSubstr(message)) << flags << "\n" << outcome.err;
    // One line: the error (the runtime's summary line may come before it).
    const std::string error = outcome.err.substr(outcome.err.find("error: "));
    EXPECT_EQ(error.find('\n'), error.size() - 1) << flags << "\n" << outcome.err;
  }
  EXPECT_FALSE(std::filesystem::exists(TestTempPath("bad")));
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <train binary> <partial_image_test binary>\n", argv[0]);
    return 2;
  }
  fauna::Trainer() = std::filesystem::absolute(argv[1]).string();
  fauna::Tool() = std::filesystem::absolute(argv[2]).string();
  return RUN_ALL_TESTS();
}
