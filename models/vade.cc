#include "models/vade.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/autograd.h>

#include "absl/strings/str_cat.h"

namespace fauna {

VaeOptions VadeOptions::vae() const {
  return VaeOptions()
      .input_dim(input_dim())
      .hidden(hidden())
      .latent_dim(latent_dim())
      .likelihood(likelihood());
}

absl::Status ValidateVadeOptions(const VadeOptions& options) {
  if (absl::Status status = ValidateVaeOptions(options.vae()); !status.ok()) return status;
  if (options.clusters() < 2) {
    return absl::InvalidArgumentError(
        absl::StrCat("VaDE needs at least 2 clusters, not ", options.clusters()));
  }
  if (!(options.prior_var_floor() > 0)) {
    return absl::InvalidArgumentError(
        absl::StrCat("VaDE's prior_var_floor must be positive, not ", options.prior_var_floor()));
  }
  return absl::OkStatus();
}

VadeImpl::VadeImpl(const VadeOptions& options)
    : options_(options), vae_(options.vae()) {
  register_module("vae", vae_);
  const int64_t k = options.clusters();
  pi_logits_ = register_parameter("pi_logits", at::zeros({k}), options.learn_weights());
  prior_mean_ = register_parameter("prior_mean", at::zeros({k, options.latent_dim()}));
  prior_log_var_ = register_parameter("prior_log_var", at::zeros({k, options.latent_dim()}));
}

at::Tensor VadeImpl::prior_log_var() const {
  // The floor as a clamp: the effective variance never goes below it (nor does its gradient
  // reach a parameter below it).
  return prior_log_var_.clamp_min(std::log(options_.prior_var_floor()));
}

at::Tensor VadeImpl::prior_weights() const { return at::softmax(pi_logits_, 0); }

at::Tensor VadeImpl::prior_variances() const { return at::exp(prior_log_var()); }

at::Tensor VadeImpl::log_joint(const at::Tensor& z) const {
  const at::Tensor log_var = prior_log_var();                       // [K, D]
  const at::Tensor diff = z.unsqueeze(1) - prior_mean_.unsqueeze(0);  // [N, K, D]
  const at::Tensor mahalanobis = (diff.pow(2) * at::exp(-log_var).unsqueeze(0)).sum(2);
  const double log_two_pi = std::log(2.0 * M_PI) * static_cast<double>(z.size(1));
  const at::Tensor log_normal = -0.5 * (mahalanobis + log_var.sum(1).unsqueeze(0) + log_two_pi);
  return at::log_softmax(pi_logits_, 0).unsqueeze(0) + log_normal;
}

at::Tensor VadeImpl::negative_elbo(const at::Tensor& x) { return negative_elbo(x, at::Tensor()); }

at::Tensor VadeImpl::negative_elbo(const at::Tensor& x, const at::Tensor& given_gamma) {
  const VaeOutput out = vae_->forward(x);
  at::Tensor log_gamma, gamma;  // [N, K]
  if (given_gamma.defined()) {
    gamma = given_gamma.detach().to(out.mean.options());
    log_gamma = at::log(gamma.clamp_min(1e-10));
  } else {
    log_gamma = at::log_softmax(log_joint(out.z), 1);
    gamma = at::exp(log_gamma);
  }
  const at::Tensor log_var = prior_log_var();
  const at::Tensor inv_var = at::exp(-log_var).unsqueeze(0);  // [1, K, D]
  const at::Tensor per_component =
      (log_var.unsqueeze(0) + at::exp(out.log_var).unsqueeze(1) * inv_var +
       (out.mean.unsqueeze(1) - prior_mean_.unsqueeze(0)).pow(2) * inv_var)
          .sum(2);  // [N, K]
  const at::Tensor log_pi = at::log_softmax(pi_logits_, 0).unsqueeze(0);
  const at::Tensor kl = 0.5 * (gamma * per_component).sum(1) -
                        (gamma * (log_pi - log_gamma)).sum(1) -
                        0.5 * (1.0 + out.log_var).sum(1);
  return vae_->reconstruction_nll(x, out.decoded) + kl;
}

at::Tensor VadeImpl::responsibilities(const at::Tensor& x) {
  return at::softmax(log_joint(vae_->encode(x).first), 1);
}

at::Tensor VadeImpl::latent(const at::Tensor& x) { return vae_->encode(x).first; }

at::Tensor VadeImpl::autoencoder_loss(const at::Tensor& x, const at::Tensor& target) {
  return vae_->reconstruction_nll(target.defined() ? target : x,
                                  vae_->decode(vae_->encode(x).first));
}

void VadeImpl::set_prior(const at::Tensor& weights, const at::Tensor& means,
                         const at::Tensor& variances) {
  torch::NoGradGuard no_grad;
  const auto options = pi_logits_.options();
  const at::Tensor w = weights.to(options).clamp_min(1e-12);
  pi_logits_.copy_(at::log(w / w.sum()));
  prior_mean_.copy_(means.to(options));
  prior_log_var_.copy_(at::log(variances.to(options).clamp_min(options_.prior_var_floor())));
}

}  // namespace fauna
