// A t-SNE picture of a features file (the AFHQ study's Figure 9: a clustering model's latent space
// in 3-D): PCA to 50 dimensions, t-SNE into 2 or 3, the trustworthiness of the result, and
//   <out>/embedding.safetensors  the embedding as a features file (float32 [N, dims], labels,
//                                class names and paths of the rows embedded)
//   <out>/tsne.svg               the points coloured by class (3-D: the xy, xz and yz views)
//   <out>/tsne.json              KL divergence, trustworthiness, settings, seconds per stage
//
//   bazel run //eval:tsne_main -- --features=runs/x/test_features.safetensors --dims=3
//   bazel run //eval:tsne_main -- --features=f.safetensors --max_points=5000 --method=exact
//
// Bad input (a missing or invalid file, perplexity >= the number of points, dims other than 2 or
// 3, an unknown method) is one "error: ..." line on stderr and exit code 1.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <numeric>
#include <string>
#include <system_error>
#include <vector>

#include <ATen/ATen.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/random.h"
#include "core/runtime.h"
#include "core/seed.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "core/torch_status.h"
#include "data/features_file.h"
#include "eval/pca.h"
#include "eval/svg_plot.h"
#include "eval/trustworthiness.h"
#include "eval/tsne.h"

// Input and output.
DEFINE_string(features, "", "The features file to embed (data/features_file.h).");
DEFINE_string(out, "",
              "Folder for embedding.safetensors, tsne.svg and tsne.json; default "
              "runs/tsne in the workspace.");
DEFINE_int64(max_points, 0, "Embed at most this many rows, drawn at random from --seed; 0: all.");
DEFINE_string(title, "", "Title of the figure; default \"t-SNE of <file name>\".");
DEFINE_bool(progress, true, "Show a progress bar on stderr.");
// t-SNE.
DEFINE_int32(dims, 2, "Dimensions of the embedding: 2 or 3.");
DEFINE_double(perplexity, 30, "Perplexity: the effective number of neighbours, below N.");
DEFINE_string(method, "auto", "exact, barnes_hut, or auto (exact up to 1000 points).");
DEFINE_double(theta, 0.5, "Barnes-Hut opening angle (0: exact sums over the tree).");
DEFINE_int64(n_iter, 1000, "Iterations, the exaggerated ones included.");
DEFINE_double(early_exaggeration, 12, "Factor on P during the first 250 iterations.");
DEFINE_double(learning_rate, 0, "Learning rate; 0: auto, max(N / early_exaggeration / 4, 50).");
DEFINE_string(init, "pca", "Initial embedding: pca or random.");
DEFINE_int64(pca, 50,
             "Reduce the features to this many principal components first (when they "
             "have more); 0: no reduction.");
DEFINE_bool(sklearn_gradient, false,
            "Weigh forces as scikit-learn does in 3-D (not the KL's "
            "gradient; the same in 2-D); see eval/tsne.h.");
// Evaluation.
DEFINE_int64(trust_neighbours, 5, "Neighbours of trustworthiness; 0: skip it.");

namespace fauna {
namespace {

constexpr char kEmbeddingFile[] = "embedding.safetensors";
constexpr char kSvgFile[] = "tsne.svg";
constexpr char kJsonFile[] = "tsne.json";
// Stream of the generator that draws the --max_points rows (other draws use other streams).
constexpr uint64_t kSubsampleStream = 1;

// The t-SNE settings from the flags, checked before any file is read.
absl::StatusOr<TsneOptions> OptionsFromFlags() {
  if (FLAGS_features.empty()) return absl::InvalidArgumentError("--features is required");
  if (FLAGS_dims != 2 && FLAGS_dims != 3) {
    return absl::InvalidArgumentError(absl::StrCat("--dims must be 2 or 3, not ", FLAGS_dims));
  }
  if (!(FLAGS_perplexity > 0) || !std::isfinite(FLAGS_perplexity)) {
    return absl::InvalidArgumentError(
        absl::StrCat("--perplexity must be positive, not ", FLAGS_perplexity));
  }
  if (FLAGS_max_points < 0 || FLAGS_pca < 0 || FLAGS_trust_neighbours < 0) {
    return absl::InvalidArgumentError("--max_points, --pca and --trust_neighbours must be >= 0");
  }
  TsneOptions options;
  options.dims = FLAGS_dims;
  options.perplexity = FLAGS_perplexity;
  ASSIGN_OR_RETURN(options.method, ParseTsneMethod(FLAGS_method));
  ASSIGN_OR_RETURN(options.init, ParseTsneInit(FLAGS_init));
  options.theta = FLAGS_theta;
  options.n_iter = FLAGS_n_iter;
  options.early_exaggeration = FLAGS_early_exaggeration;
  options.exaggeration_iter = std::min<int64_t>(options.exaggeration_iter, FLAGS_n_iter);
  options.learning_rate = FLAGS_learning_rate;
  options.seed = FLAGS_seed;
  options.sklearn_gradient = FLAGS_sklearn_gradient;
  options.progress = FLAGS_progress;
  return options;
}

// At most --max_points rows of `set`, drawn from the seed, in file order.
FeatureSet Subsample(const FeatureSet& set, uint64_t seed) {
  if (FLAGS_max_points == 0 || set.size() <= FLAGS_max_points) return set;
  std::vector<int64_t> rows(static_cast<size_t>(set.size()));
  std::iota(rows.begin(), rows.end(), 0);
  std::mt19937_64 rng = MakeGenerator(seed, /*epoch=*/0, kSubsampleStream);
  Shuffle(rows, rng);
  rows.resize(static_cast<size_t>(FLAGS_max_points));
  std::sort(rows.begin(), rows.end());
  return SelectRows(set, at::tensor(rows, at::kLong));
}

std::string BaseName(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

absl::Status Run(int argc) {
  if (argc != 1) {
    return absl::InvalidArgumentError(
        "usage: tsne_main --features=<file> [--dims=2|3] [--perplexity=30] "
        "[--method=auto|exact|barnes_hut] [--max_points=N] [--out=<folder>] (no positional "
        "arguments)");
  }
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime(/*quiet=*/true));
  ASSIGN_OR_RETURN(TsneOptions options, OptionsFromFlags());
  const std::string features_path = UserPath(FLAGS_features);
  ASSIGN_OR_RETURN(FeatureSet all, ReadFeatureSet(features_path));
  const FeatureSet set = Subsample(all, runtime.seed);
  const int64_t n = set.size();
  if (!(options.perplexity < static_cast<double>(n))) {
    return absl::InvalidArgumentError(absl::StrCat("--perplexity ", FLAGS_perplexity,
                                                   " must be less than the number of points, ", n,
                                                   " (", features_path, ")"));
  }
  const std::string out = FLAGS_out.empty() ? DefaultRunDir("tsne") : UserPath(FLAGS_out);
  std::error_code error;
  std::filesystem::create_directories(out, error);
  if (error) return absl::PermissionDeniedError("cannot create " + out + ": " + error.message());
  std::fprintf(stderr, "t-SNE of %lld of %lld points x %lld features into %d-D; %s\n",
               static_cast<long long>(n), static_cast<long long>(all.size()),
               static_cast<long long>(set.dim()), FLAGS_dims, runtime.summary.c_str());

  // PCA to --pca components when the features have more.
  const auto total_start = std::chrono::steady_clock::now();
  auto start = total_start;
  at::Tensor input;
  int64_t pca_components = 0;
  double explained = 1.0;
  {
    ASSIGN_OR_RETURN(at::Tensor x, GuardTorch("features", [&] {
                       return set.features.to(runtime.device, at::kDouble);
                     }));
    if (FLAGS_pca > 0 && set.dim() > FLAGS_pca) {
      ASSIGN_OR_RETURN(Pca pca, FitPca(x, FLAGS_pca));
      pca_components = pca.size();
      ASSIGN_OR_RETURN(explained, GuardTorch("PCA", [&] {
                         return pca.explained_variance.sum().item<double>() /
                                x.var(/*dim=*/0).sum().item<double>();
                       }));
      input = pca.scores;
    } else {
      input = x;
    }
  }
  const double pca_seconds = SecondsSince(start);

  ASSIGN_OR_RETURN(TsneResult tsne, RunTsne(input, options));

  start = std::chrono::steady_clock::now();
  std::optional<double> trust;
  const int64_t k = FLAGS_trust_neighbours;
  if (k > 0 && 2 * k < n) {
    ASSIGN_OR_RETURN(trust, Trustworthiness(input, tsne.embedding, k));
  } else if (k > 0) {
    std::fprintf(stderr, "trustworthiness skipped: %lld neighbours need more than %lld points\n",
                 static_cast<long long>(k), static_cast<long long>(2 * k));
  }
  const double trust_seconds = SecondsSince(start);
  const double total_seconds = SecondsSince(total_start);

  FeatureSet embedded;
  embedded.features = tsne.embedding.to(at::kFloat).contiguous();
  embedded.labels = set.labels;
  embedded.classes = set.classes;
  embedded.paths = set.paths;
  embedded.model = set.model;
  embedded.layer =
      absl::StrCat("tsne", FLAGS_dims, "d", set.layer.empty() ? "" : " of ", set.layer);
  RETURN_IF_ERROR(WriteFeatureSet(out + "/" + kEmbeddingFile, embedded));

  ScatterPlot plot;
  plot.title = FLAGS_title.empty() ? "t-SNE of " + BaseName(features_path) : FLAGS_title;
  plot.subtitle = absl::StrFormat("%d points, perplexity %g, %s, KL %.4f", n, options.perplexity,
                                  TsneMethodName(tsne.method), tsne.kl_divergence);
  if (trust.has_value()) {
    plot.subtitle += absl::StrFormat(", trustworthiness(%d) %.4f", k, *trust);
  }
  plot.dims = FLAGS_dims;
  const at::Tensor coordinates = tsne.embedding.contiguous();
  plot.coordinates.assign(coordinates.data_ptr<double>(),
                          coordinates.data_ptr<double>() + coordinates.numel());
  const at::Tensor labels = set.labels.contiguous();
  plot.labels.assign(labels.data_ptr<int64_t>(), labels.data_ptr<int64_t>() + labels.numel());
  plot.class_names = set.classes;
  for (int d = 1; d <= FLAGS_dims; ++d) plot.axis_names.push_back(absl::StrCat("t-SNE ", d));
  RETURN_IF_ERROR(WriteSvg(out + "/" + kSvgFile, ScatterPlotSvg(plot)));

  nlohmann::json checks = nlohmann::json::array();
  for (const TsneCheck& check : tsne.checks) {
    checks.push_back({{"iteration", check.iteration},
                      {"kl_divergence", check.kl_divergence},
                      {"grad_norm", check.grad_norm}});
  }
  nlohmann::json report = {
      {"features", features_path},
      {"points", n},
      {"points_in_file", all.size()},
      {"input_dim", set.dim()},
      {"pca_components", pca_components},
      {"pca_explained_variance_ratio",
       pca_components > 0 ? nlohmann::json(explained) : nlohmann::json(nullptr)},
      {"dims", FLAGS_dims},
      {"perplexity", options.perplexity},
      {"method", TsneMethodName(tsne.method)},
      {"theta", tsne.method == TsneMethod::kBarnesHut ? nlohmann::json(options.theta)
                                                      : nlohmann::json(nullptr)},
      {"init", TsneInitName(options.init)},
      {"n_iter", options.n_iter},
      {"iterations", tsne.iterations},
      {"early_exaggeration", options.early_exaggeration},
      {"learning_rate", tsne.learning_rate},
      {"degrees_of_freedom", tsne.degrees_of_freedom},
      {"sklearn_gradient", options.sklearn_gradient},
      {"kl_divergence", tsne.kl_divergence},
      {"kl_divergence_kind", tsne.method == TsneMethod::kExact
                                 ? "exact, over all pairs"
                                 : "Barnes-Hut, over the sparse P's pairs (as scikit-learn)"},
      {"trustworthiness", trust.has_value() ? nlohmann::json(*trust) : nlohmann::json(nullptr)},
      {"trustworthiness_neighbours", k},
      {"trustworthiness_space",
       pca_components > 0 ? "the PCA-reduced input of t-SNE" : "the features"},
      {"checks", checks},
      {"seed", runtime.seed},
      {"threads", runtime.threads},
      {"device", runtime.device.str()},
      {"classes", set.classes},
      {"seconds",
       {{"pca", pca_seconds},
        {"affinities", tsne.affinity_seconds},
        {"optimise", tsne.optimise_seconds},
        {"trustworthiness", trust_seconds},
        {"total", total_seconds}}},
  };
  RETURN_IF_ERROR(WriteFileAtomically(out + "/" + kJsonFile, report.dump(2) + "\n"));
  std::printf("wrote %s/{%s,%s,%s}: %lld points, %s, KL %.4f, trustworthiness %s, %.1f s\n",
              out.c_str(), kEmbeddingFile, kSvgFile, kJsonFile, static_cast<long long>(n),
              TsneMethodName(tsne.method).c_str(), tsne.kl_divergence,
              trust.has_value() ? absl::StrFormat("%.4f", *trust).c_str() : "skipped",
              total_seconds);
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "Embeds a features file with t-SNE (2-D or 3-D) and draws it; see "
                    "eval/tsne_main.cc.",
                    {{"Input and output", {"features", "out", "max_points", "title", "progress"}},
                     {"t-SNE",
                      {"dims", "perplexity", "method", "theta", "n_iter", "early_exaggeration",
                       "learning_rate", "init", "pca", "sklearn_gradient"}},
                     {"Evaluation", {"trust_neighbours"}},
                     {"Shared", {"seed", "threads", "device"}}});
  return fauna::ExitCode(fauna::Run(argc));
}
