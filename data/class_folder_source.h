// Images sorted into one folder per class: the Kaggle layout root/<class>/<image> and the AFHQ
// layout root/{train,val}/<class>/<image>.
#ifndef FAUNA_DATA_CLASS_FOLDER_SOURCE_H_
#define FAUNA_DATA_CLASS_FOLDER_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "absl/status/statusor.h"
#include "data/image_source.h"

namespace fauna {

// How a class folder dataset is read.
struct ClassFolderOptions {
  // "" for root/<class>/<image>; a subfolder name such as "train" or "val" for
  // root/<split>/<class>/<image> (AFHQ).
  std::string split = "";
  // Passed to ReadImageRgb: decode at 1/reduce of the size (1, 2, 4 or 8).
  int reduce = 1;
};

// The images of root[/split]/<class>/. Class names are the class folders' names, sorted; items are
// ordered by class, then by file name (byte order), so the same folders always give the same
// indices. Only files with an image extension (.jpg .jpeg .png .bmp .webp, any case) are listed;
// other files, hidden entries (names starting with '.') and deeper folders are ignored.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<ClassFolderSource> train,
//                    ClassFolderSource::Open("afhq", {/*split=*/"train"}));
//   ASSIGN_OR_RETURN(cv::Mat rgb, train->Load(0));  // The first cat.
class ClassFolderSource : public ImageSource {
 public:
  // Lists the dataset. Errors: a missing root or split folder (NotFound); a root that is not a
  // folder, has no class folders, or only one; a class folder with no images (InvalidArgument).
  static absl::StatusOr<std::unique_ptr<ClassFolderSource>> Open(
      const std::string& root, const ClassFolderOptions& options = {});

  const std::vector<std::string>& class_names() const override { return class_names_; }
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  // `index` must be in [0, size()).
  int64_t label(int64_t index) const override { return labels_[index]; }
  // The image's path.
  std::string describe(int64_t index) const override { return paths_[index]; }
  // ReadImageRgb of the image's file; OutOfRange for an index outside [0, size()).
  absl::StatusOr<cv::Mat> Load(int64_t index) const override;
  // DecodeFile of the image's file: large JPEGs are decoded at reduced size directly.
  absl::StatusOr<cv::Mat> LoadResized(int64_t index, const DecodeOptions& options) const override;

  // The folder the class folders are in: root, or root/split.
  const std::string& folder() const { return folder_; }

 private:
  ClassFolderSource() = default;

  std::string folder_;
  int reduce_ = 1;
  std::vector<std::string> class_names_;
  std::vector<std::string> paths_;
  std::vector<int64_t> labels_;
};

}  // namespace fauna

#endif  // FAUNA_DATA_CLASS_FOLDER_SOURCE_H_
