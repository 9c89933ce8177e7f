// Runs //tools:extract_features (its path is the first argument) on runs the trainer (the second
// argument) makes here at the ci scale, and checks what it wrote against the data and the model
// opened in this process: the same items in the same order, the rows the model gives, the head of
// the features giving the run's own test results, and one-line errors for bad input.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <torch/types.h>

#include "core/named_tensors.h"
#include "core/tensor_file.h"
#include "core/test_tmp.h"
#include "data/dataset.h"
#include "data/features_file.h"
#include "data/loader.h"
#include "data/synthetic_source.h"
#include "models/registry.h"
#include "models/state_dict.h"
#include "train/run_folder.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

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

// What a command did.
struct Outcome {
  int code = -1;
  std::string out;
  std::string err;
};

// Runs `binary` with `flags`. OpenMP threads sleep while they wait (OMP_WAIT_POLICY=PASSIVE, unless
// set): spinning ones cost a loaded machine several times their work.
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

// Flags every run here shares: the test's own cache, 2 threads, no progress bars.
const std::string kCommon =
    " --cache_dir=" + TestTempPath("cache") + " --threads=2 --progress=false";

Outcome Extract(const std::string& flags) { return RunCommand(Tool(), flags + kCommon); }

// A tiny vgg16 run (ci scale: 32 px, width 1/8, 2 epochs) with `extra` flags, in its own folder
// `name`.
std::string TrainRun(const std::string& name, const std::string& extra) {
  const std::string run = TestTempPath(name);
  std::filesystem::remove_all(run);
  const Outcome trained =
      RunCommand(Trainer(), "--model=vgg16 --scale=ci --epochs=2 --workers=1 --run_dir=" + run +
                                " " + extra + kCommon);
  EXPECT_EQ(trained.code, 0) << trained.err;
  return run;
}

// The run most tests share, trained once per test process: 240 synthetic images, augmented in
// training (features never are), a seed of its own (the split's, which the tool must reuse).
const std::string& SyntheticRun() {
  static const std::string* const run = new std::string(
      TrainRun("synthetic_run", "--synthetic_count=240 --seed=5 --augment=hflip"));
  return *run;
}

// The features of SyntheticRun(), extracted once per test process with --run.
const std::string& RunFeatures() {
  static const std::string* const out = [] {
    auto* folder = new std::string(TestTempPath("run_features"));
    const Outcome extracted = Extract("--run=" + SyntheticRun() + " --out=" + *folder);
    EXPECT_EQ(extracted.code, 0) << extracted.err;
    EXPECT_THAT(extracted.out, HasSubstr("train: 192 rows x 512 dims, "));
    EXPECT_THAT(extracted.out, HasSubstr("test: 24 rows x 512 dims, "));
    return folder;
  }();
  return *out;
}

FeatureSet Read(const std::string& path) {
  absl::StatusOr<FeatureSet> set = ReadFeatureSet(path);
  EXPECT_TRUE(set.ok()) << set.status();
  return set.ok() ? *set : FeatureSet();
}

// The images of `part` as the loader gives them, stacked: [N, C, H, W].
at::Tensor Images(const DataPart& part) {
  std::vector<at::Tensor> images;
  for (int64_t i = 0; i < part.size; ++i) {
    absl::StatusOr<Example> example = MakeExample(part.image_shape, part.write_example, i, 0);
    EXPECT_TRUE(example.ok()) << example.status();
    images.push_back(example->image);
  }
  return at::stack(images);
}

DatasetOptions WithTestCache(DatasetOptions options) {
  options.cache_dir = TestTempPath("cache");
  options.threads = 2;
  return options;
}

TEST(ExtractFeatures, ARunsFeaturesAreItsModelsOnItsSplitAndItsHeadGivesItsTestResults) {
  const std::string run_path = SyntheticRun();
  const std::string out = RunFeatures();

  absl::StatusOr<RunFolder> run = ReadRunFolder(run_path);
  ASSERT_TRUE(run.ok()) << run.status();
  absl::StatusOr<Dataset> data = OpenDataset(WithTestCache(run->data), "");
  ASSERT_TRUE(data.ok()) << data.status();
  absl::StatusOr<Backbone> model = CreateModel(run->model, run->model_config);
  ASSERT_TRUE(model.ok()) << model.status();
  ASSERT_TRUE(LoadWeights(**model, run->weights).ok());
  (*model)->eval();
  absl::StatusOr<NamedTensors> weights = ReadTensorFile(run->weights);
  ASSERT_TRUE(weights.ok()) << weights.status();
  const at::Tensor head_weight = weights->at("classifier.6.weight");
  const at::Tensor head_bias = weights->at("classifier.6.bias");

  c10::NoGradGuard no_grad;
  for (const auto& [name, part] : std::map<std::string, const DataPart*>{
           {"train", &data->train}, {"val", &data->val}, {"test", &data->test}}) {
    SCOPED_TRACE(name);
    const FeatureSet set = Read(out + "/" + name + ".safetensors");
    ASSERT_EQ(set.size(), part->size);
    EXPECT_EQ(set.dim(), 512);  // fc7 of VGG16 at width 1/8.
    EXPECT_EQ(set.classes, (std::vector<std::string>{"cat", "dog", "wild"}));
    EXPECT_TRUE(at::equal(set.labels, at::tensor(part->labels, at::kLong)));
    EXPECT_TRUE(set.paths.empty());  // Synthetic items are no files.
    EXPECT_EQ(set.model, "vgg16");
    EXPECT_EQ(set.layer, "penultimate");
    EXPECT_GE(set.features.min().item<double>(), 0.0);  // After fc7's ReLU.
    // The features' last Linear is the run's model on the run's images.
    const at::Tensor logits = (*model)->forward(Images(*part));
    const at::Tensor from_features = at::linear(set.features, head_weight, head_bias);
    EXPECT_TRUE(at::allclose(from_features, logits, /*rtol=*/1e-4, /*atol=*/1e-5))
        << (from_features - logits).abs().max().item<double>();
    if (name != "test") continue;
    // ... and so gives the trainer's own test confusion matrix.
    const nlohmann::json results = nlohmann::json::parse(ReadText(run_path + "/results.json"));
    const at::Tensor predicted = from_features.argmax(1);
    std::vector<std::vector<int64_t>> counts(3, std::vector<int64_t>(3, 0));
    for (int64_t i = 0; i < set.size(); ++i) {
      ++counts[set.labels[i].item<int64_t>()][predicted[i].item<int64_t>()];
    }
    EXPECT_EQ(nlohmann::json(counts), results["test_confusion"]["counts"]);
  }
  const nlohmann::json record = nlohmann::json::parse(ReadText(out + "/extraction.json"));
  EXPECT_EQ(record["run"], run_path);
  EXPECT_EQ(record["parts"]["val"]["rows"], 24);
}

TEST(ExtractFeatures, ModelAndInitWeightsGiveTheSameFeaturesAsTheRun) {
  const std::string run = SyntheticRun();
  const std::string by_run = RunFeatures();
  const std::string by_model = TestTempPath("by_model");
  // The scale gives the run's width and image size, --seed and --synthetic_count its data; the
  // weights' 3-class head is not used.
  const Outcome extracted = Extract("--model=vgg16 --scale=ci --synthetic_count=240 --seed=5 "
                                    "--init_weights=" + run + "/model.safetensors --out=" +
                                    by_model + " --batch_size=7 --workers=0");
  ASSERT_EQ(extracted.code, 0) << extracted.err;
  const FeatureSet a = Read(by_run + "/val.safetensors");
  const FeatureSet b = Read(by_model + "/val.safetensors");
  ASSERT_EQ(a.size(), b.size());
  EXPECT_TRUE(at::allclose(a.features, b.features, /*rtol=*/1e-5, /*atol=*/1e-6));
  EXPECT_TRUE(at::equal(a.labels, b.labels));
}

TEST(ExtractFeatures, PixelsAreTheLoadersNormalisedImages) {
  const std::string out = TestTempPath("pixels");
  const Outcome extracted = Extract("--layer=pixels --scale=ci --synthetic_count=120 "
                                    "--normalization=unit --seed=3 --out=" + out);
  ASSERT_EQ(extracted.code, 0) << extracted.err;
  DatasetOptions options;
  options.image_size = 32;
  options.synthetic_count = 120;
  options.normalization = "unit";
  options.seed = 3;
  absl::StatusOr<Dataset> data = OpenDataset(WithTestCache(options), "");
  ASSERT_TRUE(data.ok()) << data.status();
  for (const auto& [name, part] : std::map<std::string, const DataPart*>{
           {"train", &data->train}, {"val", &data->val}, {"test", &data->test}}) {
    SCOPED_TRACE(name);
    const FeatureSet set = Read(out + "/" + name + ".safetensors");
    EXPECT_EQ(set.dim(), 3 * 32 * 32);
    EXPECT_EQ(set.model, "none");
    EXPECT_EQ(set.layer, "pixels");
    EXPECT_TRUE(at::equal(set.labels, at::tensor(part->labels, at::kLong)));
    EXPECT_TRUE(at::equal(set.features, Images(*part).flatten(1)));
    EXPECT_GE(set.features.min().item<double>(), 0.0);  // pixels / 255
    EXPECT_LE(set.features.max().item<double>(), 1.0);
  }
}

TEST(ExtractFeatures, BottleneckIsTheAutoencodersCode) {
  // Randomly initialised weights of the ci scale's autoencoder (width 1/8, 32 px), an 8-wide code.
  ModelConfig config;
  config.width = 0.125;
  config.image_size = 32;
  config.latent_dim = 8;
  absl::StatusOr<Backbone> model = CreateModel("autoencoder", config);
  ASSERT_TRUE(model.ok()) << model.status();
  const std::string weights = TestTempPath("autoencoder.safetensors");
  ASSERT_TRUE(SaveWeights(**model, weights).ok());
  const std::string out = TestTempPath("bottleneck");
  const Outcome extracted =
      Extract("--model=autoencoder --layer=bottleneck --latent_dim=8 --scale=ci "
              "--synthetic_count=120 --init_weights=" + weights + " --out=" + out);
  ASSERT_EQ(extracted.code, 0) << extracted.err;

  DatasetOptions options;
  options.image_size = 32;
  options.synthetic_count = 120;
  absl::StatusOr<Dataset> data = OpenDataset(WithTestCache(options), "");
  ASSERT_TRUE(data.ok()) << data.status();
  (*model)->eval();
  c10::NoGradGuard no_grad;
  const FeatureSet set = Read(out + "/test.safetensors");
  EXPECT_EQ(set.dim(), 8);
  EXPECT_EQ(set.model, "autoencoder");
  EXPECT_EQ(set.layer, "bottleneck");
  const at::Tensor code = (*model)->features(Images(data->test));
  EXPECT_TRUE(at::allclose(set.features, code, /*rtol=*/1e-5, /*atol=*/1e-6))
      << (set.features - code).abs().max().item<double>();
}

// An AFHQ-like tree root/{train,val}/{cat,dog,wild}/<i>.png of `per_split` images each.
void WriteAfhq(const std::string& root, int per_split) {
  absl::StatusOr<std::unique_ptr<SyntheticSource>> source = SyntheticSource::Open(
      {/*num_classes=*/3, /*count=*/per_split * 2, /*image_size=*/32});
  ASSERT_TRUE(source.ok()) << source.status();
  for (int64_t i = 0; i < (*source)->size(); ++i) {
    const std::string folder = root + (i < per_split ? "/train/" : "/val/") +
                               (*source)->class_names()[(*source)->label(i)];
    std::filesystem::create_directories(folder);
    cv::Mat bgr;
    cv::cvtColor(*(*source)->Load(i), bgr, cv::COLOR_RGB2BGR);
    ASSERT_TRUE(cv::imwrite(folder + "/" + std::to_string(i) + ".png", bgr));
  }
}

// The image paths of split.csv's rows of `split`, in order (the root line's folder prefixed).
std::vector<std::string> SplitRows(const std::string& manifest, const std::string& split) {
  std::istringstream lines(ReadText(manifest));
  std::string line;
  std::string root = std::filesystem::path(manifest).parent_path().string();
  std::vector<std::string> paths;
  while (std::getline(lines, line)) {
    if (line.rfind("# root: ", 0) == 0) root = line.substr(8);
    if (line.empty() || line[0] == '#' || line == "path,label,split") continue;
    const size_t comma = line.rfind(',');
    if (line.substr(comma + 1) != split) continue;
    const std::string path = line.substr(0, line.find(','));
    paths.push_back(path[0] == '/' ? path : root + "/" + path);
  }
  return paths;
}

TEST(ExtractFeatures, FileDataKeepsEachRowsPathAndARunKeepsItsSplit) {
  const std::string afhq = TestTempPath("afhq");
  std::filesystem::remove_all(afhq);
  WriteAfhq(afhq, /*per_split=*/30);
  const std::string run = TrainRun("folder_run", "--epochs=1 --data=" + afhq);
  ASSERT_TRUE(std::filesystem::exists(run + "/split.csv"));
  const std::string out = TestTempPath("folder_features");
  const Outcome extracted = Extract("--run=" + run + " --out=" + out);
  ASSERT_EQ(extracted.code, 0) << extracted.err;
  for (const char* name : {"train", "val", "test"}) {
    SCOPED_TRACE(name);
    const FeatureSet set = Read(out + "/" + std::string(name) + ".safetensors");
    std::vector<std::string> expected = SplitRows(run + "/split.csv", name);
    ASSERT_EQ(set.paths.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
      EXPECT_EQ(std::filesystem::weakly_canonical(set.paths[i]),
                std::filesystem::weakly_canonical(expected[i]));
      // Each row's label is its folder's class.
      EXPECT_EQ(std::filesystem::path(set.paths[i]).parent_path().filename(),
                set.classes[set.labels[static_cast<int64_t>(i)].item<int64_t>()]);
    }
  }
  EXPECT_EQ(Read(out + "/test.safetensors").size(), 30);  // AFHQ's val/ is the test part.
  EXPECT_THAT(Read(out + "/test.safetensors").paths[0], HasSubstr("/val/"));

  // Data flags given with --run replace the run's: here the synthetic set, 120 images.
  const Outcome replaced = Extract("--run=" + run + " --data=synthetic --synthetic_count=120 "
                                   "--layer=pixels --out=" + TestTempPath("replaced"));
  ASSERT_EQ(replaced.code, 0) << replaced.err;
  EXPECT_THAT(replaced.out, HasSubstr("train: 96 rows x 3072 dims"));
  EXPECT_TRUE(Read(TestTempPath("replaced/train.safetensors")).paths.empty());
}

TEST(ExtractFeatures, UnreadableImagesAreLeftOutOrWithStrictAnError) {
  const std::string folder = TestTempPath("one_unreadable");
  std::filesystem::remove_all(folder);
  WriteAfhq(folder, /*per_split=*/15);  // 30 images under train/ and val/
  const std::string broken = folder + "/train/cat/broken.png";
  std::ofstream(broken) << "not a png";
  const std::string out = TestTempPath("broken_features");
  const Outcome extracted =
      Extract("--layer=pixels --image_size=32 --split=80/20/0 --data=" + folder + " --out=" + out);
  ASSERT_EQ(extracted.code, 0) << extracted.err;
  EXPECT_THAT(extracted.err, HasSubstr("broken.png"));
  EXPECT_THAT(extracted.err, HasSubstr("1 unreadable images left out"));
  int64_t rows = 0;
  for (const char* name : {"train", "val", "test"}) {
    const FeatureSet set = Read(out + "/" + std::string(name) + ".safetensors");
    rows += set.size();
    ASSERT_EQ(set.paths.size(), static_cast<size_t>(set.size()));
    for (const std::string& path : set.paths) EXPECT_NE(path, broken);
  }
  EXPECT_EQ(rows, 30);

  const Outcome strict = Extract("--layer=pixels --image_size=32 --split=80/20/0 --strict --data=" +
                                 folder + " --out=" + out);
  EXPECT_EQ(strict.code, 1);
  const std::string last_line =
      strict.err.substr(strict.err.rfind('\n', strict.err.size() - 2) + 1);
  EXPECT_THAT(last_line, StartsWith("error: "));
  EXPECT_THAT(last_line, HasSubstr("broken.png"));
}

TEST(ExtractFeatures, BadInputIsOneLineAndExitOne) {
  const std::string run = SyntheticRun();
  const std::string out = " --out=" + TestTempPath("bad");
  const std::string unfinished = TestTempPath("unfinished_run");
  std::filesystem::create_directories(unfinished);
  std::filesystem::copy_file(run + "/config.json", unfinished + "/config.json",
                             std::filesystem::copy_options::overwrite_existing);
  const std::string renamed = TestTempPath("renamed_run");
  std::filesystem::create_directories(renamed);
  std::filesystem::copy_file(run + "/model.safetensors", renamed + "/model.safetensors",
                             std::filesystem::copy_options::overwrite_existing);
  nlohmann::json config = nlohmann::json::parse(ReadText(run + "/config.json"));
  config["data"]["classes"] = {"lion", "tiger", "wolf"};
  std::ofstream(renamed + "/config.json") << config.dump(2);
  const std::string weights = " --init_weights=" + run + "/model.safetensors";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--run=" + run + " --layer=fc7",
       "--layer=fc7: expected penultimate, bottleneck or pixels"},
      {"--run=" + run + " --layer=bottleneck",
       "--layer=bottleneck: vgg16 has no bottleneck layer: it is a classifier"},
      {"--model=autoencoder --scale=ci" + weights + out,
       "--layer=penultimate: autoencoder has no penultimate layer"},
      {"--run=" + unfinished, "has no model.safetensors"},
      {"--run=" + renamed, "now has the classes cat, dog, wild, not the run's lion, tiger, wolf"},
      {"--run=" + TestTempPath("no_such_run"), "does not exist"},
      {"--run=" + run + " --model=vgg16", "--run and --model exclude each other"},
      {"--run=" + run + " --width=0.5", "--width: the run folder"},
      {"--model=vgg16" + out, "--model=vgg16 needs --init_weights"},
      {out.substr(1), "--layer=penultimate needs a network: --run="},
      {"--layer=pixels", "--out=<folder> is required"},
      {"--layer=pixels --model=vgg16" + out, "--layer=pixels uses no network"},
      {"--model=vgg16 --init_weights=" + TestTempPath("none.safetensors") + out,
       "none.safetensors"},
      {"--model=resnet18 --scale=ci" + weights + out,
       "--init_weights do not fit --model=resnet18 at --width=0.125 (the scale's)"},
      {"--model=vgg16 --scale=ci --width=0.25" + weights + out,
       "--init_weights do not fit --model=vgg16 at --width=0.25:"},
      {"--model=alexnet" + weights + out, "unknown model \"alexnet\""},
      {"--layer=pixels --data=" + TestTempPath("no_such_data") + out,
       "not synthetic, fashion_mnist, a folder or a .csv manifest"},
      {"--layer=pixels --split=80/20" + out, "--split=80/20: expected three percentages"},
      {"--run=" + run + " --batch_size=0", "--batch_size=0: must be at least 1"},
      {"--layer=pixels --scale=huge" + out, "--scale=huge"},
  };
  for (const auto& [flags, message] : cases) {
    SCOPED_TRACE(flags);
    const Outcome outcome = Extract(flags);
    EXPECT_EQ(outcome.code, 1);
    EXPECT_THAT(outcome.err, StartsWith("error: "));
    EXPECT_THAT(outcome.err, HasSubstr(message));
    EXPECT_EQ(std::count(outcome.err.begin(), outcome.err.end(), '\n'), 1) << outcome.err;
    EXPECT_EQ(outcome.out, "");
  }
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <extract_features binary> <train binary>\n", argv[0]);
    return 2;
  }
  fauna::Tool() = argv[1];
  fauna::Trainer() = argv[2];
  return RUN_ALL_TESTS();
}
