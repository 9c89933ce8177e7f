#!/bin/bash
# The trainer against a plain PyTorch loop (bench/train_peer.py), side by side on the same images,
# machine and thread count: ResNet-50 and VGG16 at the small scale (64 px, width 0.25), Adam,
# batch 64, flips and rotation, 2 loader workers, a validation pass per epoch. Reports the median
# over epochs 2.. of the training images per second (epoch 1 warms up both).
#
#   bench/train_vs_pytorch.sh [images] [epochs] [threads]      (defaults: 1000 4 2)
set -euo pipefail
cd "$(dirname "$0")/.."
images="${1:-1000}"
epochs="${2:-4}"
threads="${3:-2}"
work="$(mktemp -d /tmp/fauna_train_bench.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"  # Both sides: no spinning on a busy machine.

bazel build -c opt //train:train //tools:export_synthetic >/dev/null 2>&1
bazel-bin/tools/export_synthetic --out="$work/data" --count="$images" --size=64 >/dev/null

median() { /usr/bin/python3 -c 'import statistics,sys; print("%.1f" % statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }

echo "| model | fauna img/s | PyTorch img/s | ratio |"
echo "|---|---|---|---|"
for model in resnet50 vgg16; do
  recipe=train/recipes/${model}_best.flags
  bazel-bin/train/train --flagfile="$recipe" --scale=small --data="$work/data" \
    --split=80/10/10 --epochs="$epochs" --max_epochs="$epochs" --patience=0 --threads="$threads" \
    --workers=2 --progress=false --run_dir="$work/run_$model" --cache_dir="$work/cache" 2>/dev/null >/dev/null
  fauna=$(median $(/usr/bin/python3 -c 'import json,sys
rows=[json.loads(l) for l in open(sys.argv[1])]
print(" ".join(str(r["images_per_s"]) for r in rows[1:]))' "$work/run_$model/metrics.jsonl"))
  torch=$(median $(/usr/bin/python3 bench/train_peer.py --data="$work/data" --model=$model \
    --width=0.25 --size=64 --epochs="$epochs" --threads="$threads" --workers=2 | \
    /usr/bin/python3 -c 'import json,sys
rows=[json.loads(l) for l in sys.stdin]
print(" ".join(str(r["images_per_s"]) for r in rows[1:]))'))
  ratio=$(/usr/bin/python3 -c "print('%.2fx' % ($fauna / $torch))")
  echo "| $model | $fauna | $torch | $ratio |"
done
