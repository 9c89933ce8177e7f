#include "data/manifest_source.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include "data/class_folder_source.h"

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string NewRoot(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string root = std::string(dir != nullptr ? dir : "/tmp") + "/manifest/" + name;
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  return root;
}

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteImage(const std::string& path, int value) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_TRUE(cv::imwrite(path, cv::Mat(3, 4, CV_8UC3, cv::Scalar(value, value, value))));
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

// Opens `text` written as root/manifest.csv; returns the error message ("" when it opens).
std::string OpenError(const std::string& root, const std::string& text,
                      const ManifestOptions& options = {}) {
  WriteText(root + "/manifest.csv", text);
  absl::StatusOr<std::unique_ptr<ManifestSource>> source =
      ManifestSource::Open(root + "/manifest.csv", options);
  if (source.ok()) return "";
  EXPECT_NE(source.status().code(), absl::StatusCode::kInternal) << source.status();
  return Message(source.status());
}

TEST(ManifestSource, ReadsRowsInOrderWithSortedClasses) {
  const std::string root = NewRoot("basic");
  WriteImage(root + "/img/z.png", 10);
  WriteImage(root + "/img/a.png", 20);
  WriteImage(root + "/img/sub/m.png", 30);
  WriteText(root + "/manifest.csv",
            "path,label\n"
            "img/z.png,tiger\n"
            "img/a.png,lion\n"
            "./img/sub/../sub/m.png,tiger\n");
  absl::StatusOr<std::unique_ptr<ManifestSource>> source =
      ManifestSource::Open(root + "/manifest.csv");
  ASSERT_TRUE(source.ok()) << source.status();
  const ManifestSource& s = **source;
  EXPECT_THAT(s.class_names(), ElementsAre("lion", "tiger"));
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.label(0), 1);
  EXPECT_EQ(s.label(1), 0);
  EXPECT_EQ(s.label(2), 1);
  EXPECT_EQ(s.describe(0), root + "/img/z.png");
  EXPECT_EQ(s.describe(2), root + "/img/sub/m.png");  // Normalised.
  EXPECT_EQ(s.line(2), 4);
  absl::StatusOr<cv::Mat> rgb = s.Load(1);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_EQ(rgb->type(), CV_8UC3);
  EXPECT_EQ(rgb->at<cv::Vec3b>(0, 0), cv::Vec3b(20, 20, 20));
  EXPECT_EQ(s.Load(3).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(s.Load(-1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(ManifestSource, FiltersBySplitKeepingEveryClass) {
  const std::string root = NewRoot("split");
  // No header; three columns. The val rows lack "wolf", whose label still keeps its index.
  WriteText(root + "/m.csv",
            "a.jpg,fox,train\n"
            "b.jpg,wolf,train\n"
            "c.jpg,fox,val\n"
            "d.jpg,cat,val\n"
            "e.jpg,cat,train\n");
  absl::StatusOr<std::unique_ptr<ManifestSource>> val =
      ManifestSource::Open(root + "/m.csv", {/*split=*/"val"});
  ASSERT_TRUE(val.ok()) << val.status();
  EXPECT_THAT((*val)->class_names(), ElementsAre("cat", "fox", "wolf"));
  ASSERT_EQ((*val)->size(), 2);
  EXPECT_EQ((*val)->describe(0), root + "/c.jpg");
  EXPECT_EQ((*val)->label(0), 1);
  EXPECT_EQ((*val)->label(1), 0);
  absl::StatusOr<std::unique_ptr<ManifestSource>> train =
      ManifestSource::Open(root + "/m.csv", {/*split=*/"train"});
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_EQ((*train)->size(), 3);
  EXPECT_EQ((*train)->label(1), 2);
  absl::StatusOr<std::unique_ptr<ManifestSource>> all = ManifestSource::Open(root + "/m.csv");
  ASSERT_TRUE(all.ok()) << all.status();
  EXPECT_EQ((*all)->size(), 5);
  // A split that no row has: the error lists those present.
  absl::StatusOr<std::unique_ptr<ManifestSource>> test =
      ManifestSource::Open(root + "/m.csv", {/*split=*/"test"});
  EXPECT_EQ(test.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(test.status()), HasSubstr("no rows of split 'test' (splits present: train, "
                                                "val)"));
}

TEST(ManifestSource, GivenClassListSetsTheLabelOrder) {
  const std::string root = NewRoot("classes");
  const std::string text = "path,label,split\nx.png,dog,train\ny.png,cat,train\n";
  WriteText(root + "/m.csv", text);
  ManifestOptions options;
  options.class_names = {"dog", "wild", "cat"};
  absl::StatusOr<std::unique_ptr<ManifestSource>> source =
      ManifestSource::Open(root + "/m.csv", options);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_THAT((*source)->class_names(), ElementsAre("dog", "wild", "cat"));
  EXPECT_EQ((*source)->label(0), 0);
  EXPECT_EQ((*source)->label(1), 2);

  options.class_names = {"dog", "wild"};
  EXPECT_THAT(OpenError(root, text, options), HasSubstr("manifest.csv:3: label cat is not one of "
                                                        "the classes"));
  options.class_names = {"dog", "cat", "dog"};
  EXPECT_THAT(OpenError(root, text, options), HasSubstr("class dog appears twice"));
  // A class list may name a single class: the manifest may hold part of a dataset.
  options.class_names = {"dog"};
  EXPECT_EQ(OpenError(root, "x.png,dog\n", options), "");
}

TEST(ManifestSource, AcceptsQuotesCrlfByteOrderMarkAndBlankLines) {
  const std::string root = NewRoot("csv");
  WriteText(root + "/m.csv",
            "\xEF\xBB\xBFPath,Label\r\n"
            "\r\n"
            "\"cats, sleeping/1.jpg\",cat\r\n"
            "  spaced.jpg ,  dog  \r\n"
            "\"say \"\"cheese\"\".jpg\" , \"dog\"\r\n"
            "   \r\n");
  absl::StatusOr<std::unique_ptr<ManifestSource>> source = ManifestSource::Open(root + "/m.csv");
  ASSERT_TRUE(source.ok()) << source.status();
  ASSERT_EQ((*source)->size(), 3);
  EXPECT_EQ((*source)->describe(0), root + "/cats, sleeping/1.jpg");
  EXPECT_EQ((*source)->describe(1), root + "/spaced.jpg");
  EXPECT_EQ((*source)->describe(2), root + "/say \"cheese\".jpg");
  EXPECT_THAT((*source)->class_names(), ElementsAre("cat", "dog"));
  EXPECT_EQ((*source)->line(1), 4);
}

TEST(ManifestSource, MalformedRowsNameTheLine) {
  const std::string root = NewRoot("malformed");
  EXPECT_THAT(OpenError(root, "path,label\na.jpg,cat\nb.jpg\n"),
              HasSubstr("manifest.csv:3: expected 2 fields (path,label), got 1"));
  EXPECT_THAT(OpenError(root, "a.jpg,cat,train\nb.jpg,dog\n"),
              HasSubstr("manifest.csv:2: expected 3 fields (path,label,split), got 2"));
  EXPECT_THAT(OpenError(root, "a.jpg,cat,train,extra\n"),
              HasSubstr("manifest.csv:1: expected path,label or path,label,split, got 4 fields"));
  EXPECT_THAT(OpenError(root, "just_a_path.jpg\n"),
              HasSubstr("manifest.csv:1: expected path,label or path,label,split, got 1 fields"));
  EXPECT_THAT(OpenError(root, "a.jpg,cat\n\n,dog\n"), HasSubstr("manifest.csv:3: empty path"));
  EXPECT_THAT(OpenError(root, "a.jpg,cat\n\"\",dog\n"), HasSubstr("manifest.csv:2: empty path"));
  EXPECT_THAT(OpenError(root, "a.jpg,cat\nb.jpg, \n"), HasSubstr("manifest.csv:2: empty label"));
  EXPECT_THAT(OpenError(root, "a.jpg,cat\n\"b.jpg,dog\n"),
              HasSubstr("manifest.csv:2: unterminated quote"));
  EXPECT_THAT(OpenError(root, "\"a.jpg\"x,cat\n"),
              HasSubstr("manifest.csv:1: text after a closing quote"));
  EXPECT_THAT(OpenError(root, "a\"b.jpg,cat\n"),
              HasSubstr("manifest.csv:1: quote inside an unquoted field"));
  EXPECT_THAT(OpenError(root, "path,label,fold\na.jpg,cat,1\n"),
              HasSubstr("manifest.csv:1: the header must be path,label or path,label,split"));
}

TEST(ManifestSource, EmptyOrHeaderOnlyManifestIsAnError) {
  const std::string root = NewRoot("empty");
  EXPECT_THAT(OpenError(root, ""), HasSubstr("manifest.csv: no rows"));
  EXPECT_THAT(OpenError(root, "path,label,split\n\n"), HasSubstr("manifest.csv: no rows"));
}

TEST(ManifestSource, SingleClassIsAnError) {
  const std::string root = NewRoot("single");
  EXPECT_THAT(OpenError(root, "a.jpg,cat\nb.jpg,cat\n"), HasSubstr("only one class (cat)"));
}

TEST(ManifestSource, SplitFilterWithoutSplitColumnIsAnError) {
  const std::string root = NewRoot("no_split_column");
  EXPECT_THAT(OpenError(root, "a.jpg,cat\nb.jpg,dog\n", {/*split=*/"train"}),
              HasSubstr("no split column to select split 'train' by"));
}

TEST(ManifestSource, PathsEscapingTheRootAreRejected) {
  const std::string root = NewRoot("escape");
  EXPECT_THAT(OpenError(root, "a.jpg,cat\n../outside.jpg,dog\n"),
              HasSubstr("manifest.csv:2: path ../outside.jpg is outside the dataset folder " +
                        root));
  EXPECT_THAT(OpenError(root, "a.jpg,cat\nimg/../../x/b.jpg,dog\n"),
              HasSubstr("manifest.csv:2: path img/../../x/b.jpg is outside"));
  EXPECT_THAT(OpenError(root, "a.jpg,cat\n/etc/passwd,dog\n"),
              HasSubstr("manifest.csv:2: path /etc/passwd is outside"));
  EXPECT_THAT(OpenError(root, "a.jpg,cat\n.,dog\n"),
              HasSubstr("manifest.csv:2: path . is outside"));
  // A sibling folder whose name starts like the root's is outside too.
  EXPECT_THAT(OpenError(root, "a.jpg,cat\n../escape_twin/b.jpg,dog\n"), HasSubstr("is outside"));
  // An absolute path inside the root is fine.
  EXPECT_EQ(OpenError(root, "a.jpg,cat\n" + root + "/sub/b.jpg,dog\n"), "");
}

TEST(ManifestSource, GivenRootAllowsPathsAboveTheManifest) {
  const std::string dataset = NewRoot("dataset");
  const std::string manifest = dataset + "/splits/m.csv";
  WriteText(manifest, "../train/a.jpg,cat\n" + dataset + "/val/b.jpg,dog\n");
  // By default the manifest's folder (splits/) is the root: ../train escapes it.
  absl::StatusOr<std::unique_ptr<ManifestSource>> source = ManifestSource::Open(manifest);
  EXPECT_THAT(Message(source.status()),
              HasSubstr("(the manifest's folder; give the folder the images lie in with "
                        "--data_root, or as a '# root: <folder>' line at the top of the manifest)"));
  ManifestOptions options;
  options.root = dataset + "/";
  source = ManifestSource::Open(manifest, options);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->describe(0), dataset + "/train/a.jpg");
  EXPECT_EQ((*source)->describe(1), dataset + "/val/b.jpg");
  // Still nothing outside the given root.
  WriteText(manifest, "../../elsewhere.jpg,cat\nx.jpg,dog\n");
  source = ManifestSource::Open(manifest, options);
  EXPECT_THAT(Message(source.status()), HasSubstr("m.csv:1: path ../../elsewhere.jpg is outside "
                                                  "the dataset folder " + dataset));
}

TEST(ManifestSource, MissingManifestAndFolderAreErrors) {
  const std::string root = NewRoot("missing");
  absl::StatusOr<std::unique_ptr<ManifestSource>> source =
      ManifestSource::Open(root + "/nope.csv");
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(source.status()), HasSubstr("nope.csv"));
  source = ManifestSource::Open(root);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(source.status()), HasSubstr("is a folder, not a manifest file"));
  WriteText(root + "/m.csv", "a.png,x\nb.png,y\n");
  source = ManifestSource::Open(root + "/m.csv", {"", {}, "", /*reduce=*/5});
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(ManifestSource, MissingOrBadImageFailsOnLoadNamingIt) {
  const std::string root = NewRoot("bad_image");
  WriteText(root + "/broken.jpg", "not an image");
  WriteText(root + "/m.csv", "gone.jpg,cat\nbroken.jpg,dog\n");
  absl::StatusOr<std::unique_ptr<ManifestSource>> source = ManifestSource::Open(root + "/m.csv");
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->Load(0).status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message((*source)->Load(0).status()), HasSubstr(root + "/gone.jpg"));
  EXPECT_THAT(Message((*source)->Load(1).status()),
              HasSubstr(root + "/broken.jpg: not a readable image"));
}

// A class folder dataset with 3 classes of 4 images.
std::unique_ptr<ClassFolderSource> MakeDataset(const std::string& root) {
  for (const std::string name : {"cat", "dog", "wild"}) {
    for (int i = 0; i < 4; ++i) WriteImage(root + "/" + name + "/" + std::to_string(i) + ".png", i);
  }
  WriteImage(root + "/wild/with, comma.png", 9);
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root);
  EXPECT_TRUE(source.ok()) << source.status();
  return source.ok() ? std::move(*source) : nullptr;
}

TEST(WriteManifest, SplitsAreRepeatedExactly) {
  const std::string root = NewRoot("write_inside");
  std::unique_ptr<ClassFolderSource> dataset = MakeDataset(root);
  ASSERT_NE(dataset, nullptr);
  const std::vector<std::vector<int64_t>> parts = {{12, 0, 5, 9, 1, 4, 8}, {2, 6, 10}, {3, 7, 11}};
  const std::string manifest = root + "/split.csv";
  ASSERT_TRUE(WriteManifest(manifest, *dataset, parts, {"train", "val", "test"}).ok());
  // Inside the dataset: relative paths, so the dataset folder can move.
  const std::string text = ReadText(manifest);
  EXPECT_THAT(text, HasSubstr("path,label,split\n\"wild/with, comma.png\",wild,train\n"
                              "cat/0.png,cat,train\n"));
  const std::vector<std::string> names = {"train", "val", "test"};
  for (size_t k = 0; k < parts.size(); ++k) {
    ManifestOptions options;
    options.split = names[k];
    options.class_names = dataset->class_names();
    absl::StatusOr<std::unique_ptr<ManifestSource>> back = ManifestSource::Open(manifest, options);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_EQ((*back)->size(), static_cast<int64_t>(parts[k].size()));
    for (size_t j = 0; j < parts[k].size(); ++j) {
      EXPECT_EQ((*back)->describe(j), dataset->describe(parts[k][j]));
      EXPECT_EQ((*back)->label(j), dataset->label(parts[k][j]));
    }
  }
}

TEST(WriteManifest, ImagesOutsideTheManifestFolderGetAbsolutePaths) {
  const std::string root = NewRoot("write_outside");
  std::unique_ptr<ClassFolderSource> dataset = MakeDataset(root + "/data");
  ASSERT_NE(dataset, nullptr);
  const std::string manifest = root + "/runs/split.csv";
  std::filesystem::create_directories(root + "/runs");
  ASSERT_TRUE(WriteManifest(manifest, *dataset, {{0, 4}, {8}}, {"train", "val"}).ok());
  EXPECT_THAT(ReadText(manifest), HasSubstr("\n" + root + "/data/cat/0.png,cat,train\n"));
  // The deepest folder holding every image is named at the top, so the manifest reads back
  // without being told where the images are (the trainer's split.csv, re-run as --data=).
  EXPECT_EQ(ReadText(manifest).rfind("# root: " + root + "/data\npath,label,split\n", 0), 0u);
  ManifestOptions options;
  options.split = "train";
  absl::StatusOr<std::unique_ptr<ManifestSource>> back = ManifestSource::Open(manifest, options);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ((*back)->size(), 2);
  EXPECT_EQ((*back)->describe(1), dataset->describe(4));
  EXPECT_TRUE((*back)->has_split_column());
  EXPECT_EQ((*back)->split(0), "train");
  EXPECT_EQ((*back)->split(1), "train");
  // A root given by the caller still wins over the manifest's.
  options.root = root + "/data/dog";
  EXPECT_THAT(Message(ManifestSource::Open(manifest, options).status()),
              HasSubstr("is outside the dataset folder " + root + "/data/dog (the root given"));
}

TEST(ManifestSource, RootLineNamesTheDatasetFolder) {
  const std::string dataset = NewRoot("root_line");
  const std::string manifest = dataset + "/splits/m.csv";
  // Relative to the manifest's folder; comments are skipped anywhere.
  WriteText(manifest, "# root: ..\n# made by hand\npath,label\n../train/a.jpg,cat\n" + dataset +
                          "/val/b.jpg,dog\n# the end\n");
  absl::StatusOr<std::unique_ptr<ManifestSource>> source = ManifestSource::Open(manifest);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->describe(0), dataset + "/train/a.jpg");
  EXPECT_FALSE((*source)->has_split_column());
  EXPECT_EQ((*source)->split(0), "");
  // Still nothing outside the root it names.
  WriteText(manifest, "# root: ..\n../../elsewhere.jpg,cat\nx.jpg,dog\n");
  EXPECT_THAT(Message(ManifestSource::Open(manifest).status()),
              HasSubstr("is outside the dataset folder " + dataset +
                        " (the manifest's '# root:' line"));
  WriteText(manifest, "a.jpg,cat\n# root: ..\nb.jpg,dog\n");
  EXPECT_THAT(Message(ManifestSource::Open(manifest).status()),
              HasSubstr("m.csv:2: a '# root: <folder>' line must come before the rows"));
  WriteText(manifest, "# root:\na.jpg,cat\nb.jpg,dog\n");
  EXPECT_THAT(Message(ManifestSource::Open(manifest).status()),
              HasSubstr("m.csv:1: '# root:' without a folder"));
}

// A source whose items are not files.
class InMemorySource : public ImageSource {
 public:
  const std::vector<std::string>& class_names() const override { return names_; }
  int64_t size() const override { return 2; }
  int64_t label(int64_t index) const override { return index; }
  std::string describe(int64_t index) const override {
    return "idx:train:" + std::to_string(index);
  }
  absl::StatusOr<cv::Mat> Load(int64_t) const override { return cv::Mat(2, 2, CV_8UC3); }

 private:
  std::vector<std::string> names_ = {"a", "b"};
};

TEST(WriteManifest, BadArgumentsAreErrors) {
  const std::string root = NewRoot("write_errors");
  std::unique_ptr<ClassFolderSource> dataset = MakeDataset(root);
  ASSERT_NE(dataset, nullptr);
  const std::string manifest = root + "/m.csv";
  absl::Status status = WriteManifest(manifest, *dataset, {{0}, {1}}, {"train"});
  EXPECT_THAT(Message(status), HasSubstr("2 index lists but 1 split names"));
  status = WriteManifest(manifest, *dataset, {{0, 13}}, {"train"});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  status = WriteManifest(manifest, *dataset, {{-1}}, {"train"});
  EXPECT_EQ(status.code(), absl::StatusCode::kOutOfRange);
  status = WriteManifest(manifest, *dataset, {{0}}, {"tr\nain"});
  EXPECT_THAT(Message(status), HasSubstr("line break"));
  status = WriteManifest(manifest, InMemorySource(), {{0, 1}}, {"train"});
  EXPECT_THAT(Message(status), HasSubstr("item 0 (idx:train:0) is not an image file"));
  status = WriteManifest(root + "/no_such_folder/m.csv", *dataset, {{0}}, {"train"});
  EXPECT_FALSE(status.ok());
  EXPECT_FALSE(std::filesystem::exists(manifest));  // Nothing half-written by the failures.
}

}  // namespace
}  // namespace fauna
