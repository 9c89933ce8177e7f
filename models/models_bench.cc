// fauna's side of the models benchmark (bench/models_vs_torchvision.sh runs both sides, its peer
// is models/bench_peer.py): images per second of the studies' models at the ci, small and paper
// scales, eval-mode forward without autograd, and a training step (zero_grad, forward,
// cross-entropy or reconstruction loss, backward, SGD update). Prints one JSON line per model and
// mode, in the format of bench_peer.py.
//
//   bazel-bin/models/models_bench --scale=ci --threads=2 --min_time=1
//   bazel-bin/models/models_bench --scale=paper --models=resnet50 --describe
//
// Timing, the same on both sides: `--warmup` untimed steps, then timed steps until `--min_time`
// seconds have passed and at least `--min_steps` were taken; images_per_s is batch / the median
// step time (robust to other processes on a shared machine), mean_images_per_s steps * batch /
// their total time.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <c10/core/GradMode.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>
#include <torch/optim/sgd.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "core/flags.h"
#include "core/status.h"
#include "models/registry.h"

DEFINE_string(scale, "ci", "ci (32 px, width 0.125, batch 16), small (64 px, 0.25, 32) or paper "
                           "(224 px, 1.0, 8).");
DEFINE_string(models,
              "resnet18,resnet50,vgg16,vgg16_bn,endangered_baseline,endangered_model4,autoencoder",
              "Comma-separated registry names.");
DEFINE_string(modes, "forward,train", "Comma-separated: forward, train.");
DEFINE_int32(threads, 2, "LibTorch intra-op threads.");
DEFINE_double(min_time, 1.0, "Seconds of timed steps per model and mode.");
DEFINE_int32(min_steps, 3, "Timed steps per model and mode, at least.");
DEFINE_int32(warmup, 2, "Untimed steps before timing.");
DEFINE_int32(num_classes, 10, "Classes of the classifiers.");
DEFINE_bool(describe, false,
            "Print each model's parameter count and sorted state-dict keys with shapes instead of "
            "timing (the script checks them against the peer's).");

namespace fauna {
namespace {

using Clock = std::chrono::steady_clock;

// One of the trainer's scales.
struct Scale {
  std::string name;
  int64_t side;
  double width;
  int64_t batch;
};

absl::StatusOr<Scale> FindScale(const std::string& name) {
  for (const Scale& scale : {Scale{"ci", 32, 0.125, 16}, Scale{"small", 64, 0.25, 32},
                             Scale{"paper", 224, 1.0, 8}}) {
    if (scale.name == name) return scale;
  }
  return absl::InvalidArgumentError("unknown --scale \"" + name + "\" (known: ci, small, paper)");
}

// "d0,d1,..."; empty for a scalar, as bench_peer.py writes it.
std::string Shape(const at::Tensor& t) {
  std::string s;
  for (const int64_t d : t.sizes()) s += (s.empty() ? "" : ",") + std::to_string(d);
  return s;
}

// Sorted "key shape" lines of the state dict, and the number of parameter elements.
nlohmann::json Describe(Backbone& model) {
  std::vector<std::string> keys;
  int64_t params = 0;
  for (const auto& item : model->named_parameters(/*recurse=*/true)) {
    keys.push_back(item.key() + " " + Shape(item.value()));
    params += item.value().numel();
  }
  for (const auto& item : model->named_buffers(/*recurse=*/true)) {
    keys.push_back(item.key() + " " + Shape(item.value()));
  }
  std::sort(keys.begin(), keys.end());
  return {{"params", params}, {"keys", keys}};
}

// Seconds of each timed step: `--warmup` untimed steps, then steps until --min_time seconds
// have passed and at least --min_steps were taken.
template <typename Step>
std::vector<double> Time(Step step) {
  for (int i = 0; i < FLAGS_warmup; ++i) step();
  std::vector<double> seconds;
  double total = 0;
  while (total < FLAGS_min_time || static_cast<int>(seconds.size()) < FLAGS_min_steps) {
    const Clock::time_point start = Clock::now();
    step();
    seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    total += seconds.back();
  }
  return seconds;
}

// The median of a non-empty list.
double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

absl::Status BenchModel(const std::string& name, const Scale& scale,
                        const std::vector<std::string>& modes) {
  ModelConfig config;
  config.num_classes = FLAGS_num_classes;
  config.width = scale.width;
  config.image_size = scale.side;
  ASSIGN_OR_RETURN(Backbone model, CreateModel(name, config));
  nlohmann::json line = {{"peer", "fauna"}, {"model", name},         {"scale", scale.name},
                         {"side", scale.side}, {"width", scale.width}, {"batch", scale.batch}};
  if (FLAGS_describe) {
    line.update(Describe(model));
    std::printf("%s\n", line.dump().c_str());
    return absl::OkStatus();
  }
  const at::Tensor x = at::randn({scale.batch, 3, scale.side, scale.side});
  const at::Tensor labels = at::randint(FLAGS_num_classes, {scale.batch}, at::kLong);
  const bool autoencoder = name == "autoencoder";
  for (const std::string& mode : modes) {
    std::vector<double> timed;
    if (mode == "forward") {
      model->eval();
      c10::NoGradGuard no_grad;
      timed = Time([&] { model->forward(x); });
    } else if (mode == "train") {
      model->train();
      torch::optim::SGD optimizer(model->parameters(), torch::optim::SGDOptions(/*lr=*/1e-3));
      timed = Time([&] {
        optimizer.zero_grad();
        const at::Tensor y = model->forward(x);
        const at::Tensor loss = autoencoder ? at::mse_loss(y, x) : at::cross_entropy_loss(y, labels);
        loss.backward();
        optimizer.step();
      });
    } else {
      return absl::InvalidArgumentError("unknown mode \"" + mode + "\" (known: forward, train)");
    }
    line["mode"] = mode;
    line["threads"] = at::get_num_threads();
    double total = 0;
    for (const double t : timed) total += t;
    line["steps"] = timed.size();
    line["seconds"] = total;
    // The median step, robust to the other processes of a shared machine; and the mean.
    line["images_per_s"] = static_cast<double>(scale.batch) / Median(timed);
    line["mean_images_per_s"] = static_cast<double>(scale.batch) * timed.size() / total;
    std::printf("%s\n", line.dump().c_str());
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

absl::Status Run() {
  ASSIGN_OR_RETURN(Scale scale, FindScale(FLAGS_scale));
  if (FLAGS_threads < 1) return absl::InvalidArgumentError("--threads must be >= 1");
  at::set_num_threads(FLAGS_threads);
  at::manual_seed(0);
  const std::vector<std::string> modes = absl::StrSplit(FLAGS_modes, ',', absl::SkipEmpty());
  for (const std::string& name :
       std::vector<std::string>(absl::StrSplit(FLAGS_models, ',', absl::SkipEmpty()))) {
    RETURN_IF_ERROR(BenchModel(name, scale, modes));
  }
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "Images per second of the studies' models, forward and training step "
                    "(see models/models_bench.cc).");
  const absl::Status status = fauna::Run();
  if (!status.ok()) {
    std::fprintf(stderr, "models_bench: %s\n", std::string(status.message()).c_str());
    return 1;
  }
  return 0;
}
