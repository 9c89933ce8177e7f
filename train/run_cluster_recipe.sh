#!/bin/bash
# Runs the deep-clustering trainer with a recipe of the AFHQ study's section D:
#   run_cluster_recipe.sh <deep_cluster> <recipe.flags> <train> <extract_features> <backbone.flags>
#                         [flags that override the recipe]
# With --features (the study's setting: e.g. ResNet-50 features) or --data among the flags, the
# trainer runs on those. Otherwise its input is the penultimate features of a backbone that never
# saw the recipe's labels: the endangered-animal study's Model 4 trained on the 11 synthetic
# species (another task: it has lions and arctic foxes among its classes, but no cat/dog/wild or
# 7-species labels), at the same --scale. The backbone is trained once, and its features extracted
# once per class count, under runs/cluster_backbone_<scale>/ in the workspace; later runs reuse
# them (delete the folder to rebuild them).
set -euo pipefail
export OMP_WAIT_POLICY="${OMP_WAIT_POLICY:-PASSIVE}"
deep_cluster="$1"
recipe="$2"
train="$3"
extract="$4"
backbone_recipe="$5"
shift 5
scale=auto
classes="$(sed -n 's/^--synthetic_classes=//p' "$recipe")"
for flag in "$@"; do
  case "$flag" in
    --features=* | --data=*) exec "$deep_cluster" --flagfile="$recipe" "$@" ;;
    --scale=*) scale="${flag#--scale=}" ;;
    --synthetic_classes=*) classes="${flag#--synthetic_classes=}" ;;
  esac
done
root="${BUILD_WORKSPACE_DIRECTORY:-$PWD}"
backbone="$root/runs/cluster_backbone_$scale"
if [ ! -f "$backbone/model.safetensors" ]; then
  echo "run_cluster_recipe: training the backbone (endangered_model4 on 11 synthetic species, " \
    "scale $scale) into $backbone" >&2
  "$train" --flagfile="$backbone_recipe" --scale="$scale" --run_dir="$backbone" --progress=false \
    >&2
fi
features="$backbone/features/synthetic_${classes}class"
if [ ! -f "$features/test.safetensors" ]; then
  "$extract" --model=endangered_model4 --init_weights="$backbone/model.safetensors" \
    --layer=penultimate --data=synthetic --synthetic_classes="$classes" --scale="$scale" \
    --out="$features" --progress=false >&2
fi
exec "$deep_cluster" --flagfile="$recipe" --features="$features" --scale="$scale" "$@"
