// //tools:classify (the first argument) and its library on a run the trainer (the second argument)
// makes here at the ci scale from a folder of PNGs: a file gives the same tensor and logits as the
// run's evaluation; good files are classified, bad ones named and skipped; CSV and table output;
// top_k clamped; bad flags and a missing run in one line.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <absl/strings/str_split.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/types.h>

#include "core/test_tmp.h"
#include "data/dataset.h"
#include "data/loader.h"
#include "data/synthetic_source.h"
#include "tools/classify_images.h"
#include "train/run_folder.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string& Tool() {
  static std::string* const tool = new std::string();
  return *tool;
}

std::string& Trainer() {
  static std::string* const trainer = new std::string();
  return *trainer;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::binary) << text;
}

struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

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

// root/<class>/<index>.png from the synthetic set: 90 images of 40 px (the run resizes to 32).
const std::string& ImageFolder() {
  static const std::string* const root = [] {
    auto* folder = new std::string(TestTempPath("images"));
    absl::StatusOr<std::shared_ptr<const SyntheticSource>> source =
        SyntheticSource::Open({/*num_classes=*/3, /*count=*/90, /*image_size=*/40});
    EXPECT_TRUE(source.ok()) << source.status();
    for (int64_t i = 0; i < (*source)->size(); ++i) {
      const std::string dir = *folder + "/" + (*source)->class_names()[(*source)->label(i)];
      std::filesystem::create_directories(dir);
      cv::Mat bgr;
      cv::cvtColor(*(*source)->Load(i), bgr, cv::COLOR_RGB2BGR);
      EXPECT_TRUE(cv::imwrite(dir + "/" + std::to_string(i) + ".png", bgr));
    }
    return folder;
  }();
  return *root;
}

// A tiny run on ImageFolder(), trained once per test process.
const std::string& FolderRun() {
  static const std::string* const run = [] {
    auto* path = new std::string(TestTempPath("folder_run"));
    std::filesystem::remove_all(*path);
    const Outcome trained = RunCommand(
        Trainer(), "--data=" + ImageFolder() + " --model=endangered_model4 --scale=ci "
                   "--epochs=1 --batch_size=16 --workers=1 --progress=false --threads=2 "
                   "--cache_dir=" + kCache + " --run_dir=" + *path);
    EXPECT_EQ(trained.code, 0) << trained.err;
    return path;
  }();
  return *run;
}

TEST(ClassifyImages, AFileGivesTheTensorAndLogitsOfTheRunsEvaluation) {
  absl::StatusOr<RunFolder> run = ReadRunFolder(FolderRun());
  ASSERT_TRUE(run.ok()) << run.status();
  DatasetOptions data_options = run->data;
  data_options.cache_dir = kCache;
  absl::StatusOr<Dataset> data = OpenDataset(data_options, "");
  ASSERT_TRUE(data.ok()) << data.status();
  const DataPart& test = data->test;
  ASSERT_EQ(static_cast<int64_t>(test.paths.size()), test.size);
  ClassifierOptions options;
  options.run = FolderRun();
  absl::StatusOr<Classifier> classifier = LoadClassifier(options);
  ASSERT_TRUE(classifier.ok()) << classifier.status();
  EXPECT_EQ(classifier->image_size, 32);
  EXPECT_EQ(classifier->class_names, run->class_names);

  std::vector<at::Tensor> images;
  for (int64_t i = 0; i < test.size; ++i) {
    absl::StatusOr<Example> example = MakeExample(test.image_shape, test.write_example, i, 0);
    ASSERT_TRUE(example.ok()) << example.status();
    absl::StatusOr<at::Tensor> mine = PreprocessImage(test.paths[static_cast<size_t>(i)], 32,
                                                      classifier->normalization);
    ASSERT_TRUE(mine.ok()) << mine.status();
    EXPECT_TRUE(mine->equal(example->image)) << test.paths[static_cast<size_t>(i)];
    images.push_back(example->image);
  }
  // The evaluation's forward pass over the same batch, and the tool's.
  Backbone module = classifier->module;
  c10::NoGradGuard no_grad;
  const at::Tensor expected = module->forward(at::stack(images));
  absl::StatusOr<Classification> result =
      ClassifyImages(*classifier, test.paths, /*top_k=*/3, /*batch_size=*/test.size);
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(static_cast<int64_t>(result->predictions.size()), test.size);
  EXPECT_TRUE(result->skipped.empty());
  for (int64_t i = 0; i < test.size; ++i) {
    const Prediction& prediction = result->predictions[static_cast<size_t>(i)];
    EXPECT_TRUE(prediction.logits.equal(expected[i])) << prediction.path;
    EXPECT_EQ(prediction.classes.front(), expected[i].argmax().item<int64_t>());
    double sum = 0;
    for (size_t r = 0; r < prediction.probabilities.size(); ++r) {
      sum += prediction.probabilities[r];
      if (r > 0) {
        EXPECT_GE(prediction.probabilities[r - 1], prediction.probabilities[r]);
      }
    }
    EXPECT_NEAR(sum, 1.0, 1e-9);  // All three classes: the whole softmax.
  }
  EXPECT_FALSE(ClassifyImages(*classifier, test.paths, /*top_k=*/0, 8).ok());
  EXPECT_FALSE(ClassifyImages(*classifier, test.paths, 3, /*batch_size=*/0).ok());
}

// mixed/: three good PNGs (one in a sub-folder), a truncated JPEG, a text file named .jpg and a
// .txt file the walk leaves out.
std::string MixedFolder() {
  const std::string mixed = TestTempPath("mixed");
  std::filesystem::remove_all(mixed);
  std::filesystem::create_directories(mixed + "/sub");
  std::filesystem::copy_file(ImageFolder() + "/cat/0.png", mixed + "/b.png");
  std::filesystem::copy_file(ImageFolder() + "/dog/1.png", mixed + "/a.png");
  std::filesystem::copy_file(ImageFolder() + "/wild/2.png", mixed + "/sub/c.png");
  std::vector<uchar> jpeg;
  EXPECT_TRUE(cv::imencode(".jpg", cv::imread(ImageFolder() + "/cat/0.png"), jpeg));
  WriteText(mixed + "/sub/broken.jpg", std::string(jpeg.begin(), jpeg.begin() + jpeg.size() / 2));
  WriteText(mixed + "/notes.jpg", "not an image at all\n");
  WriteText(mixed + "/readme.txt", "left out\n");
  return mixed;
}

std::vector<std::vector<std::string>> CsvRows(const std::string& csv) {
  std::vector<std::vector<std::string>> rows;
  for (absl::string_view line : absl::StrSplit(csv, '\n', absl::SkipEmpty())) {
    rows.push_back(absl::StrSplit(line, ','));
  }
  return rows;
}

TEST(Classify, ClassifiesGoodFilesNamesBadOnesAndWritesCsv) {
  const std::string mixed = MixedFolder();
  const Outcome outcome =
      RunCommand(Tool(), "--run=" + FolderRun() + " --format=csv --top_k=2 " + mixed);
  ASSERT_EQ(outcome.code, 0) << outcome.err;
  EXPECT_THAT(outcome.err, HasSubstr("skipped " + mixed + "/notes.jpg: "));
  EXPECT_THAT(outcome.err, HasSubstr("skipped " + mixed + "/sub/broken.jpg: "));
  EXPECT_THAT(outcome.err, HasSubstr("classified 3 images"));
  EXPECT_THAT(outcome.err, HasSubstr("skipped 2\n"));
  EXPECT_THAT(outcome.err, Not(HasSubstr("readme")));
  const std::vector<std::vector<std::string>> rows = CsvRows(outcome.out);
  ASSERT_EQ(rows.size(), 1u + 3 * 2);
  EXPECT_EQ(rows[0], (std::vector<std::string>{"path", "rank", "class", "probability"}));
  const std::vector<std::string> order = {mixed + "/a.png", mixed + "/b.png",
                                          mixed + "/sub/c.png"};  // Sorted.
  for (size_t image = 0; image < 3; ++image) {
    double sum = 0;
    double previous = 2;
    for (size_t rank = 0; rank < 2; ++rank) {
      const std::vector<std::string>& row = rows[1 + image * 2 + rank];
      ASSERT_EQ(row.size(), 4u) << outcome.out;
      EXPECT_EQ(row[0], order[image]);
      EXPECT_EQ(row[1], std::to_string(rank + 1));
      EXPECT_THAT((std::vector<std::string>{"cat", "dog", "wild"}), testing::Contains(row[2]));
      const double p = std::stod(row[3]);
      EXPECT_LE(p, previous);
      previous = p;
      sum += p;
    }
    EXPECT_LE(sum, 1.0 + 1e-6);
  }

  // The table: a header and a row per image.
  const Outcome table = RunCommand(Tool(), "--run=" + FolderRun() + " " + mixed + "/a.png " +
                                               mixed + "/sub");
  ASSERT_EQ(table.code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("path"));
  EXPECT_THAT(table.out, HasSubstr("top 3"));
  EXPECT_EQ(CsvRows(table.out).size(), 3u);  // Header, a.png, sub/c.png.
  EXPECT_THAT(table.err, HasSubstr("skipped " + mixed + "/sub/broken.jpg: "));
}

TEST(Classify, TopKAboveTheClassesShowsThemAllAndAModelWithoutARunAgrees) {
  const std::string image = ImageFolder() + "/dog/1.png";
  const Outcome all = RunCommand(Tool(), "--run=" + FolderRun() + " --format=csv --top_k=10 " +
                                             image);
  ASSERT_EQ(all.code, 0) << all.err;
  EXPECT_THAT(all.err, HasSubstr("--top_k=10: the model has 3 classes; showing them all"));
  EXPECT_EQ(CsvRows(all.out).size(), 4u);
  // The same model named by hand: the same probabilities.
  const Outcome by_hand = RunCommand(
      Tool(), "--model=endangered_model4 --weights=" + FolderRun() +
                  "/model.safetensors --classes=cat,dog,wild --image_size=32 --width=0.125 "
                  "--format=csv --top_k=3 " + image);
  ASSERT_EQ(by_hand.code, 0) << by_hand.err;
  EXPECT_EQ(by_hand.out, all.out);
}

TEST(Classify, NothingClassifiedOrBadFlagsIsOneLineAndExitOne) {
  const std::string mixed = MixedFolder();
  const std::string run = "--run=" + FolderRun();
  for (const auto& [flags, message] : std::vector<std::pair<std::string, std::string>>{
           {run + " " + mixed + "/notes.jpg " + mixed + "/sub/broken.jpg " + mixed + "/none.png",
            "no image classified (3 skipped)"},
           {"--run=" + TestTempPath("no_such_run") + " " + mixed, "does not exist"},
           {mixed, "--run=<run folder>, or --model, --weights and --classes"},
           {run, "no images"},
           {run + " --top_k=0 " + mixed, "--top_k=0: must be at least 1"},
           {run + " --format=xml " + mixed, "expected table or csv"},
           {"--model=endangered_model4 --weights=" + FolderRun() +
                "/model.safetensors --classes=cat,dog --image_size=32 --width=0.125 " + mixed,
            "with 2 classes"}}) {
    const Outcome outcome = RunCommand(Tool(), flags);
    EXPECT_EQ(outcome.code, 1) << flags;
    EXPECT_THAT(outcome.err, HasSubstr(message)) << flags << "\n" << outcome.err;
    const std::string error = outcome.err.substr(outcome.err.find("error: "));
    EXPECT_EQ(error.find('\n'), error.size() - 1) << flags << "\n" << outcome.err;
  }
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s <classify binary> <train binary>\n", argv[0]);
    return 2;
  }
  fauna::Tool() = std::filesystem::absolute(argv[1]).string();
  fauna::Trainer() = std::filesystem::absolute(argv[2]).string();
  return RUN_ALL_TESTS();
}
