#include "data/class_folder_source.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "absl/status/status.h"
#include "core/status.h"
#include "data/decode.h"
#include "data/image_file.h"

namespace fauna {
namespace {

namespace fs = std::filesystem;

// The entries of `folder` that are (or link to) folders or files, by name, sorted; hidden entries
// (names starting with '.') left out.
struct Listing {
  std::vector<std::string> folders;
  std::vector<std::string> files;
};

absl::StatusOr<Listing> ListFolder(const std::string& folder) {
  Listing listing;
  std::error_code error;
  fs::directory_iterator it(folder, error);
  for (; !error && it != fs::directory_iterator(); it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') continue;
    std::error_code type_error;
    if (it->is_directory(type_error)) {
      listing.folders.push_back(name);
    } else if (it->is_regular_file(type_error)) {
      listing.files.push_back(name);
    }
  }
  if (error) {
    return absl::InvalidArgumentError(folder + ": cannot list the folder: " + error.message());
  }
  std::sort(listing.folders.begin(), listing.folders.end());
  std::sort(listing.files.begin(), listing.files.end());
  return listing;
}

absl::Status CheckFolder(const std::string& folder, const std::string& what) {
  std::error_code error;
  const fs::file_status status = fs::status(folder, error);
  if (status.type() == fs::file_type::not_found) {
    return absl::NotFoundError(folder + ": no such " + what);
  }
  if (status.type() != fs::file_type::directory) {
    return absl::InvalidArgumentError(folder + ": " + what + " is not a folder");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClassFolderSource>> ClassFolderSource::Open(
    const std::string& root, const ClassFolderOptions& options) {
  if (options.reduce != 1 && options.reduce != 2 && options.reduce != 4 && options.reduce != 8) {
    return absl::InvalidArgumentError("reduce must be 1, 2, 4 or 8, not " +
                                      std::to_string(options.reduce));
  }
  if (options.split == "." || options.split == ".." ||
      options.split.find('/') != std::string::npos) {
    return absl::InvalidArgumentError("split must be the name of a subfolder such as train or "
                                      "val, not '" + options.split + "'");
  }
  RETURN_IF_ERROR(CheckFolder(root, "dataset folder"));
  std::string folder = root;
  while (folder.size() > 1 && folder.back() == '/') folder.pop_back();
  if (!options.split.empty()) {
    folder += "/" + options.split;
    RETURN_IF_ERROR(CheckFolder(folder, "split folder"));
  }

  ASSIGN_OR_RETURN(Listing top, ListFolder(folder));
  if (top.folders.empty()) {
    const bool has_images = std::any_of(top.files.begin(), top.files.end(), HasImageExtension);
    return absl::InvalidArgumentError(
        folder + ": no class folders (expected " + folder + "/<class>/<image>" +
        (has_images ? "; the images directly in it have no class" : "") + ")");
  }
  if (top.folders.size() == 1) {
    return absl::InvalidArgumentError(folder + ": only one class folder (" + top.folders[0] +
                                      "); a classifier needs at least two classes");
  }

  auto source = std::unique_ptr<ClassFolderSource>(new ClassFolderSource());
  source->folder_ = folder;
  source->reduce_ = options.reduce;
  source->class_names_ = top.folders;
  for (size_t label = 0; label < top.folders.size(); ++label) {
    const std::string class_folder = folder + "/" + top.folders[label];
    ASSIGN_OR_RETURN(Listing inside, ListFolder(class_folder));
    int64_t count = 0;
    for (const std::string& file : inside.files) {
      if (!HasImageExtension(file)) continue;
      source->paths_.push_back(class_folder + "/" + file);
      source->labels_.push_back(static_cast<int64_t>(label));
      ++count;
    }
    if (count == 0) {
      std::string hint;
      if (!inside.folders.empty()) {
        hint = options.split.empty()
                   ? "; it holds folders: for the root/{train,val}/<class> layout choose a split"
                   : "; it holds folders, but class folders hold the images themselves";
      }
      return absl::InvalidArgumentError(class_folder +
                                        ": class folder has no images (.jpg .jpeg .png .bmp "
                                        ".webp)" + hint);
    }
  }
  return source;
}

absl::StatusOr<cv::Mat> ClassFolderSource::Load(int64_t index) const {
  RETURN_IF_ERROR(CheckIndex(index, folder_));
  return ReadImageRgb(paths_[index], reduce_);
}

absl::StatusOr<cv::Mat> ClassFolderSource::LoadResized(int64_t index, const DecodeOptions& options) const {
  RETURN_IF_ERROR(CheckIndex(index, folder_));
  return DecodeFile(paths_[index], options);
}

}  // namespace fauna
