#!/usr/bin/env bash
# Installs every Debian package fauna needs to build, test and benchmark; idempotent and quiet when
# everything is already there. Run as root, or as a user who may use sudo.
#
# Example:
#   tools/setup.sh && bazel test //...
set -euo pipefail

readonly kPackages=(
  # Build: Bazel 4 offline, with Debian's rules_cc and rules_java.
  bazel-bootstrap bazel-rules-cc bazel-rules-java
  g++ zlib1g-dev
  # Libraries, wired in third_party/.
  libtorch-dev libgloo-dev libopencv-dev libabsl-dev libgflags-dev libgtest-dev libgmock-dev
  libbenchmark-dev nlohmann-json3-dev libsvm-dev libjpeg62-turbo-dev
  # An optimised BLAS behind libblas.so.3 (Debian's default is the netlib reference one, which
  # makes LibTorch's linear layers several times slower); the OpenMP build shares LibTorch's threads.
  libopenblas0-openmp
  # Tests, plots and the Python peers of the benchmarks.
  python3 python3-numpy python3-scipy python3-torch python3-torchvision python3-sklearn python3-matplotlib
  # Real benchmark data.
  dataset-fashion-mnist
)

missing=()
for pkg in "${kPackages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$pkg")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi

echo "setup: installing ${missing[*]}" >&2
log=$(mktemp)
export DEBIAN_FRONTEND=noninteractive
if ! "${sudo[@]}" apt-get update -qq >"$log" 2>&1; then
  cat "$log" >&2; echo "setup: apt-get update failed" >&2; exit 1
fi
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
  tail -n 30 "$log" >&2
  failed=()
  for pkg in "${missing[@]}"; do
    apt-cache show "$pkg" >/dev/null 2>&1 || failed+=("$pkg")
  done
  echo "setup: could not install: ${failed[*]:-${missing[*]}}" >&2
  exit 1
fi
rm -f "$log"

still=()
for pkg in "${missing[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q '^install ok installed$' || still+=("$pkg")
done
if [ ${#still[@]} -ne 0 ]; then
  echo "setup: could not install: ${still[*]}" >&2
  exit 1
fi
