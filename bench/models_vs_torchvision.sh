#!/usr/bin/env bash
# The models benchmark: fauna's networks (//models:models_bench, C++) beside the same networks in
# PyTorch (models/bench_peer.py: torchvision's ResNet and VGG, plain torch.nn for the endangered
# CNNs and the autoencoder), on the same machine and thread count, at the trainer's three scales:
#
#   ci     32 px, width 0.125, batch 16
#   small  64 px, width 0.25,  batch 32
#   paper 224 px, width 1.0,   batch 8 (the training recipe uses 64 on a GPU; 8 keeps a CPU run
#                                       short)
#
# Modes: forward (eval mode, no autograd) and train (zero_grad, forward, cross-entropy or, for the
# autoencoder, MSE reconstruction loss, backward, SGD step).
#
#   bench/models_vs_torchvision.sh [--threads=2] [--rounds=3] [--scales=ci,small,paper]
#       [--models=LIST] [--paper_models=LIST] [--min_time=0.5]
#
# First both sides print every network's parameter count and state-dict keys with shapes; the
# script stops if any differ. Then, for each round and scale, it runs fauna and torch one after
# the other (alternating which goes first), so that load changes on a shared machine hit both
# sides alike. Each run reports the median step of every model and mode (at least --min_time s and
# 3 steps after 2 warm-up steps; at the paper scale one step after one warm-up, and only
# --paper_models, to keep the whole script near 10 minutes on 2 cores). The table gives the median
# over rounds and the ratio fauna / torch; ${TMPDIR:-/tmp}/models_vs_torchvision.jsonl keeps every
# run's lines.
set -euo pipefail
cd "$(dirname "$0")/.."

threads=2
rounds=3
scales=ci,small,paper
models=resnet18,resnet50,vgg16,vgg16_bn,endangered_baseline,endangered_model4,autoencoder
paper_models=resnet18,resnet50,vgg16,endangered_model4,autoencoder
min_time=0.5
for arg in "$@"; do
  case $arg in
    --threads=*) threads=${arg#*=} ;;
    --rounds=*) rounds=${arg#*=} ;;
    --scales=*) scales=${arg#*=} ;;
    --models=*) models=${arg#*=} ;;
    --paper_models=*) paper_models=${arg#*=} ;;
    --min_time=*) min_time=${arg#*=} ;;
    *) sed -n '2,/^set -euo/p' "$0" | sed '$d' >&2; exit 2 ;;
  esac
done

# OpenMP threads that spin at every barrier wait out a whole time slice whenever another process
# holds the core their partner needs: on a shared 2-core machine, 2 spinning threads ran the small
# models 10-100x slower than 1 thread. Sleeping waits keep 2 threads usable under load; both sides
# get the same setting. Set OMP_WAIT_POLICY=ACTIVE for LibTorch's default on an idle machine.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}

bazel build //models:models_bench >/dev/null 2>&1 || bazel build //models:models_bench
fauna=bazel-bin/models/models_bench
peer="/usr/bin/python3 models/bench_peer.py"
shapes=$(mktemp)
trap 'rm -f "$shapes"' EXIT
log=${TMPDIR:-/tmp}/models_vs_torchvision.jsonl  # every run's JSON lines, kept
: >"$log"

scale_models() { if [ "$1" = paper ]; then echo "$paper_models"; else echo "$models"; fi; }
timing_flags() {
  if [ "$1" = paper ]; then echo "--min_time=0 --min_steps=1 --warmup=1"
  else echo "--min_time=$min_time --min_steps=3 --warmup=2"; fi
}

# 1. Both sides build the same networks.
for scale in ${scales//,/ }; do
  flags="--scale=$scale --models=$(scale_models "$scale") --describe"
  $fauna $flags >>"$shapes"
  $peer $flags >>"$shapes"
done
/usr/bin/python3 - "$shapes" <<'PY'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
sides = {(r["peer"], r["model"], r["scale"]): r for r in rows}
bad = 0
for (peer, model, scale), f in sides.items():
    if peer != "fauna":
        continue
    t = sides[("torch", model, scale)]
    same = f["params"] == t["params"] and f["keys"] == t["keys"]
    print("%-20s %-5s parameters fauna %11d torch %11d %s" % (
        model, scale, f["params"], t["params"], "same keys and shapes" if same else "DIFFER"))
    if not same:
        bad += 1
        for key in sorted(set(f["keys"]) ^ set(t["keys"])):
            print("    only in %s: %s" % ("fauna" if key in f["keys"] else "torch", key))
if bad:
    sys.exit("models_vs_torchvision: %d networks differ between fauna and torch" % bad)
PY

# 2. Interleaved rounds.
for round in $(seq 1 "$rounds"); do
  for scale in ${scales//,/ }; do
    flags="--scale=$scale --models=$(scale_models "$scale") --threads=$threads $(timing_flags "$scale")"
    if [ $((round % 2)) = 1 ]; then order="fauna torch"; else order="torch fauna"; fi
    for side in $order; do
      echo "round $round, $scale, $side" >&2
      if [ "$side" = fauna ]; then $fauna $flags; else $peer $flags; fi |
        sed "s/^{/{\"round\": $round, /" >>"$log"
    done
  done
done

# 3. The table.
/usr/bin/python3 - "$log" "$threads" "$rounds" <<'PY'
import collections, json, os, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if line.startswith("{")]
threads = int(sys.argv[2])
wrong = {(r["peer"], r["threads"]) for r in rows if r["threads"] != threads}
if wrong:
    sys.exit("models_vs_torchvision: thread counts differ from %d: %s" % (threads, sorted(wrong)))
rates = collections.defaultdict(list)
order = []
for r in rows:
    key = (r["model"], r["scale"], r["mode"])
    if key not in order:
        order.append(key)
    rates[key + (r["peer"],)].append(r["images_per_s"])
print()
print("%s thread(s) each, OMP_WAIT_POLICY=%s, median over %s rounds of each run's median step, "
      "images/s:" % (threads, os.environ.get("OMP_WAIT_POLICY"), sys.argv[3]))
print()
print("| model | scale | mode | fauna img/s | torch img/s | fauna / torch |")
print("|---|---|---|---|---|---|")
scale_rank = {"ci": 0, "small": 1, "paper": 2}
for model, scale, mode in sorted(order, key=lambda k: (scale_rank.get(k[1], 3), order.index(k))):
    f = statistics.median(rates[(model, scale, mode, "fauna")])
    t = statistics.median(rates[(model, scale, mode, "torch")])
    fmt = lambda v: "%.1f" % v if v < 100 else "%.0f" % v
    print("| %s | %s | %s | %s | %s | %.2fx |" % (model, scale, mode, fmt(f), fmt(t), f / t))
PY
