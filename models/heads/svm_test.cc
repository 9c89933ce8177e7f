// The SVM against libsvm 3.24 (Debian's libsvm-dev), the oracle: on the same data and parameters,
// the same support vectors, decision values within 1e-3 relative and the same predictions.
#include "models/heads/svm.h"

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <libsvm/svm.h>

#include "core/test_tmp.h"

namespace fauna {
namespace {

// Overlapping Gaussian blobs, `per_class` rows of each of `classes` classes in `dims` dimensions,
// interleaved (0, 1, 2, 0, 1, 2, ...) so that libsvm meets the classes in index order.
struct Blobs {
  at::Tensor x, y;
};
Blobs MakeBlobs(int64_t classes, int64_t per_class, int64_t dims, double spread, uint64_t seed) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  const at::Tensor centres = at::randn({classes, dims}, gen, at::kDouble) * 2.0;
  at::Tensor y = at::arange(classes, at::kLong).repeat({per_class});
  at::Tensor x = centres.index_select(0, y) + at::randn({y.size(0), dims}, gen, at::kDouble) * spread;
  return {x.to(at::kFloat), y};
}

// libsvm's model on the same data, and a helper to query it.
class LibSvm {
 public:
  LibSvm(const at::Tensor& x, const at::Tensor& y, const SvmKernel& kernel, double C, double eps,
         bool shrinking) {
    const int64_t n = x.size(0), d = x.size(1);
    nodes_.resize(n);
    rows_.resize(n);
    labels_.resize(n);
    for (int64_t i = 0; i < n; ++i) {
      nodes_[i] = Nodes(x[i]);
      rows_[i] = nodes_[i].data();
      labels_[i] = static_cast<double>(y[i].item<int64_t>());
    }
    problem_.l = static_cast<int>(n);
    problem_.y = labels_.data();
    problem_.x = rows_.data();
    svm_parameter& p = param_;
    p.svm_type = C_SVC;
    p.kernel_type = kernel.type == KernelType::kLinear ? LINEAR
                    : kernel.type == KernelType::kRbf  ? RBF
                                                       : POLY;
    p.degree = kernel.degree;
    p.gamma = kernel.gamma;
    p.coef0 = kernel.coef0;
    p.cache_size = 200;
    p.eps = eps;
    p.C = C;
    p.nr_weight = 0;
    p.weight_label = nullptr;
    p.weight = nullptr;
    p.nu = 0.5;
    p.p = 0.1;
    p.shrinking = shrinking ? 1 : 0;
    p.probability = 0;
    (void)d;
    svm_set_print_string_function([](const char*) {});
    model_ = svm_train(&problem_, &param_);
  }
  ~LibSvm() { svm_free_and_destroy_model(&model_); }

  std::set<int64_t> SupportRows() const {
    std::vector<int> indices(svm_get_nr_sv(model_));
    svm_get_sv_indices(model_, indices.data());
    std::set<int64_t> rows;
    for (int index : indices) rows.insert(index - 1);  // libsvm's are 1-based.
    return rows;
  }
  std::vector<double> Decisions(const at::Tensor& row) const {
    std::vector<svm_node> nodes = Nodes(row);
    const int k = svm_get_nr_class(model_);
    std::vector<double> values(k * (k - 1) / 2);
    svm_predict_values(model_, nodes.data(), values.data());
    return values;
  }
  int64_t Predict(const at::Tensor& row) const {
    std::vector<svm_node> nodes = Nodes(row);
    return static_cast<int64_t>(svm_predict(model_, nodes.data()));
  }

 private:
  static std::vector<svm_node> Nodes(const at::Tensor& row) {
    std::vector<svm_node> nodes;
    for (int64_t j = 0; j < row.size(0); ++j) {
      nodes.push_back({static_cast<int>(j + 1), row[j].item<double>()});
    }
    nodes.push_back({-1, 0.0});
    return nodes;
  }
  std::vector<std::vector<svm_node>> nodes_;
  std::vector<svm_node*> rows_;
  std::vector<double> labels_;
  svm_problem problem_{};
  svm_parameter param_{};
  svm_model* model_ = nullptr;
};

struct OracleCase {
  const char* name;
  int64_t classes;
  std::string kernel;
  std::string gamma;
  double C;
  double coef0;
  int degree;
};

class SvmVersusLibsvm : public ::testing::TestWithParam<OracleCase> {};

TEST_P(SvmVersusLibsvm, SameSupportDecisionsAndPredictions) {
  const OracleCase& c = GetParam();
  const Blobs train = MakeBlobs(c.classes, 40, 6, 1.5, 1);
  const Blobs test = MakeBlobs(c.classes, 30, 6, 1.5, 2);
  SvmParams params;
  params.kernel = c.kernel;
  params.gamma = c.gamma;
  params.C = c.C;
  params.coef0 = c.coef0;
  params.degree = c.degree;
  params.exact_kernel = true;
  absl::StatusOr<SvmModel> svm = SvmModel::Fit(train.x, train.y, c.classes, params);
  ASSERT_TRUE(svm.ok()) << svm.status();
  ASSERT_TRUE(svm->stats().converged);
  // libsvm on the same problem, without shrinking (the path fauna's solver takes).
  const LibSvm libsvm(train.x, train.y, svm->kernel(), c.C, 1e-3, /*shrinking=*/false);

  const at::Tensor support = svm->support();
  const std::set<int64_t> ours(support.data_ptr<int64_t>(),
                               support.data_ptr<int64_t>() + support.numel());
  EXPECT_EQ(ours, libsvm.SupportRows());

  const at::Tensor decisions = svm->DecisionFunction(test.x);
  const at::Tensor predicted = svm->Predict(test.x);
  for (int64_t i = 0; i < test.x.size(0); ++i) {
    const std::vector<double> expected = libsvm.Decisions(test.x[i]);
    for (size_t p = 0; p < expected.size(); ++p) {
      const double value = decisions[i][p].item<double>();
      ASSERT_NEAR(value, expected[p], 1e-3 * std::max(1.0, std::abs(expected[p])))
          << "row " << i << " pair " << p;
    }
    EXPECT_EQ(predicted[i].item<int64_t>(), libsvm.Predict(test.x[i])) << "row " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Kernels, SvmVersusLibsvm,
    ::testing::Values(OracleCase{"rbf_two_classes", 2, "rbf", "0.1", 1.0, 0, 3},
                      OracleCase{"rbf_four_classes", 4, "rbf", "scale", 10.0, 0, 3},
                      OracleCase{"rbf_small_C", 3, "rbf", "auto", 0.01, 0, 3},
                      OracleCase{"linear", 3, "linear", "scale", 0.1, 0, 3},
                      OracleCase{"linear_large_C", 3, "linear", "scale", 100.0, 0, 3},
                      OracleCase{"poly", 3, "poly", "0.05", 1.0, 1.0, 3}),
    [](const ::testing::TestParamInfo<OracleCase>& param) { return std::string(param.param.name); });

TEST(Svm, MatchesLibsvmWithShrinkingAtATightTolerance) {
  // sklearn runs libsvm with shrinking: a different path to the same optimum.
  const Blobs train = MakeBlobs(3, 50, 5, 1.5, 3);
  const Blobs test = MakeBlobs(3, 20, 5, 1.5, 4);
  SvmParams params;
  params.C = 3;
  params.gamma = "scale";
  params.tol = 1e-6;
  params.exact_kernel = true;
  absl::StatusOr<SvmModel> svm = SvmModel::Fit(train.x, train.y, 3, params);
  ASSERT_TRUE(svm.ok()) << svm.status();
  const LibSvm libsvm(train.x, train.y, svm->kernel(), 3, 1e-6, /*shrinking=*/true);
  const at::Tensor decisions = svm->DecisionFunction(test.x);
  for (int64_t i = 0; i < test.x.size(0); ++i) {
    const std::vector<double> expected = libsvm.Decisions(test.x[i]);
    for (size_t p = 0; p < expected.size(); ++p) {
      EXPECT_NEAR(decisions[i][p].item<double>(), expected[p],
                  1e-4 * std::max(1.0, std::abs(expected[p])));
    }
  }
}

TEST(Svm, FloatKernelsAndPerPairBlocksGiveTheSameModel) {
  const Blobs train = MakeBlobs(3, 40, 6, 1.5, 5);
  const Blobs test = MakeBlobs(3, 20, 6, 1.5, 6);
  SvmParams params;
  params.C = 2;
  params.exact_kernel = true;
  const SvmModel exact = *SvmModel::Fit(train.x, train.y, 3, params);
  params.exact_kernel = false;
  const SvmModel fast = *SvmModel::Fit(train.x, train.y, 3, params);
  params.max_gram_bytes = 0;  // One block per pair.
  const SvmModel blocks = *SvmModel::Fit(train.x, train.y, 3, params);
  const at::Tensor reference = exact.DecisionFunction(test.x);
  EXPECT_TRUE(at::allclose(fast.DecisionFunction(test.x), reference, 1e-3, 1e-3));
  EXPECT_TRUE(at::allclose(blocks.DecisionFunction(test.x), fast.DecisionFunction(test.x), 0, 0));
}

TEST(Svm, SavesAndLoads) {
  const Blobs train = MakeBlobs(3, 30, 4, 1.0, 7);
  SvmParams params;
  params.kernel = "poly";
  params.gamma = "0.3";
  params.coef0 = 0.5;
  const SvmModel svm = *SvmModel::Fit(train.x, train.y, 3, params);
  const std::string path = TestTempPath("svm.safetensors");
  ASSERT_TRUE(svm.Save(path, {"cat", "dog", "wild"}).ok());
  std::vector<std::string> classes;
  absl::StatusOr<SvmModel> loaded = SvmModel::Load(path, &classes);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(classes, (std::vector<std::string>{"cat", "dog", "wild"}));
  EXPECT_EQ(loaded->kernel().type, KernelType::kPoly);
  EXPECT_TRUE(loaded->DecisionFunction(train.x).equal(svm.DecisionFunction(train.x)));
  EXPECT_TRUE(loaded->n_support().equal(svm.n_support()));
  EXPECT_FALSE(SvmModel::Load(TestTempPath("missing.safetensors")).ok());
}

TEST(Svm, RefusesBadInputInOneLine) {
  const Blobs train = MakeBlobs(3, 10, 4, 1.0, 8);
  SvmParams params;
  auto message = [&](const at::Tensor& x, const at::Tensor& y, int64_t k, const SvmParams& p) {
    absl::StatusOr<SvmModel> svm = SvmModel::Fit(x, y, k, p);
    EXPECT_FALSE(svm.ok());
    return std::string(svm.status().message());
  };
  EXPECT_NE(message(train.x, at::zeros({30}, at::kLong), 3, params).find("one class only"),
            std::string::npos);
  EXPECT_NE(message(train.x, train.y, 4, params).find("class 3 has no training rows"),
            std::string::npos);
  at::Tensor negative = train.y.clone();
  negative[0] = -1;
  EXPECT_NE(message(train.x, negative, 3, params).find("labels must lie in [0, 3)"),
            std::string::npos);
  EXPECT_NE(message(train.x, train.y, 2, params).find("labels must lie in [0, 2)"),
            std::string::npos);
  at::Tensor nan = train.x.clone();
  nan[3][2] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_NE(message(nan, train.y, 3, params).find("NaN"), std::string::npos);
  EXPECT_NE(message(train.x, train.y.narrow(0, 0, 5), 3, params).find("one per feature row"),
            std::string::npos);
  EXPECT_NE(message(at::zeros({0, 4}), at::zeros({0}, at::kLong), 3, params).find("empty"),
            std::string::npos);
  SvmParams bad = params;
  bad.C = 0;
  EXPECT_NE(message(train.x, train.y, 3, bad).find("C must be"), std::string::npos);
  bad = params;
  bad.gamma = "big";
  EXPECT_NE(message(train.x, train.y, 3, bad).find("gamma \"big\""), std::string::npos);
  bad = params;
  bad.kernel = "sigmoid";
  EXPECT_NE(message(train.x, train.y, 3, bad).find("unknown kernel"), std::string::npos);
}

TEST(SvmKernel, GammaAsScikitLearnResolvesIt) {
  const at::Tensor x = at::tensor({0.0f, 1.0f, 2.0f, 3.0f}).reshape({2, 2});
  EXPECT_DOUBLE_EQ(*ResolveGamma("scale", x), 1.0 / (2 * 1.25));  // var of {0,1,2,3} = 1.25
  EXPECT_DOUBLE_EQ(*ResolveGamma("auto", x), 0.5);
  EXPECT_DOUBLE_EQ(*ResolveGamma("0.25", x), 0.25);
  EXPECT_DOUBLE_EQ(*ResolveGamma("scale", at::ones({3, 2})), 1.0);  // zero variance
  EXPECT_FALSE(ResolveGamma("-1", x).ok());
  EXPECT_FALSE(ResolveGamma("nan", x).ok());
}

TEST(SvmKernel, MatricesMatchTheirDefinitions) {
  const at::Tensor a = at::tensor({1.0f, 2.0f, 0.0f, -1.0f}).reshape({2, 2});
  const at::Tensor b = at::tensor({3.0f, 0.0f}).reshape({1, 2});
  SvmKernel rbf{KernelType::kRbf, 0.5, 0, 3};
  EXPECT_NEAR(KernelMatrix(rbf, a, b)[0][0].item<float>(), std::exp(-0.5 * 8), 1e-6);
  EXPECT_NEAR(KernelMatrix(rbf, a, b)[1][0].item<float>(), std::exp(-0.5 * 10), 1e-6);
  SvmKernel poly{KernelType::kPoly, 0.5, 1.0, 2};
  EXPECT_NEAR(KernelMatrix(poly, a, b)[0][0].item<float>(), std::pow(0.5 * 3 + 1, 2), 1e-5);
  SvmKernel linear{KernelType::kLinear, 1, 0, 3};
  EXPECT_EQ(KernelMatrix(linear, a, b)[1][0].item<float>(), 0.0f);
}

TEST(SvmKernel, SymmetricHalfEqualsTheFullProduct) {
  at::Generator gen = at::make_generator<at::CPUGeneratorImpl>(9);
  const at::Tensor x = at::randn({2500, 7}, gen);
  for (KernelType type : {KernelType::kLinear, KernelType::kRbf, KernelType::kPoly}) {
    const SvmKernel kernel{type, 0.2, 1.0, 2};
    const at::Tensor half = SymmetricKernelMatrix(kernel, x);
    EXPECT_TRUE(at::allclose(half, KernelMatrix(kernel, x, x), 1e-5, 1e-5)) << int(type);
    // Off the diagonal panels, mirrored bit for bit; within them, up to the GEMM's rounding.
    EXPECT_TRUE(at::allclose(half, half.t(), 1e-6, 1e-6)) << int(type);
    EXPECT_TRUE(half.narrow(0, 2048, 452).narrow(1, 0, 1024).equal(
        half.narrow(1, 2048, 452).narrow(0, 0, 1024).t()));
  }
}

}  // namespace
}  // namespace fauna
