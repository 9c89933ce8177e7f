#include "data/class_folder_source.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

namespace fauna {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// A fresh, empty folder under $TEST_TMPDIR for one test.
std::string NewRoot(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  const std::string root = std::string(dir != nullptr ? dir : "/tmp") + "/class_folder/" + name;
  std::filesystem::remove_all(root);
  std::filesystem::create_directories(root);
  return root;
}

// Writes a 4x3 image of one BGR colour.
void WriteImage(const std::string& path, cv::Scalar bgr) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  ASSERT_TRUE(cv::imwrite(path, cv::Mat(3, 4, CV_8UC3, bgr))) << path;
}

void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path) << text;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

TEST(ClassFolderSource, ListsTheKaggleLayoutSorted) {
  const std::string root = NewRoot("kaggle");
  // Written out of order: classes and files come back sorted.
  WriteImage(root + "/rhino/b.png", cv::Scalar(0, 0, 200));
  WriteImage(root + "/rhino/a.PNG", cv::Scalar(0, 0, 200));
  WriteImage(root + "/lion/z.jpg", cv::Scalar(0, 200, 0));
  WriteImage(root + "/amur_leopard/m.bmp", cv::Scalar(200, 0, 0));
  WriteImage(root + "/amur_leopard/c.JPEG", cv::Scalar(200, 0, 0));
  WriteImage(root + "/amur_leopard/w.webp", cv::Scalar(200, 0, 0));
  // Ignored: other extensions, hidden files, a file in the root, deeper folders.
  WriteText(root + "/lion/notes.txt", "not an image");
  WriteText(root + "/lion/.DS_Store", "finder");
  WriteImage(root + "/lion/._z.jpg", cv::Scalar(1, 1, 1));
  WriteText(root + "/README.md", "about");
  WriteImage(root + "/rhino/extra/deeper.png", cv::Scalar(1, 1, 1));
  WriteImage(root + "/.thumbnails/t.png", cv::Scalar(1, 1, 1));

  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root);
  ASSERT_TRUE(source.ok()) << source.status();
  const ClassFolderSource& s = **source;
  EXPECT_THAT(s.class_names(), ElementsAre("amur_leopard", "lion", "rhino"));
  ASSERT_EQ(s.size(), 6);
  std::vector<std::string> described;
  std::vector<int64_t> labels;
  for (int64_t i = 0; i < s.size(); ++i) {
    described.push_back(s.describe(i));
    labels.push_back(s.label(i));
  }
  EXPECT_THAT(described, ElementsAre(root + "/amur_leopard/c.JPEG", root + "/amur_leopard/m.bmp",
                                     root + "/amur_leopard/w.webp", root + "/lion/z.jpg",
                                     root + "/rhino/a.PNG", root + "/rhino/b.png"));
  EXPECT_THAT(labels, ElementsAre(0, 0, 0, 1, 2, 2));
  EXPECT_EQ(s.folder(), root);
}

TEST(ClassFolderSource, LoadsRgbImagesOfTheirClass) {
  const std::string root = NewRoot("load");
  WriteImage(root + "/blue/1.png", cv::Scalar(255, 0, 0));  // BGR order on disk.
  WriteImage(root + "/red/1.png", cv::Scalar(0, 0, 255));
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root + "/");
  ASSERT_TRUE(source.ok()) << source.status();
  for (int64_t i = 0; i < 2; ++i) {
    absl::StatusOr<cv::Mat> rgb = (*source)->Load(i);
    ASSERT_TRUE(rgb.ok()) << rgb.status();
    ASSERT_EQ(rgb->type(), CV_8UC3);
    const cv::Vec3b pixel = rgb->at<cv::Vec3b>(1, 1);
    if ((*source)->class_names()[(*source)->label(i)] == "blue") {
      EXPECT_EQ(pixel, cv::Vec3b(0, 0, 255));
    } else {
      EXPECT_EQ(pixel, cv::Vec3b(255, 0, 0));
    }
  }
  EXPECT_EQ((*source)->describe(0), root + "/blue/1.png");  // The trailing slash is dropped.
}

TEST(ClassFolderSource, ReducedDecodeIsPassedOn) {
  const std::string root = NewRoot("reduce");
  for (const std::string name : {"a", "b"}) {
    std::filesystem::create_directories(root + "/" + name);
    ASSERT_TRUE(cv::imwrite(root + "/" + name + "/x.png", cv::Mat(16, 32, CV_8UC3, 7)));
  }
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source =
      ClassFolderSource::Open(root, {/*split=*/"", /*reduce=*/4});
  ASSERT_TRUE(source.ok()) << source.status();
  absl::StatusOr<cv::Mat> rgb = (*source)->Load(1);
  ASSERT_TRUE(rgb.ok()) << rgb.status();
  EXPECT_EQ(rgb->size(), cv::Size(8, 4));
  EXPECT_EQ(ClassFolderSource::Open(root, {"", 3}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(ClassFolderSource, ReadsTheAfhqLayoutBySplit) {
  const std::string root = NewRoot("afhq");
  WriteImage(root + "/train/cat/c1.jpg", cv::Scalar(1, 2, 3));
  WriteImage(root + "/train/cat/c2.jpg", cv::Scalar(1, 2, 3));
  WriteImage(root + "/train/dog/d1.jpg", cv::Scalar(1, 2, 3));
  WriteImage(root + "/train/wild/w1.jpg", cv::Scalar(1, 2, 3));
  WriteImage(root + "/val/cat/c9.jpg", cv::Scalar(1, 2, 3));
  WriteImage(root + "/val/dog/d9.jpg", cv::Scalar(1, 2, 3));
  WriteImage(root + "/val/wild/w9.jpg", cv::Scalar(1, 2, 3));

  absl::StatusOr<std::unique_ptr<ClassFolderSource>> train =
      ClassFolderSource::Open(root, {/*split=*/"train"});
  ASSERT_TRUE(train.ok()) << train.status();
  EXPECT_THAT((*train)->class_names(), ElementsAre("cat", "dog", "wild"));
  EXPECT_EQ((*train)->size(), 4);
  EXPECT_EQ((*train)->describe(3), root + "/train/wild/w1.jpg");
  EXPECT_EQ((*train)->folder(), root + "/train");

  absl::StatusOr<std::unique_ptr<ClassFolderSource>> val =
      ClassFolderSource::Open(root, {/*split=*/"val"});
  ASSERT_TRUE(val.ok()) << val.status();
  EXPECT_THAT((*val)->class_names(), ElementsAre("cat", "dog", "wild"));
  EXPECT_EQ((*val)->size(), 3);
  EXPECT_EQ((*val)->label(2), 2);

  // Without a split, train/ and val/ look like classes without images: the error says what to do.
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> whole = ClassFolderSource::Open(root);
  EXPECT_EQ(whole.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(whole.status()), HasSubstr(root + "/train: class folder has no images"));
  EXPECT_THAT(Message(whole.status()), HasSubstr("choose a split"));

  absl::StatusOr<std::unique_ptr<ClassFolderSource>> test =
      ClassFolderSource::Open(root, {/*split=*/"test"});
  EXPECT_EQ(test.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(test.status()), HasSubstr(root + "/test: no such split folder"));
}

TEST(ClassFolderSource, SplitMustBeOneFolderName) {
  const std::string root = NewRoot("bad_split");
  for (const std::string split : {"..", ".", "train/cat", "../other"}) {
    absl::StatusOr<std::unique_ptr<ClassFolderSource>> source =
        ClassFolderSource::Open(root, {split});
    EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument) << split;
    EXPECT_THAT(Message(source.status()), HasSubstr("split must be the name of a subfolder"));
  }
}

TEST(ClassFolderSource, MissingRootIsNotFound) {
  const std::string root = NewRoot("missing") + "/nowhere";
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(source.status()), HasSubstr(root + ": no such dataset folder"));
}

TEST(ClassFolderSource, RootThatIsAFileIsAnError) {
  const std::string file = NewRoot("file") + "/data.zip";
  WriteText(file, "PK");
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(file);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(source.status()), HasSubstr("data.zip: dataset folder is not a folder"));
}

TEST(ClassFolderSource, RootWithoutClassFoldersIsAnError) {
  const std::string empty = NewRoot("empty");
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(empty);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(source.status()), HasSubstr(empty + ": no class folders"));

  const std::string flat = NewRoot("flat");
  WriteImage(flat + "/cat1.png", cv::Scalar(1, 1, 1));
  WriteImage(flat + "/dog1.png", cv::Scalar(1, 1, 1));
  source = ClassFolderSource::Open(flat);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(source.status()), HasSubstr("the images directly in it have no class"));
}

TEST(ClassFolderSource, SingleClassIsAnError) {
  const std::string root = NewRoot("single");
  WriteImage(root + "/cat/1.png", cv::Scalar(1, 1, 1));
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(source.status()), HasSubstr("only one class folder (cat)"));
}

TEST(ClassFolderSource, ClassFolderWithoutImagesIsAnError) {
  const std::string root = NewRoot("no_images");
  WriteImage(root + "/cat/1.png", cv::Scalar(1, 1, 1));
  WriteText(root + "/dog/list.txt", "dog1.jpg");  // Files, but no images.
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root);
  EXPECT_EQ(source.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(source.status()), HasSubstr(root + "/dog: class folder has no images"));

  std::filesystem::remove(root + "/dog/list.txt");  // Now quite empty.
  source = ClassFolderSource::Open(root);
  EXPECT_THAT(Message(source.status()), HasSubstr(root + "/dog: class folder has no images"));
}

TEST(ClassFolderSource, BadImageFailsOnLoadNamingTheFile) {
  const std::string root = NewRoot("bad_image");
  WriteImage(root + "/cat/1.png", cv::Scalar(1, 1, 1));
  WriteText(root + "/dog/1.jpg", "not a jpeg");
  WriteText(root + "/dog/2.jpg", "");
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root);
  ASSERT_TRUE(source.ok()) << source.status();  // Listing does not read the images.
  ASSERT_EQ((*source)->size(), 3);
  EXPECT_TRUE((*source)->Load(0).ok());
  EXPECT_THAT(Message((*source)->Load(1).status()),
              HasSubstr(root + "/dog/1.jpg: not a readable image"));
  EXPECT_THAT(Message((*source)->Load(2).status()), HasSubstr(root + "/dog/2.jpg: empty file"));
  // A file removed after listing.
  std::filesystem::remove(root + "/cat/1.png");
  EXPECT_EQ((*source)->Load(0).status().code(), absl::StatusCode::kNotFound);
}

TEST(ClassFolderSource, IndexOutsideTheDatasetIsOutOfRange) {
  const std::string root = NewRoot("range");
  WriteImage(root + "/a/1.png", cv::Scalar(1, 1, 1));
  WriteImage(root + "/b/1.png", cv::Scalar(1, 1, 1));
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_EQ((*source)->Load(2).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*source)->Load(-1).status().code(), absl::StatusCode::kOutOfRange);
}

TEST(ClassFolderSource, SymlinkedClassFoldersAndFilesAreFollowed) {
  const std::string root = NewRoot("links");
  const std::string elsewhere = NewRoot("links_target");
  WriteImage(elsewhere + "/dogs/1.png", cv::Scalar(1, 1, 1));
  WriteImage(elsewhere + "/cat.png", cv::Scalar(1, 1, 1));
  std::filesystem::create_directory_symlink(elsewhere + "/dogs", root + "/dog");
  std::filesystem::create_directories(root + "/cat");
  std::filesystem::create_symlink(elsewhere + "/cat.png", root + "/cat/1.png");
  absl::StatusOr<std::unique_ptr<ClassFolderSource>> source = ClassFolderSource::Open(root);
  ASSERT_TRUE(source.ok()) << source.status();
  EXPECT_THAT((*source)->class_names(), ElementsAre("cat", "dog"));
  EXPECT_EQ((*source)->size(), 2);
  EXPECT_TRUE((*source)->Load(1).ok());
}

}  // namespace
}  // namespace fauna
