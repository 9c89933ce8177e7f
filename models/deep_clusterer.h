// What the deep-clustering trainer (train/deep_cluster_main.cc) needs of a model that clusters
// without labels: VaDE (models/vade.h) and GMVAE (models/gmvae.h) implement it.
//
// Example:
//   std::shared_ptr<DeepClustererImpl> model = std::make_shared<VadeImpl>(options);
//   at::Tensor loss = model->negative_elbo(x).mean();      // train mode: sampled
//   at::Tensor clusters = model->responsibilities(x).argmax(1);
#ifndef FAUNA_MODELS_DEEP_CLUSTERER_H_
#define FAUNA_MODELS_DEEP_CLUSTERER_H_

#include <cstdint>

#include <ATen/core/Tensor.h>
#include <torch/nn/module.h>

namespace fauna {

class DeepClustererImpl : public torch::nn::Module {
 public:
  ~DeepClustererImpl() override = default;

  // The negative evidence lower bound of each row of x [N, input_dim], as [N]. In train mode
  // latent codes are sampled (the reparameterisation trick); in eval mode posterior means are
  // used, so the value is deterministic.
  virtual at::Tensor negative_elbo(const at::Tensor& x) = 0;

  // q(c | x): each row's cluster probabilities [N, clusters], from the posterior means (no
  // sampling, whatever the mode). Rows sum to 1.
  virtual at::Tensor responsibilities(const at::Tensor& x) = 0;

  // The latent code [N, latent_dim] to draw or cluster: the posterior mean of z.
  virtual at::Tensor latent(const at::Tensor& x) = 0;

  virtual int64_t clusters() const = 0;
  virtual int64_t input_dim() const = 0;
  virtual int64_t latent_dim() const = 0;
};

}  // namespace fauna

#endif  // FAUNA_MODELS_DEEP_CLUSTERER_H_
