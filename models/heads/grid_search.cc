#include "models/heads/grid_search.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <utility>

#include <ATen/ATen.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "models/heads/one_vs_one.h"

namespace fauna {
namespace {

const std::vector<double> kStudyValues = {0.001, 0.01, 0.1, 1, 10, 100};

absl::Status ValidateSpec(const GridSpec& spec) {
  if (spec.kernels.empty() || spec.Cs.empty() || spec.gammas.empty()) {
    return absl::InvalidArgumentError("a grid needs at least one kernel, C and gamma");
  }
  for (const std::string& kernel : spec.kernels) RETURN_IF_ERROR(ParseKernelType(kernel).status());
  for (double C : spec.Cs) {
    if (!(C > 0) || !std::isfinite(C)) {
      return absl::InvalidArgumentError(absl::StrCat("grid C ", C, " is not a positive number"));
    }
  }
  for (const std::string& gamma : spec.gammas) {
    RETURN_IF_ERROR(ResolveGamma(gamma, at::ones({1, 1})).status());
  }
  if (spec.degree < 1) return absl::InvalidArgumentError("grid degree must be >= 1");
  return absl::OkStatus();
}

std::string FormatNumber(double value) { return absl::StrCat(value); }

// The test fold of every row: options.test_fold checked (one per row, folds 0..F-1 each holding
// a row, every class in every fold's training rows), or StratifiedFolds.
absl::StatusOr<std::vector<int>> TestFolds(const std::vector<int64_t>& labels,
                                          int64_t num_classes, const GridSearchOptions& options) {
  if (options.test_fold.empty()) return StratifiedFolds(labels, options.folds);
  const std::vector<int>& test_fold = options.test_fold;
  if (test_fold.size() != labels.size()) {
    return absl::InvalidArgumentError(absl::StrCat("test_fold has ", test_fold.size(),
                                                   " entries for ", labels.size(), " rows"));
  }
  const int largest = *std::max_element(test_fold.begin(), test_fold.end());
  if (largest >= static_cast<int64_t>(labels.size())) {
    return absl::InvalidArgumentError(absl::StrCat("test_fold names fold ", largest, " of ",
                                                   labels.size(), " rows: some fold has none"));
  }
  const int folds = 1 + largest;
  if (folds < 1 || *std::min_element(test_fold.begin(), test_fold.end()) < -1) {
    return absl::InvalidArgumentError(
        "test_fold's entries are -1 (always trained on) or folds 0, 1, ..., and some row must be "
        "scored");
  }
  // Rows of each class in each fold.
  std::vector<std::vector<int64_t>> counts(folds, std::vector<int64_t>(num_classes, 0));
  std::vector<int64_t> class_rows(num_classes, 0);
  for (size_t i = 0; i < labels.size(); ++i) {
    ++class_rows[labels[i]];
    if (test_fold[i] >= 0) ++counts[test_fold[i]][labels[i]];
  }
  for (int fold = 0; fold < folds; ++fold) {
    int64_t scored = 0;
    for (int64_t c = 0; c < num_classes; ++c) {
      scored += counts[fold][c];
      if (counts[fold][c] == class_rows[c]) {
        return absl::InvalidArgumentError(absl::StrCat(
            "test_fold: fold ", fold, " scores every row of class ", c,
            ", so its training rows have none (every pair of classes must be trained)"));
      }
    }
    if (scored == 0) {
      return absl::InvalidArgumentError(absl::StrCat("test_fold: fold ", fold, " has no rows"));
    }
  }
  return test_fold;
}

}  // namespace

absl::StatusOr<GridSpec> ParseGrid(const std::string& text) {
  GridSpec spec;
  if (text == "afhq_study") {
    spec.kernels = {"rbf", "linear"};
    spec.Cs = kStudyValues;
    for (double value : kStudyValues) spec.gammas.push_back(FormatNumber(value));
    return spec;
  }
  if (text == "small") {
    spec.kernels = {"rbf", "linear"};
    spec.Cs = {0.1, 1, 10};
    spec.gammas = {"scale", "auto"};
    return spec;
  }
  if (text.find('=') == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat(
        "unknown grid \"", text,
        "\": give afhq_study, small, or a spec such as \"kernel=rbf,linear;C=0.1,1;gamma=scale\""));
  }
  bool has_kernel = false, has_C = false;
  for (absl::string_view part : absl::StrSplit(text, ';', absl::SkipWhitespace())) {
    std::pair<std::string, std::string> kv = absl::StrSplit(part, absl::MaxSplits('=', 1));
    const std::string key(absl::StripAsciiWhitespace(kv.first));
    std::vector<std::string> values;
    for (absl::string_view value : absl::StrSplit(kv.second, ',', absl::SkipWhitespace())) {
      values.emplace_back(absl::StripAsciiWhitespace(value));
    }
    if (values.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("grid axis \"", key, "\" has no values"));
    }
    auto number = [&](const std::string& value, double* out) -> absl::Status {
      if (!absl::SimpleAtod(value, out)) {
        return absl::InvalidArgumentError(
            absl::StrCat("grid ", key, " value \"", value, "\" is not a number"));
      }
      return absl::OkStatus();
    };
    if (key == "kernel") {
      spec.kernels = values;
      has_kernel = true;
    } else if (key == "C") {
      for (const std::string& value : values) {
        double C = 0;
        RETURN_IF_ERROR(number(value, &C));
        spec.Cs.push_back(C);
      }
      has_C = true;
    } else if (key == "gamma") {
      spec.gammas = values;
    } else if (key == "degree" || key == "coef0") {
      double value = 0;
      if (values.size() != 1) {
        return absl::InvalidArgumentError(absl::StrCat("grid ", key, " takes one value"));
      }
      RETURN_IF_ERROR(number(values[0], &value));
      if (key == "degree") {
        spec.degree = static_cast<int>(value);
      } else {
        spec.coef0 = value;
      }
    } else {
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown grid key \"", key, "\"; the keys are kernel, C, gamma, degree, coef0"));
    }
  }
  if (!has_kernel || !has_C) {
    return absl::InvalidArgumentError(
        absl::StrCat("grid \"", text, "\" must name kernel=... and C=..."));
  }
  if (spec.gammas.empty()) spec.gammas = {"scale"};
  RETURN_IF_ERROR(ValidateSpec(spec));
  return spec;
}

std::vector<GridCell> GridCells(const GridSpec& spec) {
  std::vector<GridCell> cells;
  for (double C : spec.Cs) {
    for (const std::string& gamma : spec.gammas) {
      for (const std::string& kernel : spec.kernels) cells.push_back({kernel, C, gamma});
    }
  }
  return cells;
}

absl::StatusOr<std::vector<int>> StratifiedFolds(const std::vector<int64_t>& labels, int folds) {
  if (folds < 2) {
    return absl::InvalidArgumentError(absl::StrCat("cv folds must be >= 2, not ", folds));
  }
  // Classes encoded by first appearance, as StratifiedKFold does.
  std::map<int64_t, int> code;
  std::vector<int> encoded(labels.size());
  for (size_t i = 0; i < labels.size(); ++i) {
    auto it = code.emplace(labels[i], static_cast<int>(code.size())).first;
    encoded[i] = it->second;
  }
  const int num_classes = static_cast<int>(code.size());
  std::vector<int64_t> counts(num_classes, 0);
  for (int c : encoded) ++counts[c];
  for (const auto& [label, c] : code) {
    if (counts[c] < folds) {
      return absl::InvalidArgumentError(absl::StrCat(
          "class ", label, " has ", counts[c], " training rows, fewer than the ", folds,
          " cv folds; use fewer folds (--cv) or more data"));
    }
  }
  // allocation[f][c]: how many of class c's rows fold f gets = the count of c among the
  // label-sorted rows f, f + folds, f + 2 folds, ...
  std::vector<int> sorted = encoded;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::vector<int64_t>> allocation(folds, std::vector<int64_t>(num_classes, 0));
  for (size_t i = 0; i < sorted.size(); ++i) ++allocation[i % folds][sorted[i]];
  std::vector<int> test_fold(labels.size());
  for (int c = 0; c < num_classes; ++c) {
    int fold = 0;
    int64_t left = allocation[0][c];
    for (size_t i = 0; i < labels.size(); ++i) {
      if (encoded[i] != c) continue;
      while (left == 0) left = allocation[++fold][c];
      test_fold[i] = fold;
      --left;
    }
  }
  return test_fold;
}

absl::StatusOr<GridSearchResult> GridSearch(const at::Tensor& x, const at::Tensor& labels,
                                            int64_t num_classes, const GridSpec& spec,
                                            const GridSearchOptions& options) {
  RETURN_IF_ERROR(ValidateSpec(spec));
  RETURN_IF_ERROR(CheckTrainingSet(x, labels, num_classes));
  const auto start = std::chrono::steady_clock::now();
  const int64_t n = x.size(0);
  const at::Tensor label_cpu = labels.to(at::kCPU).contiguous();
  const std::vector<int64_t> y(label_cpu.data_ptr<int64_t>(), label_cpu.data_ptr<int64_t>() + n);
  ASSIGN_OR_RETURN(const std::vector<int> test_fold, TestFolds(y, num_classes, options));
  const int folds = 1 + *std::max_element(test_fold.begin(), test_fold.end());

  GridSearchResult result;
  const std::vector<GridCell> cells = GridCells(spec);
  for (const GridCell& cell : cells) {
    CellResult row;
    row.cell = cell;
    row.fold_accuracy.assign(folds, 0.0);
    result.cells.push_back(row);
  }
  // Cells that share a kernel matrix: (kernel, gamma), linear ignoring gamma. Each group maps its
  // Cs (ascending) to the cells that use them.
  struct Group {
    std::string kernel, gamma;
    std::map<double, std::vector<size_t>> cells_by_C;
  };
  std::vector<Group> groups;
  for (size_t c = 0; c < cells.size(); ++c) {
    const std::string gamma = cells[c].kernel == "linear" ? "" : cells[c].gamma;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& g) {
      return g.kernel == cells[c].kernel && g.gamma == gamma;
    });
    if (it == groups.end()) it = groups.insert(groups.end(), Group{cells[c].kernel, gamma, {}});
    it->cells_by_C[cells[c].C].push_back(c);
  }

  // Shared by every fold and cell: dot products and squared distances between every row and the
  // rows some fold trains on (its columns). With two folds or more that is every row; with one
  // (a predefined validation fold) the scored rows are never trained on, so the matrix leaves out
  // their columns: train + val rows by train rows instead of a square over both.
  // Matrix rows are the trained-on rows first (so the leading square block is theirs), then the
  // rest; position[i] is row i's place in that order, and a trained-on row's column.
  std::vector<int64_t> order;
  for (int64_t i = 0; i < n; ++i) {
    if (folds > 1 || test_fold[i] == -1) order.push_back(i);
  }
  const int64_t trained = static_cast<int64_t>(order.size());
  for (int64_t i = 0; i < n; ++i) {
    if (folds == 1 && test_fold[i] != -1) order.push_back(i);
  }
  std::vector<int64_t> position(n);
  for (int64_t p = 0; p < n; ++p) position[order[p]] = p;
  const at::Tensor x_ordered =
      trained == n ? x : x.index_select(0, at::tensor(order, at::kLong).to(x.device()));
  const at::Tensor x_trained = x_ordered.narrow(0, 0, trained);
  const SvmKernel linear{KernelType::kLinear};
  // One GEMM (a symmetric half) for the square block, one for the rest: [n, trained].
  const at::Tensor dots = [&] {
    at::Tensor square = SymmetricKernelMatrix(linear, x_trained);
    if (trained == n) return square;
    return at::cat(
        {square, KernelMatrix(linear, x_ordered.narrow(0, trained, n - trained), x_trained)});
  }();
  const bool any_rbf = std::any_of(groups.begin(), groups.end(),
                                   [](const Group& g) { return g.kernel == "rbf"; });
  at::Tensor distances;
  if (any_rbf) {
    // |a - b|^2 = <a, a> + <b, b> - 2 <a, b>.
    const at::Tensor column_norms = dots.diagonal();  // the leading square block's
    const at::Tensor row_norms =
        trained == n ? column_norms
                     : at::cat({column_norms, x_ordered.narrow(0, trained, n - trained)
                                                  .square()
                                                  .sum(1)});
    distances = (dots * -2.0)
                    .add_(row_norms.unsqueeze(1))
                    .add_(column_norms.unsqueeze(0))
                    .clamp_min_(0.0);
  }

  SmoOptions smo;
  smo.eps = options.tol;
  smo.max_iter = options.max_iter;
  const int64_t total_steps = folds * static_cast<int64_t>(groups.size());
  int64_t steps = 0;
  for (int fold = 0; fold < folds; ++fold) {
    // The fold's rows, and their positions in the matrix (a training row's is also its column).
    std::vector<int64_t> train_rows, val_rows, train_labels, train_positions, val_positions;
    for (int64_t i = 0; i < n; ++i) {
      if (test_fold[i] == fold) {
        val_rows.push_back(i);
        val_positions.push_back(position[i]);
      } else {
        train_rows.push_back(i);
        train_positions.push_back(position[i]);
        train_labels.push_back(y[i]);
      }
    }
    const at::Tensor train_index = at::tensor(train_rows, at::kLong).to(x.device());
    const at::Tensor val_labels = label_cpu.index_select(0, at::tensor(val_rows, at::kLong));
    const at::Tensor x_train = x.index_select(0, train_index);
    const at::Tensor train_position = at::tensor(train_positions, at::kLong).to(x.device());
    const at::Tensor val_position = at::tensor(val_positions, at::kLong).to(x.device());
    std::vector<int64_t> local_rows(train_rows.size());
    for (size_t i = 0; i < local_rows.size(); ++i) local_rows[i] = static_cast<int64_t>(i);

    for (const Group& group : groups) {
      const auto group_start = std::chrono::steady_clock::now();
      SvmKernel kernel;
      kernel.type = *ParseKernelType(group.kernel);
      kernel.degree = spec.degree;
      kernel.coef0 = spec.coef0;
      if (!group.gamma.empty()) {
        // "scale" is a property of the fold's training rows, as in scikit-learn.
        ASSIGN_OR_RETURN(kernel.gamma, ResolveGamma(group.gamma, x_train));
      }
      at::Tensor gram;
      switch (kernel.type) {
        case KernelType::kLinear:
          gram = dots;
          break;
        case KernelType::kRbf:
          gram = RbfFromSquaredDistances(distances, kernel.gamma);
          break;
        case KernelType::kPoly:
          gram = dots.mul(kernel.gamma).add_(kernel.coef0).pow_(kernel.degree);
          break;
      }
      // Each pair's block straight from the square over the trained-on rows (fold-local rows
      // mapped to their positions).
      const GramBlockFn whole =
          GatherFromGram(gram.narrow(0, 0, trained).to(at::kCPU).contiguous());
      const GramBlockFn block = [&](const std::vector<int64_t>& local) {
        std::vector<int64_t> rows(local.size());
        for (size_t i = 0; i < local.size(); ++i) rows[i] = train_positions[local[i]];
        return whole(rows);
      };
      const at::Tensor cross =
          gram.index_select(0, val_position).index_select(1, train_position);
      const double shared_seconds = SecondsSince(group_start);

      std::optional<OneVsOne> previous;
      double previous_C = 0;
      for (const auto& [C, cell_indices] : group.cells_by_C) {
        const auto fit_start = std::chrono::steady_clock::now();
        smo.C = C;
        OneVsOne solution =
            SolveOneVsOne(block, {}, train_labels, num_classes, smo, options.threads,
                          options.warm_start && previous ? &*previous : nullptr, previous_C);
        const at::Tensor decisions =
            PairDecisions(cross, DualCoefficients(solution, local_rows).to(cross.device()),
                          Rhos(solution));
        const double accuracy = VoteClasses(decisions, num_classes)
                                    .eq(val_labels)
                                    .to(at::kDouble)
                                    .mean()
                                    .item<double>();
        const double seconds = SecondsSince(fit_start) +
                               shared_seconds / static_cast<double>(group.cells_by_C.size());
        for (size_t c : cell_indices) {
          CellResult& row = result.cells[c];
          row.fold_accuracy[fold] = accuracy;
          row.fit_seconds += seconds / static_cast<double>(cell_indices.size());
          row.iterations += solution.total_iterations();
          row.converged = row.converged && solution.converged();
        }
        previous = std::move(solution);
        previous_C = C;
      }
      if (options.progress) options.progress(++steps, total_steps);
    }
  }

  for (CellResult& row : result.cells) {
    double sum = 0;
    for (double a : row.fold_accuracy) sum += a;
    row.mean = sum / folds;
    double squares = 0;
    for (double a : row.fold_accuracy) squares += (a - row.mean) * (a - row.mean);
    row.std = std::sqrt(squares / folds);
  }
  for (CellResult& row : result.cells) {
    row.rank = 1 + static_cast<int>(std::count_if(
                       result.cells.begin(), result.cells.end(),
                       [&](const CellResult& other) { return other.mean > row.mean; }));
  }
  for (size_t c = 0; c < result.cells.size(); ++c) {
    if (result.cells[c].rank == 1) {
      result.best = static_cast<int>(c);
      break;
    }
  }
  result.cv_seconds = SecondsSince(start);

  if (options.refit) {
    const auto refit_start = std::chrono::steady_clock::now();
    SvmParams params;
    params.kernel = result.cells[result.best].cell.kernel;
    params.C = result.cells[result.best].cell.C;
    params.gamma = result.cells[result.best].cell.gamma;
    params.degree = spec.degree;
    params.coef0 = spec.coef0;
    params.tol = options.tol;
    params.max_iter = options.max_iter;
    params.threads = options.threads;
    ASSIGN_OR_RETURN(SvmModel model, SvmModel::Fit(x, labels, num_classes, params));
    result.refit = std::move(model);
    result.refit_seconds = SecondsSince(refit_start);
  }
  return result;
}

}  // namespace fauna
