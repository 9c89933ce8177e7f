#include "data/augment/pipeline.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "core/status.h"
#include "data/augment/common.h"
#include "data/augment/geometric.h"
#include "data/augment/noise.h"
#include "data/augment/occlusion.h"
#include "data/augment/warp_to_tensor.h"
#include "data/decode.h"

namespace fauna {
namespace {

std::string Trim(const std::string& text) {
  const size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string::npos) return "";
  const size_t end = text.find_last_not_of(" \t\n");
  return text.substr(begin, end - begin + 1);
}

// The shortest text that reads back as exactly `value`.
std::string Number(double value) {
  char buffer[32];
  for (int precision = 6; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  return buffer;
}

// Splits `text` at the commas outside parentheses; fails on unbalanced parentheses.
absl::StatusOr<std::vector<std::string>> SplitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  int depth = 0;
  std::string current;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')' && --depth < 0) {
      return absl::InvalidArgumentError("augmentation spec '" + text + "': unbalanced ')'");
    }
    if (c == ',' && depth == 0) {
      parts.push_back(Trim(current));
      current.clear();
    } else {
      current += c;
    }
  }
  if (depth != 0) {
    return absl::InvalidArgumentError("augmentation spec '" + text + "': missing ')'");
  }
  parts.push_back(Trim(current));
  return parts;
}

// The key=value arguments of one step, each to be used exactly once.
class Args {
 public:
  static absl::StatusOr<Args> Parse(const std::string& step, const std::string& text) {
    Args args;
    args.step_ = step;
    if (Trim(text).empty()) return args;
    size_t start = 0;
    while (start <= text.size()) {
      size_t comma = text.find(',', start);
      if (comma == std::string::npos) comma = text.size();
      const std::string item = Trim(text.substr(start, comma - start));
      const size_t equals = item.find('=');
      if (equals == std::string::npos) {
        return args.Error("expected key=value, got '" + item + "'");
      }
      const std::string key = Trim(item.substr(0, equals));
      const std::string value = Trim(item.substr(equals + 1));
      if (key.empty() || value.empty()) return args.Error("expected key=value, got '" + item + "'");
      if (!args.values_.emplace(key, value).second) return args.Error("'" + key + "' given twice");
      start = comma + 1;
    }
    return args;
  }

  absl::StatusOr<double> Double(const std::string& key, double fallback) {
    auto it = Take(key);
    if (it == values_.end()) return fallback;
    return ParseDouble(key, it->second);
  }

  absl::StatusOr<int> Int(const std::string& key, int fallback) {
    auto it = Take(key);
    if (it == values_.end()) return fallback;
    errno = 0;
    char* end = nullptr;
    const long value = std::strtol(it->second.c_str(), &end, 10);
    if (errno != 0 || end == it->second.c_str() || *end != '\0' || value < -1000000000 ||
        value > 1000000000) {
      return Error(key + " must be an integer, got '" + it->second + "'");
    }
    return static_cast<int>(value);
  }

  absl::StatusOr<bool> Bool(const std::string& key, bool fallback) {
    auto it = Take(key);
    if (it == values_.end()) return fallback;
    if (it->second == "true" || it->second == "1") return true;
    if (it->second == "false" || it->second == "0") return false;
    return Error(key + " must be true or false, got '" + it->second + "'");
  }

  absl::StatusOr<std::string> Word(const std::string& key, const std::string& fallback) {
    auto it = Take(key);
    return it == values_.end() ? fallback : it->second;
  }

  // `low:high`, or one number for both.
  absl::StatusOr<std::pair<double, double>> Range(const std::string& key, double low, double high) {
    auto it = Take(key);
    if (it == values_.end()) return std::make_pair(low, high);
    const size_t colon = it->second.find(':');
    if (colon == std::string::npos) {
      ASSIGN_OR_RETURN(double value, ParseDouble(key, it->second));
      return std::make_pair(value, value);
    }
    ASSIGN_OR_RETURN(double first, ParseDouble(key, it->second.substr(0, colon)));
    ASSIGN_OR_RETURN(double second, ParseDouble(key, it->second.substr(colon + 1)));
    return std::make_pair(first, second);
  }

  // Fails on a key no accessor asked for.
  absl::Status CheckAllUsed(const std::string& allowed) const {
    for (const auto& [key, value] : values_) {
      if (used_.count(key) == 0) return Error("unknown key '" + key + "' (known: " + allowed + ")");
    }
    return absl::OkStatus();
  }

  absl::Status Error(const std::string& what) const {
    return absl::InvalidArgumentError("augmentation step '" + step_ + "': " + what);
  }

 private:
  std::map<std::string, std::string>::const_iterator Take(const std::string& key) {
    used_.insert(key);
    return values_.find(key);
  }

  absl::StatusOr<double> ParseDouble(const std::string& key, const std::string& text) const {
    errno = 0;
    char* end = nullptr;
    const std::string trimmed = Trim(text);
    const double value = std::strtod(trimmed.c_str(), &end);
    if (errno != 0 || trimmed.empty() || *end != '\0' || !std::isfinite(value)) {
      return Error(key + " must be a number, got '" + text + "'");
    }
    return value;
  }

  std::string step_;
  std::map<std::string, std::string> values_;
  std::set<std::string> used_;
};

// Wraps a status from a validation with the step it belongs to.
absl::Status InStep(const absl::Status& status, const std::string& step) {
  if (status.ok()) return status;
  return absl::InvalidArgumentError("augmentation step '" + step + "': " +
                                    std::string(status.message()));
}

absl::Status AddStep(Pipeline& pipeline, const std::string& step) {
  const size_t open = step.find('(');
  const std::string name = Trim(step.substr(0, open));
  std::string inside;
  if (open != std::string::npos) {
    if (step.back() != ')') {
      return absl::InvalidArgumentError("augmentation step '" + step + "': text after ')'");
    }
    inside = step.substr(open + 1, step.size() - open - 2);
  }
  ASSIGN_OR_RETURN(Args args, Args::Parse(step, inside));

  if (name == "hflip" || name == "vflip") {
    ASSIGN_OR_RETURN(double p, args.Double("p", 0.5));
    RETURN_IF_ERROR(args.CheckAllUsed("p"));
    RETURN_IF_ERROR(InStep(augment::CheckProbability(p, name), step));
    const bool horizontal = name == "hflip";
    pipeline.AddWarp(
        name + "(p=" + Number(p) + ")",
        [p, horizontal](const cv::Mat& image, std::mt19937_64& rng) {
          return DrawRandomFlip(image, p, horizontal, rng);
        },
        /*exact=*/true,
        [p, horizontal](cv::Mat& image, std::mt19937_64& rng) {
          return horizontal ? RandomHorizontalFlip(image, p, rng)
                            : RandomVerticalFlip(image, p, rng);
        });
  } else if (name == "rotate") {
    ASSIGN_OR_RETURN(double degrees, args.Double("degrees", 15));
    ASSIGN_OR_RETURN(std::string border_name, args.Word("border", "constant"));
    ASSIGN_OR_RETURN(std::string sampling_name, args.Word("sampling", "bilinear"));
    RETURN_IF_ERROR(args.CheckAllUsed("degrees, border, sampling"));
    RETURN_IF_ERROR(InStep(augment::CheckInRange(degrees, 0, 180, "degrees"), step));
    if (border_name != "constant" && border_name != "reflect") {
      return args.Error("border must be constant or reflect, got '" + border_name + "'");
    }
    if (sampling_name != "bilinear" && sampling_name != "nearest") {
      return args.Error("sampling must be bilinear or nearest, got '" + sampling_name + "'");
    }
    const Border border = border_name == "reflect" ? Border::kReflect : Border::kConstant;
    const Sampling sampling =
        sampling_name == "nearest" ? Sampling::kNearest : Sampling::kBilinear;
    pipeline.AddWarp("rotate(degrees=" + Number(degrees) + ", border=" + border_name +
                         ", sampling=" + sampling_name + ")",
                     [degrees, border, sampling](const cv::Mat& image, std::mt19937_64& rng) {
                       return DrawRandomRotation(image, degrees, border, sampling, rng);
                     });
  } else if (name == "translate") {
    ASSIGN_OR_RETURN(int pixels, args.Int("pixels", 4));
    ASSIGN_OR_RETURN(std::string border_name, args.Word("border", "constant"));
    RETURN_IF_ERROR(args.CheckAllUsed("pixels, border"));
    RETURN_IF_ERROR(InStep(augment::CheckInRange(pixels, 0, 30000, "pixels"), step));
    if (border_name != "constant" && border_name != "reflect") {
      return args.Error("border must be constant or reflect, got '" + border_name + "'");
    }
    const Border border = border_name == "reflect" ? Border::kReflect : Border::kConstant;
    pipeline.AddWarp("translate(pixels=" + std::to_string(pixels) + ", border=" + border_name +
                         ")",
                     [pixels, border](const cv::Mat& image, std::mt19937_64& rng) {
                       return DrawRandomTranslation(image, pixels, border, rng);
                     });
  } else if (name == "resized_crop") {
    ResizedCropOptions options;
    ASSIGN_OR_RETURN(int size, args.Int("size", 224));
    ASSIGN_OR_RETURN(options.height, args.Int("height", size));
    ASSIGN_OR_RETURN(options.width, args.Int("width", size));
    ASSIGN_OR_RETURN(auto scale, args.Range("scale", 0.08, 1.0));
    ASSIGN_OR_RETURN(auto ratio, args.Range("ratio", 3.0 / 4.0, 4.0 / 3.0));
    RETURN_IF_ERROR(args.CheckAllUsed("size, height, width, scale, ratio"));
    std::tie(options.min_scale, options.max_scale) = scale;
    std::tie(options.min_ratio, options.max_ratio) = ratio;
    RETURN_IF_ERROR(InStep(ValidateResizedCropOptions(options), step));
    pipeline.Add("resized_crop(height=" + std::to_string(options.height) +
                     ", width=" + std::to_string(options.width) + ", scale=" +
                     Number(options.min_scale) + ":" + Number(options.max_scale) + ", ratio=" +
                     Number(options.min_ratio) + ":" + Number(options.max_ratio) + ")",
                 [options](cv::Mat& image, std::mt19937_64& rng) {
                   return RandomResizedCrop(image, options, rng);
                 });
  } else if (name == "resize") {
    DecodeOptions options;
    ASSIGN_OR_RETURN(options.size, args.Int("size", 224));
    ASSIGN_OR_RETURN(options.center_crop, args.Bool("center_crop", false));
    RETURN_IF_ERROR(args.CheckAllUsed("size, center_crop"));
    RETURN_IF_ERROR(InStep(ValidateDecodeOptions(options), step));
    pipeline.Add("resize(size=" + std::to_string(options.size) +
                     ", center_crop=" + (options.center_crop ? "true" : "false") + ")",
                 [options](cv::Mat& image, std::mt19937_64&) -> absl::Status {
                   ASSIGN_OR_RETURN(image, ResizeImage(image, options));
                   return absl::OkStatus();
                 });
  } else if (name == "noise") {
    ASSIGN_OR_RETURN(double sigma, args.Double("sigma", 25));
    ASSIGN_OR_RETURN(double p, args.Double("p", 1));
    RETURN_IF_ERROR(args.CheckAllUsed("sigma, p"));
    RETURN_IF_ERROR(InStep(augment::CheckInRange(sigma, 0, kMaxNoiseSigma, "sigma"), step));
    RETURN_IF_ERROR(InStep(augment::CheckProbability(p, "noise"), step));
    pipeline.Add("noise(sigma=" + Number(sigma) + ", p=" + Number(p) + ")",
                 [sigma, p](cv::Mat& image, std::mt19937_64& rng) {
                   return RandomGaussianNoise(image, sigma, p, rng);
                 });
  } else if (name == "occlude") {
    OcclusionOptions options;
    ASSIGN_OR_RETURN(options.p, args.Double("p", 1));
    ASSIGN_OR_RETURN(auto area, args.Range("area", 0.02, 0.33));
    ASSIGN_OR_RETURN(auto ratio, args.Range("ratio", 0.3, 3.3));
    ASSIGN_OR_RETURN(std::string fill, args.Word("fill", "gray"));
    RETURN_IF_ERROR(args.CheckAllUsed("p, area, ratio, fill"));
    std::tie(options.min_area, options.max_area) = area;
    std::tie(options.min_ratio, options.max_ratio) = ratio;
    if (fill == "gray") {
      options.fill = OcclusionFill::kGray;
    } else if (fill == "black") {
      options.fill = OcclusionFill::kBlack;
    } else if (fill == "noise") {
      options.fill = OcclusionFill::kNoise;
    } else {
      return args.Error("fill must be gray, black or noise, got '" + fill + "'");
    }
    RETURN_IF_ERROR(InStep(ValidateOcclusionOptions(options), step));
    pipeline.Add("occlude(p=" + Number(options.p) + ", area=" + Number(options.min_area) + ":" +
                     Number(options.max_area) + ", ratio=" + Number(options.min_ratio) + ":" +
                     Number(options.max_ratio) + ", fill=" + fill + ")",
                 [options](cv::Mat& image, std::mt19937_64& rng) {
                   return RandomOcclusion(image, options, rng).status();
                 });
  } else if (name == "partial") {
    PartialViewOptions options;
    ASSIGN_OR_RETURN(std::string region, args.Word("region", "left"));
    ASSIGN_OR_RETURN(options.keep, args.Double("keep", 0.5));
    ASSIGN_OR_RETURN(options.resize_back, args.Bool("resize_back", true));
    RETURN_IF_ERROR(args.CheckAllUsed("region, keep, resize_back"));
    absl::StatusOr<PartialRegion> parsed = ParsePartialRegion(region);
    RETURN_IF_ERROR(InStep(parsed.status(), step));
    options.region = *parsed;
    RETURN_IF_ERROR(InStep(ValidatePartialViewOptions(options), step));
    pipeline.Add("partial(region=" + region + ", keep=" + Number(options.keep) +
                     ", resize_back=" + (options.resize_back ? "true" : "false") + ")",
                 [options](cv::Mat& image, std::mt19937_64& rng) {
                   return PartialView(image, options, rng);
                 });
  } else {
    return absl::InvalidArgumentError(
        "unknown augmentation step '" + step +
        "' (known: hflip, vflip, rotate, translate, resized_crop, resize, noise, occlude, "
        "partial)");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Pipeline> Pipeline::Parse(const std::string& spec) {
  Pipeline pipeline;
  const std::string trimmed = Trim(spec);
  if (trimmed.empty() || trimmed == "none") return pipeline;
  ASSIGN_OR_RETURN(std::vector<std::string> steps, SplitTopLevel(trimmed));
  for (const std::string& step : steps) {
    if (step.empty()) {
      return absl::InvalidArgumentError("augmentation spec '" + spec + "' has an empty step");
    }
    RETURN_IF_ERROR(AddStep(pipeline, step));
  }
  return pipeline;
}

Pipeline& Pipeline::Add(std::string description, Transform transform) {
  steps_.push_back({std::move(description), std::move(transform), nullptr, false});
  return *this;
}

Pipeline& Pipeline::AddWarp(std::string description, WarpDraw draw, bool exact,
                            Transform transform) {
  if (!transform) {
    transform = [draw](cv::Mat& image, std::mt19937_64& rng) -> absl::Status {
      ASSIGN_OR_RETURN(AffineWarp warp, draw(image, rng));
      return ApplyWarp(image, warp);
    };
  }
  steps_.push_back({std::move(description), std::move(transform), std::move(draw), exact});
  return *this;
}

absl::Status Pipeline::RunSteps(cv::Mat& image, std::mt19937_64& rng, size_t end) const {
  for (size_t i = 0; i < end; ++i) {
    RETURN_IF_ERROR(
        Annotate(steps_[i].transform(image, rng), "augmentation step " + steps_[i].description));
  }
  return absl::OkStatus();
}

absl::Status Pipeline::ApplyInPlace(cv::Mat& image, std::mt19937_64& rng) const {
  return RunSteps(image, rng, steps_.size());
}

absl::StatusOr<cv::Mat> Pipeline::Apply(const cv::Mat& image, std::mt19937_64& rng) const {
  cv::Mat copy = image.clone();
  RETURN_IF_ERROR(ApplyInPlace(copy, rng));
  return copy;
}

absl::Status Pipeline::ApplyInto(const cv::Mat& image, std::mt19937_64& rng,
                                 const Normalization& normalization,
                                 const at::Tensor& destination) const {
  // The fused part: the longest run of warp steps ending the pipeline with one resampling at most.
  size_t fused_from = steps_.size();
  bool resamples = false;
  while (fused_from > 0 && steps_[fused_from - 1].warp) {
    if (!steps_[fused_from - 1].exact) {
      if (resamples) break;
      resamples = true;
    }
    --fused_from;
  }
  cv::Mat work = image;
  if (fused_from > 0) {
    work = image.clone();
    RETURN_IF_ERROR(RunSteps(work, rng, fused_from));
  }
  if (fused_from == steps_.size()) return ToTensorInto(work, normalization, destination);
  AffineWarp warp;
  warp.exact = true;
  std::string fused;
  for (size_t i = fused_from; i < steps_.size(); ++i) {
    fused += (fused.empty() ? "" : ", ") + steps_[i].description;
    absl::StatusOr<AffineWarp> drawn = steps_[i].warp(work, rng);
    if (!drawn.ok()) return Annotate(drawn.status(), "augmentation step " + steps_[i].description);
    ASSIGN_OR_RETURN(warp, Compose(warp, *drawn));
  }
  return Annotate(WarpToTensorInto(work, warp, normalization, destination),
                  "augmentation steps " + fused);
}

std::string Pipeline::spec() const {
  std::string spec;
  for (const Step& step : steps_) {
    if (!spec.empty()) spec += ", ";
    spec += step.description;
  }
  return spec.empty() ? "none" : spec;
}

}  // namespace fauna
