// Images per second of every study's model: eval-mode forward, and a training step (forward,
// cross-entropy or reconstruction loss, backward, SGD update), at batch 8 and 64 or 224 pixels.
// Peer: models/bench_peer.py runs torchvision's networks at the same sizes.
//
//   bazel run //models:models_bench -- --benchmark_filter=resnet50
#include <memory>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <c10/core/GradMode.h>
#include <torch/optim/sgd.h>

#include "models/registry.h"

namespace fauna {
namespace {

const std::vector<std::string>& BenchmarkedModels() {
  static const auto* names = new std::vector<std::string>{
      "resnet18", "resnet50", "vgg16", "endangered_model4", "autoencoder"};
  return *names;
}

// state.range(0): batch size; state.range(1): image side.
void Run(benchmark::State& state, const std::string& name, bool train) {
  const int64_t batch = state.range(0);
  const int64_t side = state.range(1);
  ModelConfig config;
  config.num_classes = 10;
  config.image_size = side;
  absl::StatusOr<Backbone> model = CreateModel(name, config);
  if (!model.ok()) {
    state.SkipWithError(std::string(model.status().message()).c_str());
    return;
  }
  const at::Tensor x = at::randn({batch, 3, side, side});
  const at::Tensor labels = at::randint(/*high=*/10, {batch}, at::kLong);
  const bool autoencoder = name == "autoencoder";
  if (!train) {
    (*model)->eval();
    c10::NoGradGuard no_grad;
    for (auto _ : state) benchmark::DoNotOptimize((*model)->forward(x));
  } else {
    (*model)->train();
    torch::optim::SGD optimizer((*model)->parameters(), torch::optim::SGDOptions(1e-3));
    for (auto _ : state) {
      optimizer.zero_grad();
      at::Tensor y = (*model)->forward(x);
      at::Tensor loss = autoencoder ? at::mse_loss(y, x) : at::cross_entropy_loss(y, labels);
      loss.backward();
      optimizer.step();
    }
  }
  state.SetItemsProcessed(state.iterations() * batch);
  state.counters["images_per_s"] =
      benchmark::Counter(static_cast<double>(state.iterations() * batch),
                         benchmark::Counter::kIsRate);
}

int RegisterAll() {
  for (const std::string& name : BenchmarkedModels()) {
    for (const bool train : {false, true}) {
      benchmark::RegisterBenchmark(
          (name + (train ? "/train_step" : "/forward")).c_str(),
          [name, train](benchmark::State& state) { Run(state, name, train); })
          ->Args({8, 64})
          ->Args({8, 224})
          ->Unit(benchmark::kMillisecond)
          ->UseRealTime();
    }
  }
  return 0;
}

const int kRegistered = RegisterAll();

}  // namespace
}  // namespace fauna
