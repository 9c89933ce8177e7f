// Runs //tools:export_synthetic (its path is the first argument) and reads what it wrote back with
// the class folder source: same classes, same labels, and for PNG the very same pixels.
#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>

#include "data/class_folder_source.h"
#include "data/synthetic_source.h"

namespace fauna {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string& Tool() {
  static std::string* const tool = new std::string();
  return *tool;
}

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/export_synthetic/" + name;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Runs the tool with `flags`; returns its exit code and leaves its stderr in `*err`.
int RunTool(const std::string& flags, std::string* err) {
  std::filesystem::create_directories(TempPath(""));
  const std::string err_path = TempPath("stderr.txt");
  const int status =
      std::system((Tool() + " " + flags + " >/dev/null 2>" + err_path).c_str());
  *err = ReadText(err_path);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// The index the tool wrote into a file name: <out>/<class>/<index>.<format>.
int64_t IndexOf(const std::string& path) {
  return std::stoll(std::filesystem::path(path).stem().string());
}

TEST(ExportSynthetic, PngExportReadsBackAsTheSameDataset) {
  const std::string out = TempPath("png");
  std::filesystem::remove_all(out);
  std::string err;
  ASSERT_EQ(RunTool("--out=" + out + " --classes=7 --count=15 --size=32 --seed=4 "
                    "--difficulty=0.3 --format=png --threads=2",
                    &err),
            0)
      << err;
  SyntheticOptions options;
  options.num_classes = 7;
  options.count = 15;
  options.image_size = 32;
  options.seed = 4;
  options.difficulty = 0.3;
  absl::StatusOr<std::unique_ptr<SyntheticSource>> synthetic = SyntheticSource::Open(options);
  ASSERT_TRUE(synthetic.ok()) << synthetic.status();
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> folders = ClassFolderSource::Open(out);
  ASSERT_TRUE(folders.ok()) << folders.status();

  EXPECT_EQ((*folders)->class_names(), (*synthetic)->class_names());
  ASSERT_EQ((*folders)->size(), 15);
  std::vector<bool> seen(15, false);
  for (int64_t i = 0; i < (*folders)->size(); ++i) {
    const int64_t index = IndexOf((*folders)->describe(i));
    ASSERT_GE(index, 0);
    ASSERT_LT(index, 15);
    seen[index] = true;
    EXPECT_EQ((*folders)->label(i), (*synthetic)->label(index)) << (*folders)->describe(i);
    absl::StatusOr<cv::Mat> read = (*folders)->Load(i);
    absl::StatusOr<cv::Mat> drawn = (*synthetic)->Load(index);
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_TRUE(drawn.ok()) << drawn.status();
    EXPECT_EQ(cv::norm(*read, *drawn, cv::NORM_INF), 0) << (*folders)->describe(i);
  }
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 15);
  EXPECT_EQ(IndexOf(out + "/cat/000007.png"), 7);  // Zero-padded names sort like indices.
  EXPECT_TRUE(std::filesystem::exists(out + "/cat/000007.png"));
}

TEST(ExportSynthetic, JpegExportIsCloseToTheDrawnImages) {
  const std::string out = TempPath("jpg");
  std::filesystem::remove_all(out);
  std::string err;
  ASSERT_EQ(RunTool("--out=" + out + " --classes=3 --count=6 --size=48 --format=jpg", &err), 0)
      << err;
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> folders = ClassFolderSource::Open(out);
  ASSERT_TRUE(folders.ok()) << folders.status();
  ASSERT_EQ((*folders)->size(), 6);
  absl::StatusOr<std::unique_ptr<SyntheticSource>> synthetic =
      SyntheticSource::Open({/*num_classes=*/3, /*count=*/6, /*image_size=*/48});
  ASSERT_TRUE(synthetic.ok()) << synthetic.status();
  for (int64_t i = 0; i < 6; ++i) {
    EXPECT_EQ(std::filesystem::path((*folders)->describe(i)).extension(), ".jpg");
    absl::StatusOr<cv::Mat> read = (*folders)->Load(i);
    absl::StatusOr<cv::Mat> drawn = (*synthetic)->Load(IndexOf((*folders)->describe(i)));
    ASSERT_TRUE(read.ok()) << read.status();
    ASSERT_TRUE(drawn.ok()) << drawn.status();
    EXPECT_LT(cv::norm(*read, *drawn, cv::NORM_L1) / read->total() / 3, 8.0);
  }
}

TEST(ExportSynthetic, BadFlagsGiveOneErrorLine) {
  const std::string out = TempPath("bad");
  std::filesystem::create_directories(TempPath(""));
  std::ofstream(TempPath("a_file")) << "x";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"--out=" + out + " --classes=5", "3, 7 or 11 classes, not 5"},
      {"--out=" + out + " --count=0", "count of at least 1"},
      {"--out=" + out + " --size=8", "16 to 2048 pixels, not 8"},
      {"--out=" + out + " --difficulty=2", "difficulty must be in [0, 1]"},
      {"--out=" + out + " --format=gif", "--format must be png or jpg, not gif"},
      {"--classes=3", "--out is required"},
      {"--out=" + TempPath("a_file") + "/sub --count=3", "cannot create"},
  };
  for (const auto& [flags, message] : cases) {
    std::string err;
    EXPECT_EQ(RunTool(flags, &err), 1) << flags;
    EXPECT_THAT(err, StartsWith("error: ")) << flags;
    EXPECT_THAT(err, HasSubstr(message)) << flags;
    EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  }
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (argc != 2) {
    std::fprintf(stderr, "usage: export_synthetic_test <path of export_synthetic>\n");
    return 2;
  }
  fauna::Tool() = argv[1];
  return RUN_ALL_TESTS();
}
