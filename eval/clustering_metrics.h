// How well a clustering recovers known classes: cluster accuracy under the best one-to-one matching
// of clusters to classes (the Hungarian matching), normalized mutual information and the adjusted
// Rand index, each equal to scikit-learn's (1.2) to 1e-9, plus the matching itself and the
// contingency table for a confusion table.
//
// Labels are arbitrary integers: neither the class labels nor the cluster ids need to be 0..k-1
// or contiguous, and there may be more clusters than classes or fewer.
#ifndef FAUNA_EVAL_CLUSTERING_METRICS_H_
#define FAUNA_EVAL_CLUSTERING_METRICS_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"

namespace fauna {

// Counts of (cluster, class) pairs. Row r is cluster id clusters[r], column c is class label
// classes[c]; both lists hold the distinct values that occur, ascending.
struct ContingencyTable {
  std::vector<int64_t> clusters;
  std::vector<int64_t> classes;
  std::vector<int64_t> counts;  // row-major [clusters.size() x classes.size()]
  int64_t total = 0;            // number of samples

  int64_t num_clusters() const { return static_cast<int64_t>(clusters.size()); }
  int64_t num_classes() const { return static_cast<int64_t>(classes.size()); }
  // Samples of cluster row `r` and class column `c`.
  int64_t count(int64_t r, int64_t c) const {
    return counts[static_cast<size_t>(r * num_classes() + c)];
  }
};

// The contingency table of `labels_true` (classes) and `labels_pred` (clusters), which must have
// the same length; InvalidArgument otherwise.
absl::StatusOr<ContingencyTable> MakeContingencyTable(const std::vector<int64_t>& labels_true,
                                                      const std::vector<int64_t>& labels_pred);

// Solves the rectangular linear assignment problem on the `rows` x `cols` matrix `cost`
// (row-major): picks min(rows, cols) entries, no two in one row or column, of least total cost
// (most, when `maximize`). Returns for each row the column it is matched to, or -1 for the rows
// left over when rows > cols. The same problem and convention as scipy's linear_sum_assignment;
// the algorithm is the shortest-augmenting-path form of Jonker and Volgenant (as Crouse, "On
// implementing 2D rectangular assignment algorithms", 2016), O(rows^2 cols) for rows <= cols
// (the matrix is transposed otherwise). Among optimal matchings it returns the one scipy returns.
// InvalidArgument when cost.size() != rows * cols or an entry is not finite.
//
// Example:
//   // Workers (rows) x jobs (columns); each worker takes the job that keeps the total least.
//   ASSIGN_OR_RETURN(std::vector<int64_t> job_of, LinearSumAssignment({4, 1, 6, 2, 0, 5}, 2, 3));
//   // job_of == {1, 0}: total 1 + 2.
absl::StatusOr<std::vector<int64_t>> LinearSumAssignment(const std::vector<double>& cost,
                                                         int64_t rows, int64_t cols,
                                                         bool maximize = false);

// Cluster accuracy of a table: the largest number of samples on the pairs of a one-to-one
// matching of clusters to classes, over the total (0 for an empty table). `cluster_to_class`, when
// given, receives the matching as cluster id -> class label; clusters left unmatched (more
// clusters than classes) are absent.
double ClusterAccuracy(const ContingencyTable& table,
                       std::map<int64_t, int64_t>* cluster_to_class = nullptr);

// Normalized mutual information with the arithmetic-mean normalisation, as scikit-learn's
// normalized_mutual_info_score(average_method="arithmetic"): 1 when both labelings have a single
// value (or there are no samples), 0 when the mutual information is 0.
double NormalizedMutualInfo(const ContingencyTable& table);

// Adjusted Rand index, as scikit-learn's adjusted_rand_score: 1 for identical partitions (and for
// no samples), about 0 for independent ones, negative below chance. Pair counts are exact
// (128-bit) for any sample count below 2^31.
double AdjustedRandIndex(const ContingencyTable& table);

// Every clustering score at once, with the matching and the table they came from.
struct ClusterScores {
  double accuracy = 0;                          // ClusterAccuracy
  double nmi = 0;                               // NormalizedMutualInfo
  double ari = 0;                               // AdjustedRandIndex
  std::map<int64_t, int64_t> cluster_to_class;  // the matching behind `accuracy`
  ContingencyTable table;

  // {"accuracy", "nmi", "ari", "num_clusters", "num_classes", "samples",
  //  "matching": [{"cluster": id, "class": label}, ...] (matched clusters, ascending),
  //  "contingency": {"clusters": [...], "classes": [...],
  //                  "counts": [[...], ...] (rows: clusters)}}.
  nlohmann::json ToJson() const;

  // The contingency table as aligned text, rows = clusters, each row ending with the class its
  // cluster is matched to, then one line of the scores, e.g.
  //   cluster \ class     0     1     2  matched
  //   0                  48     1     0  0
  //   1                   2    40     9  1
  //   ...
  //   ACC 0.8800  NMI 0.7012  ARI 0.6831  (150 samples, 3 clusters, 3 classes)
  // `class_names`, when given, name each class label in [0, class_names.size()) in the last column.
  std::string ToText(const std::vector<std::string>& class_names = {}) const;
};

// Scores a clustering `labels_pred` against classes `labels_true` (same length, at least one
// sample; InvalidArgument otherwise).
absl::StatusOr<ClusterScores> ScoreClustering(const std::vector<int64_t>& labels_true,
                                              const std::vector<int64_t>& labels_pred);

// The same for 1-D tensors of any integer dtype (bool and floating point are refused) on any
// device.
//
// Example:
//   ASSIGN_OR_RETURN(ClusterScores scores, ScoreClustering(set.labels, kmeans.labels()));
//   std::cout << scores.ToText(set.classes);
absl::StatusOr<ClusterScores> ScoreClustering(const at::Tensor& labels_true,
                                              const at::Tensor& labels_pred);

}  // namespace fauna

#endif  // FAUNA_EVAL_CLUSTERING_METRICS_H_
