#include "data/features_file.h"

#include <cmath>
#include <utility>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "core/safetensors.h"
#include "core/status.h"

namespace fauna {
namespace {

constexpr char kFormatKey[] = "format";
constexpr char kFormatName[] = "fauna.features.v1";

absl::StatusOr<std::vector<std::string>> StringList(const std::map<std::string, std::string>& meta,
                                                    const std::string& key, bool required,
                                                    const std::string& path) {
  auto it = meta.find(key);
  if (it == meta.end()) {
    if (required) return absl::InvalidArgumentError(absl::StrCat(path, ": no \"", key, "\" metadata"));
    return std::vector<std::string>();
  }
  nlohmann::json json = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  if (!json.is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": metadata \"", key, "\" is not a JSON array of strings"));
  }
  std::vector<std::string> list;
  list.reserve(json.size());
  for (const nlohmann::json& item : json) {
    if (!item.is_string()) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": metadata \"", key, "\" holds a non-string"));
    }
    list.push_back(item.get<std::string>());
  }
  return list;
}

}  // namespace

absl::Status ValidateFeatureSet(const FeatureSet& set, const std::string& what) {
  const at::Tensor& x = set.features;
  if (!x.defined() || x.dim() != 2) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": features must be a 2-D matrix"));
  }
  if (x.scalar_type() != at::kFloat) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": features must be float32"));
  }
  if (x.size(0) == 0) return absl::InvalidArgumentError(absl::StrCat(what, ": no rows"));
  if (x.size(1) == 0) return absl::InvalidArgumentError(absl::StrCat(what, ": zero feature columns"));
  const at::Tensor finite = at::isfinite(x);
  if (!finite.all().item<bool>()) {
    const at::Tensor bad = at::nonzero(finite.logical_not())[0];
    const int64_t row = bad[0].item<int64_t>(), col = bad[1].item<int64_t>();
    return absl::InvalidArgumentError(absl::StrCat(what, ": feature [", row, ", ", col, "] is ",
                                                   x.index({row, col}).item<float>(),
                                                   "; features must be finite"));
  }
  if (set.classes.empty()) return absl::InvalidArgumentError(absl::StrCat(what, ": no class names"));
  const at::Tensor& y = set.labels;
  if (!y.defined() || y.dim() != 1 || y.scalar_type() != at::kLong) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": labels must be an int64 vector"));
  }
  if (y.size(0) != x.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", y.size(0), " labels for ",
                                                   x.size(0), " feature rows"));
  }
  const int64_t lo = y.min().item<int64_t>(), hi = y.max().item<int64_t>();
  if (lo < 0 || hi >= static_cast<int64_t>(set.classes.size())) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": label ", lo < 0 ? lo : hi,
                                                   " outside the ", set.classes.size(),
                                                   " classes"));
  }
  if (!set.paths.empty() && static_cast<int64_t>(set.paths.size()) != x.size(0)) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": ", set.paths.size(), " paths for ",
                                                   x.size(0), " rows"));
  }
  return absl::OkStatus();
}

absl::StatusOr<FeatureSet> ReadFeatureSet(const std::string& path) {
  ASSIGN_OR_RETURN(SafetensorsContents contents, ReadSafetensors(path));
  auto format = contents.metadata.find(kFormatKey);
  if (format == contents.metadata.end() || format->second != kFormatName) {
    return absl::InvalidArgumentError(absl::StrCat(
        path, ": not a features file (no \"format\": \"", kFormatName,
        "\" metadata); write one with tools/extract_features"));
  }
  FeatureSet set;
  for (const char* name : {"features", "labels"}) {
    auto it = contents.tensors.find(name);
    if (it == contents.tensors.end()) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": no \"", name, "\" tensor"));
    }
  }
  set.features = contents.tensors.at("features").contiguous();
  set.labels = contents.tensors.at("labels").contiguous();
  ASSIGN_OR_RETURN(set.classes, StringList(contents.metadata, "classes", true, path));
  ASSIGN_OR_RETURN(set.paths, StringList(contents.metadata, "paths", false, path));
  if (auto it = contents.metadata.find("model"); it != contents.metadata.end()) set.model = it->second;
  if (auto it = contents.metadata.find("layer"); it != contents.metadata.end()) set.layer = it->second;
  RETURN_IF_ERROR(ValidateFeatureSet(set, path));
  return set;
}

absl::Status WriteFeatureSet(const std::string& path, const FeatureSet& set) {
  RETURN_IF_ERROR(ValidateFeatureSet(set, path));
  std::map<std::string, std::string> metadata = {
      {kFormatKey, kFormatName},
      {"classes", nlohmann::json(set.classes).dump()},
      {"model", set.model},
      {"layer", set.layer},
  };
  if (!set.paths.empty()) metadata["paths"] = nlohmann::json(set.paths).dump();
  return WriteSafetensors(path, {{"features", set.features}, {"labels", set.labels}}, metadata);
}

absl::Status CheckCompatible(const FeatureSet& a, const std::string& a_name, const FeatureSet& b,
                             const std::string& b_name) {
  if (a.dim() != b.dim()) {
    return absl::InvalidArgumentError(absl::StrCat(a_name, " has ", a.dim(), " features per row, ",
                                                   b_name, " has ", b.dim()));
  }
  if (a.classes != b.classes) {
    return absl::InvalidArgumentError(
        absl::StrCat(a_name, " and ", b_name, " name different classes (",
                     nlohmann::json(a.classes).dump(), " vs ", nlohmann::json(b.classes).dump(),
                     ")"));
  }
  return absl::OkStatus();
}

FeatureSet SelectRows(const FeatureSet& set, const at::Tensor& rows) {
  FeatureSet out;
  out.features = set.features.index_select(0, rows).contiguous();
  out.labels = set.labels.index_select(0, rows).contiguous();
  out.classes = set.classes;
  out.model = set.model;
  out.layer = set.layer;
  if (!set.paths.empty()) {
    const at::Tensor r = rows.contiguous().to(at::kLong);
    const int64_t* p = r.data_ptr<int64_t>();
    for (int64_t i = 0; i < r.numel(); ++i) out.paths.push_back(set.paths[p[i]]);
  }
  return out;
}

}  // namespace fauna
