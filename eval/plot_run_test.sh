#!/usr/bin/env bash
# Runs //eval:plot_run on metrics files written here: a good run gives a well-formed curves.svg
# (Python's XML parser reads it) with the best epoch marked; every bad input gives one clear
# "error: ..." line, exit code 1 and no SVG.
set -euo pipefail
tool="$1"
run="$TEST_TMPDIR/run_a"
mkdir -p "$run"

fail() { echo "FAIL: $*"; exit 1; }

# Checks that $1 is an SVG document that Python's XML parser reads.
parse_svg() {
  /usr/bin/python3 -c 'import sys, xml.dom.minidom
root = xml.dom.minidom.parse(sys.argv[1]).documentElement
assert root.tagName == "svg", root.tagName' "$1" || fail "$1 is not well-formed SVG"
}

# Runs the tool expecting failure: exit code 1, one stderr line starting "error: " that holds $1.
expect_error() {
  local want="$1"; shift
  local code=0
  "$tool" "$@" >"$TEST_TMPDIR/stdout" 2>"$TEST_TMPDIR/stderr" || code=$?
  [ "$code" -eq 1 ] || fail "plot_run $* exited $code, not 1"
  [ "$(wc -l <"$TEST_TMPDIR/stderr")" -eq 1 ] \
    || { cat "$TEST_TMPDIR/stderr"; fail "plot_run $*: not one error line"; }
  grep -q '^error: ' "$TEST_TMPDIR/stderr" || fail "plot_run $*: no 'error: ' prefix"
  grep -qF -- "$want" "$TEST_TMPDIR/stderr" \
    || { cat "$TEST_TMPDIR/stderr"; fail "plot_run $*: error lacks '$want'"; }
}

# A run of 6 epochs: val_acc is best at epoch 5, val_loss lowest at epoch 4; a NaN, a blank line
# and a final summary line without an epoch.
cat >"$run/metrics.jsonl" <<'JSON'
{"epoch":1,"train_loss":1.05,"train_acc":0.52,"val_loss":1.01,"val_acc":0.55,"lr":0.01}
{"epoch":2,"train_loss":0.81,"train_acc":0.66,"val_loss":0.84,"val_acc":0.63,"lr":0.01}
{"epoch":3,"train_loss":0.64,"train_acc":0.74,"val_loss":"NaN","val_acc":0.70,"lr":0.01}

{"epoch":4,"train_loss":0.52,"train_acc":0.80,"val_loss":0.61,"val_acc":0.74,"lr":0.001}
{"epoch":5,"train_loss":0.44,"train_acc":0.84,"val_loss":0.62,"val_acc":0.78,"lr":0.001}
{"epoch":6.0,"train_loss":0.37,"train_acc":0.88,"val_loss":0.66,"val_acc":0.77,"lr":0.001}
{"test_acc":0.76,"test_loss":0.65}
JSON

"$tool" "$run" >"$TEST_TMPDIR/stdout"
grep -q "wrote $run/curves.svg (6 epochs, best epoch 5 by val_acc)" "$TEST_TMPDIR/stdout" \
  || { cat "$TEST_TMPDIR/stdout"; fail "unexpected report"; }
parse_svg "$run/curves.svg"
[ "$(grep -c '<path d=' "$run/curves.svg")" -eq 4 ] || fail "expected 4 curves"
[ "$(grep -o '>best epoch 5<' "$run/curves.svg" | wc -l)" -eq 2 ] || fail "best epoch 5 not marked"
grep -q '>run_a</text>' "$run/curves.svg" || fail "title is not the run folder's name"
# The NaN val_loss at epoch 3 splits the val loss curve in two.
/usr/bin/python3 -c 'import re, sys
paths = re.findall(r"<path d=\"([^\"]*)\"", open(sys.argv[1]).read())
assert paths[1].count("M") == 2, paths[1]' "$run/curves.svg" || fail "NaN is not a gap"

# The metrics file named directly, another output, title and best epoch rule.
"$tool" "$run/metrics.jsonl" --out="$TEST_TMPDIR/other.svg" --title="VGG16 <AFHQ>" \
  --best_by=val_loss >"$TEST_TMPDIR/stdout"
grep -q "best epoch 4 by val_loss" "$TEST_TMPDIR/stdout" || fail "val_loss should pick epoch 4"
parse_svg "$TEST_TMPDIR/other.svg"
grep -q '>VGG16 &lt;AFHQ&gt;</text>' "$TEST_TMPDIR/other.svg" || fail "title not escaped"

"$tool" "$run" --out="$TEST_TMPDIR/none.svg" --best_by=none >/dev/null
! grep -q 'best epoch' "$TEST_TMPDIR/none.svg" || fail "--best_by=none still marks an epoch"

# A resumed run wrote epochs 2 and 3 again: each epoch is drawn once, from its last record.
resumed="$TEST_TMPDIR/resumed"
mkdir -p "$resumed"
cat >"$resumed/metrics.jsonl" <<'JSON'
{"epoch":1,"train_loss":1.0,"train_acc":0.5,"val_loss":1.0,"val_acc":0.5}
{"epoch":2,"train_loss":0.9,"train_acc":0.6,"val_loss":0.9,"val_acc":0.9}
{"epoch":3,"train_loss":0.8,"train_acc":0.7,"val_loss":0.8,"val_acc":0.6}
{"epoch":2,"train_loss":0.9,"train_acc":0.6,"val_loss":0.9,"val_acc":0.55}
{"epoch":3,"train_loss":0.8,"train_acc":0.7,"val_loss":0.8,"val_acc":0.6}
JSON
"$tool" "$resumed" >"$TEST_TMPDIR/stdout"
grep -q "(3 epochs, best epoch 3 by val_acc)" "$TEST_TMPDIR/stdout" \
  || { cat "$TEST_TMPDIR/stdout"; fail "resumed run not read as 3 epochs, last record winning"; }
[ "$(grep -c 'class="marker"' "$resumed/curves.svg")" -eq 12 ] || fail "expected 12 markers"

# Bad inputs: one error line each, and no SVG written.
bad="$TEST_TMPDIR/bad"
mkdir -p "$bad"
printf '{"epoch":1,"train_loss":1.0}\n{"epoch":2,"train_loss":\n' >"$bad/metrics.jsonl"
expect_error "metrics.jsonl:2: malformed JSON line" "$bad"
[ ! -e "$bad/curves.svg" ] || fail "a malformed file left an SVG"

printf '{"epoch":1,"train_loss":"abc"}\n' >"$bad/metrics.jsonl"
expect_error 'record 1: train_loss is "abc", not a number' "$bad"
printf '{"epoch":1.5,"train_loss":1}\n' >"$bad/metrics.jsonl"
expect_error 'record 1: epoch is 1.5, not a whole number' "$bad"
printf '[1, 2]\n' >"$bad/metrics.jsonl"
expect_error 'record 1 is array, not a JSON object' "$bad"
printf '{"test_acc":0.5}\n\n' >"$bad/metrics.jsonl"
expect_error "has no epoch records" "$bad"
[ ! -e "$bad/curves.svg" ] || fail "a bad file left an SVG"

expect_error "cannot open JSON-lines file" "$TEST_TMPDIR/missing"
expect_error "--best_by must be val_acc, val_loss or none" "$run" --best_by=accuracy
expect_error "usage: plot_run" 
expect_error "usage: plot_run" "$run" "$run"
expect_error "no/such/folder" "$run" --out="$TEST_TMPDIR/no/such/folder/x.svg"
echo "plot_run: OK"
