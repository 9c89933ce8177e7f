// For //core:flags_demo_test: a binary with LibTorch linked in (whose flags --help must leave out)
// and a few flags of its own, two groups of them and one in no group. It prints the values in
// force; with --touch_tensor it also makes a tensor, so that LibTorch is surely loaded.
#include <cstdio>

#include <ATen/ATen.h>
#include <gflags/gflags.h>

#include "core/flags.h"

DEFINE_string(name, "demo", "Name of the run.");
DEFINE_bool(resume, false, "Continue the run.");
DEFINE_int64(epochs, 10, "Most epochs.");
DEFINE_double(lr, 1e-3, "Learning rate.");
DEFINE_bool(touch_tensor, false, "Make a tensor with LibTorch before exiting.");

int main(int argc, char** argv) {
  fauna::ParseFlags(&argc, &argv, "Shows fauna's --help; see core/flags.h.",
                    {{"What the run is", {"name", "resume"}}, {"Optimisation", {"epochs", "lr"}}});
  if (FLAGS_touch_tensor) at::ones({2}).sum().item<float>();
  std::printf("name=%s resume=%d epochs=%lld lr=%g args=%d\n", FLAGS_name.c_str(), FLAGS_resume,
              static_cast<long long>(FLAGS_epochs), FLAGS_lr, argc - 1);
  return 0;
}
