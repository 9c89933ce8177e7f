// Images and labels in IDX files (LeCun's MNIST format, also Fashion-MNIST's), gzipped or not,
// held in memory.
#ifndef FAUNA_DATA_IDX_SOURCE_H_
#define FAUNA_DATA_IDX_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "absl/status/statusor.h"
#include "data/image_source.h"

namespace fauna {

// Where Debian's dataset-fashion-mnist package installs Fashion-MNIST.
inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// The largest side of an IDX image accepted, in pixels.
inline constexpr int64_t kMaxIdxSide = 4096;
// The most pixel bytes an IDX image file may hold (count x rows x cols).
inline constexpr int64_t kMaxIdxBytes = int64_t{4} << 30;

// Fashion-MNIST's ten class names, in label order: "T-shirt/top", "Trouser", "Pullover", "Dress",
// "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot".
const std::vector<std::string>& FashionMnistClassNames();

// An IDX image file (magic 0x00000803: unsigned bytes, count x rows x cols) with its IDX label file
// (magic 0x00000801: count unsigned bytes), read whole into memory (Fashion-MNIST's training set
// takes 47 MB). Load() returns the gray image as RGB.
class IdxSource : public ImageSource {
 public:
  // Reads both files, each either plain or gzipped (told apart by content). InvalidArgument,
  // naming the file, for a short header, a wrong magic number (a label file given as the image
  // file says so), a side of 0 or over kMaxIdxSide, more than kMaxIdxBytes, a file shorter or
  // longer than its header says, a broken gzip stream, image and label counts that differ, or a
  // label outside [0, class_names.size()); NotFound for a missing file. `name` is used in
  // describe(): "idx:<name>:<index>".
  static absl::StatusOr<std::unique_ptr<IdxSource>> Open(const std::string& images_path,
                                                         const std::string& labels_path,
                                                         std::vector<std::string> class_names,
                                                         const std::string& name);

  const std::vector<std::string>& class_names() const override { return class_names_; }
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  // `index` must be in [0, size()).
  int64_t label(int64_t index) const override { return labels_[index]; }
  // "idx:<name>:<index>", e.g. "idx:train:17".
  std::string describe(int64_t index) const override;
  // The image as rows() x cols() CV_8UC3, the gray value in all three channels; OutOfRange for an
  // index outside [0, size()).
  absl::StatusOr<cv::Mat> Load(int64_t index) const override;

  int rows() const { return rows_; }
  int cols() const { return cols_; }
  // The rows() x cols() gray bytes of image `index` (row-major), for fast batch conversion;
  // `index` must be in [0, size()).
  const uint8_t* pixels(int64_t index) const {
    return pixels_.data() + index * static_cast<int64_t>(rows_) * cols_;
  }

 private:
  IdxSource() = default;

  std::string name_;
  int rows_ = 0;
  int cols_ = 0;
  std::vector<std::string> class_names_;
  std::vector<uint8_t> pixels_;
  std::vector<uint8_t> labels_;
};

// Fashion-MNIST's "train" (60,000 images) or "test" (10,000) split from `dir`, which holds
// {train,t10k}-{images-idx3,labels-idx1}-ubyte, each gzipped (.gz, preferred) or not.
//
// Example:
//   ASSIGN_OR_RETURN(std::unique_ptr<IdxSource> test, OpenFashionMnist(kFashionMnistDir, "test"));
absl::StatusOr<std::unique_ptr<IdxSource>> OpenFashionMnist(
    const std::string& dir = kFashionMnistDir, const std::string& split = "train");

}  // namespace fauna

#endif  // FAUNA_DATA_IDX_SOURCE_H_
