#include "models/gmvae.h"

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/optim/adam.h>

namespace fauna {
namespace {

TEST(Gmvae, DefaultHasVadesEncoderAndDecoder) {
  Gmvae gmvae;
  std::vector<std::string> keys;
  for (const auto& item : gmvae->named_parameters()) keys.push_back(item.key());
  EXPECT_EQ(
      keys,
      (std::vector<std::string>{
          "encoder.0.weight",  "encoder.0.bias",  "encoder.2.weight",     "encoder.2.bias",
          "encoder.4.weight",  "encoder.4.bias",  "y_logits.weight",      "y_logits.bias",
          "z_mean.weight",     "z_mean.bias",     "z_log_var.weight",     "z_log_var.bias",
          "prior_mean.weight", "prior_mean.bias", "prior_log_var.weight", "prior_log_var.bias",
          "decoder.0.weight",  "decoder.0.bias",  "decoder.2.weight",     "decoder.2.bias",
          "decoder.4.weight",  "decoder.4.bias",  "decoder.6.weight",     "decoder.6.bias"}));
  const auto params = gmvae->named_parameters();
  EXPECT_EQ(params["encoder.4.weight"].sizes(), (at::IntArrayRef{2000, 500}));
  EXPECT_EQ(params["y_logits.weight"].sizes(), (at::IntArrayRef{10, 2000}));
  // The trunk's 2000 features and the 10-wide one-hot y.
  EXPECT_EQ(params["z_mean.weight"].sizes(), (at::IntArrayRef{10, 2010}));
  EXPECT_EQ(params["z_log_var.weight"].sizes(), (at::IntArrayRef{10, 2010}));
  EXPECT_EQ(params["prior_mean.weight"].sizes(), (at::IntArrayRef{10, 10}));
  EXPECT_EQ(params["prior_log_var.bias"].sizes(), (at::IntArrayRef{10}));
  EXPECT_EQ(params["decoder.0.weight"].sizes(), (at::IntArrayRef{2000, 10}));
  EXPECT_EQ(params["decoder.6.weight"].sizes(), (at::IntArrayRef{784, 500}));

  const at::Tensor x = at::rand({4, 784});
  const GmvaeOutput out = gmvae->forward(x);
  EXPECT_EQ(out.y_logits.sizes(), (at::IntArrayRef{4, 10}));
  EXPECT_EQ(out.z_mean.sizes(), (at::IntArrayRef{4, 10, 10}));
  EXPECT_EQ(out.z_log_var.sizes(), (at::IntArrayRef{4, 10, 10}));
  EXPECT_EQ(out.z.sizes(), (at::IntArrayRef{4, 10, 10}));
  EXPECT_EQ(out.prior_mean.sizes(), (at::IntArrayRef{10, 10}));
  EXPECT_EQ(out.prior_log_var.sizes(), (at::IntArrayRef{10, 10}));
  EXPECT_EQ(out.decoded.sizes(), (at::IntArrayRef{4, 10, 784}));
  EXPECT_EQ(gmvae->negative_elbo(x, out).sizes(), (at::IntArrayRef{4}));
  EXPECT_EQ(gmvae->latent(x).sizes(), (at::IntArrayRef{4, 10}));
  const at::Tensor q = gmvae->responsibilities(x);
  EXPECT_EQ(q.sizes(), (at::IntArrayRef{4, 10}));
  EXPECT_TRUE(at::allclose(q.sum(1), at::ones({4}), 0, 1e-6));
  EXPECT_TRUE(q.ge(0).all().item<bool>());
}

TEST(Gmvae, WorksThroughTheDeepClustererInterface) {
  Gmvae gmvae(GmvaeOptions().input_dim(8).hidden({16}).latent_dim(3).clusters(4));
  const std::shared_ptr<DeepClustererImpl> model = gmvae.ptr();
  EXPECT_EQ(model->clusters(), 4);
  EXPECT_EQ(model->input_dim(), 8);
  EXPECT_EQ(model->latent_dim(), 3);
  const at::Tensor x = at::randn({5, 8});
  EXPECT_EQ(model->negative_elbo(x).sizes(), (at::IntArrayRef{5}));
  EXPECT_EQ(model->responsibilities(x).sizes(), (at::IntArrayRef{5, 4}));
  EXPECT_EQ(model->latent(x).sizes(), (at::IntArrayRef{5, 3}));
}

TEST(Gmvae, EvalModeIsDeterministic) {
  Gmvae gmvae(GmvaeOptions().input_dim(8).hidden({16}).latent_dim(3).clusters(4));
  const at::Tensor x = at::randn({6, 8});
  gmvae->eval();
  const GmvaeOutput out = gmvae->forward(x);
  EXPECT_TRUE(out.z.equal(out.z_mean));
  EXPECT_TRUE(gmvae->negative_elbo(x).equal(gmvae->negative_elbo(x)));
  EXPECT_TRUE(gmvae->latent(x).equal(gmvae->latent(x)));
  gmvae->train();
  EXPECT_FALSE(gmvae->forward(x).z.equal(out.z_mean));
  EXPECT_FALSE(gmvae->negative_elbo(x).equal(gmvae->negative_elbo(x)));
  // q(y|x) and the latent mean do not sample, whatever the mode.
  EXPECT_TRUE(gmvae->responsibilities(x).equal(gmvae->responsibilities(x)));
  EXPECT_TRUE(gmvae->latent(x).equal(gmvae->latent(x)));
}

// The loss, q(y|x) and the latent mean written out row by row and cluster by cluster from the
// module's own parameters: K = 3, input 6, one hidden layer of 5, latent 2, in double precision.
void CheckAgainstTheFormula(VaeLikelihood likelihood, bool training) {
  at::manual_seed(3);
  const int64_t k = 3;
  Gmvae gmvae(
      GmvaeOptions().input_dim(6).hidden({5}).latent_dim(2).clusters(k).likelihood(likelihood));
  gmvae->to(at::kDouble);
  gmvae->train(training);
  const at::Tensor x = at::rand({4, 6}, at::kDouble);
  const GmvaeOutput out = gmvae->forward(x);
  const at::Tensor loss = gmvae->negative_elbo(x, out);
  const at::Tensor q = gmvae->responsibilities(x);
  const at::Tensor latent = gmvae->latent(x);

  const auto params = gmvae->named_parameters();
  // W v + b for the Linear child `name` and a vector v.
  const auto linear = [&](const std::string& name, const at::Tensor& v) {
    return at::mv(params[name + ".weight"], v) + params[name + ".bias"];
  };
  const double log_two_pi = std::log(2 * M_PI);
  const auto log_normal = [&](const at::Tensor& z, const at::Tensor& mean,
                              const at::Tensor& log_var) {
    double sum = 0;
    for (int64_t d = 0; d < z.size(0); ++d) {
      const double m = mean[d].item<double>(), lv = log_var[d].item<double>();
      const double zd = z[d].item<double>();
      sum += -0.5 * log_two_pi - 0.5 * lv - 0.5 * (zd - m) * (zd - m) / std::exp(lv);
    }
    return sum;
  };
  for (int64_t n = 0; n < x.size(0); ++n) {
    const at::Tensor h = at::relu(linear("encoder.0", x[n]));
    const at::Tensor logits = linear("y_logits", h);
    double partition = 0;
    for (int64_t c = 0; c < k; ++c) partition += std::exp(logits[c].item<double>());
    double expected = 0;
    std::vector<double> expected_latent(2, 0.0);
    for (int64_t c = 0; c < k; ++c) {
      const double qc = std::exp(logits[c].item<double>()) / partition;
      EXPECT_NEAR(q[n][c].item<double>(), qc, 1e-12);
      at::Tensor y = at::zeros({k}, at::kDouble);
      y[c] = 1.0;
      const at::Tensor hy = at::cat({h, y});
      const at::Tensor mean = linear("z_mean", hy), log_var = linear("z_log_var", hy);
      const at::Tensor z = training ? out.z[n][c] : mean;
      if (training) {
        EXPECT_FALSE(z.equal(mean));
      }
      const at::Tensor decoded = linear("decoder.2", at::relu(linear("decoder.0", z)));
      double reconstruction = 0;
      for (int64_t i = 0; i < 6; ++i) {
        const double xi = x[n][i].item<double>(), di = decoded[i].item<double>();
        if (likelihood == VaeLikelihood::kGaussian) {
          reconstruction += 0.5 * log_two_pi + 0.5 * (xi - di) * (xi - di);
        } else {
          const double p = 1.0 / (1.0 + std::exp(-di));
          reconstruction -= xi * std::log(p) + (1 - xi) * std::log(1 - p);
        }
      }
      const double log_q_z = log_normal(z, mean, log_var);
      const double log_p_z = log_normal(z, linear("prior_mean", y), linear("prior_log_var", y));
      expected += qc * (reconstruction + log_q_z - log_p_z) + qc * std::log(qc / (1.0 / k));
      for (int64_t d = 0; d < 2; ++d) expected_latent[d] += qc * mean[d].item<double>();
    }
    EXPECT_NEAR(loss[n].item<double>(), expected, 1e-9) << "row " << n;
    for (int64_t d = 0; d < 2; ++d) {
      EXPECT_NEAR(latent[n][d].item<double>(), expected_latent[d], 1e-12);
    }
  }
}

TEST(Gmvae, LossMatchesTheFormulaGaussianEval) {
  CheckAgainstTheFormula(VaeLikelihood::kGaussian, /*training=*/false);
}
TEST(Gmvae, LossMatchesTheFormulaGaussianTrain) {
  CheckAgainstTheFormula(VaeLikelihood::kGaussian, /*training=*/true);
}
TEST(Gmvae, LossMatchesTheFormulaBernoulliEval) {
  CheckAgainstTheFormula(VaeLikelihood::kBernoulli, /*training=*/false);
}
TEST(Gmvae, LossMatchesTheFormulaBernoulliTrain) {
  CheckAgainstTheFormula(VaeLikelihood::kBernoulli, /*training=*/true);
}

TEST(Gmvae, TrainingLowersTheNegativeElbo) {
  // Three Gaussian blobs in 8-d, 50 rows each; 200 full-batch Adam steps from three seeds. The
  // first step's loss over the 200th's, measured over seeds 0-9 (AMD EPYC, default and 1 thread
  // alike): 0.227 to 0.264 (first 43.7 to 49.8, last 11.0 to 11.6). 0.4 leaves room for other
  // machines' rounding and still demands a clear fall.
  at::manual_seed(7);
  const at::Tensor centres = at::randn({3, 8}) * 3;
  const at::Tensor x = centres.index_select(0, at::arange(150, at::kLong).remainder(3)) +
                       0.5 * at::randn({150, 8});
  for (int seed = 0; seed < 3; ++seed) {
    at::manual_seed(seed);
    Gmvae gmvae(GmvaeOptions().input_dim(8).hidden({32}).latent_dim(2).clusters(3));
    torch::optim::Adam adam(gmvae->parameters(), torch::optim::AdamOptions(1e-2));
    double first = 0, last = 0;
    for (int step = 0; step < 200; ++step) {
      adam.zero_grad();
      const at::Tensor loss = gmvae->negative_elbo(x).mean();
      loss.backward();
      adam.step();
      if (step == 0) first = loss.item<double>();
      last = loss.item<double>();
    }
    EXPECT_LT(last, 0.4 * first) << "seed " << seed << ": first " << first << ", last " << last;
    std::printf("seed %d: negative ELBO first %.3f, last %.3f\n", seed, first, last);
  }
}

TEST(Gmvae, RefusesBadOptions) {
  const absl::Status no_clusters = ValidateGmvaeOptions(GmvaeOptions().clusters(0));
  EXPECT_EQ(no_clusters.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_clusters.message().find("clusters must be positive, not 0"), std::string::npos)
      << no_clusters;
  const absl::Status no_latent = ValidateGmvaeOptions(GmvaeOptions().latent_dim(0));
  EXPECT_EQ(no_latent.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_latent.message().find("latent_dim must be positive, not 0"), std::string::npos)
      << no_latent;
  const absl::Status bad_width = ValidateGmvaeOptions(GmvaeOptions().hidden({500, -3}));
  EXPECT_EQ(bad_width.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(bad_width.message().find("widths must be positive, not -3"), std::string::npos)
      << bad_width;
  const absl::Status no_input = ValidateGmvaeOptions(GmvaeOptions().input_dim(0));
  EXPECT_EQ(no_input.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(no_input.message().find("input_dim must be positive, not 0"), std::string::npos);
  EXPECT_TRUE(ValidateGmvaeOptions(GmvaeOptions()).ok());
  EXPECT_TRUE(ValidateGmvaeOptions(GmvaeOptions().hidden({})).ok());
}

}  // namespace
}  // namespace fauna
