// The trustworthiness of an embedding (eval/trustworthiness.h): how well the nearest neighbours of
// its points are those of the data they came from. Both are features files (data/features_file.h)
// with the same rows, e.g. a features file and the embedding.safetensors //eval:tsne_main wrote
// for it, or an embedding made elsewhere and written with bench/features_io.py.
//
//   bazel run //eval:trustworthiness_main -- --features=x.safetensors
//       --embedding=runs/tsne/embedding.safetensors --neighbours=5,10 --pca=50   (one line)
//
// Prints one JSON object: {"points": N, "trustworthiness": {"5": ..., "10": ...}}.
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <ATen/ATen.h>
#include <gflags/gflags.h>
#include <nlohmann/json.hpp>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "core/flags.h"
#include "core/runtime.h"
#include "core/status.h"
#include "data/features_file.h"
#include "eval/pca.h"
#include "eval/trustworthiness.h"

DEFINE_string(features, "", "The data: a features file.");
DEFINE_string(embedding, "", "The embedding of the same rows: a features file.");
DEFINE_string(neighbours, "5", "Neighbourhood sizes, comma-separated; each below N / 2.");
DEFINE_int64(pca, 0,
             "Reduce the data to this many principal components first (as t-SNE's input "
             "was); 0: no reduction.");

namespace fauna {
namespace {

absl::Status Run(int argc) {
  if (argc != 1 || FLAGS_features.empty() || FLAGS_embedding.empty()) {
    return absl::InvalidArgumentError(
        "usage: trustworthiness_main --features=<file> --embedding=<file> [--neighbours=5,...] "
        "[--pca=0]");
  }
  if (FLAGS_pca < 0) return absl::InvalidArgumentError("--pca must be >= 0");
  std::vector<int64_t> neighbours;
  for (const auto& part : absl::StrSplit(FLAGS_neighbours, ',')) {
    int64_t k = 0;
    if (!absl::SimpleAtoi(part, &k) || k < 1) {
      return absl::InvalidArgumentError("--neighbours must be positive whole numbers, not '" +
                                        FLAGS_neighbours + "'");
    }
    neighbours.push_back(k);
  }
  ASSIGN_OR_RETURN(Runtime runtime, InitRuntime(/*quiet=*/true));
  ASSIGN_OR_RETURN(FeatureSet data, ReadFeatureSet(UserPath(FLAGS_features)));
  ASSIGN_OR_RETURN(FeatureSet embedding, ReadFeatureSet(UserPath(FLAGS_embedding)));
  if (data.size() != embedding.size()) {
    return absl::InvalidArgumentError(absl::StrCat(FLAGS_features, " has ", data.size(),
                                                   " rows but ", FLAGS_embedding, " has ",
                                                   embedding.size()));
  }
  at::Tensor x = data.features.to(runtime.device, at::kDouble);
  if (FLAGS_pca > 0 && data.dim() > FLAGS_pca) {
    ASSIGN_OR_RETURN(Pca pca, FitPca(x, FLAGS_pca));
    x = pca.scores;
  }
  nlohmann::json values = nlohmann::json::object();
  for (int64_t k : neighbours) {
    ASSIGN_OR_RETURN(double t, Trustworthiness(x, embedding.features.to(runtime.device), k));
    values[std::to_string(k)] = t;
  }
  std::printf(
      "%s\n",
      nlohmann::json({{"points", data.size()}, {"trustworthiness", values}}).dump().c_str());
  return absl::OkStatus();
}

}  // namespace
}  // namespace fauna

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv,
                    "Prints the trustworthiness of an embedding of a features file; see "
                    "eval/trustworthiness_main.cc.");
  return fauna::ExitCode(fauna::Run(argc));
}
