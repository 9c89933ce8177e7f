#include "core/metrics_sink.h"

#include <sys/stat.h>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"

namespace fauna {
namespace {

// The folder part of `path`: "runs/a/metrics.jsonl" -> "runs/a", "metrics.jsonl" -> ".".
std::string FolderOf(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

bool IsFolder(const std::string& path) {
  struct stat info;
  return ::stat(path.c_str(), &info) == 0 && S_ISDIR(info.st_mode);
}

}  // namespace

nlohmann::json ReplaceNonFinite(const nlohmann::json& value) {
  if (value.is_number_float()) {
    const double number = value.get<double>();
    if (std::isnan(number)) return "NaN";
    if (std::isinf(number)) return number > 0 ? "Infinity" : "-Infinity";
    return value;
  }
  if (value.is_array()) {
    nlohmann::json result = nlohmann::json::array();
    for (const nlohmann::json& element : value) result.push_back(ReplaceNonFinite(element));
    return result;
  }
  if (value.is_object()) {
    nlohmann::json result = nlohmann::json::object();
    for (auto it = value.begin(); it != value.end(); ++it) {
      result[it.key()] = ReplaceNonFinite(it.value());
    }
    return result;
  }
  return value;
}

absl::StatusOr<double> NumberFromJson(const nlohmann::json& value) {
  if (value.is_number()) return value.get<double>();
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    if (text == "NaN") return std::numeric_limits<double>::quiet_NaN();
    if (text == "Infinity") return std::numeric_limits<double>::infinity();
    if (text == "-Infinity") return -std::numeric_limits<double>::infinity();
  }
  return absl::InvalidArgumentError(value.dump() + " is not a number");
}

absl::StatusOr<MetricsSink> MetricsSink::Open(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("metrics file path is empty");
  FILE* file = std::fopen(path.c_str(), "ae");  // 'e': close on exec (glibc).
  if (file == nullptr) {
    const int err = errno;
    absl::Status status = ErrnoToStatus(err, "cannot open metrics file '" + path + "'");
    const std::string folder = FolderOf(path);
    if (err == ENOENT && !IsFolder(folder)) {
      return absl::NotFoundError(std::string(status.message()) + " (folder '" + folder +
                                 "' does not exist)");
    }
    return status;
  }
  return MetricsSink(path, file);
}

MetricsSink::MetricsSink(MetricsSink&& other) noexcept
    : path_(std::move(other.path_)), file_(std::exchange(other.file_, nullptr)) {}

MetricsSink& MetricsSink::operator=(MetricsSink&& other) noexcept {
  if (this != &other) {
    if (file_ != nullptr) std::fclose(file_);
    path_ = std::move(other.path_);
    file_ = std::exchange(other.file_, nullptr);
  }
  return *this;
}

MetricsSink::~MetricsSink() {
  if (file_ != nullptr) std::fclose(file_);
}

absl::Status MetricsSink::Write(const nlohmann::json& record) {
  if (file_ == nullptr) {
    return absl::FailedPreconditionError("metrics sink is closed (moved from)");
  }
  if (!record.is_object()) {
    return absl::InvalidArgumentError(std::string("metrics record must be a JSON object, not ") +
                                      record.type_name());
  }
  std::string line;
  try {
    line = ReplaceNonFinite(record).dump();
  } catch (const nlohmann::json::exception& e) {
    return absl::InvalidArgumentError(std::string("cannot serialise metrics record: ") + e.what());
  }
  line += '\n';
  // One fwrite per record: with O_APPEND the line lands whole at the end of the file.
  if (std::fwrite(line.data(), 1, line.size(), file_) != line.size() || std::fflush(file_) != 0) {
    const int err = errno;
    std::clearerr(file_);
    return absl::DataLossError("cannot write to metrics file '" + path_ +
                               "': " + std::strerror(err));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::vector<nlohmann::json>> ReadJsonLines(const std::string& path) {
  FILE* file = std::fopen(path.c_str(), "re");
  if (file == nullptr) return ErrnoToStatus(errno, "cannot open JSON-lines file '" + path + "'");

  std::vector<nlohmann::json> records;
  absl::Status status = absl::OkStatus();
  char* buffer = nullptr;
  size_t capacity = 0;
  ssize_t length;
  int line_number = 0;
  while ((length = ::getline(&buffer, &capacity, file)) >= 0) {
    ++line_number;
    const std::string line(buffer, static_cast<size_t>(length));
    if (line.find_first_not_of(" \t\r\n") == std::string::npos) continue;
    try {
      records.push_back(nlohmann::json::parse(line));
    } catch (const nlohmann::json::parse_error& e) {
      status = absl::InvalidArgumentError(path + ":" + std::to_string(line_number) +
                                          ": malformed JSON line: " + e.what());
      break;
    }
  }
  if (status.ok() && std::ferror(file)) {
    status = absl::DataLossError("cannot read '" + path + "': " + std::strerror(errno));
  }
  std::free(buffer);
  std::fclose(file);
  RETURN_IF_ERROR(status);
  return records;
}

}  // namespace fauna
