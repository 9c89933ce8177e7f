// Images listed in a CSV manifest, one `path,label[,split]` row per image, and the writing of such
// a manifest, so that a split can be stored and repeated exactly.
#ifndef FAUNA_DATA_MANIFEST_SOURCE_H_
#define FAUNA_DATA_MANIFEST_SOURCE_H_

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "data/image_source.h"

namespace fauna {

// How a manifest is read.
struct ManifestOptions {
  // Keep only the rows whose split column equals this ("train", "val", "test"); "" keeps every
  // row. A manifest without a split column cannot be filtered.
  std::string split = "";
  // The classes in label order. Empty: the labels of every row (of every split), sorted. Give the
  // list when the manifest may lack a class, so that labels keep their meaning.
  std::vector<std::string> class_names = {};
  // The folder every image must lie in; "" means the folder the manifest's '# root:' line names,
  // else the manifest's folder. Relative paths always resolve against the manifest's folder.
  std::string root = "";
  // Passed to ReadImageRgb: decode at 1/reduce of the size (1, 2, 4 or 8).
  int reduce = 1;
};

// The images of a CSV manifest. Format: one row per image, `path,label` or `path,label,split`
// (every row alike), after an optional header line `path,label[,split]`; the label is a class
// name; fields may be quoted ("a, b.jpg", with "" for a quote); blank lines and lines starting
// with '#' are skipped, a UTF-8 byte order mark and CRLF line ends are accepted. Items keep the
// manifest's order. A `# root: <folder>` line before the rows names the folder the images must lie
// in (relative to the manifest's folder, or absolute), so that a manifest listing absolute paths,
// such as a trainer's split.csv, reads back as it is; ManifestOptions::root overrides it.
//
// Example (data/splits/afhq.csv):
//   path,label,split
//   train/cat/flickr_cat_000002.jpg,cat,train
//   val/wild/pixabay_wild_000012.jpg,wild,val
//
//   ASSIGN_OR_RETURN(auto val, ManifestSource::Open("data/splits/afhq.csv", {/*split=*/"val"}));
class ManifestSource : public ImageSource {
 public:
  // Reads the manifest (not the images). InvalidArgument, naming the manifest and line, for a
  // row with the wrong number of fields, an empty path or label, a broken quote, a path outside
  // the root (through "..", or absolute elsewhere), a label not in options.class_names, a split
  // filter on a manifest without a split column or one that keeps no row, or fewer than two
  // classes; NotFound for a missing manifest.
  static absl::StatusOr<std::unique_ptr<ManifestSource>> Open(const std::string& manifest_path,
                                                              const ManifestOptions& options = {});

  const std::vector<std::string>& class_names() const override { return class_names_; }
  int64_t size() const override { return static_cast<int64_t>(paths_.size()); }
  // `index` must be in [0, size()).
  int64_t label(int64_t index) const override { return labels_[index]; }
  // The image's absolute, normalised path.
  std::string describe(int64_t index) const override { return paths_[index]; }
  // ReadImageRgb of the image's file; OutOfRange for an index outside [0, size()).
  absl::StatusOr<cv::Mat> Load(int64_t index) const override;
  // DecodeFile of the image's file: large JPEGs are decoded at reduced size directly.
  absl::StatusOr<cv::Mat> LoadResized(int64_t index, const DecodeOptions& options) const override;

  // The manifest line (1-based) item `index` came from, for messages.
  int64_t line(int64_t index) const { return lines_[index]; }

  // Whether the manifest has a split column (path,label,split).
  bool has_split_column() const { return has_split_column_; }
  // The split column of item `index` ("" without one), so that one opening of a manifest serves
  // all of its splits.
  const std::string& split(int64_t index) const { return splits_[index]; }

 private:
  ManifestSource() = default;

  std::string manifest_path_;
  int reduce_ = 1;
  std::vector<std::string> class_names_;
  std::vector<std::string> paths_;
  std::vector<int64_t> labels_;
  std::vector<int64_t> lines_;
  bool has_split_column_ = false;
  std::vector<std::string> splits_;  // Of each item.
};

// The comment that names the folder a manifest's images lie in: `# root: /data/afhq`.
inline constexpr char kRootComment[] = "root:";

// Writes a `path,label,split` manifest (with that header) of the items `indices[k]` of `source`,
// each row's split being `split_names[k]`, in the order given, atomically. Paths are the items'
// describe() strings made relative to the manifest's folder when the image lies inside it, and
// absolute otherwise; then a `# root: <folder>` line names the deepest folder that holds them all,
// so ManifestSource::Open reads the manifest back as it is. Errors: sizes that differ, an index
// outside the source, an item that is not a file (such as an IDX or synthetic item), a field with
// a line break, an unwritable path.
//
// Example:
//   ASSIGN_OR_RETURN(auto parts, StratifiedSplit(labels, {0.8, 0.1, 0.1}, seed));
//   RETURN_IF_ERROR(WriteManifest("runs/split.csv", *source, parts, {"train", "val", "test"}));
absl::Status WriteManifest(const std::string& path, const ImageSource& source,
                           const std::vector<std::vector<int64_t>>& indices,
                           const std::vector<std::string>& split_names);

}  // namespace fauna

#endif  // FAUNA_DATA_MANIFEST_SOURCE_H_
