// A variational autoencoder with MLP encoder and decoder (Kingma and Welling, 2014): the base of
// the AFHQ study's clustering models (VaDE and GMVAE, section D). The default widths are VaDE's
// (Jiang et al., 2017): d-500-500-2000-10, ReLU between layers, a Gaussian posterior q(z|x) with a
// diagonal covariance, and the reparameterisation z = mean + exp(log_var / 2) * eps.
//
// Likelihoods: Bernoulli (inputs in [0, 1], e.g. pixels / 255; the decoder gives logits) or
// Gaussian with unit variance (real-valued features; the decoder gives the mean).
//
// Example:
//   Vae vae(VaeOptions().input_dim(784).likelihood(VaeLikelihood::kBernoulli));
//   VaeOutput out = vae->forward(x);                  // x: [N, 784]
//   at::Tensor loss = vae->negative_elbo(x, out).mean();
#ifndef FAUNA_MODELS_VAE_H_
#define FAUNA_MODELS_VAE_H_

#include <cstdint>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>
#include <torch/arg.h>
#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "absl/status/status.h"

namespace fauna {

enum class VaeLikelihood { kGaussian, kBernoulli };

struct VaeOptions {
  TORCH_ARG(int64_t, input_dim) = 784;
  // Widths of the encoder's hidden layers; the decoder mirrors them.
  TORCH_ARG(std::vector<int64_t>, hidden) = std::vector<int64_t>{500, 500, 2000};
  TORCH_ARG(int64_t, latent_dim) = 10;
  TORCH_ARG(VaeLikelihood, likelihood) = VaeLikelihood::kGaussian;
};

// OK when `options` describe a VAE (positive input and latent sizes, positive widths); otherwise
// an invalid-argument error naming the bad value.
absl::Status ValidateVaeOptions(const VaeOptions& options);

// Linear + ReLU for each width after `in`, then (when `out` > 0) a last Linear without ReLU: the
// layout of the VAE's encoder and decoder (children 0, 1, ...), shared with GMVAE (models/gmvae.h).
torch::nn::Sequential VaeMlp(int64_t in, const std::vector<int64_t>& widths, int64_t out);

// -log p(x | decoded) per row [N] under `likelihood`, summed over features, constants included;
// `decoded` [N, D] holds logits (Bernoulli) or the mean (Gaussian, unit variance). What
// VaeImpl::reconstruction_nll computes, shared with GMVAE.
at::Tensor VaeReconstructionNll(VaeLikelihood likelihood, const at::Tensor& x,
                                const at::Tensor& decoded);

// One pass: the posterior's parameters, a sample from it and the decoder's output for the sample
// (logits for a Bernoulli likelihood, the mean for a Gaussian one).
struct VaeOutput {
  at::Tensor mean, log_var, z, decoded;
};

// Children (state-dict keys): encoder (Linear, ReLU, ...), mean, log_var, decoder (Linear, ReLU,
// ..., Linear to input_dim).
class VaeImpl : public torch::nn::Module {
 public:
  explicit VaeImpl(const VaeOptions& options = VaeOptions());

  // q(z|x): mean and log-variance [N, latent_dim] of x [N, input_dim].
  std::pair<at::Tensor, at::Tensor> encode(const at::Tensor& x);
  // The decoder's output [N, input_dim] for codes z [N, latent_dim].
  at::Tensor decode(const at::Tensor& z);
  // Encodes, samples z with the reparameterisation (noise from LibTorch's default generator; the
  // mean itself in eval mode) and decodes.
  VaeOutput forward(const at::Tensor& x);

  // -log p(x | z) per row [N], summed over features, constants included.
  at::Tensor reconstruction_nll(const at::Tensor& x, const at::Tensor& decoded) const;
  // KL(q(z|x) || N(0, I)) per row [N].
  static at::Tensor kl_to_standard_normal(const at::Tensor& mean, const at::Tensor& log_var);
  // The negative evidence lower bound per row [N]: reconstruction_nll + kl_to_standard_normal.
  at::Tensor negative_elbo(const at::Tensor& x, const VaeOutput& out) const;

  const VaeOptions& options() const { return options_; }

 private:
  VaeOptions options_;
  torch::nn::Sequential encoder_{nullptr}, decoder_{nullptr};
  torch::nn::Linear mean_{nullptr}, log_var_{nullptr};
};
TORCH_MODULE(Vae);

}  // namespace fauna

#endif  // FAUNA_MODELS_VAE_H_
