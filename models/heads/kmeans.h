// k-means clustering on LibTorch tensors, on any device, following scikit-learn's KMeans (1.2,
// algorithm="lloyd"): greedy k-means++ seeding with 2 + floor(log k) candidates per centre, Lloyd
// iterations that stop when the labels no longer change or when the summed squared centre shift
// is at most tol times the mean per-feature variance, empty clusters moved to the points farthest
// from their centres, and n_init runs of which the lowest inertia is kept. Points are centred on
// their mean first, as scikit-learn does, so squared distances from ||x||^2 - 2 x.c + ||c||^2
// (a GEMM) lose little precision.
//
// Why not a library: Debian 12's faiss (libfaiss-dev 1.7.3, faiss::Clustering with nredo=10,
// niter=25, random seeding and no tolerance) took 3.2-3.8 s on 10,000 Fashion-MNIST images x 784
// with k=10 on a 2-core AMD EPYC, no faster than scikit-learn's 4.0-4.3 s there, against a goal
// of 3x faster; Debian builds it for the CPU only and it would need OpenMP and a BLAS wired in.
// This code is faster for three reasons:
//  - the n_init runs advance together: one iteration is one GEMM of the points against the
//    centres of every run still going ([runs*k, D] x [D, N]), which keeps the BLAS busy where
//    ten [k, D] GEMMs would leave it waiting on memory; runs leave the batch as they converge.
//    Each run draws only from its own generator (seed, run), so batching changes no result.
//  - with 32 features or more, Hamerly's bounds (distance to the assigned centre, to the second
//    nearest) skip the rows whose label cannot change; past the first iterations most do.
//  - centre sums are kept in double and updated only for the rows whose label changed.
// On that benchmark (//bench:clustering_vs_sklearn, 2 threads) a fit took 1.2-1.6 CPU seconds
// against scikit-learn's 6.1-7.5, at the same inertias (317,246-318,950 over seeds for both).
// Distances are computed in the points' dtype (float32 for features files, as scikit-learn keeps
// float32); sums, shifts and inertia in double.
#ifndef FAUNA_MODELS_HEADS_KMEANS_H_
#define FAUNA_MODELS_HEADS_KMEANS_H_

#include <cstdint>
#include <string>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// What KMeans::Fit does; the defaults are scikit-learn 1.2's.
struct KMeansOptions {
  int64_t k = 8;           // clusters, 1 <= k <= N
  int64_t n_init = 10;     // runs from different seedings; the lowest inertia is kept
  int64_t max_iter = 300;  // Lloyd iterations per run at most
  double tol = 1e-4;       // shift tolerance, relative to the mean per-feature variance
  uint64_t seed = 0;       // run r seeds from MakeGenerator(seed, 0, r)
  // Initial centres [k, D] instead of k-means++ (scikit-learn's init=array); then there is one
  // run, whatever n_init says, as every run would be the same.
  at::Tensor init;
};

// A fitted k-means model: the centres and how the fit went.
//
// Example:
//   KMeansOptions options;
//   options.k = 10;
//   options.seed = FLAGS_seed;
//   ASSIGN_OR_RETURN(KMeans kmeans, KMeans::Fit(set.features.to(device), options));
//   std::printf("inertia %.1f after %lld iterations\n", kmeans.inertia(),
//               static_cast<long long>(kmeans.n_iter()));
//   ASSIGN_OR_RETURN(at::Tensor clusters, kmeans.Predict(test.features.to(device)));
class KMeans {
 public:
  // Clusters the rows of `x` ([N, D], floating point, finite, on any device; float32 and float64
  // are used as they are, other dtypes as float32). InvalidArgument for a bad `x` or options
  // (k < 1, k > N, n_init < 1, max_iter < 1, tol < 0, `init` not [k, D] or not finite).
  static absl::StatusOr<KMeans> Fit(const at::Tensor& x, const KMeansOptions& options);

  // A model with the given centres ([k, D], floating point, finite), e.g. to predict with.
  static absl::StatusOr<KMeans> FromCenters(const at::Tensor& centers);

  // The nearest centre (int64 [N]) of each row of `x` ([N, D] on the centres' device).
  absl::StatusOr<at::Tensor> Predict(const at::Tensor& x) const;

  // Sum over the rows of `x` of the squared distance to the nearest centre.
  absl::StatusOr<double> Inertia(const at::Tensor& x) const;

  // Writes the centres (safetensors tensor "centers", float32) and, as metadata, the format
  // ("fauna.kmeans.v1") and this fit's summary as JSON ("fit": k, inertia, n_iter, converged,
  // best_run, run_inertias).
  absl::Status Save(const std::string& path) const;

  // Reads a model written by Save; Predict and Inertia work on it, the fit summary is restored.
  static absl::StatusOr<KMeans> Load(const std::string& path);

  // [k, D] in the dtype fit on (float32 or float64) and on its device.
  const at::Tensor& centers() const { return centers_; }
  // Cluster of each training row (int64 [N]) under the final centres; undefined after Load.
  const at::Tensor& labels() const { return labels_; }
  int64_t k() const { return centers_.size(0); }
  // Inertia of the training rows under the kept run's centres.
  double inertia() const { return inertia_; }
  // Lloyd iterations of the kept run.
  int64_t n_iter() const { return n_iter_; }
  // Whether the kept run stopped before max_iter.
  bool converged() const { return converged_; }
  // Which run was kept, and every run's final inertia (in run order).
  int64_t best_run() const { return best_run_; }
  const std::vector<double>& run_inertias() const { return run_inertias_; }

 private:
  KMeans() = default;

  at::Tensor centers_;
  at::Tensor labels_;
  double inertia_ = 0;
  int64_t n_iter_ = 0;
  bool converged_ = false;
  int64_t best_run_ = 0;
  std::vector<double> run_inertias_;
};

}  // namespace fauna

#endif  // FAUNA_MODELS_HEADS_KMEANS_H_
