#include "models/heads/grid_search.h"

#include <algorithm>

#include <ATen/ATen.h>
#include <gtest/gtest.h>

namespace fauna {
namespace {

TEST(StratifiedFolds, EqualScikitLearns) {
  // Expected values printed by sklearn 1.2:
  //   f = np.empty(len(y), int)
  //   for i, (_, test) in enumerate(StratifiedKFold(k).split(np.zeros(len(y)), y)): f[test] = i
  const std::vector<int64_t> y1 = {2, 0, 1, 1, 0, 2, 2, 1, 0, 0, 1, 2, 2, 2,
                                   1, 0, 1, 1, 2, 0, 0, 1, 1, 2, 5, 5, 5};
  EXPECT_EQ(*StratifiedFolds(y1, 3),
            (std::vector<int>{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1,
                              1, 2, 1, 2, 2, 2, 2, 2, 2, 2, 0, 1, 2}));
  std::vector<int64_t> y2(7, 1);
  y2.insert(y2.end(), 5, 0);
  y2.insert(y2.end(), 4, 3);
  EXPECT_EQ(*StratifiedFolds(y2, 4),
            (std::vector<int>{0, 0, 1, 1, 2, 2, 3, 0, 1, 2, 3, 3, 0, 1, 2, 3}));
}

TEST(StratifiedFolds, RefusesClassesSmallerThanTheFolds) {
  absl::Status status = StratifiedFolds({0, 0, 0, 1, 1}, 3).status();
  EXPECT_NE(status.message().find("class 1 has 2 training rows, fewer than the 3 cv folds"),
            std::string::npos)
      << status;
  EXPECT_FALSE(StratifiedFolds({0, 1}, 1).ok());
}

TEST(ParseGrid, PresetsAndSpecs) {
  const GridSpec study = *ParseGrid("afhq_study");
  EXPECT_EQ(GridCells(study).size(), 72u);
  EXPECT_EQ(study.gammas.front(), "0.001");
  const GridSpec spec = *ParseGrid("kernel=rbf,linear; C=0.1,10; gamma=scale,0.5; coef0=1");
  EXPECT_EQ(spec.coef0, 1.0);
  // ParameterGrid's order: C, then gamma, then kernel fastest.
  const std::vector<GridCell> cells = GridCells(spec);
  ASSERT_EQ(cells.size(), 8u);
  EXPECT_EQ(cells[0].kernel, "rbf");
  EXPECT_EQ(cells[1].kernel, "linear");
  EXPECT_EQ(cells[1].gamma, "scale");
  EXPECT_EQ(cells[2].gamma, "0.5");
  EXPECT_EQ(cells[4].C, 10.0);
  EXPECT_EQ(ParseGrid("kernel=linear;C=1")->gammas, std::vector<std::string>{"scale"});
}

TEST(ParseGrid, NamesWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"huge", "unknown grid \"huge\""},
      {"kernel=rbf", "must name kernel=... and C=..."},
      {"kernel=rbf;C=0", "is not a positive number"},
      {"kernel=rbf;C=x", "is not a number"},
      {"kernel=sigmoid;C=1", "unknown kernel"},
      {"kernel=rbf;C=1;gamma=-2", "gamma \"-2\""},
      {"kernel=rbf;C=1;nu=0.5", "unknown grid key \"nu\""},
      {"kernel=rbf;C=", "has no values"},
  };
  for (const auto& [text, message] : cases) {
    absl::Status status = ParseGrid(text).status();
    EXPECT_NE(status.message().find(message), std::string::npos) << text << ": " << status;
  }
}

struct Blobs {
  at::Tensor x, y;
};
Blobs MakeBlobs(int64_t classes, int64_t per_class, int64_t dims, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor centres = at::randn({classes, dims}, gen) * 2.0;
  at::Tensor y = at::arange(classes, at::kLong).repeat({per_class});
  return {centres.index_select(0, y) + at::randn({y.size(0), dims}, gen) * 1.5, y};
}

// Every cell's accuracy in each fold of `test_fold` is what its cell fitted alone on the fold's
// training rows (those not in the fold, -1 rows included) scores on the fold's rows. Warm starts
// reach the same optimum within tol: at most one borderline row of the `fold_rows` may differ.
void ExpectEachFoldScoresAFitOnTheOthers(const GridSearchResult& result, const Blobs& data,
                                         const std::vector<int>& test_fold, int64_t num_classes,
                                         int64_t fold_rows) {
  const at::Tensor fold =
      at::tensor(std::vector<int64_t>(test_fold.begin(), test_fold.end()), at::kLong);
  const int folds = 1 + *std::max_element(test_fold.begin(), test_fold.end());
  for (const CellResult& row : result.cells) {
    ASSERT_EQ(row.fold_accuracy.size(), static_cast<size_t>(folds));
    for (int f = 0; f < folds; ++f) {
      const at::Tensor train = fold.ne(f).nonzero().squeeze(1);
      const at::Tensor val = fold.eq(f).nonzero().squeeze(1);
      SvmParams params;
      params.kernel = row.cell.kernel;
      params.C = row.cell.C;
      params.gamma = row.cell.gamma;
      const SvmModel alone = *SvmModel::Fit(data.x.index_select(0, train),
                                            data.y.index_select(0, train), num_classes, params);
      EXPECT_NEAR(row.fold_accuracy[f],
                  alone.Accuracy(data.x.index_select(0, val), data.y.index_select(0, val)),
                  1.0 / fold_rows + 1e-9)
          << row.cell.kernel << " C=" << row.cell.C << " gamma=" << row.cell.gamma << " fold "
          << f;
    }
  }
}

TEST(GridSearch, EachCellScoresWhatFittingItsFoldsAloneScores) {
  const Blobs data = MakeBlobs(3, 30, 5, 1);
  const GridSpec spec = *ParseGrid("kernel=rbf,linear,poly;C=0.1,1,10;gamma=scale,0.05");
  GridSearchOptions options;
  options.folds = 3;
  const GridSearchResult result = *GridSearch(data.x, data.y, 3, spec, options);
  ASSERT_EQ(result.cells.size(), 18u);
  const at::Tensor y = data.y;
  const std::vector<int> folds =
      *StratifiedFolds(std::vector<int64_t>(y.data_ptr<int64_t>(), y.data_ptr<int64_t>() + 90), 3);
  ExpectEachFoldScoresAFitOnTheOthers(result, data, folds, 3, /*fold_rows=*/30);
  // Ranks: 1 + the number of better means; the best is the first cell ranked 1.
  for (const CellResult& row : result.cells) {
    int better = 0;
    for (const CellResult& other : result.cells) better += other.mean > row.mean;
    EXPECT_EQ(row.rank, better + 1);
  }
  EXPECT_EQ(result.cells[result.best].rank, 1);
  for (int c = 0; c < result.best; ++c) EXPECT_GT(result.cells[c].rank, 1);
  ASSERT_TRUE(result.refit.has_value());
  EXPECT_EQ(result.refit->C(), result.cells[result.best].cell.C);
  // Linear cells differing only in gamma are one fit.
  EXPECT_EQ(result.cells[1].fold_accuracy, result.cells[4].fold_accuracy);
}

TEST(GridSearch, WarmAndColdStartsAgree) {
  const Blobs data = MakeBlobs(4, 25, 6, 2);
  const GridSpec spec = *ParseGrid("kernel=rbf,linear;C=0.01,0.1,1,10,100;gamma=scale");
  GridSearchOptions options;
  options.refit = false;
  const GridSearchResult warm = *GridSearch(data.x, data.y, 4, spec, options);
  options.warm_start = false;
  const GridSearchResult cold = *GridSearch(data.x, data.y, 4, spec, options);
  for (size_t c = 0; c < warm.cells.size(); ++c) {
    EXPECT_NEAR(warm.cells[c].mean, cold.cells[c].mean, 1.0 / 20 / 5 + 1e-9);
  }
}

TEST(GridSearch, APredefinedSplitScoresTheHeldOutRowsOfAFitOnTheOthers) {
  const Blobs data = MakeBlobs(3, 40, 5, 4);
  const GridSpec spec = *ParseGrid("kernel=rbf,linear;C=0.1,1,10;gamma=scale,0.05");
  // Rows 0-59 always trained on, 60-89 scored in fold 0, 90-119 in fold 1.
  GridSearchOptions options;
  options.folds = 7;  // ignored: the split has two folds
  options.test_fold.assign(60, -1);
  options.test_fold.insert(options.test_fold.end(), 30, 0);
  options.test_fold.insert(options.test_fold.end(), 30, 1);
  const GridSearchResult result = *GridSearch(data.x, data.y, 3, spec, options);
  ExpectEachFoldScoresAFitOnTheOthers(result, data, options.test_fold, 3, /*fold_rows=*/30);
  for (const CellResult& row : result.cells) {
    ASSERT_EQ(row.fold_accuracy.size(), 2u);
    EXPECT_DOUBLE_EQ(row.mean, (row.fold_accuracy[0] + row.fold_accuracy[1]) / 2);
  }
}

TEST(GridSearch, OneValidationFoldInterleavedWithTheTrainingRowsScoresAFitOnThem) {
  // One fold leaves its rows out of the kernel matrix's columns and reorders its rows: every
  // fourth row scored (classes cycle with period 3: every class), the rest trained on, so the
  // order the matrix uses differs from the rows'.
  const Blobs data = MakeBlobs(3, 36, 5, 6);
  const GridSpec spec = *ParseGrid("kernel=rbf,linear,poly;C=0.1,1,10;gamma=scale,0.05");
  GridSearchOptions options;
  for (int i = 0; i < 108; ++i) options.test_fold.push_back(i % 4 == 1 ? 0 : -1);
  const GridSearchResult result = *GridSearch(data.x, data.y, 3, spec, options);
  ExpectEachFoldScoresAFitOnTheOthers(result, data, options.test_fold, 3, /*fold_rows=*/27);
  for (const CellResult& row : result.cells) ASSERT_EQ(row.fold_accuracy.size(), 1u);
}

TEST(GridSearch, RefusesABadPredefinedSplit) {
  const Blobs data = MakeBlobs(3, 4, 2, 5);  // labels 0, 1, 2, 0, 1, 2, ...
  const GridSpec spec = *ParseGrid("small");
  const auto message = [&](std::vector<int> test_fold) {
    GridSearchOptions options;
    options.test_fold = std::move(test_fold);
    return std::string(GridSearch(data.x, data.y, 3, spec, options).status().message());
  };
  EXPECT_NE(message({0, 0}).find("test_fold has 2 entries for 12 rows"), std::string::npos);
  EXPECT_NE(message(std::vector<int>(12, -1)).find("some row must be scored"), std::string::npos);
  EXPECT_NE(message({100000000, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1})
                .find("names fold 100000000 of 12 rows"),
            std::string::npos);
  EXPECT_NE(message({-2, 0, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1}).find("some row must be"),
            std::string::npos);
  EXPECT_NE(message({2, -1, -1, -1, -1, -1, -1, -1, -1, -1, -1, 0}).find("fold 1 has no rows"),
            std::string::npos);
  // Every row of class 0 (rows 0, 3, 6, 9) in fold 0: its training rows lack the class.
  EXPECT_NE(message({0, -1, -1, 0, -1, -1, 0, -1, -1, 0, -1, -1}).find("of class 0"),
            std::string::npos);
}

TEST(GridSearch, RefusesBadInput) {
  const Blobs data = MakeBlobs(3, 3, 2, 3);
  GridSearchOptions options;
  const GridSpec spec = *ParseGrid("small");
  EXPECT_NE(GridSearch(data.x, data.y, 3, spec, options).status().message().find("fewer than"),
            std::string::npos);
  EXPECT_NE(GridSearch(data.x, at::zeros({9}, at::kLong), 1, spec, options)
                .status()
                .message()
                .find("at least two classes"),
            std::string::npos);
}

}  // namespace
}  // namespace fauna
