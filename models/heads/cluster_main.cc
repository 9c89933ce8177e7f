// Clusters a features file with k-means or a Gaussian mixture and scores the clusters against the
// file's labels (cluster ACC under the Hungarian matching, NMI, ARI), printing the contingency
// table and writing a results JSON. The fit is timed inside the binary, around the fit alone.
//
//   bazel run //models/heads:cluster -- --features=train.safetensors --k=10 --n_init=10 --seed=0
//       --out=results.json
//   bazel run //models/heads:cluster -- --features=train.safetensors --method=gmm
//       --covariance_type=diag --k=10 --out=results.json
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <string>
#include <utility>

#include <ATen/ATen.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/atomic_file.h"
#include "core/flags.h"
#include "core/runtime.h"
#include "core/status.h"
#include "core/stopwatch.h"
#include "core/torch_status.h"
#include "data/features_file.h"
#include "eval/clustering_metrics.h"
#include "models/heads/gmm.h"
#include "models/heads/kmeans.h"

DEFINE_string(features, "", "Features file to cluster (data/features_file.h); required.");
DEFINE_string(method, "kmeans", "kmeans or gmm.");
DEFINE_int64(k, 0, "Clusters (components); unset: the number of classes in the file.");
DEFINE_int64(n_init, 0, "Runs (restarts) whose best is kept; unset: 10 for kmeans, 1 for gmm.");
DEFINE_int64(max_iter, 0, "Most iterations per run; unset: 300 for kmeans, 100 for gmm.");
DEFINE_double(tol, 0,
              "Tolerance; unset: 1e-4 for kmeans (relative to the mean feature "
              "variance), 1e-3 for gmm (on the mean log-likelihood).");
DEFINE_string(covariance_type, "full", "gmm: full or diag.");
DEFINE_double(reg_covar, 1e-6, "gmm: added to every variance.");
DEFINE_string(out, "", "Results JSON to write (optional).");
DEFINE_string(save, "",
              "Model to write (optional): k-means centres or mixture parameters, "
              "safetensors with JSON metadata.");
DEFINE_bool(table, true, "Print the contingency table of clusters and classes.");

namespace fauna {
namespace {

using Clock = std::chrono::steady_clock;

// CPU seconds used by the whole process so far (every thread), to tell work from waiting on a
// busy machine.
double ProcessCpuSeconds() {
  timespec now;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

// Whether the command line (or a flagfile) set flag `name`.
bool IsSet(const char* name) { return !gflags::GetCommandLineFlagInfoOrDie(name).is_default; }

absl::Status Run() {
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime(/*quiet=*/true));
  if (FLAGS_features.empty()) return absl::InvalidArgumentError("--features is required");
  for (std::string* path : {&FLAGS_features, &FLAGS_out, &FLAGS_save}) *path = UserPath(*path);
  if (FLAGS_method != "kmeans" && FLAGS_method != "gmm") {
    return absl::InvalidArgumentError("--method must be kmeans or gmm, not " + FLAGS_method);
  }
  for (const auto& [name, value] : {std::pair<const char*, int64_t>{"k", FLAGS_k},
                                    {"n_init", FLAGS_n_init},
                                    {"max_iter", FLAGS_max_iter}}) {
    if (IsSet(name) && value < 1) {
      return absl::InvalidArgumentError(
          absl::StrCat("--", name, " must be at least 1, not ", value));
    }
  }
  if (IsSet("tol") && !(FLAGS_tol >= 0)) {
    return absl::InvalidArgumentError(absl::StrCat("--tol must be at least 0, not ", FLAGS_tol));
  }
  ASSIGN_OR_RETURN(const CovarianceType covariance_type,
                   ParseCovarianceType(FLAGS_covariance_type));
  ASSIGN_OR_RETURN(FeatureSet set, ReadFeatureSet(FLAGS_features));
  const int64_t k = IsSet("k") ? FLAGS_k : static_cast<int64_t>(set.classes.size());
  if (k > set.size()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--k=", k, " is more than the ", set.size(), " rows of ", FLAGS_features));
  }
  ASSIGN_OR_RETURN(const at::Tensor x, GuardTorch("features to device",
                                                  [&] { return set.features.to(runtime.device); }));

  nlohmann::json results = {{"features", FLAGS_features},
                            {"method", FLAGS_method},
                            {"rows", set.size()},
                            {"dim", set.dim()},
                            {"k", k},
                            {"seed", runtime.seed},
                            {"threads", runtime.threads},
                            {"device", runtime.device.str()}};
  at::Tensor labels;
  const bool kmeans = FLAGS_method == "kmeans";
  if (kmeans) {
    KMeansOptions options;
    options.k = k;
    if (IsSet("n_init")) options.n_init = FLAGS_n_init;
    if (IsSet("max_iter")) options.max_iter = FLAGS_max_iter;
    if (IsSet("tol")) options.tol = FLAGS_tol;
    options.seed = runtime.seed;
    const Clock::time_point start = Clock::now();
    const double cpu_start = ProcessCpuSeconds();
    ASSIGN_OR_RETURN(KMeans model, KMeans::Fit(x, options));
    const double seconds = SecondsSince(start);
    const double cpu_seconds = ProcessCpuSeconds() - cpu_start;
    std::printf(
        "k-means: k=%lld n_init=%lld: inertia %.6g after %lld iterations%s; fit %.3f s (%.3f s "
        "CPU)\n",
        static_cast<long long>(k), static_cast<long long>(options.n_init), model.inertia(),
        static_cast<long long>(model.n_iter()), model.converged() ? "" : " (not converged)",
        seconds, cpu_seconds);
    results["options"] = {
        {"n_init", options.n_init}, {"max_iter", options.max_iter}, {"tol", options.tol}};
    results["fit_seconds"] = seconds;
    results["fit_cpu_seconds"] = cpu_seconds;
    results["inertia"] = model.inertia();
    results["n_iter"] = model.n_iter();
    results["converged"] = model.converged();
    results["run_inertias"] = model.run_inertias();
    labels = model.labels();
    if (!FLAGS_save.empty()) RETURN_IF_ERROR(model.Save(FLAGS_save));
  } else {
    GmmOptions options;
    options.k = k;
    options.covariance_type = covariance_type;
    if (IsSet("n_init")) options.n_init = FLAGS_n_init;
    if (IsSet("max_iter")) options.max_iter = FLAGS_max_iter;
    if (IsSet("tol")) options.tol = FLAGS_tol;
    options.reg_covar = FLAGS_reg_covar;
    options.seed = runtime.seed;
    const Clock::time_point start = Clock::now();
    const double cpu_start = ProcessCpuSeconds();
    ASSIGN_OR_RETURN(GaussianMixture model, GaussianMixture::Fit(x, options));
    const double seconds = SecondsSince(start);
    const double cpu_seconds = ProcessCpuSeconds() - cpu_start;
    ASSIGN_OR_RETURN(const double log_likelihood, model.Score(x));
    // Bic(x) would repeat Score's pass over the data: -2 N score + parameters log N.
    const double n = static_cast<double>(x.size(0));
    const double bic = -2.0 * n * log_likelihood + model.NumParameters() * std::log(n);
    std::printf(
        "Gaussian mixture (%s): k=%lld: log-likelihood %.6f per sample, BIC %.6g after "
        "%lld iterations%s; fit %.3f s (%.3f s CPU)\n",
        CovarianceTypeName(covariance_type).c_str(), static_cast<long long>(k), log_likelihood, bic,
        static_cast<long long>(model.n_iter()), model.converged() ? "" : " (not converged)",
        seconds, cpu_seconds);
    results["options"] = {{"covariance_type", CovarianceTypeName(covariance_type)},
                          {"n_init", options.n_init},
                          {"max_iter", options.max_iter},
                          {"tol", options.tol},
                          {"reg_covar", options.reg_covar}};
    results["fit_seconds"] = seconds;
    results["fit_cpu_seconds"] = cpu_seconds;
    results["log_likelihood"] = log_likelihood;
    results["lower_bound"] = model.lower_bound();
    results["bic"] = bic;
    results["n_iter"] = model.n_iter();
    results["converged"] = model.converged();
    labels = model.labels();
    if (!FLAGS_save.empty()) RETURN_IF_ERROR(model.Save(FLAGS_save));
  }

  ASSIGN_OR_RETURN(const ClusterScores scores, ScoreClustering(set.labels, labels));
  std::printf("ACC %.4f  NMI %.4f  ARI %.4f\n", scores.accuracy, scores.nmi, scores.ari);
  if (FLAGS_table) std::printf("%s", scores.ToText(set.classes).c_str());
  results["scores"] = scores.ToJson();
  if (!FLAGS_out.empty()) RETURN_IF_ERROR(WriteFileAtomically(FLAGS_out, results.dump(2) + "\n"));
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(
      &argc, &argv,
      "Clusters a features file (k-means or Gaussian mixture) and scores the "
      "clusters against its labels",
      {{"Data", {"features", "out", "save", "table"}},
       {"Model", {"method", "k", "n_init", "max_iter", "tol", "covariance_type", "reg_covar"}}});
  return fauna::ExitCode(fauna::Run());
}
