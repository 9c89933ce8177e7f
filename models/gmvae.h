// A Gaussian-mixture VAE (GMVAE): the AFHQ study's one-stage clustering model (seeds/000, section
// II.C: "simple linear networks to parametrize the mixture of Gaussians within one training
// process"; section III.D, Figures 7 and 8 and Table 3, finds it unstable across seeds where VaDE
// is not).
//
// Formulation: the categorical GMVAE of Rui Shu's 2016 notes and code, also that of the
// jariasf/GMVAE PyTorch code, with a discrete cluster y and a continuous code z:
//   q(y|x)    categorical over K clusters: softmax of a linear layer (y_logits) on the encoder's
//             features of x;
//   q(z|x,y)  diagonal Gaussian: mean and log-variance from linear layers (z_mean, z_log_var) on
//             concat(encoder features of x, one-hot y);
//   p(y)      uniform over the K clusters, fixed;
//   p(z|y)    diagonal Gaussian whose mean and log-variance are linear layers of one-hot y
//             (prior_mean, prior_log_var): the "simple linear networks" that give the mixture;
//   p(x|z)    the decoder MLP with VaeOptions' likelihoods (Bernoulli logits or unit-variance
//             Gaussian mean), the same reconstruction term as models/vae.h.
// This form is taken because it is what "linear networks parametrize the mixture, one training
// stage" describes in the widely used public implementations. Dilokthanakul et al. (2016), the
// study's citation, add a second latent w ~ N(0, I) and a prior network that maps w to the K
// components' means and variances, with q(y|w,z) computed in closed form; that fuller model is the
// alternative not taken here.
//
// What it means:
//   - y is marginalised exactly: every row is decoded once per cluster ([N * K] decoder rows), so
//     a step costs about K times a VAE's decoder pass.
//   - Per row the loss is
//       sum_y q(y|x) [-log p(x|z_y) + log q(z_y|x,y) - log p(z_y|y)] + KL(q(y|x) || Uniform(K)),
//     with one z_y per (row, cluster): sampled by the reparameterisation in train mode (a
//     one-sample estimate of KL(q(z|x,y) || p(z|y)), as in Shu's code, not the closed form), the
//     mean in eval mode (deterministic, but then the two log-densities are those of the mean, not
//     the KL).
//   - No pretraining and no GMM fitted afterwards (unlike VaDE): the mixture is learnt from random
//     initialisation in one stage. The KL to a uniform p(y) is paid row by row, so a solution in
//     which every q(y|x) is uniform and the K priors coincide is always close by; models of this
//     form are known to fall into it from some seeds (Dilokthanakul et al. call it
//     over-regularisation), which is the instability the study reports.
//   - One encoder trunk (VaeOptions' hidden widths, VaDE's d-500-500-2000 by default) feeds both
//     q(y|x) and q(z|x,y), where Shu's code has a separate MLP for each: the network then has the
//     same encoder and decoder as VaDE's, so the study's comparison is between the priors.
//
// Children (state-dict keys, in this order): encoder (Linear, ReLU, ...; empty when hidden is
// empty), y_logits, z_mean, z_log_var, prior_mean, prior_log_var (Linear each), decoder (Linear,
// ReLU, ..., Linear to input_dim; the hidden widths reversed), e.g. encoder.0.weight,
// y_logits.weight, prior_mean.bias, decoder.6.weight.
//
// Example:
//   Gmvae gmvae(GmvaeOptions().input_dim(2048).clusters(3));
//   at::Tensor loss = gmvae->negative_elbo(features).mean();   // features: [N, 2048]
//   at::Tensor clusters = gmvae->responsibilities(features).argmax(1);
#ifndef FAUNA_MODELS_GMVAE_H_
#define FAUNA_MODELS_GMVAE_H_

#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "models/deep_clusterer.h"
#include "models/vae.h"

namespace fauna {

// Options of a Gmvae; the sizes default to VaDE's network (models/vae.h) with 10 clusters.
struct GmvaeOptions {
  TORCH_ARG(int64_t, input_dim) = 784;
  // Widths of the encoder trunk's hidden layers; the decoder mirrors them.
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{500, 500, 2000};
  TORCH_ARG(int64_t, latent_dim) = 10;
  // K: the number of mixture components (values of y).
  TORCH_ARG(int64_t, clusters) = 10;
  TORCH_ARG(VaeLikelihood, likelihood) = VaeLikelihood::kGaussian;
};

// OK when `options` describe a GMVAE (positive input, latent and cluster counts, positive widths);
// otherwise an invalid-argument error naming the bad value.
absl::Status ValidateGmvaeOptions(const GmvaeOptions& options);

// One pass over x [N, input_dim], for every (row, cluster) pair; K = clusters, D = latent_dim.
struct GmvaeOutput {
  // q(y|x) as logits [N, K].
  at::Tensor y_logits;
  // q(z|x,y): mean and log-variance [N, K, D], row n's for cluster k at [n][k].
  at::Tensor z_mean, z_log_var;
  // The code z_y [N, K, D]: a reparameterised sample in train mode, z_mean in eval mode.
  at::Tensor z;
  // p(z|y): each cluster's mean and log-variance [K, D].
  at::Tensor prior_mean, prior_log_var;
  // The decoder's output for z [N, K, input_dim] (logits or the Gaussian mean).
  at::Tensor decoded;
};

// The GMVAE described at the top of this file.
class GmvaeImpl : public DeepClustererImpl {
 public:
  explicit GmvaeImpl(const GmvaeOptions& options = GmvaeOptions());

  // Encodes x [N, input_dim] for all K clusters, draws z (noise from LibTorch's default
  // generator in train mode; the mean in eval mode) and decodes every code.
  GmvaeOutput forward(const at::Tensor& x);

  // The loss per row [N] (top of this file) of x for a pass `out` of forward(x).
  at::Tensor negative_elbo(const at::Tensor& x, const GmvaeOutput& out) const;
  // negative_elbo(x, forward(x)).
  at::Tensor negative_elbo(const at::Tensor& x) override;

  // q(y|x) [N, K]; it does not depend on z, so no sampling in any mode.
  at::Tensor responsibilities(const at::Tensor& x) override;

  // sum_y q(y|x) E[z | x, y]: the q(y|x)-weighted mean of q(z|x,y)'s K means [N, D], i.e. the
  // mean of the posterior mixture q(z|x) = sum_y q(y|x) q(z|x,y). No sampling in any mode.
  at::Tensor latent(const at::Tensor& x) override;

  int64_t clusters() const override { return options_.clusters(); }
  int64_t input_dim() const override { return options_.input_dim(); }
  int64_t latent_dim() const override { return options_.latent_dim(); }

  const GmvaeOptions& options() const { return options_; }

 private:
  // The encoder trunk's features of x [N, H] (x itself when hidden is empty).
  at::Tensor trunk(const at::Tensor& x);
  // q(z|x,y)'s mean and log-variance [N, K, D] from trunk features h [N, H].
  std::pair<at::Tensor, at::Tensor> encode_z(const at::Tensor& h);

  GmvaeOptions options_;
  torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
  torch::nn::Linear y_logits_{nullptr}, z_mean_{nullptr}, z_log_var_{nullptr};
  torch::nn::Linear prior_mean_{nullptr}, prior_log_var_{nullptr};
};
TORCH_MODULE(Gmvae);

}  // namespace fauna

#endif  // FAUNA_MODELS_GMVAE_H_
