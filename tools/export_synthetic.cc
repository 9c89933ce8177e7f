// Writes the synthetic animal-face set as a class folder dataset, <out>/<class>/<index>.<format>,
// so that it can be used exactly like real data (ClassFolderSource, manifests, other tools).
//
//   bazel run //tools:export_synthetic -- --out=/tmp/synthetic7 --classes=7 --count=700 --size=64
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <mutex>
#include <string>
#include <system_error>
#include <vector>

#include <gflags/gflags.h>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "absl/status/status.h"
#include "core/cv_status.h"
#include "core/flags.h"
#include "core/runtime.h"
#include "core/status.h"
#include "data/synthetic_source.h"

DEFINE_string(out, "", "Folder to write <class>/<index>.<format> into (created if missing).");
DEFINE_int32(classes, 3, "3 (cat, dog, wild), 7 (AFHQ clustering set) or 11 (endangered set).");
DEFINE_int64(count, 300, "Number of images; classes are balanced.");
DEFINE_int32(size, 64, "Side of the square images in pixels (16 to 2048).");
DEFINE_double(difficulty, 0.5, "In [0, 1]: pose, clutter, occlusion and noise.");
DEFINE_string(format, "png", "png (lossless: reads back exactly) or jpg.");

namespace fauna {
namespace {

// Zero-padded so that file names sort like indices.
std::string FileName(int64_t index, int64_t count, const std::string& format) {
  const int digits = std::max<int>(6, static_cast<int>(std::to_string(count - 1).size()));
  std::string number = std::to_string(index);
  return std::string(digits - number.size(), '0') + number + "." + format;
}

absl::Status Run() {
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime(/*quiet=*/true));
  if (FLAGS_out.empty()) return absl::InvalidArgumentError("--out is required");
  if (FLAGS_format != "png" && FLAGS_format != "jpg") {
    return absl::InvalidArgumentError("--format must be png or jpg, not " + FLAGS_format);
  }
  if (FLAGS_count > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError("--count must be at most " +
                                      std::to_string(std::numeric_limits<int>::max()));
  }
  SyntheticOptions options;
  options.num_classes = FLAGS_classes;
  options.count = FLAGS_count;
  options.image_size = FLAGS_size;
  options.seed = runtime.seed;
  options.difficulty = FLAGS_difficulty;
  ASSIGN_OR_RETURN(std::unique_ptr<SyntheticSource> source, SyntheticSource::Open(options));

  for (const std::string& name : source->class_names()) {
    std::error_code error;
    const std::string folder = FLAGS_out + "/" + name;
    std::filesystem::create_directories(folder, error);
    if (error) return absl::InvalidArgumentError(folder + ": cannot create: " + error.message());
  }
  // Images are independent, so they are drawn and written in parallel (--threads).
  std::mutex mutex;
  absl::Status first_error;
  std::atomic<bool> failed{false};
  const std::vector<int> params =
      FLAGS_format == "jpg" ? std::vector<int>{cv::IMWRITE_JPEG_QUALITY, 95} : std::vector<int>{};
  cv::parallel_for_(cv::Range(0, static_cast<int>(source->size())), [&](const cv::Range& range) {
    for (int i = range.start; i < range.end && !failed; ++i) {
      const std::string path = FLAGS_out + "/" + source->class_names()[source->label(i)] + "/" +
                               FileName(i, source->size(), FLAGS_format);
      absl::Status status = [&]() -> absl::Status {
        ASSIGN_OR_RETURN(cv::Mat rgb, source->Load(i));
        return GuardCv(path, [&]() -> absl::Status {
          cv::Mat bgr;
          cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
          if (!cv::imwrite(path, bgr, params)) {
            return absl::InternalError(path + ": cannot write the image");
          }
          return absl::OkStatus();
        });
      }();
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (first_error.ok()) first_error = status;
        failed = true;
      }
    }
  });
  RETURN_IF_ERROR(first_error);
  std::printf("wrote %lld images of %dx%d in %zu classes to %s\n",
              static_cast<long long>(source->size()), options.image_size, options.image_size,
              source->class_names().size(), FLAGS_out.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "Writes the synthetic animal-face set as <out>/<class>/<index>.png");
  return fauna::ExitCode(fauna::Run());
}
