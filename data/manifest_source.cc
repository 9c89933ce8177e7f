#include "data/manifest_source.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include "core/atomic_file.h"
#include "core/status.h"
#include "data/decode.h"
#include "data/image_file.h"

namespace fauna {
namespace {

namespace fs = std::filesystem;

std::string Trim(const std::string& s) {
  const size_t begin = s.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  const size_t end = s.find_last_not_of(" \t");
  return s.substr(begin, end - begin + 1);
}

std::string Lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// Splits one CSV line into fields: unquoted fields are trimmed of spaces and tabs; a quoted field
// is kept as is, with "" standing for one quote.
absl::StatusOr<std::vector<std::string>> ParseCsvLine(const std::string& line) {
  std::vector<std::string> fields;
  size_t p = 0;
  while (true) {
    while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
    std::string field;
    if (p < line.size() && line[p] == '"') {
      ++p;
      bool closed = false;
      while (p < line.size()) {
        if (line[p] == '"') {
          if (p + 1 < line.size() && line[p + 1] == '"') {
            field += '"';
            p += 2;
          } else {
            ++p;
            closed = true;
            break;
          }
        } else {
          field += line[p++];
        }
      }
      if (!closed) return absl::InvalidArgumentError("unterminated quote");
      while (p < line.size() && (line[p] == ' ' || line[p] == '\t')) ++p;
      if (p < line.size() && line[p] != ',') {
        return absl::InvalidArgumentError("text after a closing quote");
      }
    } else {
      const size_t comma = line.find(',', p);
      field = Trim(line.substr(p, comma == std::string::npos ? std::string::npos : comma - p));
      if (field.find('"') != std::string::npos) {
        return absl::InvalidArgumentError("quote inside an unquoted field (quote the whole field)");
      }
      p = comma == std::string::npos ? line.size() : comma;
    }
    fields.push_back(std::move(field));
    if (p >= line.size()) break;
    ++p;  // The comma.
  }
  return fields;
}

std::string CsvField(const std::string& field) {
  const bool needs_quotes = field.find_first_of(",\"") != std::string::npos ||
                            (!field.empty() && (field.front() == ' ' || field.front() == '\t' ||
                                                field.back() == ' ' || field.back() == '\t'));
  if (!needs_quotes) return field;
  std::string quoted = "\"";
  for (char c : field) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

// True when `path` (absolute, normal) is `folder` (absolute, normal) or lies inside it.
bool IsInside(const fs::path& path, const fs::path& folder) {
  const fs::path relative = path.lexically_relative(folder);
  if (relative.empty()) return false;
  const std::string first = relative.begin()->string();
  return first != "..";
}

fs::path AbsoluteNormal(const fs::path& path) {
  std::error_code error;
  fs::path absolute = fs::absolute(path, error);
  if (error) absolute = path;
  absolute = absolute.lexically_normal();
  // "a/b/" normalises to "a/b/" (an empty last element); drop it so folders compare alike.
  if (!absolute.has_filename() && absolute.has_parent_path() && absolute != absolute.root_path()) {
    absolute = absolute.parent_path();
  }
  return absolute;
}

// The deepest folder that holds both `folder` and `file` (absolute, normal paths).
fs::path CommonFolder(const fs::path& folder, const fs::path& file) {
  fs::path common;
  auto a = folder.begin();
  const fs::path parent = file.parent_path();
  for (auto b = parent.begin(); a != folder.end() && b != parent.end() && *a == *b; ++a, ++b) {
    common /= *a;
  }
  return common;
}

struct Row {
  int64_t line;
  std::string path;
  std::string label;
  std::string split;
};

}  // namespace

absl::StatusOr<std::unique_ptr<ManifestSource>> ManifestSource::Open(
    const std::string& manifest_path, const ManifestOptions& options) {
  if (options.reduce != 1 && options.reduce != 2 && options.reduce != 4 && options.reduce != 8) {
    return absl::InvalidArgumentError("reduce must be 1, 2, 4 or 8, not " +
                                      std::to_string(options.reduce));
  }
  std::error_code error;
  if (fs::is_directory(manifest_path, error)) {
    return absl::InvalidArgumentError(manifest_path + ": is a folder, not a manifest file");
  }
  ASSIGN_OR_RETURN(std::string text, ReadFile(manifest_path));
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // UTF-8 byte order mark.

  const fs::path manifest_folder = AbsoluteNormal(fs::path(manifest_path).parent_path());
  fs::path root = options.root.empty() ? manifest_folder : AbsoluteNormal(options.root);
  std::string root_origin = options.root.empty() ? "the manifest's folder" : "the root given";

  std::vector<Row> rows;
  size_t columns = 0;  // 2 or 3, fixed by the header or the first row.
  bool seen_first = false;
  int64_t line_number = 0;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const std::string trimmed = Trim(line);
    if (trimmed.empty()) continue;
    const std::string where = manifest_path + ":" + std::to_string(line_number) + ": ";
    if (trimmed[0] == '#') {
      const std::string comment = Trim(trimmed.substr(1));
      if (comment.compare(0, std::string(kRootComment).size(), kRootComment) != 0) continue;
      if (seen_first) {
        return absl::InvalidArgumentError(where + "a '# " + kRootComment +
                                          " <folder>' line must come before the rows");
      }
      const std::string folder = Trim(comment.substr(std::string(kRootComment).size()));
      if (folder.empty()) return absl::InvalidArgumentError(where + "'# root:' without a folder");
      if (options.root.empty()) {  // A root given by the caller wins.
        const fs::path declared(folder);
        root = AbsoluteNormal(declared.is_absolute() ? declared : manifest_folder / declared);
        root_origin = "the manifest's '# root:' line";
      }
      continue;
    }
    absl::StatusOr<std::vector<std::string>> fields = ParseCsvLine(line);
    if (!fields.ok()) {
      return absl::InvalidArgumentError(where + std::string(fields.status().message()));
    }
    if (!seen_first) {
      seen_first = true;
      const bool is_header = fields->size() >= 2 && Lower((*fields)[0]) == "path" &&
                             Lower((*fields)[1]) == "label";
      if (is_header) {
        if (fields->size() > 3 || (fields->size() == 3 && Lower((*fields)[2]) != "split")) {
          return absl::InvalidArgumentError(where + "the header must be path,label or "
                                            "path,label,split");
        }
        columns = fields->size();
        continue;
      }
    }
    if (columns == 0) {
      if (fields->size() != 2 && fields->size() != 3) {
        return absl::InvalidArgumentError(where + "expected path,label or path,label,split, got " +
                                          std::to_string(fields->size()) + " fields");
      }
      columns = fields->size();
    }
    if (fields->size() != columns) {
      return absl::InvalidArgumentError(where + "expected " + std::to_string(columns) +
                                        " fields (" +
                                        (columns == 2 ? "path,label" : "path,label,split") +
                                        "), got " + std::to_string(fields->size()));
    }
    Row row{line_number, (*fields)[0], (*fields)[1], columns == 3 ? (*fields)[2] : ""};
    if (row.path.empty()) return absl::InvalidArgumentError(where + "empty path");
    if (row.label.empty()) return absl::InvalidArgumentError(where + "empty label");
    const fs::path given(row.path);
    const fs::path resolved =
        AbsoluteNormal(given.is_absolute() ? given : manifest_folder / given);
    if (!IsInside(resolved, root) || resolved == root) {
      return absl::InvalidArgumentError(
          where + "path " + row.path + " is outside the dataset folder " + root.string() + " (" +
          root_origin + "; give the folder the images lie in with --data_root, or as a '# " +
          kRootComment + " <folder>' line at the top of the manifest)");
    }
    row.path = resolved.string();
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return absl::InvalidArgumentError(manifest_path + ": no rows");

  auto source = std::unique_ptr<ManifestSource>(new ManifestSource());
  source->manifest_path_ = manifest_path;
  source->has_split_column_ = columns == 3;
  source->reduce_ = options.reduce;
  std::map<std::string, int64_t> label_of;
  if (options.class_names.empty()) {
    std::set<std::string> labels;
    for (const Row& row : rows) labels.insert(row.label);
    source->class_names_.assign(labels.begin(), labels.end());
    if (labels.size() < 2) {
      return absl::InvalidArgumentError(
          manifest_path + ": only one class (" + *labels.begin() +
          "); a classifier needs two or more (give the class list if the manifest holds part of "
          "a dataset)");
    }
  } else {
    source->class_names_ = options.class_names;
  }
  for (size_t i = 0; i < source->class_names_.size(); ++i) {
    if (!label_of.emplace(source->class_names_[i], static_cast<int64_t>(i)).second) {
      return absl::InvalidArgumentError("class " + source->class_names_[i] +
                                        " appears twice in the class list");
    }
  }

  if (!options.split.empty() && columns != 3) {
    return absl::InvalidArgumentError(manifest_path + ": no split column to select split '" +
                                      options.split + "' by");
  }
  std::set<std::string> splits_present;
  for (const Row& row : rows) {
    const auto found = label_of.find(row.label);
    if (found == label_of.end()) {
      return absl::InvalidArgumentError(manifest_path + ":" + std::to_string(row.line) +
                                        ": label " + row.label + " is not one of the classes");
    }
    splits_present.insert(row.split);
    if (!options.split.empty() && row.split != options.split) continue;
    source->paths_.push_back(row.path);
    source->labels_.push_back(found->second);
    source->lines_.push_back(row.line);
    source->splits_.push_back(row.split);
  }
  if (source->paths_.empty()) {
    std::string present;
    for (const std::string& split : splits_present) {
      present += (present.empty() ? "" : ", ") + (split.empty() ? "(empty)" : split);
    }
    return absl::InvalidArgumentError(manifest_path + ": no rows of split '" + options.split +
                                      "' (splits present: " + present + ")");
  }
  return source;
}

absl::StatusOr<cv::Mat> ManifestSource::Load(int64_t index) const {
  RETURN_IF_ERROR(CheckIndex(index, manifest_path_));
  return ReadImageRgb(paths_[index], reduce_);
}

absl::StatusOr<cv::Mat> ManifestSource::LoadResized(int64_t index, const DecodeOptions& options) const {
  RETURN_IF_ERROR(CheckIndex(index, manifest_path_));
  return DecodeFile(paths_[index], options);
}

absl::Status WriteManifest(const std::string& path, const ImageSource& source,
                           const std::vector<std::vector<int64_t>>& indices,
                           const std::vector<std::string>& split_names) {
  if (indices.size() != split_names.size()) {
    return absl::InvalidArgumentError("WriteManifest: " + std::to_string(indices.size()) +
                                      " index lists but " + std::to_string(split_names.size()) +
                                      " split names");
  }
  const fs::path manifest_folder = AbsoluteNormal(fs::path(path).parent_path());
  const std::vector<std::string>& classes = source.class_names();
  std::string rows;
  std::optional<fs::path> common;  // The deepest folder holding every image outside the manifest's.
  for (size_t k = 0; k < indices.size(); ++k) {
    if (split_names[k].find_first_of("\r\n") != std::string::npos) {
      return absl::InvalidArgumentError("WriteManifest: split name with a line break");
    }
    for (int64_t index : indices[k]) {
      if (index < 0 || index >= source.size()) {
        return absl::OutOfRangeError("WriteManifest: index " + std::to_string(index) +
                                     " outside [0, " + std::to_string(source.size()) + ")");
      }
      const std::string item = source.describe(index);
      std::error_code error;
      if (!fs::is_regular_file(item, error)) {
        return absl::InvalidArgumentError("WriteManifest: item " + std::to_string(index) + " (" +
                                          item + ") is not an image file");
      }
      const int64_t label = source.label(index);
      if (label < 0 || label >= static_cast<int64_t>(classes.size())) {
        return absl::InternalError("WriteManifest: item " + item + " has label " +
                                   std::to_string(label) + " outside its source's " +
                                   std::to_string(classes.size()) + " classes");
      }
      const std::string& name = classes[label];
      if (item.find_first_of("\r\n") != std::string::npos ||
          name.find_first_of("\r\n") != std::string::npos) {
        return absl::InvalidArgumentError("WriteManifest: item " + item + " has a line break");
      }
      const fs::path absolute = AbsoluteNormal(item);
      const bool inside = IsInside(absolute, manifest_folder);
      if (!inside) common = common ? CommonFolder(*common, absolute) : absolute.parent_path();
      const std::string written =
          inside ? absolute.lexically_relative(manifest_folder).string() : absolute.string();
      rows += CsvField(written) + "," + CsvField(name) + "," + CsvField(split_names[k]) + "\n";
    }
  }
  if (common && common->string().find_first_of("\r\n") != std::string::npos) {
    return absl::InvalidArgumentError("WriteManifest: a folder name has a line break");
  }
  const std::string root_line = common ? "# " + std::string(kRootComment) + " " +
                                             common->string() + "\n"
                                       : "";
  return WriteFileAtomically(path, root_line + "path,label,split\n" + rows);
}

}  // namespace fauna
