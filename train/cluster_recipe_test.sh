#!/bin/bash
# The deep-clustering recipes end to end at the ci scale: vade_3class trains its backbone on the
# 11 synthetic species, extracts the 3-class set's features, clusters them and writes its outputs;
# a second recipe (gmvae_3class) reuses the backbone and features; --resume of a finished run
# changes nothing; a bad flag is one line and exit 1.
set -euo pipefail
t="$TEST_TMPDIR"
export BUILD_WORKSPACE_DIRECTORY="$t/ws"
mkdir -p "$BUILD_WORKSPACE_DIRECTORY"
# The recipe targets' command lines (an sh_binary's args apply under `bazel run` only).
script="$1" deep_cluster="$2" train="$3" extract="$4" backbone="$5" vade_flags="$6" gmvae_flags="$7"
vade() { "$script" "$deep_cluster" "$vade_flags" "$train" "$extract" "$backbone" "$@"; }
gmvae() { "$script" "$deep_cluster" "$gmvae_flags" "$train" "$extract" "$backbone" "$@"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

vade --scale=ci --progress=false --run_dir="$t/vade" >"$t/vade.out" 2>"$t/vade.err" ||
  { cat "$t/vade.err"; fail "vade_3class failed"; }
grep -q "training the backbone" "$t/vade.err" || fail "the backbone was not trained"
features="$BUILD_WORKSPACE_DIRECTORY/runs/cluster_backbone_ci/features/synthetic_3class"
test -f "$features/test.safetensors" || fail "no backbone features"
for f in results.json metrics.jsonl checkpoint.pt model.safetensors autoencoder.safetensors \
         curves.svg loss.svg clusters.txt latent/train.safetensors latent/test.safetensors; do
  test -s "$t/vade/$f" || fail "vade_3class wrote no $f"
done
/usr/bin/python3 - "$t/vade/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
config = r["config"]
assert config["model"] == "vade" and config["input"]["layer"] == "penultimate", config
for part in ("train", "val", "test", "all"):
    assert 0 <= r[part]["acc"] <= 1 and -1 <= r[part]["ari"] <= 1, r[part]
assert r["start"]["method"] == "gmm" and r["diverged"] is False, r
PY

gmvae --scale=ci --progress=false --run_dir="$t/gmvae" >/dev/null 2>"$t/gmvae.err" ||
  { cat "$t/gmvae.err"; fail "gmvae_3class failed"; }
if grep -q "training the backbone" "$t/gmvae.err"; then fail "the backbone was trained again"; fi

before="$(cat "$t/vade/results.json" | grep -v wall_seconds | grep -v '"command"')"
vade --scale=ci --progress=false --run_dir="$t/vade" --resume >/dev/null 2>&1 \
  || fail "resume of a finished run failed"
after="$(cat "$t/vade/results.json" | grep -v wall_seconds | grep -v '"command"' \
  | grep -v resumed_after)"
[ "$(echo "$before" | grep -v resumed_after)" = "$after" ] || fail "resume changed the results"

if vade --scale=ci --start=kmeans --run_dir="$t/bad" >/dev/null 2>"$t/bad.err"; then
  fail "--start=kmeans was accepted"
fi
grep -q 'unknown prior start "kmeans"' "$t/bad.err" || { cat "$t/bad.err"; fail "message"; }
echo PASS
