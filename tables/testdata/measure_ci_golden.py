"""Writes tables/testdata/ci_golden.json from tables run at the ci scale over several seeds.

    bazel-bin/tables/grid --grids=all --scale=ci --seeds=4 --run_threads=2 --out=/tmp/ci_measure
    /usr/bin/python3 tables/testdata/measure_ci_golden.py /tmp/ci_measure "<why, machine>"

For every table, cell and accuracy column (keys holding "acc"), the bounds are the seeds'
mean -/+ (4 sample standard deviations + 0.05), clipped to [0, 1]: the ci table that
`bazel build //tables:all_ci` makes (seed 0, 2 threads) must fall inside them on any machine.
Losses, NMI and ARI are not bounded (at the ci scale a diverging loss, as Figure 4's, varies over
orders of magnitude); that every cell finished is checked for all.
"""
import json
import math
import os
import sys


def main():
    folder, reason = sys.argv[1], sys.argv[2]
    golden = {"how": ("bounds = mean -/+ (4 sd + 0.05) over the seeds, clipped to [0, 1]; "
                      "accuracy columns only"),
              "reason": reason, "tables": {}}
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".json"):
            continue
        with open(os.path.join(folder, name)) as f:
            table = json.load(f)
        seeds = table["seeds"]
        cells = {}
        for cell in table["cells"]:
            if len(cell["finished_seeds"]) != len(seeds):
                sys.exit("%s: %s finished %d of %d seeds" % (name, cell["label"],
                                                              len(cell["finished_seeds"]),
                                                              len(seeds)))
            bounds = {}
            for key, value in cell["values"].items():
                if "acc" not in key:
                    continue
                values = [v for v in value["per_seed"] if isinstance(v, (int, float))]
                if len(values) != len(seeds):
                    sys.exit("%s: %s: %s is not finite for every seed" % (name, cell["label"],
                                                                          key))
                mean = sum(values) / len(values)
                sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
                margin = 4 * sd + 0.05
                bounds[key] = {"min": round(max(0.0, mean - margin), 4),
                               "max": round(min(1.0, mean + margin), 4),
                               "mean": round(mean, 4), "sd": round(sd, 4),
                               "seeds": [round(v, 4) for v in values]}
            cells[cell["label"]] = bounds
        golden["tables"][table["name"]] = {"seeds": seeds, "cells": cells}
    out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "ci_golden.json")
    with open(out, "w") as f:
        json.dump(golden, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote", out)


if __name__ == "__main__":
    main()
