#include "models/vae.h"

#include <cmath>
#include <string>

#include <ATen/ATen.h>
#include <torch/nn/modules/activation.h>

#include "absl/strings/str_cat.h"

namespace fauna {
namespace {

// log(2 pi) / 2: the Gaussian likelihood's constant per feature.
const double kHalfLogTwoPi = 0.5 * std::log(2.0 * M_PI);

}  // namespace

torch::nn::Sequential VaeMlp(int64_t in, const std::vector<int64_t>& widths, int64_t out) {
  torch::nn::Sequential mlp;
  for (int64_t width : widths) {
    mlp->push_back(torch::nn::Linear(in, width));
    mlp->push_back(torch::nn::ReLU());
    in = width;
  }
  if (out > 0) mlp->push_back(torch::nn::Linear(in, out));
  return mlp;
}

at::Tensor VaeReconstructionNll(VaeLikelihood likelihood, const at::Tensor& x,
                                const at::Tensor& decoded) {
  if (likelihood == VaeLikelihood::kBernoulli) {
    // -[x log sigmoid(l) + (1 - x) log(1 - sigmoid(l))] = softplus(l) - x l, stable for any l.
    return (at::softplus(decoded) - x * decoded).sum(1);
  }
  return 0.5 * (x - decoded).pow(2).sum(1) + kHalfLogTwoPi * static_cast<double>(x.size(1));
}

absl::Status ValidateVaeOptions(const VaeOptions& options) {
  if (options.input_dim() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("VAE input_dim must be positive, not ", options.input_dim()));
  }
  if (options.latent_dim() < 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("VAE latent_dim must be positive, not ", options.latent_dim()));
  }
  for (int64_t width : options.hidden()) {
    if (width < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("VAE hidden widths must be positive, not ", width));
    }
  }
  return absl::OkStatus();
}

VaeImpl::VaeImpl(const VaeOptions& options)
    : options_(options),
      encoder_(VaeMlp(options.input_dim(), options.hidden(), /*out=*/0)),
      decoder_(VaeMlp(options.latent_dim(),
                      std::vector<int64_t>(options.hidden().rbegin(), options.hidden().rend()),
                      options.input_dim())),
      mean_(options.hidden().empty() ? options.input_dim() : options.hidden().back(),
            options.latent_dim()),
      log_var_(options.hidden().empty() ? options.input_dim() : options.hidden().back(),
               options.latent_dim()) {
  register_module("encoder", encoder_);
  register_module("mean", mean_);
  register_module("log_var", log_var_);
  register_module("decoder", decoder_);
}

std::pair<at::Tensor, at::Tensor> VaeImpl::encode(const at::Tensor& x) {
  const at::Tensor h = options_.hidden().empty() ? x : encoder_->forward(x);
  return {mean_->forward(h), log_var_->forward(h)};
}

at::Tensor VaeImpl::decode(const at::Tensor& z) { return decoder_->forward(z); }

VaeOutput VaeImpl::forward(const at::Tensor& x) {
  VaeOutput out;
  std::tie(out.mean, out.log_var) = encode(x);
  out.z = is_training() ? out.mean + at::exp(0.5 * out.log_var) * at::randn_like(out.mean)
                        : out.mean;
  out.decoded = decode(out.z);
  return out;
}

at::Tensor VaeImpl::reconstruction_nll(const at::Tensor& x, const at::Tensor& decoded) const {
  return VaeReconstructionNll(options_.likelihood(), x, decoded);
}

at::Tensor VaeImpl::kl_to_standard_normal(const at::Tensor& mean, const at::Tensor& log_var) {
  return 0.5 * (mean.pow(2) + at::exp(log_var) - 1.0 - log_var).sum(1);
}

at::Tensor VaeImpl::negative_elbo(const at::Tensor& x, const VaeOutput& out) const {
  return reconstruction_nll(x, out.decoded) + kl_to_standard_normal(out.mean, out.log_var);
}

}  // namespace fauna
