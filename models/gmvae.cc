#include "models/gmvae.h"

#include <cmath>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"

namespace fauna {
namespace {

// log(2 pi): the Gaussian log-density's constant per dimension.
const double kLogTwoPi = std::log(2.0 * M_PI);

// log N(z; mean, diag(exp(log_var))) summed over the last dimension, constants included.
at::Tensor GaussianLogDensity(const at::Tensor& z, const at::Tensor& mean,
                              const at::Tensor& log_var) {
  return -0.5 * ((z - mean).pow(2) * at::exp(-log_var) + log_var + kLogTwoPi).sum(-1);
}

// The width of the encoder trunk's output.
int64_t TrunkDim(const GmvaeOptions& options) {
  return options.hidden().empty() ? options.input_dim() : options.hidden().back();
}

}  // namespace

absl::Status ValidateGmvaeOptions(const GmvaeOptions& options) {
  if (options.input_dim() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("GMVAE input_dim must be positive, not ", options.input_dim()));
  }
  if (options.latent_dim() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("GMVAE latent_dim must be positive, not ", options.latent_dim()));
  }
  if (options.clusters() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("GMVAE clusters must be positive, not ", options.clusters()));
  }
  for (int64_t width : options.hidden()) {
    if (width < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("GMVAE hidden widths must be positive, not ", width));
    }
  }
  return absl::OkStatus();
}

GmvaeImpl::GmvaeImpl(const GmvaeOptions& options)
    : options_(options),
      encoder_(VaeMlp(options.input_dim(), options.hidden(), /*out=*/0)),
      decoder_(VaeMlp(options.latent_dim(),
                      std::vector<int64_t>(options.hidden().rbegin(), options.hidden().rend()),
                      options.input_dim())),
      y_logits_(TrunkDim(options), options.clusters()),
      z_mean_(TrunkDim(options) + options.clusters(), options.latent_dim()),
      z_log_var_(TrunkDim(options) + options.clusters(), options.latent_dim()),
      prior_mean_(options.clusters(), options.latent_dim()),
      prior_log_var_(options.clusters(), options.latent_dim()) {
  register_module("encoder", encoder_);
  register_module("y_logits", y_logits_);
  register_module("z_mean", z_mean_);
  register_module("z_log_var", z_log_var_);
  register_module("prior_mean", prior_mean_);
  register_module("prior_log_var", prior_log_var_);
  register_module("decoder", decoder_);
}

at::Tensor GmvaeImpl::trunk(const at::Tensor& x) {
  return options_.hidden().empty() ? x : encoder_->forward(x);
}

std::pair<at::Tensor, at::Tensor> GmvaeImpl::encode_z(const at::Tensor& h) {
  const int64_t n = h.size(0), k = options_.clusters();
  // Row n * K + c of the batch is concat(h[n], one_hot(c)).
  const at::Tensor one_hots = at::eye(k, h.options()).repeat({n, 1});
  const at::Tensor hy = at::cat({h.repeat_interleave(k, /*dim=*/0), one_hots}, /*dim=*/1);
  return {z_mean_->forward(hy).view({n, k, -1}), z_log_var_->forward(hy).view({n, k, -1})};
}

GmvaeOutput GmvaeImpl::forward(const at::Tensor& x) {
  const int64_t n = x.size(0), k = options_.clusters();
  GmvaeOutput out;
  const at::Tensor h = trunk(x);
  out.y_logits = y_logits_->forward(h);
  std::tie(out.z_mean, out.z_log_var) = encode_z(h);
  const at::Tensor one_hots = at::eye(k, h.options());
  out.prior_mean = prior_mean_->forward(one_hots);
  out.prior_log_var = prior_log_var_->forward(one_hots);
  out.z = is_training() ? out.z_mean + at::exp(0.5 * out.z_log_var) * at::randn_like(out.z_mean)
                        : out.z_mean;
  out.decoded = decoder_->forward(out.z.reshape({n * k, -1})).view({n, k, -1});
  return out;
}

at::Tensor GmvaeImpl::negative_elbo(const at::Tensor& x, const GmvaeOutput& out) const {
  const int64_t n = x.size(0), k = options_.clusters();
  // -log p(x|z_y) for every (row, cluster): [N, K].
  const at::Tensor reconstruction =
      VaeReconstructionNll(options_.likelihood(), x.repeat_interleave(k, /*dim=*/0),
                           out.decoded.reshape({n * k, -1}))
          .view({n, k});
  // log q(z_y|x,y) - log p(z_y|y): [N, K]; the priors [K, D] broadcast over the rows.
  const at::Tensor z_terms = GaussianLogDensity(out.z, out.z_mean, out.z_log_var) -
                             GaussianLogDensity(out.z, out.prior_mean, out.prior_log_var);
  const at::Tensor log_qy = at::log_softmax(out.y_logits, /*dim=*/1);
  const at::Tensor qy = at::exp(log_qy);
  // KL(q(y|x) || Uniform(K)) = sum_y q log q + log K.
  const at::Tensor kl_y = (qy * log_qy).sum(1) + std::log(static_cast<double>(k));
  return (qy * (reconstruction + z_terms)).sum(1) + kl_y;
}

at::Tensor GmvaeImpl::negative_elbo(const at::Tensor& x) { return negative_elbo(x, forward(x)); }

at::Tensor GmvaeImpl::responsibilities(const at::Tensor& x) {
  return at::softmax(y_logits_->forward(trunk(x)), /*dim=*/1);
}

at::Tensor GmvaeImpl::latent(const at::Tensor& x) {
  const at::Tensor h = trunk(x);
  const at::Tensor qy = at::softmax(y_logits_->forward(h), /*dim=*/1);
  return (qy.unsqueeze(2) * encode_z(h).first).sum(1);
}

}  // namespace fauna
