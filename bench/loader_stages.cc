// Where the time of one image goes in fauna's uncached loader, stage by stage, on one thread:
// reading the file, walking its header, decoding (at reduced size for JPEGs), resizing, and the
// augmentation with the conversion into a batch place. Reading and decoding are the floor, so
// their line says how fast --workers threads could load at most. For comparison, a JPEG decode
// with libjpeg-turbo's own entropy decoder rather than fauna's (data/jpeg_huffman.h).
//
//   bazel run //bench:loader_stages -- --root=/tmp/fauna_bench_jpegs_1024
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gflags/gflags.h>

#include "core/flags.h"
#include "core/runtime.h"
#include "core/seed.h"
#include "core/status.h"
#include "data/augment/pipeline.h"
#include "data/augment/to_tensor.h"
#include "data/class_folder_source.h"
#include "data/decode.h"
#include "data/image_file.h"
#include "data/jpeg_decoder.h"

DEFINE_string(root, "", "Class folder of images (bench/make_jpegs.py writes one).");
DEFINE_int32(size, 224, "Image size the loader produces.");
DEFINE_int32(workers, 2, "Worker threads the ceilings are computed for.");
DEFINE_int32(passes, 2, "Passes over the images (the first warms the page cache).");
DEFINE_string(augment, "hflip, rotate(degrees=15, sampling=nearest)", "Augmentation pipeline.");

namespace fauna {
namespace {

using Clock = std::chrono::steady_clock;

double Milliseconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

double Median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

absl::Status Run() {
  if (FLAGS_root.empty()) return absl::InvalidArgumentError("--root is required");
  SetThreadCount(1);
  ReuseFreedTensorMemory();
  ASSIGN_OR_RETURN(std::unique_ptr<ClassFolderSource> source, ClassFolderSource::Open(FLAGS_root));
  ASSIGN_OR_RETURN(Pipeline pipeline, Pipeline::Parse(FLAGS_augment));
  DecodeOptions decode;
  decode.size = FLAGS_size;
  at::Tensor place = at::empty({3, FLAGS_size, FLAGS_size});
  enum Stage { kRead, kHeader, kDecode, kResize, kAugment, kStages };
  const char* names[kStages] = {"read the file", "walk the header", "decode (reduced)",
                                "resize", "augment + to tensor"};
  std::vector<double> times[kStages];
  std::vector<double> libjpeg_decode;
  for (int pass = 0; pass < FLAGS_passes; ++pass) {
    for (auto& stage : times) stage.clear();
    libjpeg_decode.clear();
    for (int64_t i = 0; i < source->size(); ++i) {
      const std::string path = source->describe(i);
      const Clock::time_point t0 = Clock::now();
      ASSIGN_OR_RETURN(std::string bytes, ReadImageFileBytes(path));
      const Clock::time_point t1 = Clock::now();
      ASSIGN_OR_RETURN(ImageHeader header, ParseImageHeader(bytes, path));
      const Clock::time_point t2 = Clock::now();
      const int factor =
          header.format == ImageHeader::Format::kJpeg
              ? ReducedDecodeFactor(static_cast<int>(header.width), static_cast<int>(header.height),
                                    decode)
              : 1;
      ASSIGN_OR_RETURN(cv::Mat rgb, DecodeImageRgb(bytes, path, header, factor));
      const Clock::time_point t3 = Clock::now();
      ASSIGN_OR_RETURN(cv::Mat resized, ResizeImage(rgb, decode));
      const Clock::time_point t4 = Clock::now();
      std::mt19937_64 rng = MakeGenerator(0, 0, static_cast<uint64_t>(i));
      RETURN_IF_ERROR(pipeline.ApplyInto(resized, rng, kImageNetNormalization, place));
      const Clock::time_point t5 = Clock::now();
      if (header.format == ImageHeader::Format::kJpeg) {
        ASSIGN_OR_RETURN(std::optional<cv::Mat> plain,
                         DecodeJpegRgb(bytes, path, factor, JpegEntropyDecoder::kLibjpeg));
        libjpeg_decode.push_back(Milliseconds(t5, Clock::now()));
      }
      times[kRead].push_back(Milliseconds(t0, t1));
      times[kHeader].push_back(Milliseconds(t1, t2));
      times[kDecode].push_back(Milliseconds(t2, t3));
      times[kResize].push_back(Milliseconds(t3, t4));
      times[kAugment].push_back(Milliseconds(t4, t5));
    }
  }
  double total = 0;
  double up_to_decode = 0;
  std::printf("| stage (one thread, median of %lld images) | ms per image |\n|---|---|\n",
              static_cast<long long>(source->size()));
  for (int stage = 0; stage < kStages; ++stage) {
    const double ms = Median(times[stage]);
    total += ms;
    if (stage <= kDecode) up_to_decode += ms;
    std::printf("| %s | %.3f |\n", names[stage], ms);
  }
  std::printf("| all | %.3f |\n", total);
  if (!libjpeg_decode.empty()) {
    std::printf("| (decode with libjpeg-turbo's own entropy decoder, not in the total) | %.3f |\n",
                Median(libjpeg_decode));
  }
  std::printf("\n");
  std::printf("with %d workers: at most %.0f images/s for this work, %.0f images/s for reading and "
              "decoding alone\n",
              FLAGS_workers, FLAGS_workers * 1000.0 / total, FLAGS_workers * 1000.0 / up_to_decode);
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "Where the time of one image goes in fauna's uncached loader, stage by "
                    "stage (see bench/loader_stages.cc).");
  return fauna::ExitCode(fauna::Run());
}
