// The interface every dataset source implements: indexed, labelled images that become 8-bit RGB.
// Sources (class folders, CSV manifests, Fashion-MNIST IDX files, the synthetic set) list their
// items when created and load one image on demand, so the loader can stream datasets larger than
// memory and load items from several threads at once.
#ifndef FAUNA_DATA_IMAGE_SOURCE_H_
#define FAUNA_DATA_IMAGE_SOURCE_H_

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "absl/status/statusor.h"
#include "data/decode.h"

namespace fauna {

// Read-only after construction: Load() may be called from many threads at once.
class ImageSource {
 public:
  virtual ~ImageSource() = default;

  // Class names, in label order (for folders: the folder names, sorted).
  virtual const std::vector<std::string>& class_names() const = 0;

  // Number of items.
  virtual int64_t size() const = 0;

  // Label of item `index` in [0, class_names().size()), known without loading the image.
  virtual int64_t label(int64_t index) const = 0;

  // Where item `index` comes from, for messages and manifests (a file path, or "idx:train:17").
  virtual std::string describe(int64_t index) const = 0;

  // Item `index` as an 8-bit, 3-channel image in RGB order (CV_8UC3), any size. An unreadable,
  // truncated, empty or non-image file is an error naming it, never a crash.
  virtual absl::StatusOr<cv::Mat> Load(int64_t index) const = 0;

  // Item `index` decoded at the size `options` ask for: Load() then ResizeImage(). Sources of
  // files override it with DecodeFile(), which decodes large JPEGs at reduced size directly.
  virtual absl::StatusOr<cv::Mat> LoadResized(int64_t index, const DecodeOptions& options) const {
    absl::StatusOr<cv::Mat> rgb = Load(index);
    if (!rgb.ok()) return rgb.status();
    return ResizeImage(*rgb, options);
  }

 protected:
  // OK for an index in [0, size()); else OutOfRange: "index i outside [0, n) of <what>".
  absl::Status CheckIndex(int64_t index, const std::string& what) const {
    if (index >= 0 && index < size()) return absl::OkStatus();
    return absl::OutOfRangeError("index " + std::to_string(index) + " outside [0, " +
                                 std::to_string(size()) + ") of " + what);
  }
};

}  // namespace fauna

#endif  // FAUNA_DATA_IMAGE_SOURCE_H_
