#include "train/distributed.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <system_error>
#include <thread>
#include <utility>
#include <vector>

#include <ATen/ATen.h>
#include <c10/util/Exception.h>
#include <gloo/common/error.h>
#include <torch/csrc/autograd/grad_mode.h>
#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <torch/csrc/distributed/c10d/exception.h>
#include <torch/csrc/distributed/c10d/socket.h>

// NCCL: only where LibTorch has CUDA and the NCCL and CUDA headers are on the include path (an
// official CUDA distribution of LibTorch links NCCL in but ships no nccl.h).
#if defined(FAUNA_LIBTORCH_HAS_CUDA) && __has_include(<nccl.h>) && __has_include(<cuda_runtime_api.h>)
#define FAUNA_DISTRIBUTED_HAS_NCCL 1
#ifndef USE_C10D_NCCL
#define USE_C10D_NCCL
#endif
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#else
#define FAUNA_DISTRIBUTED_HAS_NCCL 0
#endif

#include "core/status.h"

namespace fauna {
namespace {

constexpr char kBackendAuto[] = "auto";
constexpr char kBackendGloo[] = "gloo";
constexpr char kBackendNccl[] = "nccl";
constexpr char kBackendNone[] = "none";

using Clock = std::chrono::steady_clock;

// Store keys of fauna's rendezvous: the rank claims and the count of ranks that arrived.
constexpr char kRankKeyPrefix[] = "fauna/rank/";
constexpr char kJoinedKey[] = "fauna/joined";
// How often a rank re-reads the count of arrivals, and re-tries reaching rank 0's store.
constexpr std::chrono::milliseconds kRendezvousPoll{10};
constexpr std::chrono::milliseconds kConnectRetry{20};

// The environment variable with which PyTorch users pin Gloo to a network interface ("eth0").
constexpr char kGlooInterfaceEnv[] = "GLOO_SOCKET_IFNAME";

std::string Ms(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// The first line of an exception's message, without LibTorch's backtrace or Gloo's trailing
// whitespace.
std::string ExceptionText(const std::exception& e) {
  const auto* torch_error = dynamic_cast<const c10::Error*>(&e);
  std::string text = torch_error != nullptr ? torch_error->what_without_backtrace() : e.what();
  const size_t newline = text.find('\n');
  if (newline != std::string::npos) text.resize(newline);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// The kind of a c10d or Gloo failure, from the exception's type (and a system error's code),
// never from its wording: DeadlineExceeded for a timeout, Unavailable for a lost or refused
// connection, Internal for anything else. Gloo reports a peer that went away and a peer that
// stopped answering alike (an IoException): `waited_out_timeout` (the call took at least the
// timeout) tells the second.
absl::StatusCode ClassifyFailure(const std::exception& e, bool waited_out_timeout = false) {
  if (dynamic_cast<const c10d::TimeoutError*>(&e) != nullptr) {
    return absl::StatusCode::kDeadlineExceeded;
  }
  if (dynamic_cast<const ::gloo::IoException*>(&e) != nullptr ||
      dynamic_cast<const c10d::SocketError*>(&e) != nullptr) {
    return waited_out_timeout ? absl::StatusCode::kDeadlineExceeded
                              : absl::StatusCode::kUnavailable;
  }
  if (const auto* system = dynamic_cast<const std::system_error*>(&e); system != nullptr) {
    switch (system->code().value()) {
      case EAGAIN:  // A socket's receive timeout (TCPStore's SO_RCVTIMEO).
      case ETIMEDOUT:
        return absl::StatusCode::kDeadlineExceeded;
      case ECONNRESET:
      case ECONNREFUSED:
      case ECONNABORTED:
      case EPIPE:
      case ENOTCONN:
      case EHOSTUNREACH:
      case ENETUNREACH:
        return absl::StatusCode::kUnavailable;
      default:
        break;
    }
  }
  return absl::StatusCode::kInternal;
}

// The local address of the route towards `host`: the interface the other ranks can reach this one
// on. Unlike Gloo's default (the address the host name resolves to), this is never Debian's
// 127.0.1.1 on a multi-machine job. Empty when the route cannot be found.
std::string LocalAddressTowards(const std::string& host, int port) {
  addrinfo hints = {};
  hints.ai_socktype = SOCK_DGRAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return "";
  std::string address;
  for (addrinfo* ai = found; ai != nullptr && address.empty(); ai = ai->ai_next) {
    const int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) continue;
    // connect() on a datagram socket sends nothing; it only picks the route and source address.
    sockaddr_storage local = {};
    socklen_t length = sizeof(local);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
        getsockname(fd, reinterpret_cast<sockaddr*>(&local), &length) == 0) {
      char text[INET6_ADDRSTRLEN] = {};
      const void* raw = local.ss_family == AF_INET
                            ? static_cast<const void*>(&reinterpret_cast<sockaddr_in*>(&local)->sin_addr)
                            : static_cast<const void*>(&reinterpret_cast<sockaddr_in6*>(&local)->sin6_addr);
      if (inet_ntop(local.ss_family, raw, text, sizeof(text)) != nullptr) address = text;
    }
    close(fd);
  }
  freeaddrinfo(found);
  return address;
}

// The Gloo transport device: the interface named by GLOO_SOCKET_IFNAME, else the one on the route
// to master_addr, else Gloo's default.
std::shared_ptr<::gloo::transport::Device> MakeGlooDevice(const DistributedOptions& options) {
  const char* interface = std::getenv(kGlooInterfaceEnv);
  if (interface != nullptr && interface[0] != '\0') {
    std::string first = interface;
    first = first.substr(0, first.find(','));
    return c10d::ProcessGroupGloo::createDeviceForInterface(first);
  }
  const std::string local = LocalAddressTowards(options.master_addr, options.master_port);
  if (!local.empty()) return c10d::ProcessGroupGloo::createDeviceForHostname(local);
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

std::string UnresolvedMessage(const std::string& host, int gai_error) {
  return "master_addr \"" + host + "\" does not resolve (" + gai_strerror(gai_error) + ")";
}

// Waits until something accepts TCP connections at host:port (rank 0's store), trying every few
// milliseconds. DeadlineExceeded at `deadline`; InvalidArgument for a host that does not resolve.
absl::Status WaitForListener(const std::string& host, int port, Clock::time_point deadline) {
  std::string last_error = "nothing listening yet";
  while (true) {
    addrinfo hints = {};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int resolved = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found);
    if (resolved == EAI_NONAME) {
      return absl::InvalidArgumentError(UnresolvedMessage(host, resolved));
    }
    if (resolved != 0) {
      last_error = gai_strerror(resolved);
    } else {
      for (addrinfo* ai = found; ai != nullptr; ai = ai->ai_next) {
        const int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int error = 0;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
          error = errno;
          if (error == EINPROGRESS) {
            // A remote host may not answer at all: wait no longer than the deadline.
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                deadline - Clock::now());
            pollfd pfd = {fd, POLLOUT, 0};
            const int ready = poll(&pfd, 1, static_cast<int>(std::max<int64_t>(left.count(), 0)));
            socklen_t length = sizeof(error);
            if (ready == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) {
              error = errno;
            } else if (ready != 1) {
              error = ETIMEDOUT;
            }
          }
        }
        close(fd);
        if (error == 0) {
          freeaddrinfo(found);
          return absl::OkStatus();
        }
        last_error = std::strerror(error);
      }
      freeaddrinfo(found);
    }
    if (Clock::now() + kConnectRetry >= deadline) {
      return absl::DeadlineExceededError("rank 0's store did not answer in time (last attempt: " +
                                         last_error + ")");
    }
    std::this_thread::sleep_for(kConnectRetry);
  }
}

// Gloo writes to its sockets with writev(), which raises SIGPIPE when the peer has gone; by default
// that kills the process before the error can be reported. (In the tests Gloo notices the closed
// connection on a read first, but that is a matter of timing.) Python ignores SIGPIPE at start-up,
// which is why PyTorch users never meet this. Keeps any handler the program installed itself.
void IgnoreSigpipeUnlessHandled() {
  struct sigaction current = {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
    signal(SIGPIPE, SIG_IGN);
  }
}

// The backend that serves `device`: "gloo" or "nccl", or an error.
absl::StatusOr<std::string> ResolveBackend(const std::string& requested, c10::Device device) {
  if (requested == kBackendGloo) return std::string(kBackendGloo);
  if (requested == kBackendNccl) {
    if (!FAUNA_DISTRIBUTED_HAS_NCCL) {
      return absl::FailedPreconditionError(
          "backend \"nccl\" is not available: this build's LibTorch has no CUDA (or nccl.h was not "
          "on the include path); use --backend=gloo or auto");
    }
    if (!device.is_cuda()) {
      return absl::InvalidArgumentError("backend \"nccl\" needs a CUDA device, not " +
                                        device.str() + "; use --backend=gloo or auto");
    }
    return std::string(kBackendNccl);
  }
  // auto
  return std::string(FAUNA_DISTRIBUTED_HAS_NCCL && device.is_cuda() ? kBackendNccl : kBackendGloo);
}

// Tensors grouped by dtype, each group in the order of first appearance.
struct DtypeGroup {
  c10::ScalarType dtype;
  std::vector<size_t> indices;
  int64_t numel = 0;
};

std::vector<DtypeGroup> GroupByDtype(const std::vector<at::Tensor>& tensors) {
  std::vector<DtypeGroup> groups;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const c10::ScalarType dtype = tensors[i].scalar_type();
    auto it = std::find_if(groups.begin(), groups.end(),
                           [dtype](const DtypeGroup& g) { return g.dtype == dtype; });
    if (it == groups.end()) {
      groups.push_back(DtypeGroup{dtype, {}, 0});
      it = groups.end() - 1;
    }
    it->indices.push_back(i);
    it->numel += tensors[i].numel();
  }
  return groups;
}

// A 64-bit FNV-1a fingerprint of the tensors' dtypes and shapes, in order.
int64_t StructureFingerprint(const std::vector<at::Tensor>& tensors) {
  uint64_t hash = 1469598103934665603ull;
  auto mix = [&hash](int64_t value) {
    hash ^= static_cast<uint64_t>(value);
    hash *= 1099511628211ull;
  };
  for (const at::Tensor& t : tensors) {
    mix(static_cast<int64_t>(t.scalar_type()));
    mix(t.dim());
    for (int64_t size : t.sizes()) mix(size);
  }
  return static_cast<int64_t>(hash);
}

}  // namespace

absl::Status ValidateDistributedOptions(const DistributedOptions& options) {
  if (options.world_size < 1) {
    return absl::InvalidArgumentError("world_size must be at least 1, got " +
                                      std::to_string(options.world_size));
  }
  if (options.rank < 0 || options.rank >= options.world_size) {
    return absl::InvalidArgumentError("rank must be in [0, " + std::to_string(options.world_size) +
                                      ") for world_size " + std::to_string(options.world_size) +
                                      ", got " + std::to_string(options.rank));
  }
  if (options.master_port < 1 || options.master_port > 65535) {
    return absl::InvalidArgumentError("master_port must be in 1..65535, got " +
                                      std::to_string(options.master_port));
  }
  if (options.master_addr.empty()) {
    return absl::InvalidArgumentError("master_addr must not be empty");
  }
  if (options.timeout.count() <= 0) {
    return absl::InvalidArgumentError("timeout must be positive, got " + Ms(options.timeout));
  }
  if (options.backend != kBackendAuto && options.backend != kBackendGloo &&
      options.backend != kBackendNccl) {
    return absl::InvalidArgumentError("backend must be auto, gloo or nccl, got \"" +
                                      options.backend + "\"");
  }
  return absl::OkStatus();
}

struct DistributedContext::State {
  DistributedOptions options;
  std::string backend = kBackendNone;
  // Where collectives run: the CPU for Gloo (a CUDA module is staged through it), the module's CUDA
  // device for NCCL.
  c10::Device comm_device = c10::Device(c10::kCPU);
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> group;
  // The first failure; a process group that failed once is out of step with its peers.
  absl::Status failure;

  std::string Prefix() const { return "rank " + std::to_string(options.rank) + ": "; }

  // Runs one collective step `fn`, turning any exception into a status that names `operation`,
  // this rank and the timeout.
  template <typename Fn>
  absl::Status Run(const std::string& operation, Fn&& fn) {
    if (!failure.ok()) {
      return absl::FailedPreconditionError(Prefix() + operation +
                                           " refused: an earlier collective failed (" +
                                           std::string(failure.message()) + ")");
    }
    absl::Status status;
    const Clock::time_point start = Clock::now();
    try {
      status = fn();
    } catch (const std::exception& e) {
      const absl::StatusCode code = ClassifyFailure(e, Clock::now() - start >= options.timeout);
      std::string message = Prefix() + operation + " failed: ";
      if (code == absl::StatusCode::kInternal) {
        message += ExceptionText(e);
      } else {
        message += "peer lost or timed out after " + Ms(options.timeout) + " (" + ExceptionText(e) +
                   ")";
      }
      status = absl::Status(code, message);
    }
    // A mismatch that every rank saw leaves the group in step; anything else does not.
    if (!status.ok() && status.code() != absl::StatusCode::kInvalidArgument) failure = status;
    return status;
  }

  void Wait(const c10::intrusive_ptr<c10d::Work>& work) const {
    if (backend == kBackendNccl) {
      // NCCL kernels do not time out by themselves.
      work->wait(options.timeout);
    } else {
      // Gloo's own timeout (the process group's option) ends a stuck operation.
      work->wait();
    }
  }

  void AllReduce(at::Tensor& tensor) {
    std::vector<at::Tensor> tensors = {tensor};
    c10d::AllreduceOptions opts;
    opts.reduceOp = c10d::ReduceOp::SUM;
    opts.timeout = options.timeout;
    Wait(group->allreduce(tensors, opts));
  }

  void Broadcast(at::Tensor& tensor) {
    std::vector<at::Tensor> tensors = {tensor};
    c10d::BroadcastOptions opts;
    opts.rootRank = 0;
    opts.timeout = options.timeout;
    Wait(group->broadcast(tensors, opts));
  }
};

DistributedContext::DistributedContext(std::unique_ptr<State> state) : state_(std::move(state)) {}

DistributedContext::~DistributedContext() = default;

absl::StatusOr<std::unique_ptr<DistributedContext>> DistributedContext::Connect(
    const DistributedOptions& options, c10::Device device) {
  RETURN_IF_ERROR(ValidateDistributedOptions(options));
  auto state = std::make_unique<State>();
  state->options = options;
  ASSIGN_OR_RETURN(std::string backend, ResolveBackend(options.backend, device));
  if (options.world_size == 1) {
    return std::unique_ptr<DistributedContext>(new DistributedContext(std::move(state)));
  }
  state->backend = backend;
  state->comm_device = backend == kBackendNccl ? device : c10::Device(c10::kCPU);
  IgnoreSigpipeUnlessHandled();

  const Clock::time_point deadline = Clock::now() + options.timeout;
  const std::string world = std::to_string(options.world_size);
  auto failure = [&](absl::StatusCode code, const std::string& what) {
    return absl::Status(code, "rank " + std::to_string(options.rank) + ": cannot join the job of " +
                                  world + " processes at " + options.master_addr + ":" +
                                  std::to_string(options.master_port) + " (" +
                                  (options.rank == 0 ? "hosted here" : "hosted by rank 0") +
                                  ", timeout " + Ms(options.timeout) + "): " + what);
  };
  if (options.rank == 0) {
    // Rank 0's store connects to master_addr too, retrying a name that does not resolve until the
    // timeout; say so at once instead.
    addrinfo hints = {};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    const int resolved = getaddrinfo(options.master_addr.c_str(), nullptr, &hints, &found);
    if (found != nullptr) freeaddrinfo(found);
    if (resolved == EAI_NONAME) {
      return failure(absl::StatusCode::kInvalidArgument, UnresolvedMessage(options.master_addr,
                                                                           resolved));
    }
  } else {
    // TCPStore's own client retries only once a second and gives up when less than a second of
    // its timeout is left; this probe retries every few milliseconds until the deadline.
    absl::Status reachable = WaitForListener(options.master_addr, options.master_port, deadline);
    if (!reachable.ok()) return failure(reachable.code(), std::string(reachable.message()));
  }

  std::string stage = options.rank == 0 ? "hosting the store" : "connecting to the store";
  try {
    c10d::TCPStoreOptions store_options;
    store_options.port = static_cast<std::uint16_t>(options.master_port);
    store_options.isServer = options.rank == 0;
    // TCPStore's own wait for workers polls once a second and, at its timeout, silently goes on;
    // the rendezvous below replaces it.
    store_options.waitWorkers = false;
    store_options.timeout = options.timeout;
    state->store = c10::make_intrusive<c10d::TCPStore>(options.master_addr, store_options);

    stage = "rendezvous";
    // Claim the rank with a token only this process knows: a second process with the same rank
    // finds the first one's token.
    const std::string token = std::to_string(getpid()) + "@" +
                              std::to_string(Clock::now().time_since_epoch().count());
    const std::vector<uint8_t> mine(token.begin(), token.end());
    if (state->store->compareSet(kRankKeyPrefix + std::to_string(options.rank), {}, mine) != mine) {
      return failure(absl::StatusCode::kAlreadyExists,
                     "rank " + std::to_string(options.rank) +
                         " was already claimed by another process; give every process its own "
                         "--rank");
    }
    int64_t joined = state->store->add(kJoinedKey, 1);
    while (joined < options.world_size) {
      if (Clock::now() >= deadline) {
        return failure(absl::StatusCode::kDeadlineExceeded,
                       "only " + std::to_string(joined) + " of " + world + " ranks joined in time");
      }
      std::this_thread::sleep_for(kRendezvousPoll);
      try {
        joined = state->store->add(kJoinedKey, 0);
      } catch (const std::exception& e) {
        // Rank 0 hosts the store: a lost connection means it gave up waiting (its deadline came a
        // little earlier) or died. Anything else is reported as any other failure, below.
        if (options.rank == 0 || ClassifyFailure(e) != absl::StatusCode::kUnavailable) throw;
        return failure(absl::StatusCode::kUnavailable,
                       "rank 0 stopped hosting the job while only " + std::to_string(joined) +
                           " of " + world + " ranks had joined (" + ExceptionText(e) + ")");
      }
    }
    if (joined > options.world_size) {
      return failure(absl::StatusCode::kFailedPrecondition,
                     std::to_string(joined) + " processes joined a job of " + world +
                         "; is another job using this port?");
    }

    stage = "connecting the " + backend + " process group";
    if (backend == kBackendGloo) {
      auto gloo_options = c10d::ProcessGroupGloo::Options::create(options.timeout);
      gloo_options->devices = {MakeGlooDevice(options)};
      state->group = c10::make_intrusive<c10d::ProcessGroupGloo>(
          state->store, options.rank, options.world_size, gloo_options);
    } else {
#if FAUNA_DISTRIBUTED_HAS_NCCL
      auto nccl_options = c10d::ProcessGroupNCCL::Options::create();
      nccl_options->timeout = options.timeout;
      state->group = c10::make_intrusive<c10d::ProcessGroupNCCL>(
          state->store, options.rank, options.world_size, nccl_options);
#endif
    }
    // Gloo's connection handshake can end on one rank before the other; one collective makes every
    // rank return from Connect only with the whole group up.
    // (An all-reduce rather than a barrier: NCCL's barrier guesses the device from the rank.)
    stage = "the first all-reduce";
    at::Tensor one = at::ones({1}, at::dtype(at::kFloat).device(state->comm_device));
    state->AllReduce(one);
    if (one.cpu().item<float>() != static_cast<float>(options.world_size)) {
      return failure(absl::StatusCode::kInternal,
                     "the first all-reduce summed to " + std::to_string(one.cpu().item<float>()));
    }
  } catch (const std::exception& e) {
    absl::StatusCode code = ClassifyFailure(e, Clock::now() >= deadline);
    if (code == absl::StatusCode::kInternal) code = absl::StatusCode::kUnavailable;
    return failure(code, stage + " failed: " + ExceptionText(e));
  }
  return std::unique_ptr<DistributedContext>(new DistributedContext(std::move(state)));
}

int DistributedContext::rank() const { return state_->options.rank; }

int DistributedContext::world_size() const { return state_->options.world_size; }

bool DistributedContext::is_primary() const { return state_->options.rank == 0; }

std::string DistributedContext::backend() const { return state_->backend; }

absl::Status DistributedContext::BroadcastParameters(torch::nn::Module& module) {
  if (state_->group == nullptr) return absl::OkStatus();
  std::vector<at::Tensor> tensors = module.parameters(/*recurse=*/true);
  for (const at::Tensor& buffer : module.buffers(/*recurse=*/true)) tensors.push_back(buffer);
  return BroadcastFromRankZero("broadcast of parameters", tensors);
}

absl::Status DistributedContext::BroadcastBuffers(torch::nn::Module& module) {
  if (state_->group == nullptr) return absl::OkStatus();
  std::vector<at::Tensor> tensors = module.buffers(/*recurse=*/true);
  return BroadcastFromRankZero("broadcast of buffers", tensors);
}

absl::Status DistributedContext::BroadcastFromRankZero(const std::string& operation,
                                                       std::vector<at::Tensor>& tensors) {
  return state_->Run(operation, [&]() -> absl::Status {
    // Rank 0's structure, then how many ranks differ from it: both collectives run on every rank,
    // so a mismatch is an error everywhere instead of a hang.
    int64_t total = 0;
    for (const at::Tensor& t : tensors) total += t.numel();
    const std::vector<int64_t> mine = {static_cast<int64_t>(tensors.size()), total,
                                       StructureFingerprint(tensors)};
    at::Tensor signature =
        at::tensor(mine, at::dtype(at::kLong)).to(state_->comm_device);
    state_->Broadcast(signature);
    signature = signature.cpu();
    const int64_t* root = signature.data_ptr<int64_t>();
    const bool differs = root[0] != mine[0] || root[1] != mine[1] || root[2] != mine[2];
    at::Tensor differing =
        at::full({1}, differs ? 1 : 0, at::dtype(at::kLong)).to(state_->comm_device);
    state_->AllReduce(differing);
    const int64_t count = differing.cpu().item<int64_t>();
    if (count > 0) {
      std::string detail = std::to_string(count) + " of " +
                           std::to_string(state_->options.world_size) +
                           " ranks hold a model whose structure differs from rank 0's";
      if (differs) {
        detail += " (rank 0: " + std::to_string(root[0]) + " tensors, " + std::to_string(root[1]) +
                  " values; this rank: " + std::to_string(mine[0]) + " tensors, " +
                  std::to_string(mine[1]) + " values)";
      }
      return absl::InvalidArgumentError(state_->Prefix() + operation + " failed: " + detail);
    }

    torch::NoGradGuard no_grad;
    for (const DtypeGroup& group : GroupByDtype(tensors)) {
      std::vector<at::Tensor> pieces;
      pieces.reserve(group.indices.size());
      for (size_t i : group.indices) {
        pieces.push_back(tensors[i].detach().reshape({-1}).to(state_->comm_device));
      }
      at::Tensor flat = at::cat(pieces);
      state_->Broadcast(flat);
      int64_t offset = 0;
      for (size_t i : group.indices) {
        at::Tensor& t = tensors[i];
        t.copy_(flat.narrow(0, offset, t.numel()).view(t.sizes()));
        offset += t.numel();
      }
    }
    return absl::OkStatus();
  });
}

absl::Status DistributedContext::AllReduceGradients(torch::nn::Module& module) {
  if (state_->group == nullptr) return absl::OkStatus();
  std::vector<at::Tensor> params;
  for (const at::Tensor& p : module.parameters(/*recurse=*/true)) {
    if (p.requires_grad()) params.push_back(p);
  }
  const std::string operation = "all-reduce of gradients";
  for (const at::Tensor& p : params) {
    if (p.grad().defined() && p.grad().is_sparse()) {
      return absl::InvalidArgumentError(state_->Prefix() + operation +
                                        " failed: sparse gradients are not supported");
    }
  }
  const double world = static_cast<double>(state_->options.world_size);
  return state_->Run(operation, [&]() -> absl::Status {
    torch::NoGradGuard no_grad;
    for (const DtypeGroup& group : GroupByDtype(params)) {
      // [grad of each parameter (zeros where undefined) ..., 1 per parameter whose grad is
      // defined]: after the sum, the tail says which parameters have a gradient on some rank.
      const at::TensorOptions opts = at::dtype(group.dtype).device(state_->comm_device);
      std::vector<at::Tensor> pieces;
      std::vector<double> defined;
      pieces.reserve(group.indices.size() + 1);
      for (size_t i : group.indices) {
        const at::Tensor grad = params[i].grad();
        pieces.push_back(grad.defined() ? grad.reshape({-1}).to(state_->comm_device)
                                        : at::zeros({params[i].numel()}, opts));
        defined.push_back(grad.defined() ? 1.0 : 0.0);
      }
      pieces.push_back(at::tensor(defined, at::dtype(at::kDouble)).to(opts));
      at::Tensor flat = at::cat(pieces);
      state_->AllReduce(flat);
      const at::Tensor flags = flat.narrow(0, group.numel, group.indices.size()).cpu();
      int64_t offset = 0;
      for (size_t j = 0; j < group.indices.size(); ++j) {
        at::Tensor& param = params[group.indices[j]];
        const int64_t numel = param.numel();
        if (flags[j].item<double>() > 0) {
          at::Tensor average = flat.narrow(0, offset, numel).view(param.sizes()).div(world);
          if (param.grad().defined()) {
            param.mutable_grad().copy_(average);
          } else {
            param.mutable_grad() = average.to(param.device());
          }
        }
        offset += numel;
      }
    }
    return absl::OkStatus();
  });
}

absl::Status DistributedContext::AllReduceSum(std::vector<double>& values) {
  if (state_->group == nullptr || values.empty()) return absl::OkStatus();
  return state_->Run("all-reduce of metrics", [&]() -> absl::Status {
    at::Tensor sums = at::tensor(values, at::dtype(at::kDouble)).to(state_->comm_device);
    state_->AllReduce(sums);
    sums = sums.cpu();
    std::copy(sums.data_ptr<double>(), sums.data_ptr<double>() + sums.numel(), values.begin());
    return absl::OkStatus();
  });
}

absl::Status DistributedContext::Barrier() {
  if (state_->group == nullptr) return absl::OkStatus();
  return state_->Run("barrier", [&]() -> absl::Status {
    c10d::BarrierOptions opts;
    opts.timeout = state_->options.timeout;
    state_->Wait(state_->group->barrier(opts));
    return absl::OkStatus();
  });
}

}  // namespace fauna
