// Micro-benchmarks of the data path: decoding a 512 px JPEG (AFHQ's size) to 224 px with and
// without libjpeg's reduced decoding, each augmentation on a 224 px image, ToTensor/ToBatch, and
// a rotation with the conversion into a batch place, in two steps or fused.
//
//   bazel run -c opt //bench:augment_bench
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "data/augment/geometric.h"
#include "data/augment/noise.h"
#include "data/augment/occlusion.h"
#include "data/augment/to_tensor.h"
#include "data/augment/warp_to_tensor.h"
#include "data/decode.h"

namespace fauna {
namespace {

// A photograph-like 512x512 JPEG (gradients and shapes) written once to a temporary folder.
const std::string& JpegPath() {
  static const std::string path = [] {
    const char* dir = std::getenv("TEST_TMPDIR");
    std::string file = std::string(dir != nullptr ? dir : "/tmp") + "/fauna_augment_bench.jpg";
    cv::Mat bgr(512, 512, CV_8UC3);
    for (int y = 0; y < 512; ++y) {
      for (int x = 0; x < 512; ++x) {
        bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(x / 2, y / 2, (x + y) / 4);
      }
    }
    cv::circle(bgr, {256, 256}, 120, {30, 200, 90}, cv::FILLED);
    cv::RNG(1).fill(bgr(cv::Rect(0, 0, 512, 100)), cv::RNG::NORMAL, 128, 30);
    cv::imwrite(file, bgr, {cv::IMWRITE_JPEG_QUALITY, 90});
    return file;
  }();
  return path;
}

cv::Mat Image224() {
  cv::Mat image(224, 224, CV_8UC3);
  cv::RNG(2).fill(image, cv::RNG::UNIFORM, 0, 256);
  return image;
}

// As many separate copies of Image224 as a batch has places (9.6 MB), so that sources come from
// memory as they do from a loader's decoded cache, not from a cache a single image stays in.
std::vector<cv::Mat> Images224() {
  std::vector<cv::Mat> images;
  for (int i = 0; i < 64; ++i) images.push_back(Image224());
  return images;
}

void BM_DecodeJpeg512To224Reduced(benchmark::State& state) {
  const std::string& path = JpegPath();
  for (auto _ : state) {
    absl::StatusOr<cv::Mat> image = DecodeFile(path, {/*size=*/224});
    if (!image.ok()) state.SkipWithError("decode failed");
    benchmark::DoNotOptimize(image);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeJpeg512To224Reduced);

void BM_DecodeJpeg512To224Full(benchmark::State& state) {
  const std::string& path = JpegPath();
  for (auto _ : state) {
    absl::StatusOr<cv::Mat> full = ReadImageRgb(path);
    if (!full.ok()) state.SkipWithError("decode failed");
    absl::StatusOr<cv::Mat> image = ResizeImage(*full, {/*size=*/224});
    benchmark::DoNotOptimize(image);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeJpeg512To224Full);

// Runs `transform` on a fresh copy of a 224 px image per iteration (the copy is timed too, as in
// Pipeline::Apply).
template <typename Transform>
void RunTransform(benchmark::State& state, Transform transform) {
  const cv::Mat source = Image224();
  std::mt19937_64 rng(3);
  for (auto _ : state) {
    cv::Mat image = source.clone();
    if (!transform(image, rng).ok()) state.SkipWithError("transform failed");
    benchmark::DoNotOptimize(image.data);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_CopyOnly(benchmark::State& state) {
  RunTransform(state, [](cv::Mat&, std::mt19937_64&) { return absl::OkStatus(); });
}
BENCHMARK(BM_CopyOnly);

void BM_HorizontalFlip(benchmark::State& state) {
  RunTransform(state, [](cv::Mat& image, std::mt19937_64&) { return HorizontalFlip(image); });
}
BENCHMARK(BM_HorizontalFlip);

void BM_RandomRotation(benchmark::State& state) {
  RunTransform(state, [](cv::Mat& image, std::mt19937_64& rng) {
    return RandomRotation(image, /*max_degrees=*/15, Border::kReflect, rng);
  });
}
BENCHMARK(BM_RandomRotation);

void BM_RandomResizedCrop(benchmark::State& state) {
  RunTransform(state, [](cv::Mat& image, std::mt19937_64& rng) {
    return RandomResizedCrop(image, {/*height=*/224, /*width=*/224}, rng);
  });
}
BENCHMARK(BM_RandomResizedCrop);

void BM_GaussianNoise(benchmark::State& state) {
  RunTransform(state, [](cv::Mat& image, std::mt19937_64& rng) {
    return AddGaussianNoise(image, /*sigma=*/25, rng);
  });
}
BENCHMARK(BM_GaussianNoise);

void BM_RandomOcclusion(benchmark::State& state) {
  RunTransform(state, [](cv::Mat& image, std::mt19937_64& rng) {
    return RandomOcclusion(image, OcclusionOptions(), rng).status();
  });
}
BENCHMARK(BM_RandomOcclusion);

void BM_PartialViewLeftHalf(benchmark::State& state) {
  RunTransform(state, [](cv::Mat& image, std::mt19937_64& rng) {
    return PartialView(image, {PartialRegion::kLeft, /*keep=*/0.5}, rng);
  });
}
BENCHMARK(BM_PartialViewLeftHalf);

void BM_ToTensor(benchmark::State& state) {
  const cv::Mat image = Image224();
  for (auto _ : state) {
    absl::StatusOr<at::Tensor> tensor = ToTensor(image, kImageNetNormalization);
    benchmark::DoNotOptimize(tensor);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ToTensor);

// Conversion of 64 source images into the places of a 64-image batch in turn, as a loader's
// worker writes them: the batch (38 MB) is far past the caches, which is why large destinations
// are streamed (data/augment/plane_rows.h). A single reused place and source would stay in cache
// and measure another case. On 1 and 2 threads (each with its own batch), as a loader's workers share the memory bus.
void BM_ToTensorIntoBatchPlaces(benchmark::State& state) {
  const std::vector<cv::Mat> images = Images224();
  at::Tensor batch = at::zeros({64, 3, 224, 224});
  int64_t i = 0;
  for (auto _ : state) {
    const int64_t place = i++ % 64;
    if (!ToTensorInto(images[place], kImageNetNormalization, batch[place]).ok()) {
      state.SkipWithError("conversion failed");
    }
    benchmark::DoNotOptimize(batch.data_ptr());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ToTensorIntoBatchPlaces)->Threads(1)->Threads(2)->UseRealTime();

// A 15 degree rotation and the conversion into a batch place (taken in turn, as above):
// cv::warpAffine then ToTensorInto (arg 0), or both in one pass with WarpToTensorInto (arg 1);
// nearest or bilinear sampling.
void RotateIntoTensor(benchmark::State& state, Sampling sampling) {
  const std::vector<cv::Mat> images = Images224();
  const AffineWarp warp = RotationWarp(images[0].size(), 15.0, Border::kConstant, sampling);
  at::Tensor batch = at::zeros({64, 3, 224, 224});
  int64_t i = 0;
  const bool fused = state.range(0) == 1;
  for (auto _ : state) {
    const int64_t index = i++ % 64;
    const cv::Mat& image = images[index];
    const at::Tensor place = batch[index];
    absl::Status status;
    if (fused) {
      status = WarpToTensorInto(image, warp, kImageNetNormalization, place);
    } else {
      absl::StatusOr<cv::Mat> warped = Warped(image, warp);
      status = warped.ok() ? ToTensorInto(*warped, kImageNetNormalization, place) : warped.status();
    }
    if (!status.ok()) state.SkipWithError("rotation failed");
    benchmark::DoNotOptimize(place.data_ptr());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_RotateIntoTensorNearest(benchmark::State& state) {
  RotateIntoTensor(state, Sampling::kNearest);
}
BENCHMARK(BM_RotateIntoTensorNearest)
    ->ArgName("fused")
    ->Arg(0)
    ->Arg(1)
    ->Threads(1)
    ->Threads(2)
    ->UseRealTime();

void BM_RotateIntoTensorBilinear(benchmark::State& state) {
  RotateIntoTensor(state, Sampling::kBilinear);
}
BENCHMARK(BM_RotateIntoTensorBilinear)->ArgName("fused")->Arg(0)->Arg(1);

void BM_ToBatch(benchmark::State& state) {
  const std::vector<cv::Mat> images(static_cast<size_t>(state.range(0)), Image224());
  for (auto _ : state) {
    absl::StatusOr<at::Tensor> batch = ToBatch(images, kImageNetNormalization);
    benchmark::DoNotOptimize(batch);
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ToBatch)->Arg(32);

}  // namespace
}  // namespace fauna

BENCHMARK_MAIN();
