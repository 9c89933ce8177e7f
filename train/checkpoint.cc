#include "train/checkpoint.h"

#include <sys/stat.h>

#include <utility>
#include <vector>

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/core/ivalue.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "core/atomic_file.h"
#include "core/status.h"

namespace fauna {
namespace {

constexpr char kFormat[] = "fauna checkpoint 1";

}  // namespace

absl::Status SaveCheckpoint(const std::string& path, const torch::nn::Module& model,
                            const torch::optim::Optimizer& optimizer,
                            const CheckpointExtras& extras) {
  ASSIGN_OR_RETURN(AtomicFileWriter writer, AtomicFileWriter::Open(path));
  absl::Status write_status;
  try {
    torch::serialize::OutputArchive archive;
    torch::serialize::OutputArchive model_archive;
    model.save(model_archive);
    archive.write("model", model_archive);
    torch::serialize::OutputArchive optimizer_archive;
    optimizer.save(optimizer_archive);
    archive.write("optimizer", optimizer_archive);
    // Archive keys cannot hold the dots of state-dict names: tensors go by number, names in meta.
    torch::serialize::OutputArchive best_archive;
    std::vector<std::string> best_names;
    for (const auto& [name, tensor] : extras.best_weights) {
      best_archive.write("t" + std::to_string(best_names.size()), tensor.detach(),
                         /*is_buffer=*/true);
      best_names.push_back(name);
    }
    archive.write("best", best_archive);
    archive.write("rng_cpu", at::detail::getDefaultCPUGenerator().get_state(), /*is_buffer=*/true);
    const nlohmann::json header = {
        {"format", kFormat}, {"meta", extras.meta}, {"best_names", best_names}};
    archive.write("header", c10::IValue(header.dump()));
    archive.save_to([&](const void* data, size_t size) -> size_t {
      if (!write_status.ok()) return 0;
      write_status = writer.Append(data, size);
      return write_status.ok() ? size : 0;
    });
  } catch (const std::exception& e) {
    if (write_status.ok()) {
      write_status = absl::InternalError("cannot write checkpoint " + path + ": " + e.what());
    }
  }
  RETURN_IF_ERROR(write_status);
  return writer.Commit();
}

absl::StatusOr<CheckpointExtras> LoadCheckpoint(const std::string& path, torch::nn::Module& model,
                                                torch::optim::Optimizer& optimizer) {
  struct stat info;
  if (::stat(path.c_str(), &info) != 0) {
    return absl::NotFoundError("no checkpoint at " + path);
  }
  CheckpointExtras extras;
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    c10::IValue header_value;
    archive.read("header", header_value);
    const nlohmann::json header = nlohmann::json::parse(header_value.toStringRef());
    if (header.value("format", "") != kFormat) {
      return absl::DataLossError(path + " is not a fauna checkpoint");
    }
    torch::serialize::InputArchive model_archive;
    archive.read("model", model_archive);
    // Module::load replaces tensors whatever their shape: compare with the shapes before.
    std::vector<std::pair<std::string, std::vector<int64_t>>> shapes;
    for (const auto& item : model.named_parameters()) {
      shapes.emplace_back(item.key(), item.value().sizes().vec());
    }
    model.load(model_archive);
    const auto loaded_parameters = model.named_parameters();
    for (const auto& [name, shape] : shapes) {
      const at::Tensor* loaded = loaded_parameters.find(name);
      if (loaded == nullptr || loaded->sizes().vec() != shape) {
        return absl::DataLossError("checkpoint " + path + " was saved from another model: " +
                                   name + " does not have the shape of this model's");
      }
    }
    torch::serialize::InputArchive optimizer_archive;
    archive.read("optimizer", optimizer_archive);
    optimizer.load(optimizer_archive);
    torch::serialize::InputArchive best_archive;
    archive.read("best", best_archive);
    const std::vector<std::string> best_names = header.at("best_names");
    for (size_t i = 0; i < best_names.size(); ++i) {
      at::Tensor tensor;
      best_archive.read("t" + std::to_string(i), tensor, /*is_buffer=*/true);
      extras.best_weights[best_names[i]] = tensor;
    }
    at::Tensor rng;
    archive.read("rng_cpu", rng, /*is_buffer=*/true);
    at::Generator generator = at::detail::getDefaultCPUGenerator();
    generator.set_state(rng);
    extras.meta = header.at("meta");
  } catch (const std::exception& e) {
    std::string what = e.what();
    if (const size_t end = what.find('\n'); end != std::string::npos) what.resize(end);
    return absl::DataLossError("cannot read checkpoint " + path +
                               " (truncated, corrupt, or saved from another model): " + what);
  }
  return extras;
}

}  // namespace fauna
