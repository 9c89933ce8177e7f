// Variational Deep Embedding (VaDE; Jiang et al., IJCAI 2017): a VAE whose prior is a mixture of
// Gaussians, p(c) = Cat(pi), p(z | c) = N(mu_c, diag(sigma_c^2)), with pi, mu and sigma learned
// with the network. The AFHQ study's best clustering model (its Table 3: 96.67% on 3 classes).
//
// The ELBO per row (the paper's equation 17, with q(z | x) = N(m, diag(s^2)) and the
// responsibilities gamma_c = q(c | x) = p(c | z) for a sampled z):
//   -ELBO = -log p(x | z)
//           + 1/2 sum_c gamma_c sum_j [log sigma_cj^2 + s_j^2 / sigma_cj^2 + (m_j - mu_cj)^2
//                                       / sigma_cj^2]
//           - sum_c gamma_c log(pi_c / gamma_c) - 1/2 sum_j (1 + log s_j^2)
// (constants log 2 pi included in neither KL term: they cancel between them).
//
// Departures from the reference code, each for stability: pi is softmax(pi_logits), so it stays
// a distribution without clipping and renormalising; the prior's variances are kept at or above
// `prior_var_floor` (a component cannot shrink onto one point and drive the loss to -infinity).
// The floor clamps the log-variance parameter where it is used; a parameter that an Adam step
// carries below it has no gradient there and stays at the floor.
//
// Training is two-stage (train/deep_cluster.h): the VAE is pretrained as an autoencoder
// (autoencoder_loss: z = mean, reconstruction only), then set_prior() starts the mixture from a
// GMM fitted on the pretrained codes.
//
// State-dict keys: vae.* (models/vae.h's keys), pi_logits [K], prior_mean [K, latent],
// prior_log_var [K, latent].
//
// Example:
//   Vade vade(VadeOptions().clusters(10).likelihood(VaeLikelihood::kBernoulli));
//   at::Tensor loss = vade->negative_elbo(x).mean();
//   at::Tensor clusters = vade->responsibilities(x).argmax(1);
#ifndef FAUNA_MODELS_VADE_H_
#define FAUNA_MODELS_VADE_H_

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"
#include "models/deep_clusterer.h"
#include "models/vae.h"

namespace fauna {

struct VadeOptions {
  // The options of the VAE inside.
  VaeOptions vae() const;

  TORCH_ARG(int64_t, input_dim) = 784;
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{500, 500, 2000};
  TORCH_ARG(int64_t, latent_dim) = 10;
  TORCH_ARG(VaeLikelihood, likelihood) = VaeLikelihood::kGaussian;
  TORCH_ARG(int64_t, clusters) = 10;
  // Smallest variance of a prior component in any latent dimension.
  TORCH_ARG(double, prior_var_floor) = 1e-4;
  // Whether the mixture weights pi are learned (the paper) or stay where set_prior put them. A
  // learned pi can starve a component: fewer responsibilities lower its weight, which lowers its
  // responsibilities, until it is empty (seen on the synthetic 7-class set: 7 clusters became 3
  // in one epoch).
  TORCH_ARG(bool, learn_weights) = true;
};

// OK when `options` describe a VaDE: the VAE's checks, at least 2 clusters and a positive floor.
absl::Status ValidateVadeOptions(const VadeOptions& options);

class VadeImpl : public DeepClustererImpl {
 public:
  explicit VadeImpl(const VadeOptions& options = VadeOptions());

  at::Tensor negative_elbo(const at::Tensor& x) override;
  at::Tensor responsibilities(const at::Tensor& x) override;
  at::Tensor latent(const at::Tensor& x) override;
  int64_t clusters() const override { return options_.clusters(); }
  int64_t input_dim() const override { return options_.input_dim(); }
  int64_t latent_dim() const override { return options_.latent_dim(); }

  // The ELBO with the responsibilities gamma [N, K] given (rows summing to 1, no gradient
  // through them) in place of p(c | z): the anchored warm-up of train/deep_cluster.h, which
  // teaches the encoder and the prior a clustering found elsewhere (the start's).
  at::Tensor negative_elbo(const at::Tensor& x, const at::Tensor& gamma);

  // Pretraining's loss per row [N]: the reconstruction NLL of `target` (default x itself) from
  // the decoded posterior mean of x.
  at::Tensor autoencoder_loss(const at::Tensor& x, const at::Tensor& target = at::Tensor());

  // log p(c) + log p(z | c) for codes z [N, latent]: [N, K].
  at::Tensor log_joint(const at::Tensor& z) const;

  // Sets the mixture: weights [K] (positive; normalised here), means [K, latent], variances
  // [K, latent] (floored). Any floating dtype; copied into the parameters' dtype and device.
  void set_prior(const at::Tensor& weights, const at::Tensor& means, const at::Tensor& variances);

  // The mixture as probabilities [K], means and variances [K, latent] (the floor applied).
  at::Tensor prior_weights() const;
  at::Tensor prior_variances() const;
  const at::Tensor& prior_means() const { return prior_mean_; }

  Vae& vae() { return vae_; }
  const VadeOptions& options() const { return options_; }

 private:
  at::Tensor prior_log_var() const;

  VadeOptions options_;
  Vae vae_{nullptr};
  at::Tensor pi_logits_, prior_mean_, prior_log_var_;
};
TORCH_MODULE(Vade);

}  // namespace fauna

#endif  // FAUNA_MODELS_VADE_H_
