// The endangered-animal study's partial-image test, made systematic: a trained run's model scored
// on one part of its own data seen whole and through each of a list of views (halves, quadrants,
// centre crops, random windows, an occluding box), with the accuracy per view, per class and
// view, and "whole" against all partial views pooled. The study (seeds/002, Evaluation) found
// Model 4 right on 11 of 11 whole-animal images and on 7 of 11 partial ones.
//
// A view is a named data/augment Pipeline spec, applied to every image of the part after decoding
// (as DatasetOptions::eval_augment; a train part takes it as its augmentation), with item i's
// random draws from (the run's seed, epoch 0, i): the same windows on every call.
#ifndef FAUNA_ROBUSTNESS_PARTIAL_VIEWS_H_
#define FAUNA_ROBUSTNESS_PARTIAL_VIEWS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <nlohmann/json.hpp>

#include "absl/status/statusor.h"
#include "eval/confusion_matrix.h"
#include "eval/svg_plot.h"
#include "train/trainer.h"

namespace fauna {

// One way of seeing the images: a name (letters, digits, '_', '-', '.') and a Pipeline spec.
struct ViewKind {
  std::string name;
  std::string spec;
};

// The view that is the image as it is (an empty spec); every evaluation has it.
inline constexpr char kWholeView[] = "whole";

// The default views: whole; left, right, top, bottom halves; the four quadrants (top_left,
// top_right, bottom_left, bottom_right); centre crops keeping 0.5 and 0.25 of the area
// (center_50, center_25); a random window keeping 0.25 (window_25); a RandomErasing-style grey
// box (occluded). Every kind but whole is stretched back to the model's input size.
std::vector<ViewKind> DefaultViewKinds();

// Parses "name:spec;name:spec;..." (spaces around names ignored; a spec may hold ',' and ':').
// Errors: an empty list or entry, a missing ':', a bad or repeated name, a spec Pipeline::Parse
// refuses (the error names the view), a view named whole with a non-empty spec.
//
// Example:
//   ASSIGN_OR_RETURN(std::vector<ViewKind> views,
//                    ParseViewKinds("left:partial(region=left);eyes:partial(region=top, "
//                                   "keep=0.3)"));
absl::StatusOr<std::vector<ViewKind>> ParseViewKinds(const std::string& text);

struct ViewResult;

// What EvaluateViews evaluates, and how.
struct PartialViewsOptions {
  // train, val or test.
  std::string part = "test";
  // The views; whole is put first (added when missing).
  std::vector<ViewKind> views = DefaultViewKinds();
  // Decoded-image caches (see DatasetOptions); threads decoding them (<= 0: one per core).
  std::string cache_dir;
  int threads = 0;
  // Images per forward pass (the trainer's default; the same batch size as `train --evaluate`
  // gives the same logits bit for bit) and loader threads.
  int64_t batch_size = 64;
  int workers = 2;
  c10::Device device = c10::Device(c10::kCPU);
  // Called after each view is scored, with its index (from 0) and the number of views: a
  // progress line.
  std::function<void(const ViewResult& result, size_t index, size_t total)> on_view;
};

// One view's scores.
struct ViewResult {
  ViewKind view;
  // The canonical spec (Pipeline::spec()); "" for whole.
  std::string canonical_spec;
  // Loss, accuracy, image count and confusion matrix (rows: true class).
  Evaluation evaluation;
  double seconds = 0;
};

// Every view's scores on one part of a run's data.
struct PartialViewsResult {
  std::string run;
  std::string model;
  std::string part;
  std::vector<std::string> class_names;
  // Whole first, then the other views in the order given.
  std::vector<ViewResult> views;
  // The whole view's confusion matrix, and every other view's summed (each image counted once
  // per view).
  ConfusionMatrix whole = ConfusionMatrix({});
  ConfusionMatrix partial = ConfusionMatrix({});
  // The data as OpenDataset described it (without its caches).
  nlohmann::json data;
};

// Reopens the finished run folder `run_path` (train/run_folder.h: its model, weights, data and
// split), and scores the model on options.part seen through each view. Errors, before any image
// is decoded where they can be: a missing or unfinished run folder, a part other than train, val
// or test, a bad view list (a spec Pipeline::Parse refuses), a view that changes the image size
// the model takes, data whose classes are no longer the run's.
//
// Example:
//   PartialViewsOptions options;
//   options.cache_dir = DecodedCacheDir("");
//   ASSIGN_OR_RETURN(PartialViewsResult result, EvaluateViews("runs/endangered_model4", options));
//   std::printf("whole %.3f, partial %.3f\n", result.whole.accuracy(), result.partial.accuracy());
absl::StatusOr<PartialViewsResult> EvaluateViews(const std::string& run_path,
                                                 const PartialViewsOptions& options);

// The study's own numbers (seeds/002_28e05bda99d44304.txt, Evaluation: Model 4 on 22 real
// images), for the reports.
inline constexpr int kStudyWholeCorrect = 11;
inline constexpr int kStudyWholeCount = 11;
inline constexpr int kStudyPartialCorrect = 7;
inline constexpr int kStudyPartialCount = 11;

// The result as JSON, its numbers where a table reads them:
//   {"run", "model", "part", "class_names", "view_order": [names],
//    "views": {<view>: {"spec", "acc", "correct", "count", "loss", "seconds",
//                       "per_class": {<class>: recall}, "confusion": ConfusionMatrix::ToJson()}},
//    "whole": {"acc", "correct", "count", "per_class"}, "partial": {the same, pooled},
//    "study": {"whole": {...}, "partial": {...}, "source"}, "data"}
// Non-finite numbers (a class without images) are null.
nlohmann::json PartialViewsJson(const PartialViewsResult& result);

// The result as Markdown: a table of views (spec, accuracy, correct / images) ending with all
// partial views pooled and the study's numbers, and a table of classes x views (each cell the
// class's accuracy in that view, "-" without images).
std::string PartialViewsMarkdown(const PartialViewsResult& result);

// Classes x views: each class's accuracy in each view, with a last row for all classes.
Heatmap PartialViewsHeatmap(const PartialViewsResult& result);

}  // namespace fauna

#endif  // FAUNA_ROBUSTNESS_PARTIAL_VIEWS_H_
