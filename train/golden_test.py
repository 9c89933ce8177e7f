"""CI regression of accuracy numbers: trains the ci scale of the vgg16_best and endangered_model4
recipes on the synthetic set (one thread, so the numbers are reproducible) and compares the test
accuracy and loss with the values recorded in train/testdata/ci_golden.json.

On the machine and libraries the golden values were recorded with (the file's fingerprint: CPU
model, LibTorch, OpenCV, compiler) the numbers must match exactly. Elsewhere the test accuracy must
be within the file's stated tolerance, since other CPUs and library builds round differently.

Changing a golden value is a deliberate edit: run
  bazel run //train:golden_test -- --update "<reason>"
and commit the file with that reason.

Usage (Bazel passes these): golden_test.py <train binary> <recipes folder> <golden file>
"""
import json
import os
import subprocess
import sys
import tempfile

RECIPES = ("vgg16_best", "endangered_model4")


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return "unknown"


def train(binary, recipes, recipe, tmp):
    run_dir = os.path.join(tmp, recipe)
    done = subprocess.run(
        [binary, "--flagfile=" + os.path.join(recipes, recipe + ".flags"), "--scale=ci",
         "--threads=1", "--workers=1", "--progress=false", "--run_dir=" + run_dir,
         "--cache_dir=" + os.path.join(tmp, "cache")], capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit("%s failed: %s" % (recipe, done.stderr[-2000:]))
    with open(os.path.join(run_dir, "results.json")) as f:
        return json.load(f)


def main():
    binary, recipes, golden_path = (os.path.abspath(a) for a in sys.argv[1:4])
    update = "--update" in sys.argv[4:]
    tmp = os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp()
    measured = {}
    fingerprint = None
    for recipe in RECIPES:
        results = train(binary, recipes, recipe, tmp)
        measured[recipe] = {"test_acc": results["test_acc"], "test_loss": results["test_loss"],
                            "best_epoch": results["best_epoch"]}
        fingerprint = dict(results["versions"], cpu=cpu_model())
    if update:
        reason = sys.argv[sys.argv.index("--update") + 1] if len(sys.argv) > sys.argv.index(
            "--update") + 1 else ""
        if not reason:
            sys.exit("--update needs a reason")
        # Under `bazel run` the file is in the workspace, not the runfiles.
        workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
        if workspace:
            golden_path = os.path.join(workspace, "train/testdata/ci_golden.json")
        golden = {"reason": reason, "fingerprint": fingerprint, "tolerance": {"test_acc": 0.1},
                  "runs": measured}
        with open(golden_path, "w") as f:
            json.dump(golden, f, indent=2)
            f.write("\n")
        print("wrote", golden_path)
        return
    with open(golden_path) as f:
        golden = json.load(f)
    exact = golden["fingerprint"] == fingerprint
    failures = []
    for recipe in RECIPES:
        want, got = golden["runs"][recipe], measured[recipe]
        if exact:
            if want != got:
                failures.append("%s: recorded %s, measured %s" % (recipe, want, got))
        elif abs(want["test_acc"] - got["test_acc"]) > golden["tolerance"]["test_acc"]:
            failures.append("%s: test accuracy %.4f, recorded %.4f (tolerance %.2f on another "
                            "machine)" % (recipe, got["test_acc"], want["test_acc"],
                                          golden["tolerance"]["test_acc"]))
        print("%s: test_acc %s test_loss %s (recorded %s, %s)" % (
            recipe, got["test_acc"], got["test_loss"], want["test_acc"],
            "exact match required" if exact else "other machine: within tolerance"))
    if failures:
        sys.exit("accuracy regression:\n  " + "\n  ".join(failures) +
                 "\nIf the change is intended, record new values with "
                 "`bazel run //train:golden_test -- --update \"<reason>\"`.")


if __name__ == "__main__":
    main()
