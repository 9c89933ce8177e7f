// svm_grid: an SVM on features files, tuned by grid search with stratified k-fold CV (the AFHQ
// study's Table 2: VGG16 features into GridSearchCV(SVC)), or fitted with one cell (--cv=0).
// Prints the CV table, the best cell and its train/val/test accuracy; writes results JSON and,
// with --save_model, the refitted model.
//
// Example:
//   bazel run //models/heads:svm_grid -- --train=feat/train.safetensors
//       --val=feat/val.safetensors --test=feat/test.safetensors --grid=afhq_study --out=svm.json
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>

#include <ATen/ATen.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "core/torch_status.h"
#include "data/features_file.h"
#include "data/split.h"
#include "models/heads/grid_search.h"
#include "models/heads/svm.h"

DEFINE_string(train, "", "Features file to fit on (tools/extract_features writes them).");
DEFINE_string(val, "", "Optional features file scored with the best cell.");
DEFINE_string(test, "", "Optional features file scored with the best cell.");
DEFINE_string(grid, "small",
              "afhq_study (the study's 72 cells), small, or a spec such as "
              "\"kernel=rbf,linear;C=0.1,1,10;gamma=scale,0.01\".");
DEFINE_int64(max_train_rows, 0,
             "Search on about N rows of --train (0: all), drawn per class in proportion, seeded "
             "by --seed: a grid search on a subset (rows are often sorted by class).");
DEFINE_int64(refit_rows, 0,
             "After the grid search, fit the best cell again on about N rows of --train, drawn "
             "as --max_train_rows's (0: the rows searched; fewer than those is an error), e.g. a "
             "search on 3000 rows and the final model on 20000; the train accuracy is then of "
             "these rows.");
DEFINE_int32(cv, 5, "Stratified folds; 0 fits the grid's only cell without cross-validation. "
             "Not used with --select=val.");
DEFINE_string(select, "cv",
              "How the best cell is chosen: cv (mean accuracy over --cv folds of --train, as "
              "GridSearchCV) or val (accuracy on --val of each cell fitted on --train, as "
              "GridSearchCV with a PredefinedSplit but without the refit on train + val: the "
              "final model is fitted on --train's rows alone). Features of images a network was "
              "trained on are easier than new ones, so cv can prefer cells that fit them too "
              "closely; val scores unseen images. The kernel matrices then have a row per "
              "training and --val row and a column per training row: keep --max_train_rows and "
              "--val's rows to some thousands.");
DEFINE_double(tol, 1e-3, "SMO stopping tolerance (sklearn's tol).");
DEFINE_int64(max_iter, 0, "Most SMO iterations per pair; 0 for libsvm's default.");
DEFINE_bool(warm_start, true, "Start each C from the previous C's solution.");
DEFINE_string(out, "", "Results JSON; default runs/svm_grid/results.json.");
DEFINE_string(save_model, "", "Write the fitted model here (safetensors).");
DEFINE_string(model, "", "Score this saved model (--save_model's file) on --train/--val/--test "
              "instead of fitting one.");
DEFINE_bool(progress, true, "Show progress on stderr.");

namespace fauna {
namespace {

// About `rows` rows of `set` (all when rows is 0 or at least its size): each class's share drawn
// by StratifiedSplit with `seed`, in the file's order.
absl::StatusOr<FeatureSet> StratifiedRows(const FeatureSet& set, int64_t rows, uint64_t seed) {
  if (rows <= 0 || rows >= set.size()) return set;
  const at::Tensor labels = set.labels.contiguous();
  const std::vector<int64_t> label_list(labels.data_ptr<int64_t>(),
                                        labels.data_ptr<int64_t>() + labels.numel());
  const double fraction = static_cast<double>(rows) / static_cast<double>(set.size());
  ASSIGN_OR_RETURN(const std::vector<std::vector<int64_t>> parts,
                   StratifiedSplit(label_list, {fraction, 1 - fraction}, seed));
  return SelectRows(set, at::tensor(parts[0], at::kLong));
}

// --model: accuracy of a saved model on each features file given.
absl::Status ScoreSavedModel(const Runtime& runtime) {
  std::vector<std::string> classes;
  ASSIGN_OR_RETURN(SvmModel model, SvmModel::Load(FLAGS_model, &classes));
  std::printf("model %s: kernel %s, C %g, %lld support vectors\n", FLAGS_model.c_str(),
              KernelDescription(model.kernel()).c_str(), model.C(),
              static_cast<long long>(model.support().size(0)));
  nlohmann::json accuracy;
  for (const auto& [name, path] : {std::pair<std::string, std::string>{"train", FLAGS_train},
                                   {"val", FLAGS_val}, {"test", FLAGS_test}}) {
    if (path.empty()) continue;
    ASSIGN_OR_RETURN(FeatureSet set, ReadFeatureSet(path));
    if (set.dim() != model.dim() || set.classes != classes) {
      return absl::InvalidArgumentError(absl::StrCat(
          path, " does not fit ", FLAGS_model, ": ", set.dim(), " features and ",
          set.classes.size(), " classes, the model has ", model.dim(), " and ", classes.size(),
          " (or the class names differ)"));
    }
    accuracy[name] = model.Accuracy(set.features.to(runtime.device), set.labels);
    std::printf("%s accuracy: %.4f (%lld rows)\n", name.c_str(), accuracy[name].get<double>(),
                static_cast<long long>(set.size()));
  }
  if (!FLAGS_out.empty()) {
    RETURN_IF_ERROR(WriteFileAtomically(
        FLAGS_out, nlohmann::json({{"model", FLAGS_model}, {"accuracy", accuracy}}).dump(2)));
  }
  return absl::OkStatus();
}

absl::Status Run() {
  for (std::string* path : {&FLAGS_train, &FLAGS_val, &FLAGS_test, &FLAGS_out, &FLAGS_save_model,
                            &FLAGS_model}) {
    *path = UserPath(*path);
  }
  if (!FLAGS_model.empty()) {
    if (FLAGS_train.empty() && FLAGS_val.empty() && FLAGS_test.empty()) {
      return absl::InvalidArgumentError("--model needs a features file to score (--test=...)");
    }
    ASSIGN_OR_RETURN(Runtime runtime, InitRuntime());
    return ScoreSavedModel(runtime);
  }
  if (FLAGS_train.empty()) return absl::InvalidArgumentError("--train is required");
  if (FLAGS_cv < 0 || FLAGS_cv == 1) {
    return absl::InvalidArgumentError(absl::StrCat("--cv must be 0 or >= 2, not ", FLAGS_cv));
  }
  const bool select_on_val = FLAGS_select == "val";
  if (!select_on_val && FLAGS_select != "cv") {
    return absl::InvalidArgumentError("--select must be cv or val, not \"" + FLAGS_select + "\"");
  }
  if (select_on_val && FLAGS_val.empty()) {
    return absl::InvalidArgumentError("--select=val scores the cells on --val: give --val");
  }
  if (select_on_val && FLAGS_cv == 0) {
    return absl::InvalidArgumentError("--cv=0 fits one cell without a search; --select=val "
                                      "searches: leave --cv out");
  }
  ASSIGN_OR_RETURN(const GridSpec grid, ParseGrid(FLAGS_grid));
  const std::vector<GridCell> cells = GridCells(grid);
  if (FLAGS_cv == 0 && cells.size() != 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--cv=0 fits one cell, but --grid has ", cells.size(), "; give one value per axis"));
  }
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime());
  if (FLAGS_max_train_rows < 0 || FLAGS_refit_rows < 0) {
    return absl::InvalidArgumentError("--max_train_rows and --refit_rows must be >= 0");
  }
  if (FLAGS_refit_rows > 0 && FLAGS_cv == 0) {
    return absl::InvalidArgumentError("--refit_rows refits a grid search's best cell: give --cv");
  }
  ASSIGN_OR_RETURN(const FeatureSet all_train, ReadFeatureSet(FLAGS_train));
  ASSIGN_OR_RETURN(FeatureSet train, StratifiedRows(all_train, FLAGS_max_train_rows, runtime.seed));
  // The rows the final model is fitted on and scored as "train".
  FeatureSet refit_train = train;
  if (FLAGS_refit_rows > 0) {
    ASSIGN_OR_RETURN(refit_train, StratifiedRows(all_train, FLAGS_refit_rows, runtime.seed));
    if (refit_train.size() < train.size()) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--refit_rows=", FLAGS_refit_rows, " is fewer rows than the search's ", train.size()));
    }
  }
  std::vector<std::pair<std::string, FeatureSet>> scored = {{"train", refit_train}};
  for (const auto& [name, path] : {std::pair<std::string, std::string>{"val", FLAGS_val},
                                   {"test", FLAGS_test}}) {
    if (path.empty()) continue;
    ASSIGN_OR_RETURN(FeatureSet set, ReadFeatureSet(path));
    RETURN_IF_ERROR(CheckCompatible(train, FLAGS_train, set, path));
    scored.emplace_back(name, std::move(set));
  }
  const int64_t num_classes = static_cast<int64_t>(train.classes.size());
  const at::Tensor x = train.features.to(runtime.device);
  // --select=val's rows (--val, given as checked above, is scored[1]).
  const FeatureSet* select_rows = select_on_val ? &scored[1].second : nullptr;
  std::string selection = FLAGS_cv > 0 ? absl::StrCat(FLAGS_cv, "-fold CV") : "no CV";
  if (select_on_val) selection = absl::StrCat("scored on --val's ", select_rows->size(), " rows");
  std::fprintf(stderr, "svm_grid: %lld rows x %lld features, %lld classes, %zu cells, %s\n",
               static_cast<long long>(train.size()), static_cast<long long>(train.dim()),
               static_cast<long long>(num_classes), cells.size(), selection.c_str());

  nlohmann::json results = {{"train", FLAGS_train}, {"grid", FLAGS_grid},
                            {"cv", select_on_val ? 0 : FLAGS_cv},
                            {"select", FLAGS_select}, {"train_rows", train.size()},
                            {"classes", train.classes}, {"threads", runtime.threads},
                            {"device", runtime.device.str()}};
  const auto params_of = [&grid](const GridCell& cell) {
    SvmParams params;
    params.kernel = cell.kernel;
    params.C = cell.C;
    params.gamma = cell.gamma;
    params.degree = grid.degree;
    params.coef0 = grid.coef0;
    params.tol = FLAGS_tol;
    params.max_iter = FLAGS_max_iter;
    return params;
  };
  std::optional<SvmModel> model;
  if (FLAGS_cv == 0) {
    const auto start = std::chrono::steady_clock::now();
    ASSIGN_OR_RETURN(SvmModel fitted,
                     SvmModel::Fit(x, train.labels, num_classes, params_of(cells[0])));
    results["fit_seconds"] = SecondsSince(start);
    model = std::move(fitted);
  } else {
    GridSearchOptions options;
    options.folds = FLAGS_cv;
    options.tol = FLAGS_tol;
    options.max_iter = FLAGS_max_iter;
    options.warm_start = FLAGS_warm_start;
    // With --refit_rows the best cell is fitted below, on its rows, and only there.
    options.refit = refit_train.size() == train.size();
    at::Tensor search_x = x, search_labels = train.labels;
    if (select_on_val) {
      // Every class among the training rows (checked here: the split's own error would name
      // the concatenated rows), then --val's rows as the one fold (-1: trained on, never scored).
      RETURN_IF_ERROR(CheckTrainingSet(x, train.labels, num_classes));
      search_x = at::cat({x, select_rows->features.to(runtime.device)});
      search_labels = at::cat({train.labels, select_rows->labels});
      options.test_fold.assign(train.size(), -1);
      options.test_fold.insert(options.test_fold.end(), select_rows->size(), 0);
      options.refit = false;  // a refit would also train on --val: the best cell is fitted below
    }
    std::optional<ProgressBar> bar;
    if (FLAGS_progress) {
      // One step per fold and kernel matrix (each covering every C).
      options.progress = [&](int64_t done, int64_t total) {
        if (!bar) {
          ProgressOptions progress;
          progress.label = "grid search";
          progress.total = total;
          progress.unit = "fold-kernel";
          bar.emplace(std::move(progress));
        }
        bar->Update(done);
      };
    }
    ASSIGN_OR_RETURN(GridSearchResult search,
                     GridSearch(search_x, search_labels, num_classes, grid, options));
    if (bar) bar->Finish();
    std::printf("%-7s %9s %9s %8s %8s %5s %9s\n", "kernel", "C", "gamma", "mean", "std", "rank",
                "seconds");
    nlohmann::json table = nlohmann::json::array();
    for (const CellResult& row : search.cells) {
      std::printf("%-7s %9g %9s %8.4f %8.4f %5d %9.3f%s\n", row.cell.kernel.c_str(), row.cell.C,
                  row.cell.kernel == "linear" ? "-" : row.cell.gamma.c_str(), row.mean, row.std,
                  row.rank, row.fit_seconds, row.converged ? "" : "  (max_iter reached)");
      table.push_back({{"kernel", row.cell.kernel}, {"C", row.cell.C},
                       {"gamma", row.cell.gamma}, {"mean_test_score", row.mean},
                       {"std_test_score", row.std}, {"rank_test_score", row.rank},
                       {"split_test_scores", row.fold_accuracy}, {"fit_seconds", row.fit_seconds},
                       {"iterations", row.iterations}, {"converged", row.converged}});
    }
    const CellResult& best = search.cells[search.best];
    // A linear kernel has no gamma (the cell's is the first of the grid's, as in sklearn).
    const std::string score =
        select_on_val ? absl::StrFormat("val accuracy %.4f", best.mean)
                      : absl::StrFormat("CV accuracy %.4f +- %.4f", best.mean, best.std);
    std::printf("best: kernel=%s C=%g%s: %s\n", best.cell.kernel.c_str(), best.cell.C,
                best.cell.kernel == "linear" ? "" : (" gamma=" + best.cell.gamma).c_str(),
                score.c_str());
    results["cv_results"] = table;
    results["best"] = {{"kernel", best.cell.kernel}, {"C", best.cell.C},
                       {"gamma", best.cell.gamma}, {"index", search.best}};
    if (select_on_val) {
      results["best"]["val_accuracy"] = best.mean;
    } else {
      results["best"]["cv_accuracy"] = best.mean;
      results["best"]["cv_std"] = best.std;
    }
    results["cv_seconds"] = search.cv_seconds;
    if (search.refit) {
      results["fit_seconds"] = search.refit_seconds;
      model = std::move(search.refit);
    } else {
      std::fprintf(stderr, "svm_grid: fitting the best cell on %lld rows\n",
                   static_cast<long long>(refit_train.size()));
      const auto start = std::chrono::steady_clock::now();
      ASSIGN_OR_RETURN(SvmModel refit, SvmModel::Fit(refit_train.features.to(runtime.device),
                                                     refit_train.labels, num_classes,
                                                     params_of(best.cell)));
      results["fit_seconds"] = SecondsSince(start);
      model = std::move(refit);
    }
    results["refit_rows"] = refit_train.size();
  }
  results["kernel"] = KernelDescription(model->kernel());
  results["support_vectors"] = model->support().size(0);
  results["converged"] = model->stats().converged;
  results["fit_breakdown"] = {{"kernel_matrix_seconds", model->stats().gram_seconds},
                              {"smo_seconds", model->stats().solve_seconds},
                              {"smo_iterations", model->stats().iterations}};
  nlohmann::json accuracy, predict_seconds;
  for (const auto& [name, set] : scored) {
    const auto start = std::chrono::steady_clock::now();
    const double value = model->Accuracy(set.features.to(runtime.device), set.labels);
    predict_seconds[name] = SecondsSince(start);
    accuracy[name] = value;
    std::printf("%s accuracy: %.4f (%lld rows)\n", name.c_str(), value,
                static_cast<long long>(set.size()));
  }
  results["accuracy"] = accuracy;
  results["predict_seconds"] = predict_seconds;
  std::printf("kernel %s, %lld support vectors, fit %.3f s\n",
              KernelDescription(model->kernel()).c_str(),
              static_cast<long long>(model->support().size(0)),
              results["fit_seconds"].get<double>());
  if (!FLAGS_save_model.empty()) RETURN_IF_ERROR(model->Save(FLAGS_save_model, train.classes));
  std::string out = FLAGS_out;
  if (out.empty()) {
    std::error_code error;
    std::filesystem::create_directories(DefaultRunDir("svm_grid"), error);
    out = DefaultRunDir("svm_grid") + "/results.json";
  }
  RETURN_IF_ERROR(WriteFileAtomically(out, results.dump(2) + "\n"));
  std::fprintf(stderr, "svm_grid: wrote %s\n", out.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "svm_grid --train=train.safetensors [--val=...] [--test=...] "
                    "[--grid=afhq_study] [--cv=5]: an SVM on features files, tuned by grid search",
                    {{"Data", {"train", "val", "test", "max_train_rows", "refit_rows"}},
                     {"Search", {"grid", "cv", "select", "tol", "max_iter", "warm_start"}},
                     {"Output", {"out", "save_model", "progress"}},
                     {"Saved model", {"model"}}});
  // LibTorch's own errors (out of memory for a kernel matrix, ...) become one line too.
  return fauna::ExitCode(fauna::GuardTorch("svm_grid", [] { return fauna::Run(); }));
}
