#!/bin/bash
# fauna's deep-clustering trainer against a plain PyTorch loop (bench/vade_peer.py), side by side on
# the same machine and thread count: VaDE's 784-500-500-2000-10 network on all 70,000
# Fashion-MNIST images (Debian's), batch 256, Adam at lr 2e-3; autoencoder pretraining epochs, then
# a diagonal GMM start (10 restarts) and VaDE epochs. Reports the median seconds of an epoch's
# optimisation pass (scoring excluded on both sides) per phase, their ratio (PyTorch over fauna),
# and each side's final ACC / NMI on all images.
#
#   bench/vade_vs_pytorch.sh [pretrain_epochs] [vade_epochs] [threads]     (defaults: 5 5 2)
set -euo pipefail
cd "$(dirname "$0")/.."
pretrain="${1:-5}"
epochs="${2:-5}"
threads="${3:-2}"
work="$(mktemp -d /tmp/fauna_vade_bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"  # Both sides: no spinning on a busy machine.

bazel build -c opt //train:deep_cluster >"$work/build.log" 2>&1 ||
  { cat "$work/build.log" >&2; exit 1; }
fauna_bin="$(readlink -f bazel-bin)/train/deep_cluster"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p'), $threads threads; load before: $(cut -d' ' -f1 /proc/loadavg)"

"$fauna_bin" --data=fashion_mnist --fit_on_all --pretrain_epochs="$pretrain" --pretrain_lr=2e-3 \
  --pretrain_batch_size=256 --start=gmm --gmm_restarts=10 --epochs="$epochs" --lr=2e-3 \
  --batch_size=256 --lr_step_epochs=10 --lr_gamma=0.9 --max_epochs=1000 --threads="$threads" \
  --progress=false --run_dir="$work/fauna" >/dev/null 2>"$work/fauna.log" ||
  { cat "$work/fauna.log" >&2; exit 1; }
/usr/bin/python3 bench/vade_peer.py --pretrain_epochs="$pretrain" --epochs="$epochs" \
  --batch_size=256 --lr=2e-3 --n_init=10 --threads="$threads" >"$work/peer.jsonl"

/usr/bin/python3 - "$work/fauna/metrics.jsonl" "$work/fauna/results.json" "$work/peer.jsonl" <<'PY'
import json, statistics, sys
fauna = [json.loads(l) for l in open(sys.argv[1])]
results = json.load(open(sys.argv[2]))
peer = [json.loads(l) for l in open(sys.argv[3])]
def median(rows, phase, key):
    values = [r[key] for r in rows if r.get("phase") == phase and r.get("epoch", 0) > 0]
    return statistics.median(values) if values else float("nan")
rows = [("autoencoder pretraining", median(fauna, "pretrain", "train_seconds"),
         median(peer, "pretrain", "seconds")),
        ("VaDE", median(fauna, "cluster", "train_seconds"), median(peer, "vade", "seconds"))]
print("| phase | fauna s/epoch | PyTorch s/epoch | ratio |")
print("|---|---|---|---|")
for name, f, p in rows:
    print(f"| {name} | {f:.2f} | {p:.2f} | {p / f:.2f}x |")
last = [r for r in peer if r.get("phase") == "vade"][-1]
print(f"final ACC on all 70,000: fauna {results['all']['acc']:.4f} "
      f"(NMI {results['all']['nmi']:.4f}), PyTorch {last['acc']:.4f} (NMI {last['nmi']:.4f})")
PY
