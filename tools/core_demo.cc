// The main job until //train:vgg16_best exists: a small end-to-end run of what core/ provides.
// Fits a softmax classifier to three overlapping Gaussian classes with minibatch gradient descent,
// showing progress, appending per-epoch metrics as JSON lines, saving the weights as safetensors
// and checking that the reloaded weights give the same test accuracy.
//
//   bazel run //tools:core_demo -- --epochs=30 --seed=7
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>

#include <ATen/ATen.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/metrics_sink.h"
#include "core/progress.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/tensor_file.h"
#include "core/torch_status.h"

DEFINE_string(out_dir, "", "Where results go; default runs/core_demo in the workspace.");
DEFINE_int32(epochs, 20, "Passes over the training split.");
DEFINE_int32(samples_per_class, 1000, "Points drawn for each of the three classes.");
DEFINE_int32(batch_size, 64, "Minibatch size.");
DEFINE_double(lr, 0.5, "Learning rate of plain gradient descent.");

namespace fauna {
namespace {

constexpr int kClasses = 3;

struct Split {
  at::Tensor x;  // [n, 2]
  at::Tensor y;  // [n], int64
};

// Three classes at the corners of a triangle, overlapping enough to keep accuracy below 100%.
std::pair<Split, Split> MakeData(int per_class) {
  const at::Tensor centres = at::tensor({0.0f, 1.0f, 0.87f, -0.5f, -0.87f, -0.5f}).reshape({3, 2});
  at::Tensor y = at::arange(kClasses, at::kLong).repeat_interleave(per_class);
  at::Tensor x = centres.index_select(0, y) + 0.6 * at::randn({y.size(0), 2});
  at::Tensor order = at::randperm(y.size(0), at::kLong);
  x = x.index_select(0, order);
  y = y.index_select(0, order);
  const int64_t n_train = y.size(0) * 8 / 10;
  return {{x.slice(0, 0, n_train), y.slice(0, 0, n_train)},
          {x.slice(0, n_train), y.slice(0, n_train)}};
}

double Accuracy(const at::Tensor& w, const at::Tensor& b, const Split& split) {
  at::Tensor predicted = at::addmm(b, split.x, w).argmax(1);
  return predicted.eq(split.y).to(at::kDouble).mean().item<double>();
}

absl::Status Run() {
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime());
  if (FLAGS_epochs < 1 || FLAGS_samples_per_class < 10 || FLAGS_batch_size < 1) {
    return absl::InvalidArgumentError(
        "--epochs must be >= 1, --samples_per_class >= 10 and --batch_size >= 1");
  }
  const std::string out_dir = FLAGS_out_dir.empty() ? DefaultRunDir("core_demo") : FLAGS_out_dir;
  std::error_code error;
  std::filesystem::create_directories(out_dir, error);
  if (error) return absl::PermissionDeniedError("cannot create " + out_dir + ": " + error.message());
  const std::string metrics_path = out_dir + "/metrics.jsonl";
  std::filesystem::remove(metrics_path, error);  // A new run starts a new log.
  ASSIGN_OR_RETURN(MetricsSink metrics, MetricsSink::Open(metrics_path));

  auto [train, test] = MakeData(FLAGS_samples_per_class);
  at::Tensor w = at::zeros({2, kClasses});
  at::Tensor b = at::zeros({kClasses});
  const int64_t n = train.y.size(0);
  const int64_t batches = (n + FLAGS_batch_size - 1) / FLAGS_batch_size;

  ProgressOptions options;
  options.label = "core_demo";
  options.total = int64_t{FLAGS_epochs} * batches;
  options.unit = "batch";
  ProgressBar progress(std::move(options));
  double loss_sum = 0.0;
  for (int epoch = 1; epoch <= FLAGS_epochs; ++epoch) {
    at::Tensor order = at::randperm(n, at::kLong);
    loss_sum = 0.0;
    for (int64_t i = 0; i < batches; ++i) {
      at::Tensor idx = order.slice(0, i * FLAGS_batch_size, std::min(n, (i + 1) * FLAGS_batch_size));
      at::Tensor x = train.x.index_select(0, idx);
      at::Tensor y = train.y.index_select(0, idx);
      at::Tensor log_p = at::log_softmax(at::addmm(b, x, w), 1);
      loss_sum -= log_p.gather(1, y.unsqueeze(1)).sum().item<double>();
      // Gradient of the mean cross-entropy: X^T (softmax - onehot) / batch.
      at::Tensor delta = (log_p.exp() - at::one_hot(y, kClasses).to(at::kFloat)) / x.size(0);
      w -= FLAGS_lr * x.t().mm(delta);
      b -= FLAGS_lr * delta.sum(0);
      progress.Update(int64_t{epoch - 1} * batches + i + 1, {{"loss", loss_sum / n}});
    }
    RETURN_IF_ERROR(metrics.Write({{"epoch", epoch},
                                   {"train_loss", loss_sum / n},
                                   {"train_acc", Accuracy(w, b, train)},
                                   {"test_acc", Accuracy(w, b, test)}}));
  }
  progress.Finish({{"loss", loss_sum / n}});

  const double test_acc = Accuracy(w, b, test);
  const std::string weights_path = out_dir + "/weights.safetensors";
  RETURN_IF_ERROR(WriteTensorFile(weights_path, {{"fc.weight", w.t()}, {"fc.bias", b}}));
  ASSIGN_OR_RETURN(NamedTensors reloaded, ReadTensorFile(weights_path));
  const double reloaded_acc = Accuracy(reloaded.at("fc.weight").t(), reloaded.at("fc.bias"), test);
  if (reloaded_acc != test_acc) {
    return absl::InternalError("reloaded weights give test accuracy " +
                               std::to_string(reloaded_acc) + ", not " +
                               std::to_string(test_acc));
  }

  nlohmann::json results = {
      {"job", "core_demo"},
      {"config",
       {{"seed", runtime.seed},
        {"threads", runtime.threads},
        {"device", runtime.device.str()},
        {"epochs", FLAGS_epochs},
        {"samples_per_class", FLAGS_samples_per_class},
        {"batch_size", FLAGS_batch_size},
        {"lr", FLAGS_lr}}},
      {"train_acc", Accuracy(w, b, train)},
      {"test_acc", test_acc},
      {"weights", weights_path},
      {"metrics", metrics_path},
  };
  RETURN_IF_ERROR(WriteFileAtomically(out_dir + "/results.json", results.dump(2) + "\n"));
  std::printf("test accuracy %.4f on %lld points (chance 0.3333); reloaded weights agree\n",
              test_acc, static_cast<long long>(test.y.size(0)));
  std::printf("results: %s/results.json, metrics: %s, weights: %s\n", out_dir.c_str(),
              metrics_path.c_str(), weights_path.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "A small end-to-end run of fauna's core/ (see the file's comment).");
  return fauna::ExitCode(fauna::GuardTorch("core_demo", fauna::Run));
}
