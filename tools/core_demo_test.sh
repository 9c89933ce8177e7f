#!/usr/bin/env bash
# Runs the demo end to end on a temporary folder: it must learn (test accuracy well above chance),
# repeat itself exactly for the same seed, fail with one clear line on bad flags, and list its own
# flags (not LibTorch's) for --help.
set -euo pipefail
demo="$1"
out="$TEST_TMPDIR/run"

"$demo" --out_dir="$out" --epochs=5 --threads=1 >"$TEST_TMPDIR/stdout" 2>"$TEST_TMPDIR/stderr"
grep -q "reloaded weights agree" "$TEST_TMPDIR/stdout"
[ "$(wc -l <"$out/metrics.jsonl")" -eq 5 ] || { echo "expected 5 metric lines"; exit 1; }
acc=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["test_acc"])' "$out/results.json")
/usr/bin/python3 -c 'import sys; a=float(sys.argv[1]); sys.exit(0 if 0.6 < a <= 1.0 else 1)' "$acc" \
  || { echo "test accuracy $acc is not well above chance"; exit 1; }

cp "$out/metrics.jsonl" "$TEST_TMPDIR/first.jsonl"
"$demo" --out_dir="$out" --epochs=5 --threads=1 >/dev/null 2>&1
cmp "$out/metrics.jsonl" "$TEST_TMPDIR/first.jsonl" || { echo "same seed gave other metrics"; exit 1; }

if "$demo" --out_dir="$out" --device=tpu >/dev/null 2>"$TEST_TMPDIR/bad"; then
  echo "--device=tpu should fail"; exit 1
fi
[ "$(wc -l <"$TEST_TMPDIR/bad")" -eq 1 ] && grep -q '^error: --device=tpu' "$TEST_TMPDIR/bad" \
  || { echo "bad flag should give one error line, got:"; cat "$TEST_TMPDIR/bad"; exit 1; }
# --help lists the demo's flags and core/runtime.cc's, none of LibTorch's (see core/flags.h).
help="$TEST_TMPDIR/help"
"$demo" --help >"$help" || { echo "--help should exit with 0"; exit 1; }
grep -q -- '--out_dir (string' "$help" && grep -q -- '--seed (uint64' "$help" \
  || { echo "--help should list the demo's flags and --seed, got:"; cat "$help"; exit 1; }
if grep -q 'caffe2_\|torch_jit' "$help"; then echo "--help lists LibTorch's flags"; exit 1; fi
echo "core_demo: OK (test accuracy $acc)"
