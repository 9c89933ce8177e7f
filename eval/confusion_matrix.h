// The confusion matrix of a classifier and the metrics read from it: accuracy, per-class
// precision, recall and F1, macro F1; as JSON for results files and as a table for terminals.
#ifndef FAUNA_EVAL_CONFUSION_MATRIX_H_
#define FAUNA_EVAL_CONFUSION_MATRIX_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// Counts of (true class, predicted class) pairs over N classes: counts(i, j) is the number of
// samples of true class i predicted as class j (rows: truth, columns: prediction).
//
// Metrics that divide by zero are 0, as scikit-learn's zero_division=0: the precision of a class
// that is never predicted, the recall of a class with no samples, the F1 of a class whose
// precision and recall are both 0, the accuracy of an empty matrix.
//
// Example (one epoch of evaluation, summed over data-parallel ranks):
//   ConfusionMatrix matrix(source.class_names());
//   for (const Batch& batch : loader) {
//     RETURN_IF_ERROR(matrix.Add(batch.labels, model->forward(batch.images).argmax(1)));
//   }
//   std::vector<double> counts = matrix.AsVector();
//   AllReduceSum(counts);  // the trainer's all-reduce over data-parallel ranks
//   ASSIGN_OR_RETURN(matrix, ConfusionMatrix::FromVector(matrix.class_names(), counts));
//   std::cout << matrix.ToText();
class ConfusionMatrix {
 public:
  // An empty (all-zero) matrix over `class_names`, in label order: label i is class_names[i].
  explicit ConfusionMatrix(std::vector<std::string> class_names);

  // A matrix over `class_names` with the counts `values` (row-major, N*N, as AsVector() gives).
  // InvalidArgument when the size is not N*N or a value is negative, not finite, not a whole
  // number or above 2^53 (beyond which doubles no longer count exactly).
  static absl::StatusOr<ConfusionMatrix> FromVector(std::vector<std::string> class_names,
                                                    const std::vector<double>& values);

  // Counts one batch: `labels` and `predictions` are 1-D tensors of the same length, of any
  // integer dtype (bool and floating point are refused) and on any device (they are copied to the
  // CPU). InvalidArgument, naming the value and its position, when a label or prediction is not in
  // [0, N); the matrix is left unchanged by a failed call.
  absl::Status Add(const at::Tensor& labels, const at::Tensor& predictions);

  // Counts one sample; InvalidArgument when `label` or `prediction` is not in [0, N).
  absl::Status Add(int64_t label, int64_t prediction);

  // Adds the counts of `other`, which must have the same class names (else InvalidArgument).
  absl::Status Merge(const ConfusionMatrix& other);

  // Sets every count to zero.
  void Reset();

  // N, the number of classes.
  int64_t num_classes() const { return static_cast<int64_t>(class_names_.size()); }
  const std::vector<std::string>& class_names() const { return class_names_; }

  // Samples of true class `true_class` predicted as `predicted_class`; both must be in [0, N).
  int64_t counts(int64_t true_class, int64_t predicted_class) const {
    return counts_[static_cast<size_t>(true_class * num_classes() + predicted_class)];
  }
  // All counts, row-major (N*N): counts(i, j) is raw_counts()[i * N + j].
  const std::vector<int64_t>& raw_counts() const { return counts_; }
  // raw_counts() as doubles, for an all-reduce across ranks; exact up to 2^53 per cell.
  std::vector<double> AsVector() const;

  // Number of samples counted.
  int64_t total() const;
  // Samples of true class `c` (row sum); the "support" of scikit-learn's reports.
  int64_t support(int64_t c) const;
  // Samples predicted as class `c` (column sum).
  int64_t predicted(int64_t c) const;

  // Fraction of samples on the diagonal; 0 for an empty matrix.
  double accuracy() const;
  // counts(c, c) / predicted(c); 0 when class `c` is never predicted.
  double precision(int64_t c) const;
  // counts(c, c) / support(c); 0 when class `c` has no samples.
  double recall(int64_t c) const;
  // Harmonic mean of precision and recall; 0 when both are 0.
  double f1(int64_t c) const;
  // Unweighted mean of f1(c) over all N classes (scikit-learn's f1_score with average="macro",
  // labels=range(N), zero_division=0); 0 when N is 0.
  double macro_f1() const;

  // {"class_names": [...], "counts": [[...], ...] (rows: truth), "total": T, "accuracy": A,
  //  "macro_f1": F, "per_class": [{"class": name, "precision": P, "recall": R, "f1": F,
  //  "support": S}, ...] (in label order)}.
  nlohmann::json ToJson() const;

  // The matrix and the per-class metrics as an aligned table for a terminal, e.g.
  //   true \ predicted   cat   dog  wild
  //   cat                 10     2     0
  //   ...
  //   class  precision  recall     f1  support
  //   cat        0.909   0.833  0.870       12
  //   ...
  //   accuracy 0.8750 (35/40), macro F1 0.8712
  // Columns are headed by class names when every name has at most 10 characters, else by label
  // numbers (and rows read "3 name").
  std::string ToText() const;

 private:
  // InvalidArgument unless 0 <= value < N; `what` names the value ("label", "prediction").
  absl::Status CheckClass(int64_t value, const char* what) const;

  std::vector<std::string> class_names_;
  std::vector<int64_t> counts_;
};

}  // namespace fauna

#endif  // FAUNA_EVAL_CONFUSION_MATRIX_H_
