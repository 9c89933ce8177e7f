// The endangered-animal study's partial-image test on a finished run: its model scored on one part
// of its own data seen whole and through each view (robustness/partial_views.h).
//
//   bazel run //robustness:partial_image_test -- --run=runs/endangered_model4
//   bazel run //robustness:partial_image_test -- --run=runs/endangered_model4 --part=val
//       --views='left:partial(region=left);face:partial(region=top, keep=0.3)'   (one line)
//
// Writes <out>/results.json (views.<view>.acc, views.<view>.per_class.<class>, whole.acc,
// partial.acc, ...), <out>/partial_views.md (views x accuracy, classes x views) and
// <out>/partial_views.svg (a heatmap of classes x views), <out> being <run>/partial_views by
// default; prints a line per view as it is scored. Bad input is one line and exit 1.
#include <cstdio>
#include <filesystem>
#include <string>
#include <system_error>
#include <vector>

#include <absl/status/status.h>
#include <gflags/gflags.h>
#include <opencv2/core/utility.hpp>

#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/torch_status.h"
#include "eval/svg_plot.h"
#include "robustness/partial_views.h"

DEFINE_string(run, "", "A finished trainer run folder (runs/<name>): its model, weights, data and "
                       "split.");
DEFINE_string(part, "test", "The part of the run's data to score: train, val or test.");
DEFINE_string(views, "", "Views as name:spec;name:spec (data/augment/pipeline.h specs, e.g. "
                         "'left:partial(region=left, keep=0.5);occluded:occlude'); whole (the "
                         "image as it is) is always added. Empty: the default 13 views.");
DEFINE_string(out, "", "Folder for results.json, partial_views.md and partial_views.svg; default "
                       "<run>/partial_views.");
DEFINE_int64(batch_size, 64, "Images per forward pass (use the --batch_size train --evaluate "
                             "uses for the same logits bit for bit).");
DEFINE_int32(workers, 2, "Loader threads.");
DEFINE_string(cache_dir, "", "Decoded-image caches; default ~/.cache/fauna/decoded.");

namespace fauna {
namespace {

absl::Status Run() {
  if (FLAGS_run.empty()) {
    return absl::InvalidArgumentError("--run=<run folder> is required (a finished //train:train "
                                      "run, e.g. runs/endangered_model4)");
  }
  PartialViewsOptions options;
  options.part = FLAGS_part;
  if (!FLAGS_views.empty()) {
    absl::StatusOr<std::vector<ViewKind>> views = ParseViewKinds(FLAGS_views);
    if (!views.ok()) return Annotate(views.status(), "--views");
    options.views = *std::move(views);
  }
  if (FLAGS_workers < 0) {
    return absl::InvalidArgumentError("--workers=" + std::to_string(FLAGS_workers) +
                                      ": must be at least 0");
  }
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime());
  // OpenCV runs inside the loader's workers; its own thread pool would only compete with them.
  cv::setNumThreads(1);
  const std::string run = UserPath(FLAGS_run);
  const std::string out = FLAGS_out.empty() ? run + "/partial_views" : UserPath(FLAGS_out);
  options.cache_dir = DecodedCacheDir(FLAGS_cache_dir);
  options.threads = runtime.threads;
  options.batch_size = FLAGS_batch_size;
  options.workers = FLAGS_workers;
  options.device = runtime.device;
  options.on_view = [](const ViewResult& view, size_t index, size_t total) {
    std::fprintf(stderr, "[%zu/%zu] %-14s accuracy %.4f (%lld/%lld), %.1f s  %s\n", index + 1,
                 total, view.view.name.c_str(), view.evaluation.accuracy,
                 static_cast<long long>(view.evaluation.count > 0
                                            ? view.evaluation.accuracy * view.evaluation.count + 0.5
                                            : 0),
                 static_cast<long long>(view.evaluation.count), view.seconds,
                 view.canonical_spec.c_str());
  };
  ASSIGN_OR_RETURN(PartialViewsResult result, EvaluateViews(run, options));

  std::error_code error;
  std::filesystem::create_directories(out, error);
  if (error) return absl::PermissionDeniedError("cannot create " + out + ": " + error.message());
  RETURN_IF_ERROR(
      WriteFileAtomically(out + "/results.json", PartialViewsJson(result).dump(2) + "\n"));
  RETURN_IF_ERROR(WriteFileAtomically(out + "/partial_views.md", PartialViewsMarkdown(result)));
  RETURN_IF_ERROR(WriteSvg(out + "/partial_views.svg", HeatmapSvg(PartialViewsHeatmap(result))));
  std::printf("whole: accuracy %.4f (%lld images); all partial views pooled: %.4f (%lld views x "
              "images); the study's Model 4: 11/11 and 7/11\n",
              result.whole.accuracy(), static_cast<long long>(result.whole.total()),
              result.partial.accuracy(), static_cast<long long>(result.partial.total()));
  std::printf("results: %s/results.json, partial_views.md, partial_views.svg\n", out.c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "Scores a finished run on one part of its data seen whole and through partial "
                    "views; see robustness/partial_image_test.cc.",
                    {{"What to test", {"run", "part", "views"}},
                     {"Output", {"out"}},
                     {"Evaluation", {"batch_size", "workers", "cache_dir"}},
                     {"Runtime", {"device", "seed", "threads"}}});
  if (argc > 1) {
    return fauna::ExitCode(absl::InvalidArgumentError(
        std::string("unexpected argument '") + argv[1] + "' (flags are --name=value)"));
  }
  return fauna::ExitCode(fauna::GuardTorch("partial_image_test", [] { return fauna::Run(); }));
}
