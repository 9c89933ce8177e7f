"""CI regression of accuracy numbers: trains the guarded recipes at the ci scale on the synthetic
set, with the data size and epoch cap written in train/testdata/ci_golden.json (the recipe's own
hyper-parameters untouched), and fails when a recipe's test accuracy falls below the file's floor
or its test loss rises above the file's ceiling.

The bounds are not one machine's numbers. `--measure` trains every guarded recipe over several
seeds at 1 and 2 threads; a different seed, thread count or CPU only reorders float sums, and
training turns that into run-to-run spread. The floor is the lowest measured accuracy less two
standard deviations of the measured runs (the ceiling: the highest loss plus two), so the check
(seed 0, one thread) passes on any x86-64 CPU unless the numbers really got worse. Measuring
refuses bounds that would not catch a model that learns nothing: the floor must lie well above
chance.

Changing the bounds is a deliberate edit, with a reason, committed with the file:
  bazel run //train:golden_test -- --measure "<reason>"

Usage (Bazel passes these): golden_test.py <train binary> <recipes folder> <golden file>
  [--measure "<reason>" [--seeds=N] [--jobs=N]]
"""
import concurrent.futures
import datetime
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import tempfile

# The check's own run; --measure adds seeds 1.. and 2 threads.
CHECK_SEED = 0
CHECK_THREADS = 1
# Ci-scale settings under which each guarded recipe clearly learns: more images and epochs than
# the ci scale's defaults (480 images, 3 epochs), where vgg16_best is still at chance. Only the
# data size and the epoch cap differ from the recipe.
GUARDED = {
    "vgg16_best": ["--synthetic_count=3000", "--max_epochs=16"],
    "endangered_model4": ["--synthetic_count=2000", "--max_epochs=8"],
}
# How far above chance a floor must lie for the guard to mean something.
MIN_MARGIN_OVER_CHANCE = 0.1
SPREAD_FACTOR = 2.0


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def train(binary, recipes, recipe, flags, seed, threads, tmp):
    run_dir = os.path.join(tmp, "%s-seed%d-threads%d" % (recipe, seed, threads))
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    done = subprocess.run(
        [binary, "--flagfile=" + os.path.join(recipes, recipe + ".flags"), "--scale=ci",
         "--seed=%d" % seed, "--threads=%d" % threads, "--workers=1", "--progress=false",
         "--run_dir=" + run_dir,
         "--cache_dir=" + os.path.join(tmp, "cache-%d-%d" % (seed, threads))] + flags,
        capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit("%s failed: %s" % (recipe, done.stderr[-2000:]))
    with open(os.path.join(run_dir, "results.json")) as f:
        results = json.load(f)
    return {"seed": seed, "threads": threads, "test_acc": results["test_acc"],
            "test_loss": results["test_loss"], "best_epoch": results["best_epoch"],
            "test_count": results["test_count"], "classes": len(results["class_names"])}


def as_number(value):
    # results.json writes NaN as the string "NaN".
    return float(value) if not isinstance(value, str) else float("nan")


def bounds(runs):
    accs = [as_number(r["test_acc"]) for r in runs]
    losses = [as_number(r["test_loss"]) for r in runs]
    acc_sd, loss_sd = statistics.stdev(accs), statistics.stdev(losses)
    return {
        "test_acc": {"mean": statistics.mean(accs), "sd": acc_sd, "min": min(accs),
                     "max": max(accs),
                     "floor": math.floor((min(accs) - SPREAD_FACTOR * acc_sd) * 1000) / 1000},
        "test_loss": {"mean": statistics.mean(losses), "sd": loss_sd, "min": min(losses),
                      "max": max(losses),
                      "ceiling": math.ceil((max(losses) + SPREAD_FACTOR * loss_sd) * 1000) / 1000},
    }


def measure(binary, recipes, golden_path, tmp, reason, seeds, jobs):
    if not reason:
        sys.exit("--measure needs a reason")
    golden = {
        "reason": reason,
        "how": ("each recipe trained at the ci scale with its flags below, seeds 0..%d, at 1 and 2 "
                "threads (%d runs each); floor = lowest test accuracy - %g sd, ceiling = highest "
                "test loss + %g sd; the check trains seed %d at %d thread" %
                (seeds - 1, 2 * seeds, SPREAD_FACTOR, SPREAD_FACTOR, CHECK_SEED, CHECK_THREADS)),
        "measured_on": {"cpu": cpu_model(), "cores": os.cpu_count(),
                        "date": datetime.date.today().isoformat()},
        "recipes": {},
    }
    for recipe, flags in GUARDED.items():
        cells = [(seed, threads) for seed in range(seeds) for threads in (1, 2)]
        with concurrent.futures.ThreadPoolExecutor(max_workers=jobs) as pool:
            runs = list(pool.map(lambda c: train(binary, recipes, recipe, flags, c[0], c[1], tmp),
                                 cells))
        entry = {"flags": flags, "chance": 1.0 / runs[0]["classes"], "runs": runs}
        entry.update(bounds(runs))
        if entry["test_acc"]["floor"] < entry["chance"] + MIN_MARGIN_OVER_CHANCE:
            sys.exit("%s: the floor %.3f is not %.2f above chance (%.3f): these settings would not "
                     "catch a model that learns nothing; give the recipe more data or epochs" %
                     (recipe, entry["test_acc"]["floor"], MIN_MARGIN_OVER_CHANCE,
                      entry["chance"]))
        golden["recipes"][recipe] = entry
        print("%s: test accuracy %.3f +- %.3f (min %.3f), floor %.3f; test loss %.3f +- %.3f "
              "(max %.3f), ceiling %.3f" % (
                  recipe, entry["test_acc"]["mean"], entry["test_acc"]["sd"],
                  entry["test_acc"]["min"], entry["test_acc"]["floor"],
                  entry["test_loss"]["mean"], entry["test_loss"]["sd"],
                  entry["test_loss"]["max"], entry["test_loss"]["ceiling"]))
    # Under `bazel run` the file is in the workspace, not the runfiles.
    workspace = os.environ.get("BUILD_WORKSPACE_DIRECTORY")
    if workspace:
        golden_path = os.path.join(workspace, "train/testdata/ci_golden.json")
    with open(golden_path, "w") as f:
        json.dump(golden, f, indent=2)
        f.write("\n")
    print("wrote", golden_path)


def check(binary, recipes, golden_path, tmp):
    with open(golden_path) as f:
        golden = json.load(f)
    failures = []
    for recipe, flags in GUARDED.items():
        want = golden["recipes"].get(recipe)
        if want is None or want["flags"] != flags:
            failures.append("%s: the golden file has no bounds for these settings (%s); measure "
                            "them" % (recipe, " ".join(flags)))
            continue
        got = train(binary, recipes, recipe, flags, CHECK_SEED, CHECK_THREADS, tmp)
        acc, loss = as_number(got["test_acc"]), as_number(got["test_loss"])
        floor, ceiling = want["test_acc"]["floor"], want["test_loss"]["ceiling"]
        print("%s: test accuracy %.4f (floor %.3f; measured %.3f +- %.3f on %s), test loss %.4f "
              "(ceiling %.3f)" % (recipe, acc, floor, want["test_acc"]["mean"],
                                  want["test_acc"]["sd"], golden["measured_on"]["cpu"], loss,
                                  ceiling))
        # A NaN fails both comparisons.
        if not acc >= floor:
            failures.append("%s: test accuracy %.4f below the floor %.3f (chance %.3f)" %
                            (recipe, acc, floor, want["chance"]))
        if not loss <= ceiling:
            failures.append("%s: test loss %.4f above the ceiling %.3f" % (recipe, loss, ceiling))
    if failures:
        sys.exit("accuracy regression:\n  " + "\n  ".join(failures) +
                 "\nIf the change is intended, measure new bounds with "
                 "`bazel run //train:golden_test -- --measure \"<reason>\"`.")


def main():
    binary, recipes, golden_path = (os.path.abspath(a) for a in sys.argv[1:4])
    options = sys.argv[4:]
    if "--measure" in options:
        # Not TEST_TMPDIR: under `bazel run` the next Bazel command would empty it mid-run.
        tmp = tempfile.mkdtemp(prefix="fauna_golden_")
        at = options.index("--measure")
        reason = options[at + 1] if at + 1 < len(options) else ""
        seeds = next((int(o.split("=", 1)[1]) for o in options if o.startswith("--seeds=")), 4)
        jobs = next((int(o.split("=", 1)[1]) for o in options if o.startswith("--jobs=")), 2)
        measure(binary, recipes, golden_path, tmp, reason, seeds, jobs)
    else:
        check(binary, recipes, golden_path, os.environ.get("TEST_TMPDIR") or tempfile.mkdtemp())


if __name__ == "__main__":
    main()
