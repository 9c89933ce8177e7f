// Data-parallel training on c10d: a rendezvous of N processes (one per GPU or machine), the
// initial broadcast of rank 0's weights, the averaging of gradients after every backward pass, and
// the broadcast of rank 0's buffers before every evaluation.
// Gloo carries the collectives on the CPU; NCCL on CUDA devices where LibTorch has CUDA.
#ifndef FAUNA_TRAIN_DISTRIBUTED_H_
#define FAUNA_TRAIN_DISTRIBUTED_H_

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <c10/core/Device.h>
#include <torch/nn/module.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace fauna {

// Where a process stands in a data-parallel job and how it finds the others.
struct DistributedOptions {
  // Number of processes in the job; 1 means no distribution at all.
  int world_size = 1;
  // This process's rank in [0, world_size); rank 0 hosts the rendezvous and is the primary.
  int rank = 0;
  // Address of rank 0's machine, as every rank can reach it (a host name or an IPv4/IPv6 address).
  std::string master_addr = "127.0.0.1";
  // TCP port on which rank 0 hosts the rendezvous store (1..65535), free on rank 0's machine.
  int master_port = 29500;
  // How long the rendezvous and every collective may wait: a peer that never joins, dies or stops
  // taking part turns into an error within about this time, never into a hang.
  std::chrono::milliseconds timeout{60000};
  // "auto" (NCCL on a CUDA device when this build has it, else Gloo), "gloo" or "nccl".
  std::string backend = "auto";
};

// Checks `options` on their own: world_size >= 1, rank in [0, world_size), master_port in
// 1..65535, a non-empty master_addr, a positive timeout and a known backend. The message names the
// offending field and value.
absl::Status ValidateDistributedOptions(const DistributedOptions& options);

// One process's membership in a data-parallel job. Every collective must be called by all ranks in
// the same order with modules of the same structure; each call blocks until all ranks have made
// it. A failure (a peer lost, a timeout) is returned as a status naming the operation and this
// rank; after one, the context is unusable and the process should exit.
//
// Example (each of N processes, with its own --rank):
//   ASSIGN_OR_RETURN(std::unique_ptr<DistributedContext> dist,
//                    DistributedContext::Connect(options, device));
//   RETURN_IF_ERROR(dist->BroadcastParameters(*model));
//   for (...) {
//     loss.backward();
//     RETURN_IF_ERROR(dist->AllReduceGradients(*model));
//     optimizer.step();
//   }
//   std::vector<double> sums = {loss_sum, correct, seen};
//   RETURN_IF_ERROR(dist->AllReduceSum(sums));
//   if (dist->is_primary()) { /* write checkpoints and reports */ }
class DistributedContext {
 public:
  // Joins the job described by `options`; `device` is where the module's tensors live. With
  // world_size 1 this is a context without a process group whose every call does nothing. Else
  // rank 0 hosts a TCP store on master_port, every rank claims its rank there and waits for the
  // others, a Gloo (or NCCL) process group connects all of them, and one all-reduce checks it: on
  // success every rank's group is up. Takes at most about the timeout when a peer is missing.
  // Errors (each message names master_addr:master_port, this rank and the timeout):
  // InvalidArgument for bad options, an unresolvable master_addr or a backend that cannot serve
  // `device`; FailedPrecondition for "nccl" in a build without it, or more processes than
  // world_size; AlreadyExists for a rank that another process has claimed; DeadlineExceeded when
  // not all ranks arrive in time ("only 1 of 2 ranks joined in time"); Unavailable when the store
  // cannot be hosted (port in use) or a peer drops out while connecting.
  static absl::StatusOr<std::unique_ptr<DistributedContext>> Connect(
      const DistributedOptions& options, c10::Device device);

  ~DistributedContext();
  DistributedContext(const DistributedContext&) = delete;
  DistributedContext& operator=(const DistributedContext&) = delete;

  // This process's rank, in [0, world_size()).
  int rank() const;
  // The number of processes in the job.
  int world_size() const;
  // Whether this is rank 0, the one that writes checkpoints, logs and reports.
  bool is_primary() const;
  // "none" (world_size 1), "gloo" or "nccl".
  std::string backend() const;

  // Copies rank 0's parameters and buffers into `module` on every rank. First checks that all ranks
  // hold modules of the same structure (tensor count, shapes and dtypes); a difference is an
  // InvalidArgument error on every rank.
  absl::Status BroadcastParameters(torch::nn::Module& module);

  // Copies rank 0's buffers (batch norm's running statistics) into `module` on every rank, as
  // PyTorch DDP's broadcast_buffers does: each rank's statistics drift apart during training, since
  // each sees only its part of every batch. The trainer calls it before every evaluation and
  // checkpoint, so that all ranks evaluate, keep and save the same model. Checks structure as
  // BroadcastParameters does.
  absl::Status BroadcastBuffers(torch::nn::Module& module);

  // Replaces the gradient of every parameter that requires one with the average over the ranks.
  // A parameter whose gradient is undefined on a rank counts as a zero gradient there; one that is
  // undefined on every rank stays undefined. One all-reduce per dtype over a flattened bucket.
  absl::Status AllReduceGradients(torch::nn::Module& module);

  // Replaces each value with its sum over the ranks (for metrics: loss sums, correct counts).
  // Every rank must pass the same number of values.
  absl::Status AllReduceSum(std::vector<double>& values);

  // Returns once every rank has called Barrier.
  absl::Status Barrier();

 private:
  struct State;
  explicit DistributedContext(std::unique_ptr<State> state);
  // Checks that all ranks hold `tensors` of the same structure, then copies rank 0's values.
  absl::Status BroadcastFromRankZero(const std::string& operation, std::vector<at::Tensor>& tensors);

  std::unique_ptr<State> state_;
};

}  // namespace fauna

#endif  // FAUNA_TRAIN_DISTRIBUTED_H_
