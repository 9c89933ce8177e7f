#include "eval/clustering_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "eval/text_table.h"

namespace fauna {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// The distinct values of `labels`, ascending, and each label's index among them.
std::vector<int64_t> Distinct(const std::vector<int64_t>& labels, std::vector<int64_t>* index) {
  std::vector<int64_t> values = labels;
  std::sort(values.begin(), values.end());
  values.erase(std::unique(values.begin(), values.end()), values.end());
  index->resize(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    (*index)[i] = std::lower_bound(values.begin(), values.end(), labels[i]) - values.begin();
  }
  return values;
}

// Row sums (axis 1) or column sums (axis 0) of the table.
std::vector<int64_t> Marginal(const ContingencyTable& table, int axis) {
  std::vector<int64_t> sums(axis == 1 ? table.clusters.size() : table.classes.size(), 0);
  for (int64_t r = 0; r < table.num_clusters(); ++r) {
    for (int64_t c = 0; c < table.num_classes(); ++c) {
      sums[static_cast<size_t>(axis == 1 ? r : c)] += table.count(r, c);
    }
  }
  return sums;
}

// Shannon entropy (nats) of a labeling with these class sizes, as scikit-learn's entropy().
double Entropy(const std::vector<int64_t>& sizes) {
  std::vector<double> p;
  for (int64_t s : sizes) {
    if (s > 0) p.push_back(static_cast<double>(s));
  }
  if (p.size() <= 1) return 0.0;
  double total = 0;
  for (double v : p) total += v;
  const double log_total = std::log(total);
  double h = 0;
  for (double v : p) h -= (v / total) * (std::log(v) - log_total);
  return h;
}

// Mutual information (nats) of the two labelings of a table, as scikit-learn's
// mutual_info_score: per non-zero cell, terms below machine epsilon are dropped; clipped at 0.
double MutualInfo(const ContingencyTable& table) {
  if (table.num_clusters() <= 1 || table.num_classes() <= 1) return 0.0;
  const std::vector<int64_t> rows = Marginal(table, 1), cols = Marginal(table, 0);
  const double n = static_cast<double>(table.total);
  const double log_n = std::log(n);
  double mi = 0;
  for (int64_t r = 0; r < table.num_clusters(); ++r) {
    for (int64_t c = 0; c < table.num_classes(); ++c) {
      const int64_t nij = table.count(r, c);
      if (nij == 0) continue;
      const double p = static_cast<double>(nij) / n;
      const double outer =
          static_cast<double>(rows[static_cast<size_t>(r)] * cols[static_cast<size_t>(c)]);
      const double log_outer = -std::log(outer) + log_n + log_n;
      double term = p * (std::log(static_cast<double>(nij)) - log_n) + p * log_outer;
      if (std::abs(term) < std::numeric_limits<double>::epsilon()) term = 0;
      mi += term;
    }
  }
  return std::max(mi, 0.0);
}

// One shortest augmenting path from free row `row` (Crouse 2016, algorithm 1's inner loop): a
// Dijkstra search over reduced costs that stops at the first unassigned column. Returns that
// column (-1 when every path has infinite cost) and sets *min_cost to the path's reduced cost.
// `visited_rows`, `visited_cols`, `path_cost` and `prev_row` describe the search for the dual
// update and the augmentation.
int64_t AugmentingPath(const std::vector<double>& cost, int64_t cols, const std::vector<double>& u,
                       const std::vector<double>& v, const std::vector<int64_t>& row_of_col,
                       int64_t row, std::vector<char>* visited_rows,
                       std::vector<char>* visited_cols, std::vector<double>* path_cost,
                       std::vector<int64_t>* prev_row, double* min_cost) {
  // Columns not yet reached, kept in reverse order so that ties resolve as scipy's do (a constant
  // matrix gives the identity matching).
  std::vector<int64_t> remaining(static_cast<size_t>(cols));
  for (int64_t k = 0; k < cols; ++k) remaining[static_cast<size_t>(k)] = cols - 1 - k;
  int64_t num_remaining = cols;
  std::fill(visited_rows->begin(), visited_rows->end(), 0);
  std::fill(visited_cols->begin(), visited_cols->end(), 0);
  std::fill(path_cost->begin(), path_cost->end(), kInf);

  double reached = 0;
  int64_t sink = -1;
  int64_t i = row;
  while (sink == -1) {
    (*visited_rows)[static_cast<size_t>(i)] = 1;
    int64_t best = -1;
    double lowest = kInf;
    for (int64_t k = 0; k < num_remaining; ++k) {
      const int64_t j = remaining[static_cast<size_t>(k)];
      const double reduced = reached + cost[static_cast<size_t>(i * cols + j)] -
                             u[static_cast<size_t>(i)] - v[static_cast<size_t>(j)];
      double& pc = (*path_cost)[static_cast<size_t>(j)];
      if (reduced < pc) {
        (*prev_row)[static_cast<size_t>(j)] = i;
        pc = reduced;
      }
      // Among equally short paths prefer one that ends at a free column.
      if (pc < lowest || (pc == lowest && row_of_col[static_cast<size_t>(j)] == -1)) {
        lowest = pc;
        best = k;
      }
    }
    reached = lowest;
    if (reached == kInf) return -1;
    const int64_t j = remaining[static_cast<size_t>(best)];
    if (row_of_col[static_cast<size_t>(j)] == -1) {
      sink = j;
    } else {
      i = row_of_col[static_cast<size_t>(j)];
    }
    (*visited_cols)[static_cast<size_t>(j)] = 1;
    remaining[static_cast<size_t>(best)] = remaining[static_cast<size_t>(--num_remaining)];
  }
  *min_cost = reached;
  return sink;
}

}  // namespace

absl::StatusOr<ContingencyTable> MakeContingencyTable(const std::vector<int64_t>& labels_true,
                                                      const std::vector<int64_t>& labels_pred) {
  if (labels_true.size() != labels_pred.size()) {
    return absl::InvalidArgumentError(absl::StrCat("clustering metrics: ", labels_true.size(),
                                                   " true labels but ", labels_pred.size(),
                                                   " cluster labels"));
  }
  ContingencyTable table;
  std::vector<int64_t> class_index, cluster_index;
  table.classes = Distinct(labels_true, &class_index);
  table.clusters = Distinct(labels_pred, &cluster_index);
  table.counts.assign(table.clusters.size() * table.classes.size(), 0);
  for (size_t i = 0; i < labels_true.size(); ++i) {
    ++table.counts[static_cast<size_t>(cluster_index[i]) * table.classes.size() +
                   static_cast<size_t>(class_index[i])];
  }
  table.total = static_cast<int64_t>(labels_true.size());
  return table;
}

absl::StatusOr<std::vector<int64_t>> LinearSumAssignment(const std::vector<double>& cost,
                                                         int64_t rows, int64_t cols,
                                                         bool maximize) {
  if (rows < 0 || cols < 0 || cost.size() != static_cast<size_t>(rows * cols)) {
    return absl::InvalidArgumentError(absl::StrCat("linear sum assignment: ", cost.size(),
                                                   " costs for a ", rows, " x ", cols, " matrix"));
  }
  for (double c : cost) {
    if (!std::isfinite(c)) {
      return absl::InvalidArgumentError("linear sum assignment: costs must be finite");
    }
  }
  std::vector<int64_t> col_of_row(static_cast<size_t>(rows), -1);
  if (rows == 0 || cols == 0) return col_of_row;

  // The search runs over the shorter side: a tall matrix is transposed. Maximising is minimising
  // the negated costs.
  const bool transpose = rows > cols;
  const int64_t nr = transpose ? cols : rows, nc = transpose ? rows : cols;
  std::vector<double> c(cost.size());
  for (int64_t i = 0; i < rows; ++i) {
    for (int64_t j = 0; j < cols; ++j) {
      const double value = cost[static_cast<size_t>(i * cols + j)];
      c[static_cast<size_t>(transpose ? j * rows + i : i * cols + j)] = maximize ? -value : value;
    }
  }

  std::vector<double> u(static_cast<size_t>(nr), 0), v(static_cast<size_t>(nc), 0);
  std::vector<double> path_cost(static_cast<size_t>(nc));
  std::vector<int64_t> prev_row(static_cast<size_t>(nc), -1);
  std::vector<int64_t> col_for(static_cast<size_t>(nr), -1), row_for(static_cast<size_t>(nc), -1);
  std::vector<char> visited_rows(static_cast<size_t>(nr)), visited_cols(static_cast<size_t>(nc));
  for (int64_t current = 0; current < nr; ++current) {
    double min_cost = 0;
    const int64_t sink = AugmentingPath(c, nc, u, v, row_for, current, &visited_rows, &visited_cols,
                                        &path_cost, &prev_row, &min_cost);
    if (sink < 0) return absl::InternalError("linear sum assignment: no feasible matching");
    // Dual update keeps every reduced cost non-negative and those on the matching zero.
    u[static_cast<size_t>(current)] += min_cost;
    for (int64_t i = 0; i < nr; ++i) {
      if (visited_rows[static_cast<size_t>(i)] && i != current) {
        u[static_cast<size_t>(i)] +=
            min_cost - path_cost[static_cast<size_t>(col_for[static_cast<size_t>(i)])];
      }
    }
    for (int64_t j = 0; j < nc; ++j) {
      if (visited_cols[static_cast<size_t>(j)]) {
        v[static_cast<size_t>(j)] -= min_cost - path_cost[static_cast<size_t>(j)];
      }
    }
    // Augment: flip the matching along the path back from the sink to `current`.
    int64_t j = sink;
    while (true) {
      const int64_t i = prev_row[static_cast<size_t>(j)];
      row_for[static_cast<size_t>(j)] = i;
      std::swap(col_for[static_cast<size_t>(i)], j);
      if (i == current) break;
    }
  }
  if (transpose) {
    for (int64_t j = 0; j < nr; ++j) col_of_row[static_cast<size_t>(col_for[j])] = j;
  } else {
    col_of_row = col_for;
  }
  return col_of_row;
}

double ClusterAccuracy(const ContingencyTable& table,
                       std::map<int64_t, int64_t>* cluster_to_class) {
  if (cluster_to_class != nullptr) cluster_to_class->clear();
  if (table.total == 0) return 0.0;
  std::vector<double> weights(table.counts.begin(), table.counts.end());
  absl::StatusOr<std::vector<int64_t>> matching =
      LinearSumAssignment(weights, table.num_clusters(), table.num_classes(), /*maximize=*/true);
  // Counts are finite and the shape consistent, so the assignment cannot fail.
  if (!matching.ok()) return 0.0;
  int64_t matched = 0;
  for (int64_t r = 0; r < table.num_clusters(); ++r) {
    const int64_t c = (*matching)[static_cast<size_t>(r)];
    if (c < 0) continue;
    matched += table.count(r, c);
    if (cluster_to_class != nullptr) {
      (*cluster_to_class)[table.clusters[static_cast<size_t>(r)]] =
          table.classes[static_cast<size_t>(c)];
    }
  }
  return static_cast<double>(matched) / static_cast<double>(table.total);
}

double NormalizedMutualInfo(const ContingencyTable& table) {
  if (table.num_clusters() == table.num_classes() && table.num_classes() <= 1) return 1.0;
  const double mi = MutualInfo(table);
  if (mi == 0) return 0.0;
  const double h_true = Entropy(Marginal(table, 0)), h_pred = Entropy(Marginal(table, 1));
  return mi / ((h_true + h_pred) / 2);
}

double AdjustedRandIndex(const ContingencyTable& table) {
  using int128 = __int128;
  const int128 n = table.total;
  int128 sum_squares = 0;
  for (int64_t count : table.counts) sum_squares += static_cast<int128>(count) * count;
  int128 class_squares = 0, cluster_squares = 0;
  for (int64_t s : Marginal(table, 0)) class_squares += static_cast<int128>(s) * s;
  for (int64_t s : Marginal(table, 1)) cluster_squares += static_cast<int128>(s) * s;
  // scikit-learn's pair_confusion_matrix: ordered pairs of distinct samples.
  const int128 tp = sum_squares - n;
  const int128 fp = cluster_squares - sum_squares;  // same cluster, different classes
  const int128 fn = class_squares - sum_squares;    // same class, different clusters
  const int128 tn = n * n - fp - fn - sum_squares;
  if (fn == 0 && fp == 0) return 1.0;
  const int128 numerator = tp * tn - fn * fp;
  const int128 denominator = (tp + fn) * (fn + tn) + (tp + fp) * (fp + tn);
  return 2.0 * static_cast<double>(numerator) / static_cast<double>(denominator);
}

absl::StatusOr<ClusterScores> ScoreClustering(const std::vector<int64_t>& labels_true,
                                              const std::vector<int64_t>& labels_pred) {
  if (labels_true.empty() && labels_pred.empty()) {
    return absl::InvalidArgumentError("clustering metrics: no samples to score");
  }
  ClusterScores scores;
  ASSIGN_OR_RETURN(scores.table, MakeContingencyTable(labels_true, labels_pred));
  scores.accuracy = ClusterAccuracy(scores.table, &scores.cluster_to_class);
  scores.nmi = NormalizedMutualInfo(scores.table);
  scores.ari = AdjustedRandIndex(scores.table);
  return scores;
}

absl::StatusOr<ClusterScores> ScoreClustering(const at::Tensor& labels_true,
                                              const at::Tensor& labels_pred) {
  std::vector<std::vector<int64_t>> lists;
  for (const auto& [tensor, what] :
       {std::pair<const at::Tensor*, const char*>{&labels_true, "true labels"},
        {&labels_pred, "cluster labels"}}) {
    if (!tensor->defined() || tensor->dim() != 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("clustering metrics: ", what, " must be a 1-D tensor"));
    }
    if (!at::isIntegralType(tensor->scalar_type(), /*includeBool=*/false)) {
      return absl::InvalidArgumentError(absl::StrCat("clustering metrics: ", what,
                                                     " must have an integer dtype, not ",
                                                     at::toString(tensor->scalar_type())));
    }
    ASSIGN_OR_RETURN(std::vector<int64_t> list, GuardTorch("clustering metrics", [&] {
                       at::Tensor t = tensor->to(at::kCPU, at::kLong).contiguous();
                       const int64_t* p = t.data_ptr<int64_t>();
                       return std::vector<int64_t>(p, p + t.numel());
                     }));
    lists.push_back(std::move(list));
  }
  return ScoreClustering(lists[0], lists[1]);
}

nlohmann::json ClusterScores::ToJson() const {
  nlohmann::json matching = nlohmann::json::array();
  for (const auto& [cluster, label] : cluster_to_class) {
    matching.push_back({{"cluster", cluster}, {"class", label}});
  }
  nlohmann::json counts = nlohmann::json::array();
  for (int64_t r = 0; r < table.num_clusters(); ++r) {
    nlohmann::json row = nlohmann::json::array();
    for (int64_t c = 0; c < table.num_classes(); ++c) row.push_back(table.count(r, c));
    counts.push_back(row);
  }
  return {{"accuracy", accuracy},
          {"nmi", nmi},
          {"ari", ari},
          {"num_clusters", table.num_clusters()},
          {"num_classes", table.num_classes()},
          {"samples", table.total},
          {"matching", matching},
          {"contingency",
           {{"clusters", table.clusters}, {"classes", table.classes}, {"counts", counts}}}};
}

std::string ClusterScores::ToText(const std::vector<std::string>& class_names) const {
  const std::string corner = "cluster \\ class";
  size_t width = 5;
  for (int64_t label : table.classes) width = std::max(width, std::to_string(label).size());
  for (int64_t count : table.counts) width = std::max(width, std::to_string(count).size());
  size_t first = corner.size();
  for (int64_t id : table.clusters) first = std::max(first, std::to_string(id).size());
  std::string text = PadRight(corner, first);
  for (int64_t label : table.classes) text += " " + PadLeft(std::to_string(label), width);
  text += "  matched\n";
  for (int64_t r = 0; r < table.num_clusters(); ++r) {
    const int64_t id = table.clusters[static_cast<size_t>(r)];
    text += PadRight(std::to_string(id), first);
    for (int64_t c = 0; c < table.num_classes(); ++c) {
      text += " " + PadLeft(std::to_string(table.count(r, c)), width);
    }
    auto it = cluster_to_class.find(id);
    if (it == cluster_to_class.end()) {
      text += "  -";
    } else {
      text += "  " + std::to_string(it->second);
      if (it->second >= 0 && it->second < static_cast<int64_t>(class_names.size())) {
        text += " " + class_names[static_cast<size_t>(it->second)];
      }
    }
    text += "\n";
  }
  text += "ACC " + Fixed(accuracy, 4) + "  NMI " + Fixed(nmi, 4) + "  ARI " + Fixed(ari, 4) +
          "  (" + std::to_string(table.total) + " samples, " +
          std::to_string(table.num_clusters()) + " clusters, " +
          std::to_string(table.num_classes()) + " classes)\n";
  return text;
}

}  // namespace fauna
