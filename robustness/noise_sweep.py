"""The noise sweep: any trainer's recipe run on clean data and on data with a growing fraction of
noisy images (the AFHQ study's "dirty data", Table 4, for any model or head pipeline), as a table.

    bazel run //robustness:noise_sweep -- --trainer=train --recipe=endangered_model4 \
        --fractions=0,0.05,0.1,0.2 --scale=small --seeds=3
    bazel run //robustness:noise_sweep -- --trainer=autoencoder_svm --recipe=autoencoder_svm \
        --columns=train_acc,val_acc,test_acc -- --epochs=5

It writes a grid file (one cell per fraction: --noise_fraction, with --noise_sigma) into
<out>/grids/ and runs it with //tables:grid, which resumes, shards and merges as for every table:
<out>/<name>.md, .json, .svg. Flags it does not know (--scale, --seeds, --data, --jobs, --shard,
--run_threads, --merge_only, --trainer_path) and everything after -- go to the grid runner.
"""
import argparse
import json
import os
import re
import sys


def fail(message):
    print("error: " + message, file=sys.stderr)
    sys.exit(1)


def fractions_of(text):
    values = []
    for item in text.split(","):
        try:
            value = float(item)
        except ValueError:
            fail("--fractions: \"%s\" is not a number" % item)
        if not 0 <= value <= 1:
            fail("--fractions: %s is not in [0, 1]" % item)
        if value in [float(v) for v in values]:
            fail("--fractions: %s twice" % item)
        values.append(item)
    return values


def main():
    # //tables:grid, beside this script in the runfiles.
    grid = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tables", "grid")
    parser = argparse.ArgumentParser(prog="noise_sweep", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trainer", default="train",
                        help="train, deep_cluster or autoencoder_svm (tables/trainer_kind.h)")
    parser.add_argument("--recipe", required=True, help="a recipe of train/recipes/, by name")
    parser.add_argument("--fractions", default="0,0.05,0.1,0.15,0.2",
                        help="fractions of noisy images, in [0, 1]")
    parser.add_argument("--sigma", type=float, default=25,
                        help="the noise's standard deviation in pixel levels (0-255)")
    parser.add_argument("--columns", default="test_acc,best.val_acc",
                        help="dotted keys of each run's results.json")
    parser.add_argument("--name", default="",
                        help="the table's name; default noise_<recipe>_sigma<sigma>")
    parser.add_argument("--scale", default="small", help="ci, small or paper")
    parser.add_argument("--out", default="",
                        help="default runs/noise_sweep/<scale> in the workspace")
    own, rest = parser.parse_known_args(sys.argv[1:])
    if not 0 <= own.sigma <= 255:
        fail("--sigma=%g: expected pixel levels in [0, 255]" % own.sigma)
    # The sigma and the scale name the table and its folder: runs of another never count.
    name = own.name or "noise_%s_sigma%s" % (own.recipe, ("%g" % own.sigma).replace(".", "_"))
    if not re.fullmatch(r"[a-z0-9_]+", name):
        fail("--name=%s: a table's name is [a-z0-9_]+" % name)
    columns = [key for key in own.columns.split(",") if key]
    if not columns:
        fail("--columns: at least one key")
    fractions = fractions_of(own.fractions)
    out = own.out or os.path.join(os.environ.get("BUILD_WORKSPACE_DIRECTORY", "."), "runs",
                                  "noise_sweep", own.scale)
    if not os.path.isabs(out):
        out = os.path.join(os.environ.get("BUILD_WORKING_DIRECTORY", "."), out)
    spec = {
        "name": name,
        "title": "Noise sweep: %s (%s) with %s%% of the images noisy (sigma %g)" % (
            own.recipe, own.trainer, ", ".join("%g" % (100 * float(f)) for f in fractions),
            own.sigma),
        "trainer": own.trainer,
        "recipe": own.recipe,
        "flags": ["--data={data}", "--noise_sigma=%g" % own.sigma],
        "axes": [{"flag": "noise_fraction", "values": fractions}],
        "columns": [{"key": key} for key in columns],
        "plot": columns[0],
    }
    os.makedirs(os.path.join(out, "grids"), exist_ok=True)
    path = os.path.join(out, "grids", name + ".json")
    with open(path + ".tmp%d" % os.getpid(), "w") as f:  # Shards may start together.
        json.dump(spec, f, indent=2)
        f.write("\n")
    os.replace(path + ".tmp%d" % os.getpid(), path)
    os.execv(grid, [grid, "--grids=" + path, "--out=" + out, "--scale=" + own.scale] + rest)


if __name__ == "__main__":
    main()
