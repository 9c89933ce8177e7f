// Grid search with stratified k-fold cross-validation for the SVM, as scikit-learn's
// GridSearchCV(SVC(), param_grid, cv=k) runs it: the same folds (StratifiedKFold without
// shuffling), the same cell order (ParameterGrid: C, then gamma, then kernel, the last varying
// fastest), accuracy per fold, mean and std (ddof 0) per cell, rank with ties sharing the lower
// rank, the first best cell chosen, and a refit on the whole training set.
//
// What cells share is computed once: the squared distances between all training rows (every RBF
// gamma is one exp over them) and their dot products (linear and polynomial kernels); per fold,
// every pair of classes is solved for increasing C, each C starting from the solution at the
// previous one (alphas scaled by the ratio of the Cs); linear cells that differ only in gamma are
// fitted once.
//
// Example:
//   ASSIGN_OR_RETURN(GridSpec grid, ParseGrid("afhq_study"));
//   ASSIGN_OR_RETURN(GridSearchResult result, GridSearch(x, y, num_classes, grid, {}));
//   SvmModel best = std::move(*result.refit);
#ifndef FAUNA_MODELS_HEADS_GRID_SEARCH_H_
#define FAUNA_MODELS_HEADS_GRID_SEARCH_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "models/heads/svm.h"

namespace fauna {

// The axes of a grid. Values keep the order given.
struct GridSpec {
  std::vector<std::string> kernels;  // linear, rbf, poly
  std::vector<double> Cs;
  std::vector<std::string> gammas;   // numbers, "scale", "auto"
  int degree = 3;
  double coef0 = 0.0;
};

// A grid from a preset name or a spec:
//   "afhq_study"  the AFHQ study's Table 2 grid: kernel rbf, linear; C and gamma each
//                 0.001, 0.01, 0.1, 1, 10, 100 (72 cells)
//   "small"       kernel rbf, linear; C 0.1, 1, 10; gamma scale, auto (12 cells)
//   "kernel=rbf,linear;C=0.1,1,10;gamma=scale,0.01[;degree=3;coef0=0]"
// A spec may leave out gamma (then "scale"); it must name kernel and C. InvalidArgument names the
// fault (unknown key or kernel, a C <= 0, a bad gamma, an empty axis).
absl::StatusOr<GridSpec> ParseGrid(const std::string& text);

// One cell: the SvmParams it fits (kernel, C, gamma; the rest from the spec).
struct GridCell {
  std::string kernel;
  double C = 1;
  std::string gamma;
};

// The cells in scikit-learn's ParameterGrid order: for C, for gamma, for kernel.
std::vector<GridCell> GridCells(const GridSpec& spec);

// scikit-learn's StratifiedKFold(n_splits=folds, shuffle=False).split: the test fold of every row.
// Classes are taken in order of first appearance; each class's rows, in order, fill fold 0 first,
// then fold 1, ..., with the counts that dealing the label-sorted rows round-robin gives.
// InvalidArgument when some class has fewer rows than `folds` (scikit-learn only warns, but a
// fold without a class cannot train every pair) or folds < 2.
absl::StatusOr<std::vector<int>> StratifiedFolds(const std::vector<int64_t>& labels, int folds);

struct GridSearchOptions {
  int folds = 5;
  // scikit-learn's PredefinedSplit(test_fold): row i is scored in fold test_fold[i] and trained on
  // in every other fold; rows marked -1 are trained on in every fold and never scored. Folds are
  // 0..F-1, each holding some row, and F replaces `folds`. E.g. -1 for training rows and 0 for
  // validation rows chooses the cell by its accuracy on the validation rows. Empty:
  // StratifiedFolds(labels, folds).
  std::vector<int> test_fold;
  double tol = 1e-3;
  int64_t max_iter = 0;
  int threads = 0;          // pairs at once; <= 0: LibTorch's thread count
  bool warm_start = true;   // start each C from the previous C's solution
  bool refit = true;        // fit the best cell on every training row
  // Called after each (fold, kernel, gamma) group with the cells done and the total.
  std::function<void(int64_t done, int64_t total)> progress;
};

// One row of the results table (scikit-learn's cv_results_).
struct CellResult {
  GridCell cell;
  std::vector<double> fold_accuracy;
  double mean = 0, std = 0;
  int rank = 0;
  double fit_seconds = 0;   // Summed over folds (shared work split evenly among the cells).
  int64_t iterations = 0;   // SMO iterations, summed over folds and pairs.
  bool converged = true;
};

struct GridSearchResult {
  std::vector<CellResult> cells;
  int best = 0;                     // Index into cells.
  std::optional<SvmModel> refit;    // With options.refit.
  double cv_seconds = 0, refit_seconds = 0;
};

// Runs the search on `x` float32 [N, D] and `labels` int64 [N] (every class of [0, num_classes)
// present, at least `folds` rows each; with options.test_fold, in every fold's training rows).
absl::StatusOr<GridSearchResult> GridSearch(const at::Tensor& x, const at::Tensor& labels,
                                            int64_t num_classes, const GridSpec& spec,
                                            const GridSearchOptions& options);

}  // namespace fauna

#endif  // FAUNA_MODELS_HEADS_GRID_SEARCH_H_
