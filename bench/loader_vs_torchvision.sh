#!/usr/bin/env bash
# The loader benchmark: fauna's loader beside torchvision's ImageFolder + DataLoader on the same
# JPEGs (512x512, quality 95, resized to 224, flipped, rotated, normalised), same worker count.
#
#   bench/loader_vs_torchvision.sh [COUNT] [WORKERS] [NOISE]
#
# Defaults: 1024 images, 2 workers, noise 12 (bench/make_jpegs.py: +-12 levels a pixel, 137 KB a
# JPEG). JPEG decoding, which both sides pay, grows with the file size, so smoother images (a lower
# NOISE) favour the side that does the rest faster.
#
# Prints both sides' JSON lines, then a table of median images/s and ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
count=${1:-1024}
workers=${2:-2}
noise=${3:-12}
data=${TMPDIR:-/tmp}/fauna_bench_jpegs_$count
[ "$noise" = 12 ] || data=${data}_noise$noise
[ -d "$data" ] || /usr/bin/python3 bench/make_jpegs.py "$data" --count "$count" --size 512 \
  --quality 95 --noise "$noise"

bazel build //bench:loader_bench >/dev/null 2>&1 || bazel build //bench:loader_bench
log=$(mktemp)
/usr/bin/python3 bench/loader_peer.py "$data" --workers "$workers" --epochs 3 | tee -a "$log"
bazel-bin/bench/loader_bench --root="$data" --workers="$workers" --epochs=3 --cached_epochs=3 | tee -a "$log"

/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
def median(peer, mode=None):
    rates = [r["images_per_s"] for r in rows if r["peer"] == peer and r.get("mode") == mode]
    return statistics.median(rates)
tv = median("torchvision")
uncached = median("fauna", "uncached")
cached = median("fauna", "cached")
build = median("fauna", "cache_build")
print()
print("| loader | images/s (median of epochs) | vs torchvision |")
print("|---|---|---|")
print("| torchvision ImageFolder + DataLoader | %.0f | 1.00x |" % tv)
print("| fauna, from the JPEG files | %.0f | %.2fx |" % (uncached, uncached / tv))
print("| fauna, building the decoded cache | %.0f | %.2fx |" % (build, build / tv))
print("| fauna, from the decoded cache | %.0f | %.2fx (%.1fx fauna uncached) |" % (cached, cached / tv, cached / uncached))
PY
rm -f "$log"
