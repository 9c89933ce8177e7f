#include "models/vae.h"

#include <cmath>
#include <cstdio>

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <torch/nn/functional/loss.h>
#include <torch/optim/adam.h>

namespace fauna {
namespace {

TEST(Vae, DefaultIsVadesNetwork) {
  Vae vae;
  std::vector<std::string> keys;
  for (const auto& item : vae->named_parameters()) keys.push_back(item.key());
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "encoder.0.weight", "encoder.0.bias", "encoder.2.weight", "encoder.2.bias",
                      "encoder.4.weight", "encoder.4.bias", "mean.weight", "mean.bias",
                      "log_var.weight", "log_var.bias", "decoder.0.weight", "decoder.0.bias",
                      "decoder.2.weight", "decoder.2.bias", "decoder.4.weight", "decoder.4.bias",
                      "decoder.6.weight", "decoder.6.bias"}));
  // d-500-500-2000-10 and back.
  EXPECT_EQ(vae->named_parameters()["encoder.4.weight"].sizes(), (at::IntArrayRef{2000, 500}));
  EXPECT_EQ(vae->named_parameters()["decoder.0.weight"].sizes(), (at::IntArrayRef{2000, 10}));
  EXPECT_EQ(vae->named_parameters()["decoder.6.weight"].sizes(), (at::IntArrayRef{784, 500}));
  const VaeOutput out = vae->forward(at::rand({4, 784}));
  EXPECT_EQ(out.z.sizes(), (at::IntArrayRef{4, 10}));
  EXPECT_EQ(out.decoded.sizes(), (at::IntArrayRef{4, 784}));
}

TEST(Vae, LossesMatchTheirDefinitions) {
  at::manual_seed(0);
  const at::Tensor x = at::rand({5, 6}, at::kDouble);
  const at::Tensor decoded = at::randn({5, 6}, at::kDouble) * 3;
  Vae bernoulli(VaeOptions().input_dim(6).hidden({4}).latent_dim(2).likelihood(
      VaeLikelihood::kBernoulli));
  const at::Tensor bce = torch::nn::functional::binary_cross_entropy_with_logits(
                             decoded, x,
                             torch::nn::functional::BinaryCrossEntropyWithLogitsFuncOptions()
                                 .reduction(torch::kNone))
                             .sum(1);
  EXPECT_TRUE(at::allclose(bernoulli->reconstruction_nll(x, decoded), bce, 1e-12, 1e-12));
  Vae gaussian(VaeOptions().input_dim(6).hidden({4}).latent_dim(2));
  // log N(x; d, I) summed over 6 features, written out.
  const at::Tensor log_density =
      (-0.5 * (x - decoded).pow(2) - 0.5 * std::log(2 * M_PI)).sum(1);
  EXPECT_TRUE(at::allclose(gaussian->reconstruction_nll(x, decoded), -log_density, 1e-12, 1e-12));
  // KL of N(m, s^2) to N(0, 1) per dimension: log(1/s) + (s^2 + m^2) / 2 - 1/2.
  const at::Tensor mean = at::tensor({0.5, -1.0}, at::kDouble).reshape({1, 2});
  const at::Tensor log_var = at::tensor({std::log(4.0), 0.0}, at::kDouble).reshape({1, 2});
  const double expected = (std::log(0.5) + (4 + 0.25) / 2 - 0.5) + (0 + (1 + 1) / 2.0 - 0.5);
  EXPECT_NEAR(VaeImpl::kl_to_standard_normal(mean, log_var).item<double>(), expected, 1e-12);
}

TEST(Vae, EvalModeDecodesTheMean) {
  Vae vae(VaeOptions().input_dim(8).hidden({16}).latent_dim(3));
  vae->eval();
  const at::Tensor x = at::rand({2, 8});
  const VaeOutput out = vae->forward(x);
  EXPECT_TRUE(out.z.equal(out.mean));
  vae->train();
  EXPECT_FALSE(vae->forward(x).z.equal(out.mean));
}

TEST(Vae, TrainingRaisesTheElbo) {
  // Two clusters of binary-ish 12-d points; 150 Adam steps must lower the negative ELBO clearly.
  at::manual_seed(1);
  const at::Tensor centres = at::rand({2, 12}).round();
  const at::Tensor x =
      (centres.index_select(0, at::arange(128, at::kLong).remainder(2)) * 0.9 + 0.05);
  Vae vae(VaeOptions().input_dim(12).hidden({32}).latent_dim(2).likelihood(
      VaeLikelihood::kBernoulli));
  torch::optim::Adam adam(vae->parameters(), torch::optim::AdamOptions(1e-2));
  double first = 0, last = 0;
  for (int step = 0; step < 150; ++step) {
    adam.zero_grad();
    const at::Tensor loss = vae->negative_elbo(x, vae->forward(x)).mean();
    loss.backward();
    adam.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  // A perfect reconstruction of these points still costs their entropy, about 12 x 0.199 nats.
  EXPECT_LT(last, 0.6 * first) << "first " << first << ", last " << last;
  std::printf("negative ELBO: first %.3f, last %.3f\n", first, last);
}

TEST(Vae, RefusesBadOptions) {
  EXPECT_FALSE(ValidateVaeOptions(VaeOptions().input_dim(0)).ok());
  EXPECT_FALSE(ValidateVaeOptions(VaeOptions().latent_dim(0)).ok());
  EXPECT_NE(ValidateVaeOptions(VaeOptions().hidden({500, -1})).message().find("widths"),
            std::string::npos);
  EXPECT_TRUE(ValidateVaeOptions(VaeOptions()).ok());
}

}  // namespace
}  // namespace fauna
