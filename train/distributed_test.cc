#include "train/distributed.h"

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <ATen/ATen.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/linear.h>

namespace fauna {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// A TCP port that was free a moment ago: bound with port 0, read back, released.
int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  EXPECT_GE(fd, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  address.sin_port = 0;
  EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  socklen_t length = sizeof(address);
  EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length), 0);
  close(fd);
  return ntohs(address.sin_port);
}

DistributedOptions Options(int world_size, int rank, int port, int timeout_ms) {
  DistributedOptions options;
  options.world_size = world_size;
  options.rank = rank;
  options.master_addr = "127.0.0.1";
  options.master_port = port;
  options.timeout = std::chrono::milliseconds(timeout_ms);
  options.backend = "gloo";
  return options;
}

// A bound on a call that must end within its timeout: far above the timeout, so that only a hang
// (not a busy machine) exceeds it. What the tests check is that the call ends with an error.
constexpr double kHangSeconds = 60.0;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// A linear layer, a batch norm (float and int64 buffers) and a layer frozen by the test.
struct NetImpl : torch::nn::Module {
  explicit NetImpl(int64_t width = 3)
      : fc(register_module("fc", torch::nn::Linear(width, 2))),
        bn(register_module("bn", torch::nn::BatchNorm1d(2))),
        frozen(register_module("frozen", torch::nn::Linear(2, 2))) {}
  torch::nn::Linear fc;
  torch::nn::BatchNorm1d bn;
  torch::nn::Linear frozen;
};
TORCH_MODULE(Net);

// Sets every parameter and floating buffer of `net` to `value` and its batch count to `count`.
void Fill(Net& net, float value, int64_t count) {
  torch::NoGradGuard no_grad;
  for (at::Tensor& p : net->parameters()) p.fill_(value);
  net->bn->running_mean.fill_(value);
  net->bn->running_var.fill_(value);
  net->bn->num_batches_tracked.fill_(count);
}

// Runs `body(rank, context)` for every rank of a loopback job of `world_size`, each rank on its
// own thread with its own Connect, and returns the statuses of Connect and body by rank.
std::vector<absl::Status> RunRanks(
    int world_size, const std::function<absl::Status(int, DistributedContext&)>& body,
    int timeout_ms = 10000) {
  const int port = FreePort();
  std::vector<absl::Status> statuses(world_size);
  std::vector<std::thread> threads;
  for (int rank = 0; rank < world_size; ++rank) {
    threads.emplace_back([&, rank] {
      absl::StatusOr<std::unique_ptr<DistributedContext>> context = DistributedContext::Connect(
          Options(world_size, rank, port, timeout_ms), c10::Device(c10::kCPU));
      if (!context.ok()) {
        statuses[rank] = context.status();
        return;
      }
      statuses[rank] = body(rank, **context);
    });
  }
  for (std::thread& t : threads) t.join();
  return statuses;
}

void ExpectAllOk(const std::vector<absl::Status>& statuses) {
  for (size_t rank = 0; rank < statuses.size(); ++rank) {
    EXPECT_TRUE(statuses[rank].ok()) << "rank " << rank << ": " << statuses[rank];
  }
}

TEST(DistributedContext, WorldSizeOneIsANoOp) {
  absl::StatusOr<std::unique_ptr<DistributedContext>> context =
      DistributedContext::Connect(DistributedOptions(), c10::Device(c10::kCPU));
  ASSERT_TRUE(context.ok()) << context.status();
  DistributedContext& dist = **context;
  EXPECT_EQ(dist.rank(), 0);
  EXPECT_EQ(dist.world_size(), 1);
  EXPECT_TRUE(dist.is_primary());
  EXPECT_EQ(dist.backend(), "none");

  Net net;
  Fill(net, 0.5f, 7);
  net->fc->weight.mutable_grad() = at::full({2, 3}, 4.0);
  EXPECT_TRUE(dist.BroadcastParameters(*net).ok());
  EXPECT_TRUE(dist.AllReduceGradients(*net).ok());
  EXPECT_TRUE(net->fc->weight.grad().equal(at::full({2, 3}, 4.0)));
  EXPECT_FALSE(net->fc->bias.grad().defined());
  EXPECT_TRUE(net->fc->weight.equal(at::full({2, 3}, 0.5)));
  std::vector<double> values = {1.5, -2.0};
  EXPECT_TRUE(dist.AllReduceSum(values).ok());
  EXPECT_EQ(values, (std::vector<double>{1.5, -2.0}));
  EXPECT_TRUE(dist.Barrier().ok());
}

TEST(ValidateDistributedOptions, AcceptsDefaultsAndAGoodJob) {
  EXPECT_TRUE(ValidateDistributedOptions(DistributedOptions()).ok());
  EXPECT_TRUE(ValidateDistributedOptions(Options(/*world_size=*/4, /*rank=*/3, /*port=*/65535,
                                                 /*timeout_ms=*/1))
                  .ok());
}

TEST(ValidateDistributedOptions, RejectsEachBadFieldByName) {
  struct Case {
    std::function<void(DistributedOptions&)> change;
    std::string message;
  };
  const std::vector<Case> cases = {
      {[](DistributedOptions& o) { o.world_size = 0; }, "world_size must be at least 1, got 0"},
      {[](DistributedOptions& o) { o.rank = -1; }, "rank must be in [0, 2) for world_size 2, got -1"},
      {[](DistributedOptions& o) { o.rank = 2; }, "rank must be in [0, 2) for world_size 2, got 2"},
      {[](DistributedOptions& o) { o.master_port = 0; }, "master_port must be in 1..65535, got 0"},
      {[](DistributedOptions& o) { o.master_port = 65536; }, "got 65536"},
      {[](DistributedOptions& o) { o.master_addr = ""; }, "master_addr must not be empty"},
      {[](DistributedOptions& o) { o.timeout = std::chrono::milliseconds(0); },
       "timeout must be positive, got 0 ms"},
      {[](DistributedOptions& o) { o.backend = "mpi"; },
       "backend must be auto, gloo or nccl, got \"mpi\""},
  };
  for (const Case& c : cases) {
    DistributedOptions options = Options(/*world_size=*/2, /*rank=*/1, /*port=*/29500,
                                         /*timeout_ms=*/1000);
    c.change(options);
    absl::Status status = ValidateDistributedOptions(options);
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << c.message;
    EXPECT_THAT(std::string(status.message()), HasSubstr(c.message));
    // Connect checks the same, before any network activity.
    EXPECT_EQ(DistributedContext::Connect(options, c10::Device(c10::kCPU)).status(), status);
  }
}

TEST(DistributedContext, NcclOnTheCpuIsRefused) {
  DistributedOptions options;
  options.backend = "nccl";
  absl::Status status = DistributedContext::Connect(options, c10::Device(c10::kCPU)).status();
  EXPECT_THAT(status.code(), AnyOf(absl::StatusCode::kInvalidArgument,
                                   absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(status.message()), HasSubstr("backend \"nccl\""));
}

TEST(DistributedContext, TwoRanksKnowWhoTheyAre) {
  ExpectAllOk(RunRanks(/*world_size=*/2, [](int rank, DistributedContext& dist) {
    EXPECT_EQ(dist.rank(), rank);
    EXPECT_EQ(dist.world_size(), 2);
    EXPECT_EQ(dist.is_primary(), rank == 0);
    EXPECT_EQ(dist.backend(), "gloo");
    return dist.Barrier();
  }));
}

TEST(DistributedContext, BroadcastParametersCopiesRankZerosModule) {
  std::vector<Net> nets = {Net(), Net()};
  Fill(nets[0], 0.25f, 11);
  Fill(nets[1], -3.0f, 2);
  ExpectAllOk(RunRanks(/*world_size=*/2, [&](int rank, DistributedContext& dist) {
    return dist.BroadcastParameters(*nets[rank]);
  }));
  for (const Net& net : nets) {
    for (const at::Tensor& p : net->parameters()) EXPECT_TRUE(p.eq(0.25f).all().item<bool>());
    EXPECT_TRUE(net->bn->running_var.eq(0.25f).all().item<bool>());
    EXPECT_EQ(net->bn->num_batches_tracked.item<int64_t>(), 11);
  }
}

TEST(DistributedContext, BroadcastBuffersCopiesRankZerosBuffersOnly) {
  std::vector<Net> nets = {Net(), Net()};
  Fill(nets[0], 0.25f, 11);
  Fill(nets[1], -3.0f, 2);
  ExpectAllOk(RunRanks(/*world_size=*/2, [&](int rank, DistributedContext& dist) {
    return dist.BroadcastBuffers(*nets[rank]);
  }));
  for (int rank = 0; rank < 2; ++rank) {
    const Net& net = nets[rank];
    EXPECT_TRUE(net->bn->running_mean.eq(0.25f).all().item<bool>());
    EXPECT_TRUE(net->bn->running_var.eq(0.25f).all().item<bool>());
    EXPECT_EQ(net->bn->num_batches_tracked.item<int64_t>(), 11);
    // Parameters are each rank's own.
    for (const at::Tensor& p : net->parameters()) {
      EXPECT_TRUE(p.eq(rank == 0 ? 0.25f : -3.0f).all().item<bool>());
    }
  }
}

TEST(DistributedContext, BroadcastParametersRejectsDifferentModelsOnEveryRank) {
  std::vector<Net> nets = {Net(/*width=*/3), Net(/*width=*/4)};
  std::vector<double> sums(2);
  std::vector<absl::Status> statuses =
      RunRanks(/*world_size=*/2, [&](int rank, DistributedContext& dist) -> absl::Status {
        absl::Status status = dist.BroadcastParameters(*nets[rank]);
        // Both ranks saw the mismatch, so the group is still in step.
        std::vector<double> values = {1.0};
        EXPECT_TRUE(dist.AllReduceSum(values).ok());
        sums[rank] = values[0];
        return status;
      });
  for (int rank = 0; rank < 2; ++rank) {
    EXPECT_EQ(statuses[rank].code(), absl::StatusCode::kInvalidArgument) << statuses[rank];
    EXPECT_THAT(std::string(statuses[rank].message()),
                HasSubstr("rank " + std::to_string(rank) + ": broadcast of parameters failed: 1 of "
                          "2 ranks hold a model whose structure differs from rank 0's"));
    EXPECT_EQ(sums[rank], 2.0);
  }
  EXPECT_THAT(std::string(statuses[1].message()),
              HasSubstr("rank 0: 9 tensors, 23 values; this rank: 9 tensors, 25 values"));
}

TEST(DistributedContext, AllReduceGradientsAveragesExactly) {
  std::vector<Net> nets = {Net(), Net()};
  for (int rank = 0; rank < 2; ++rank) {
    Net& net = nets[rank];
    // fc.weight: 1 and 3 -> 2; fc.bias: rank 1 has none, so (5 + 0) / 2.
    net->fc->weight.mutable_grad() = at::full({2, 3}, rank == 0 ? 1.0 : 3.0);
    if (rank == 0) net->fc->bias.mutable_grad() = at::full({2}, 5.0);
    // bn.weight: the ranks' element-wise mean; bn.bias: undefined everywhere, stays so.
    net->bn->weight.mutable_grad() = at::arange(2, at::kFloat) * (rank + 1);
    // A frozen layer takes no part, whatever its gradient.
    net->frozen->weight.set_requires_grad(false);
    net->frozen->weight.mutable_grad() = at::full({2, 2}, 100.0 * (rank + 1));
  }
  ExpectAllOk(RunRanks(/*world_size=*/2, [&](int rank, DistributedContext& dist) {
    return dist.AllReduceGradients(*nets[rank]);
  }));
  for (int rank = 0; rank < 2; ++rank) {
    const Net& net = nets[rank];
    EXPECT_TRUE(net->fc->weight.grad().equal(at::full({2, 3}, 2.0)));
    EXPECT_TRUE(net->fc->bias.grad().equal(at::full({2}, 2.5)));
    EXPECT_TRUE(net->bn->weight.grad().equal(at::arange(2, at::kFloat) * 1.5));
    EXPECT_FALSE(net->bn->bias.grad().defined());
    EXPECT_FALSE(net->frozen->bias.grad().defined());
    EXPECT_TRUE(net->frozen->weight.grad().equal(at::full({2, 2}, 100.0 * (rank + 1))));
  }
}

TEST(DistributedContext, AllReduceGradientsKeepsEachDtype) {
  std::vector<torch::nn::Linear> layers = {torch::nn::Linear(2, 1), torch::nn::Linear(2, 1)};
  for (int rank = 0; rank < 2; ++rank) {
    layers[rank]->to(at::kDouble);
    layers[rank]->weight.mutable_grad() = at::full({1, 2}, 0.1 * (rank + 1), at::kDouble);
    layers[rank]->bias.mutable_grad() = at::full({1}, 1.0 + rank, at::kDouble);
  }
  ExpectAllOk(RunRanks(/*world_size=*/2, [&](int rank, DistributedContext& dist) {
    return dist.AllReduceGradients(*layers[rank]);
  }));
  for (const torch::nn::Linear& layer : layers) {
    EXPECT_EQ(layer->weight.grad().scalar_type(), at::kDouble);
    EXPECT_DOUBLE_EQ(layer->weight.grad()[0][1].item<double>(), (0.1 + 0.2) / 2);
    EXPECT_EQ(layer->bias.grad().item<double>(), 1.5);
  }
}

TEST(DistributedContext, AllReduceSumAddsEveryRanksValues) {
  std::vector<std::vector<double>> results(3);
  ExpectAllOk(RunRanks(/*world_size=*/3, [&](int rank, DistributedContext& dist) {
    results[rank] = {rank + 1.0, 10.0 * (rank + 1), 0.5};
    return dist.AllReduceSum(results[rank]);
  }));
  for (const std::vector<double>& values : results) {
    EXPECT_EQ(values, (std::vector<double>{6.0, 60.0, 1.5}));
  }
}

TEST(DistributedContext, APeerThatNeverJoinsIsAnErrorWithinTheTimeout) {
  const int port = FreePort();
  for (int rank : {0, 1}) {
    const Clock::time_point start = Clock::now();
    absl::Status status = DistributedContext::Connect(Options(/*world_size=*/2, rank, port,
                                                              /*timeout_ms=*/1000),
                                                      c10::Device(c10::kCPU))
                              .status();
    const double seconds = SecondsSince(start);
    EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
    EXPECT_THAT(std::string(status.message()),
                HasSubstr("rank " + std::to_string(rank) + ": cannot join the job of 2 processes "
                          "at 127.0.0.1:" + std::to_string(port)));
    EXPECT_THAT(std::string(status.message()), HasSubstr("timeout 1000 ms"));
    EXPECT_THAT(std::string(status.message()),
                HasSubstr(rank == 0 ? "only 1 of 2 ranks joined in time"
                                    : "rank 0's store did not answer in time"));
    EXPECT_GE(seconds, 0.9);  // It waited for the peer, as long as the timeout.
    EXPECT_LT(seconds, kHangSeconds);
  }
}

TEST(DistributedContext, AnUnknownMasterAddressIsAnError) {
  for (int rank : {0, 1}) {
    DistributedOptions options = Options(/*world_size=*/2, rank, FreePort(), /*timeout_ms=*/500);
    options.master_addr = "no-such-host.invalid";
    const Clock::time_point start = Clock::now();
    absl::Status status = DistributedContext::Connect(options, c10::Device(c10::kCPU)).status();
    // Without a resolver at all (a sealed sandbox) the lookup fails "temporarily" until the timeout.
    EXPECT_THAT(status.code(), AnyOf(absl::StatusCode::kInvalidArgument,
                                     absl::StatusCode::kDeadlineExceeded))
        << status;
    EXPECT_THAT(std::string(status.message()), HasSubstr("no-such-host.invalid"));
    EXPECT_LT(SecondsSince(start), kHangSeconds);
  }
}

TEST(DistributedContext, TwoProcessesWithTheSameRankAreAnError) {
  std::vector<absl::Status> statuses(3);
  const int port = FreePort();
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) {
    threads.emplace_back([&, i] {
      statuses[i] = DistributedContext::Connect(Options(/*world_size=*/3, /*rank=*/i == 0 ? 0 : 1,
                                                        port, /*timeout_ms=*/1500),
                                                c10::Device(c10::kCPU))
                        .status();
    });
  }
  for (std::thread& t : threads) t.join();
  int claimed_twice = 0;
  for (const absl::Status& status : statuses) {
    EXPECT_FALSE(status.ok());
    if (status.code() == absl::StatusCode::kAlreadyExists) {
      ++claimed_twice;
      EXPECT_THAT(std::string(status.message()),
                  HasSubstr("rank 1 was already claimed by another process"));
    } else if (status.code() == absl::StatusCode::kUnavailable) {
      // Rank 1 may outwait rank 0 by a moment and find the store gone.
      EXPECT_THAT(std::string(status.message()),
                  HasSubstr("rank 0 stopped hosting the job while only 2 of 3 ranks had joined"));
    } else {
      // The others wait in vain for a third rank.
      EXPECT_EQ(status.code(), absl::StatusCode::kDeadlineExceeded) << status;
      EXPECT_THAT(std::string(status.message()), HasSubstr("only 2 of 3 ranks joined in time"));
    }
  }
  EXPECT_EQ(claimed_twice, 1);
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kDeadlineExceeded) << statuses[0];
}

TEST(DistributedContext, APortInUseIsAnError) {
  // Hold a listening socket on the port rank 0 should host the store on.
  const int holder = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(holder, 0);
  sockaddr_in address = {};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_ANY);
  ASSERT_EQ(bind(holder, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(holder, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(holder, reinterpret_cast<sockaddr*>(&address), &length), 0);
  const int port = ntohs(address.sin_port);

  absl::Status status = DistributedContext::Connect(Options(/*world_size=*/2, /*rank=*/0, port,
                                                            /*timeout_ms=*/1000),
                                                    c10::Device(c10::kCPU))
                            .status();
  close(holder);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("127.0.0.1:" + std::to_string(port)));
}

TEST(DistributedContext, APeerThatStopsTakingPartIsAnErrorWithinTheTimeout) {
  std::promise<void> rank0_done;
  std::shared_future<void> rank0_done_future = rank0_done.get_future().share();
  absl::Status second_call;
  double seconds = 0;
  std::vector<absl::Status> statuses = RunRanks(
      /*world_size=*/2,
      [&](int rank, DistributedContext& dist) -> absl::Status {
        if (rank == 1) {
          // Connected and alive, but never calls a collective (a rank stuck in its data loader).
          rank0_done_future.wait_for(std::chrono::seconds(20));
          return absl::OkStatus();
        }
        const Clock::time_point start = Clock::now();
        std::vector<double> values = {1.0};
        absl::Status status = dist.AllReduceSum(values);
        seconds = SecondsSince(start);
        second_call = dist.Barrier();
        rank0_done.set_value();
        return status;
      },
      /*timeout_ms=*/1500);
  EXPECT_TRUE(statuses[1].ok()) << statuses[1];
  EXPECT_EQ(statuses[0].code(), absl::StatusCode::kDeadlineExceeded) << statuses[0];
  EXPECT_THAT(std::string(statuses[0].message()),
              HasSubstr("rank 0: all-reduce of metrics failed: peer lost or timed out after "
                        "1500 ms ("));
  EXPECT_GE(seconds, 1.4);  // It waited for the peer, as long as the timeout.
  EXPECT_LT(seconds, kHangSeconds);
  // After a failure the group is out of step: later calls are refused at once.
  EXPECT_EQ(second_call.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(second_call.message()),
              HasSubstr("rank 0: barrier refused: an earlier collective failed (rank 0: all-reduce "
                        "of metrics failed"));
}

TEST(DistributedContext, APeerThatDiesMakesTheOthersFailWithinTheTimeout) {
  const int port = FreePort();
  constexpr int kTimeoutMs = 3000;
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    // Rank 1 joins, then dies before the first all-reduce, as a crashed trainer would.
    absl::StatusOr<std::unique_ptr<DistributedContext>> context = DistributedContext::Connect(
        Options(/*world_size=*/2, /*rank=*/1, port, kTimeoutMs), c10::Device(c10::kCPU));
    _exit(context.ok() ? 1 : 2);
  }
  absl::StatusOr<std::unique_ptr<DistributedContext>> context = DistributedContext::Connect(
      Options(/*world_size=*/2, /*rank=*/0, port, kTimeoutMs), c10::Device(c10::kCPU));
  int child_status = 0;
  ASSERT_EQ(waitpid(child, &child_status, 0), child);
  ASSERT_TRUE(WIFEXITED(child_status));
  ASSERT_EQ(WEXITSTATUS(child_status), 1) << "the child rank could not connect";
  ASSERT_TRUE(context.ok()) << context.status();

  Net net;
  for (at::Tensor& p : net->parameters()) p.mutable_grad() = at::ones_like(p);
  const Clock::time_point start = Clock::now();
  absl::Status status = (*context)->AllReduceGradients(*net);
  EXPECT_LT(SecondsSince(start), kHangSeconds);
  EXPECT_THAT(status.code(),
              AnyOf(absl::StatusCode::kUnavailable, absl::StatusCode::kDeadlineExceeded))
      << status;
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("rank 0: all-reduce of gradients failed: peer lost or timed out after "
                        "3000 ms ("));
  // The gradients are left as they were.
  EXPECT_TRUE(net->fc->weight.grad().equal(at::ones({2, 3})));
  // Tearing the context down after the failure does not hang either.
  const Clock::time_point teardown = Clock::now();
  context->reset();
  EXPECT_LT(SecondsSince(teardown), kHangSeconds);
}

}  // namespace
}  // namespace fauna
