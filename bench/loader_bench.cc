// fauna's side of the loader benchmark (bench/loader_vs_torchvision.sh runs both sides): a class
// folder of JPEGs decoded to --size, flipped and rotated, normalised and batched by --workers
// threads; first straight from the files, then from the decoded cache. Prints one JSON line per
// epoch, in the format of bench/loader_peer.py.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include <ATen/Parallel.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include "core/flags.h"
#include "core/runtime.h"
#include "core/seed.h"
#include "core/status.h"
#include "data/augment/pipeline.h"
#include "data/augment/to_tensor.h"
#include "data/class_folder_source.h"
#include "data/decode.h"
#include "data/decoded_cache.h"
#include "data/loader.h"

DEFINE_string(root, "", "Class folder of images (bench/make_jpegs.py writes one).");
DEFINE_int32(workers, 2, "Loader threads.");
DEFINE_int32(batch, 64, "Batch size.");
DEFINE_int32(size, 224, "Image size the loader produces.");
DEFINE_int32(epochs, 2, "Epochs straight from the files.");
DEFINE_int32(cached_epochs, 3, "Epochs from the decoded cache.");
DEFINE_string(cache, "/tmp/fauna_loader_bench.cache", "Decoded cache file.");
DEFINE_string(augment, "hflip, rotate(degrees=15, sampling=nearest)",
              "Augmentation pipeline (the peer's: torchvision's RandomRotation samples the nearest pixel).");

namespace fauna {
namespace {

using Clock = std::chrono::steady_clock;

absl::Status TimeEpochs(const std::string& mode, int epochs, int64_t size, ExampleWriter write) {
  LoaderOptions options;
  options.batch_size = FLAGS_batch;
  options.workers = FLAGS_workers;
  options.seed = 0;
  Loader loader(size, {3, FLAGS_size, FLAGS_size}, std::move(write), options);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    const Clock::time_point start = Clock::now();
    RETURN_IF_ERROR(loader.StartEpoch(epoch));
    int64_t images = 0;
    while (true) {
      ASSIGN_OR_RETURN(std::optional<Batch> batch, loader.Next());
      if (!batch) break;
      images += batch->images.size(0);
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("%s\n", nlohmann::json({{"peer", "fauna"},
                                        {"mode", mode},
                                        {"epoch", epoch},
                                        {"images", images},
                                        {"seconds", seconds},
                                        {"images_per_s", images / seconds}})
                            .dump()
                            .c_str());
    std::fflush(stdout);
  }
  return absl::OkStatus();
}

absl::Status Run() {
  if (FLAGS_root.empty()) return absl::InvalidArgumentError("--root is required");
  SetThreadCount(1);  // Parallelism comes from the loader's workers (LibTorch and OpenCV).
  ReuseFreedTensorMemory();  // As InitRuntime does in fauna's binaries.
  ASSIGN_OR_RETURN(std::unique_ptr<ClassFolderSource> source, ClassFolderSource::Open(FLAGS_root));
  ASSIGN_OR_RETURN(Pipeline pipeline, Pipeline::Parse(FLAGS_augment));
  DecodeOptions decode;
  decode.size = FLAGS_size;
  const ImageSource* files = source.get();

  RETURN_IF_ERROR(TimeEpochs("uncached", FLAGS_epochs, files->size(),
                             [&](int64_t index, int64_t epoch,
                                 const at::Tensor& image) -> absl::StatusOr<int64_t> {
                               ASSIGN_OR_RETURN(cv::Mat rgb, files->LoadResized(index, decode));
                               std::mt19937_64 rng = MakeGenerator(0, epoch, index);
                               RETURN_IF_ERROR(
                                   pipeline.ApplyInto(rgb, rng, kImageNetNormalization, image));
                               return files->label(index);
                             }));

  std::remove(FLAGS_cache.c_str());
  const Clock::time_point start = Clock::now();
  ASSIGN_OR_RETURN(DecodedCache cache,
                   DecodedCache::OpenOrBuild(FLAGS_cache, *files, decode, FLAGS_workers));
  const double build_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("%s\n", nlohmann::json({{"peer", "fauna"},
                                      {"mode", "cache_build"},
                                      {"images", cache.size()},
                                      {"seconds", build_seconds},
                                      {"images_per_s", cache.size() / build_seconds}})
                          .dump()
                          .c_str());

  return TimeEpochs("cached", FLAGS_cached_epochs, cache.size(),
                    [&](int64_t index, int64_t epoch,
                        const at::Tensor& image) -> absl::StatusOr<int64_t> {
                      std::mt19937_64 rng = MakeGenerator(0, epoch, index);
                      RETURN_IF_ERROR(pipeline.ApplyInto(cache.Get(index), rng,
                                                         kImageNetNormalization, image));
                      return cache.label(index);
                    });
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "fauna's side of the loader benchmark: a class folder of JPEGs loaded from "
                    "the files, then from the decoded cache (see bench/loader_bench.cc).");
  return fauna::ExitCode(fauna::Run());
}
