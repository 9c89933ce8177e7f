#include "eval/confusion_matrix.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

#include "core/status.h"
#include "core/torch_status.h"
#include "eval/text_table.h"

namespace fauna {
namespace {

// Counts up to 2^53 survive a round trip through double exactly.
constexpr double kMaxExactCount = 9007199254740992.0;

// Names wider than this put label numbers in the text table's column headers.
constexpr size_t kMaxHeaderNameWidth = 10;

double Ratio(int64_t numerator, int64_t denominator) {
  return denominator == 0 ? 0.0 : static_cast<double>(numerator) / static_cast<double>(denominator);
}

}  // namespace

ConfusionMatrix::ConfusionMatrix(std::vector<std::string> class_names)
    : class_names_(std::move(class_names)), counts_(class_names_.size() * class_names_.size(), 0) {}

absl::StatusOr<ConfusionMatrix> ConfusionMatrix::FromVector(std::vector<std::string> class_names,
                                                            const std::vector<double>& values) {
  ConfusionMatrix matrix(std::move(class_names));
  if (values.size() != matrix.counts_.size()) {
    return absl::InvalidArgumentError(
        "confusion matrix of " + std::to_string(matrix.num_classes()) + " classes needs " +
        std::to_string(matrix.counts_.size()) + " counts, got " + std::to_string(values.size()));
  }
  for (size_t i = 0; i < values.size(); ++i) {
    const double value = values[i];
    if (!std::isfinite(value) || value < 0 || value != std::floor(value) ||
        value > kMaxExactCount) {
      const int64_t n = matrix.num_classes();
      return absl::InvalidArgumentError(
          "confusion matrix count (" + std::to_string(static_cast<int64_t>(i) / n) + ", " +
          std::to_string(static_cast<int64_t>(i) % n) + ") is " + std::to_string(value) +
          ", not a whole number in [0, 2^53]");
    }
    matrix.counts_[i] = static_cast<int64_t>(value);
  }
  return matrix;
}

absl::Status ConfusionMatrix::CheckClass(int64_t value, const char* what) const {
  if (value >= 0 && value < num_classes()) return absl::OkStatus();
  return absl::InvalidArgumentError(std::string(what) + " " + std::to_string(value) +
                                    " is not a class of this confusion matrix (0 to " +
                                    std::to_string(num_classes() - 1) + ")");
}

absl::Status ConfusionMatrix::Add(const at::Tensor& labels, const at::Tensor& predictions) {
  if (!labels.defined() || !predictions.defined()) {
    return absl::InvalidArgumentError("confusion matrix: labels or predictions are undefined");
  }
  if (labels.dim() != 1 || predictions.dim() != 1) {
    return absl::InvalidArgumentError("confusion matrix: labels and predictions must be 1-D, got " +
                                      std::to_string(labels.dim()) + "-D labels and " +
                                      std::to_string(predictions.dim()) + "-D predictions");
  }
  if (labels.size(0) != predictions.size(0)) {
    return absl::InvalidArgumentError("confusion matrix: " + std::to_string(labels.size(0)) +
                                      " labels but " + std::to_string(predictions.size(0)) +
                                      " predictions");
  }
  for (const at::Tensor* tensor : {&labels, &predictions}) {
    if (!at::isIntegralType(tensor->scalar_type(), /*includeBool=*/false)) {
      return absl::InvalidArgumentError(
          std::string("confusion matrix: ") + (tensor == &labels ? "labels" : "predictions") +
          " must have an integer dtype, not " + at::toString(tensor->scalar_type()));
    }
  }
  ASSIGN_OR_RETURN(std::vector<int64_t> pairs, GuardTorch("confusion matrix", [&] {
                     const int64_t n = labels.size(0);
                     std::vector<int64_t> result(static_cast<size_t>(2 * n));
                     at::Tensor l = labels.to(at::kCPU, at::kLong).contiguous();
                     at::Tensor p = predictions.to(at::kCPU, at::kLong).contiguous();
                     std::copy_n(l.data_ptr<int64_t>(), n, result.begin());
                     std::copy_n(p.data_ptr<int64_t>(), n, result.begin() + n);
                     return result;
                   }));
  const size_t n = pairs.size() / 2;
  // Every pair is checked before any is counted, so a failed call changes nothing.
  for (size_t i = 0; i < n; ++i) {
    for (const auto& [value, what] :
         {std::pair<int64_t, const char*>{pairs[i], "label"},
          std::pair<int64_t, const char*>{pairs[n + i], "prediction"}}) {
      absl::Status status = CheckClass(value, what);
      if (!status.ok()) {
        return absl::InvalidArgumentError(std::string(status.message()) + " (at index " +
                                          std::to_string(i) + ")");
      }
    }
  }
  for (size_t i = 0; i < n; ++i) {
    ++counts_[static_cast<size_t>(pairs[i] * num_classes() + pairs[n + i])];
  }
  return absl::OkStatus();
}

absl::Status ConfusionMatrix::Add(int64_t label, int64_t prediction) {
  RETURN_IF_ERROR(CheckClass(label, "label"));
  RETURN_IF_ERROR(CheckClass(prediction, "prediction"));
  ++counts_[static_cast<size_t>(label * num_classes() + prediction)];
  return absl::OkStatus();
}

absl::Status ConfusionMatrix::Merge(const ConfusionMatrix& other) {
  if (other.class_names_ != class_names_) {
    return absl::InvalidArgumentError(
        "cannot merge confusion matrices over different classes (" + std::to_string(num_classes()) +
        " and " + std::to_string(other.num_classes()) + " classes, or other names)");
  }
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
  return absl::OkStatus();
}

void ConfusionMatrix::Reset() { std::fill(counts_.begin(), counts_.end(), 0); }

std::vector<double> ConfusionMatrix::AsVector() const {
  return std::vector<double>(counts_.begin(), counts_.end());
}

int64_t ConfusionMatrix::total() const {
  int64_t sum = 0;
  for (int64_t count : counts_) sum += count;
  return sum;
}

int64_t ConfusionMatrix::support(int64_t c) const {
  int64_t sum = 0;
  for (int64_t j = 0; j < num_classes(); ++j) sum += counts(c, j);
  return sum;
}

int64_t ConfusionMatrix::predicted(int64_t c) const {
  int64_t sum = 0;
  for (int64_t i = 0; i < num_classes(); ++i) sum += counts(i, c);
  return sum;
}

double ConfusionMatrix::accuracy() const {
  int64_t diagonal = 0;
  for (int64_t c = 0; c < num_classes(); ++c) diagonal += counts(c, c);
  return Ratio(diagonal, total());
}

double ConfusionMatrix::precision(int64_t c) const { return Ratio(counts(c, c), predicted(c)); }

double ConfusionMatrix::recall(int64_t c) const { return Ratio(counts(c, c), support(c)); }

double ConfusionMatrix::f1(int64_t c) const {
  const double p = precision(c);
  const double r = recall(c);
  return p + r == 0 ? 0.0 : 2 * p * r / (p + r);
}

double ConfusionMatrix::macro_f1() const {
  if (num_classes() == 0) return 0.0;
  double sum = 0;
  for (int64_t c = 0; c < num_classes(); ++c) sum += f1(c);
  return sum / static_cast<double>(num_classes());
}

nlohmann::json ConfusionMatrix::ToJson() const {
  nlohmann::json rows = nlohmann::json::array();
  nlohmann::json per_class = nlohmann::json::array();
  for (int64_t i = 0; i < num_classes(); ++i) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t j = 0; j < num_classes(); ++j) row.push_back(counts(i, j));
    rows.push_back(std::move(row));
    per_class.push_back({{"class", class_names_[static_cast<size_t>(i)]},
                         {"precision", precision(i)},
                         {"recall", recall(i)},
                         {"f1", f1(i)},
                         {"support", support(i)}});
  }
  return {{"class_names", class_names_},
          {"counts", std::move(rows)},
          {"total", total()},
          {"accuracy", accuracy()},
          {"macro_f1", macro_f1()},
          {"per_class", std::move(per_class)}};
}

std::string ConfusionMatrix::ToText() const {
  const int64_t n = num_classes();
  size_t name_width = 5;  // "class"
  for (const std::string& name : class_names_) name_width = std::max(name_width, name.size());
  const bool names_as_headers = name_width <= kMaxHeaderNameWidth;

  // Row labels: the name, or "<label> <name>" when columns are headed by label numbers.
  std::vector<std::string> row_labels;
  std::vector<std::string> headers;
  for (int64_t c = 0; c < n; ++c) {
    const std::string& name = class_names_[static_cast<size_t>(c)];
    row_labels.push_back(names_as_headers ? name : std::to_string(c) + " " + name);
    headers.push_back(names_as_headers ? name : std::to_string(c));
  }
  const std::string corner = "true \\ predicted";
  size_t label_width = corner.size();
  for (const std::string& label : row_labels) label_width = std::max(label_width, label.size());
  size_t cell_width = 1;
  for (const std::string& header : headers) cell_width = std::max(cell_width, header.size());
  for (int64_t count : counts_) cell_width = std::max(cell_width, std::to_string(count).size());

  std::string text = PadRight(corner, label_width);
  for (const std::string& header : headers) text += "  " + PadLeft(header, cell_width);
  text += "\n";
  for (int64_t i = 0; i < n; ++i) {
    text += PadRight(row_labels[static_cast<size_t>(i)], label_width);
    for (int64_t j = 0; j < n; ++j)
      text += "  " + PadLeft(std::to_string(counts(i, j)), cell_width);
    text += "\n";
  }

  text += "\n" + PadRight("class", name_width) + "  precision  recall     f1  support\n";
  for (int64_t c = 0; c < n; ++c) {
    text += PadRight(class_names_[static_cast<size_t>(c)], name_width) + "  " +
            PadLeft(Fixed(precision(c), 3), 9) + "  " + PadLeft(Fixed(recall(c), 3), 6) + "  " +
            PadLeft(Fixed(f1(c), 3), 5) + "  " + PadLeft(std::to_string(support(c)), 7) + "\n";
  }
  int64_t diagonal = 0;
  for (int64_t c = 0; c < n; ++c) diagonal += counts(c, c);
  text += "accuracy " + Fixed(accuracy(), 4) + " (" + std::to_string(diagonal) + "/" +
          std::to_string(total()) + "), macro F1 " + Fixed(macro_f1(), 4) + "\n";
  return text;
}

}  // namespace fauna
