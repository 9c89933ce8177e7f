"""Records the oracle values //eval:tsne_test checks fauna's t-SNE against.

Writes, next to this script:
  tsne_blobs.safetensors  the fixture: 300 points in 10-D, 5 well-separated Gaussian blobs
                          (sklearn.datasets.make_blobs, cluster_std 1, centres in [-10, 10]^10,
                          random_state 0), float32, as a fauna features file;
  tsne_oracle.json        for each case (2-D and 3-D; exact and Barnes-Hut): scikit-learn's and
                          fauna's KL divergence and trustworthiness (5 neighbours) over 10 seeds
                          with init='random' and once with init='pca'; for 3-D also fauna with
                          --sklearn_gradient (scikit-learn's force weights); and the bounds the
                          test applies, derived from that spread by the rules in RULES.

Both sides run with perplexity 30, learning rate 'auto', 1000 iterations, early exaggeration 12,
theta 0.5, and get the same float32 values (as float64). fauna runs through its command-line tool
(--pca=0, --threads=1). Re-measure (a deliberate edit, committed with the files):

  bazel build //eval:tsne_main && \
    /usr/bin/python3 eval/testdata/measure_tsne_oracle.py bazel-bin/eval/tsne_main "<reason>"
"""
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile

import numpy as np
import sklearn
from sklearn.datasets import make_blobs
from sklearn.manifold import TSNE, trustworthiness

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "bench"))
from features_io import read_features, write_features  # noqa: E402

SEEDS = list(range(10))
PERPLEXITY = 30.0
CASES = [(dims, method) for dims in (2, 3) for method in ("exact", "barnes_hut")]
SPREAD = 4  # standard deviations
RULES = {
    "same_objective_and_forces": "2-D (fauna's forces are scikit-learn's there) and 3-D with "
        "--sklearn_gradient: fauna's KL must lie within [min, max] of scikit-learn's KL over all "
        "its runs, widened on each side by 4 standard deviations of scikit-learn's KL over the "
        "random-init seeds; fauna's trustworthiness must be at least scikit-learn's minimum less "
        "4 standard deviations of scikit-learn's trustworthiness over those seeds",
    "3d_kl_gradient": "3-D with fauna's default forces (the KL's gradient, which scikit-learn "
        "does not follow for dof = 2): the KL must be at most scikit-learn's maximum plus 4 "
        "standard deviations (no worse an optimum of the same objective); the trustworthiness at "
        "least scikit-learn's minimum less the measured gap (scikit-learn's mean less fauna's, "
        "when positive) less 4 times the larger standard deviation of the two",
    "exact_vs_barnes_hut": "|KL(exact) - KL(barnes_hut)| of fauna with its default forces (same "
        "dims, init) must be at most 2 x the largest such difference measured over fauna's runs",
}


def cpu_model():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def make_fixture(path):
    x, y = make_blobs(n_samples=300, n_features=10, centers=5, cluster_std=1.0,
                      center_box=(-10, 10), random_state=0)
    write_features(path, x.astype(np.float32), y, ["a", "b", "c", "d", "e"], model="make_blobs",
                   layer="fixture")


def sklearn_run(x, dims, method, init, seed):
    tsne = TSNE(n_components=dims, perplexity=PERPLEXITY, method=method, init=init,
                learning_rate="auto", random_state=seed, angle=0.5, n_iter=1000)
    e = tsne.fit_transform(x)
    return {"seed": seed, "init": init, "kl": float(tsne.kl_divergence_),
            "trustworthiness": float(trustworthiness(x, e, n_neighbors=5))}


def fauna_run(binary, fixture, dims, method, init, seed, tmp, sklearn_gradient=False):
    out = os.path.join(tmp, "%d-%s-%s-%d-%d" % (dims, method, init, seed, sklearn_gradient))
    subprocess.run([binary, "--features=" + fixture, "--out=" + out, "--dims=%d" % dims,
                    "--method=" + method, "--init=" + init, "--seed=%d" % seed, "--pca=0",
                    "--threads=1", "--progress=false", "--perplexity=%g" % PERPLEXITY,
                    "--sklearn_gradient=%s" % ("true" if sklearn_gradient else "false")],
                   check=True, capture_output=True)
    with open(os.path.join(out, "tsne.json")) as f:
        report = json.load(f)
    return {"seed": seed, "init": init, "kl": report["kl_divergence"],
            "trustworthiness": report["trustworthiness"]}


def runs_of(run):
    return [run("random", s) for s in SEEDS] + [run("pca", 0)]


def summary(runs):
    rand = [r for r in runs if r["init"] == "random"]
    out = {}
    for key in ("kl", "trustworthiness"):
        values = [r[key] for r in rand]
        out[key] = {"mean": statistics.mean(values), "sd": statistics.stdev(values),
                    "min": min(r[key] for r in runs), "max": max(r[key] for r in runs),
                    "pca": [r[key] for r in runs if r["init"] == "pca"][0]}
    return out


def bounds_same(sk):
    return {"kl_min": sk["kl"]["min"] - SPREAD * sk["kl"]["sd"],
            "kl_max": sk["kl"]["max"] + SPREAD * sk["kl"]["sd"],
            "trustworthiness_min": sk["trustworthiness"]["min"] -
                                   SPREAD * sk["trustworthiness"]["sd"]}


def bounds_kl_gradient(sk, fa):
    gap = max(0.0, sk["trustworthiness"]["mean"] - fa["trustworthiness"]["mean"])
    sd = max(sk["trustworthiness"]["sd"], fa["trustworthiness"]["sd"])
    return {"kl_min": 0.0, "kl_max": sk["kl"]["max"] + SPREAD * sk["kl"]["sd"],
            "trustworthiness_min": sk["trustworthiness"]["min"] - gap - SPREAD * sd}


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    binary, reason = os.path.abspath(sys.argv[1]), sys.argv[2]
    fixture = os.path.join(HERE, "tsne_blobs.safetensors")
    make_fixture(fixture)
    x = read_features(fixture)[0].astype(np.float64)
    cases = {}
    with tempfile.TemporaryDirectory() as tmp:
        for dims, method in CASES:
            name = "%dd_%s" % (dims, method)
            case = {"dims": dims, "method": method}
            case["sklearn"] = runs_of(lambda init, s: sklearn_run(x, dims, method, init, s))
            case["fauna"] = runs_of(
                lambda init, s: fauna_run(binary, fixture, dims, method, init, s, tmp))
            sk, fa = summary(case["sklearn"]), summary(case["fauna"])
            case["summary"] = {"sklearn": sk, "fauna": fa}
            if dims == 2:
                case["bounds"] = bounds_same(sk)
            else:
                case["fauna_sklearn_gradient"] = runs_of(
                    lambda init, s: fauna_run(binary, fixture, dims, method, init, s, tmp, True))
                case["summary"]["fauna_sklearn_gradient"] = summary(
                    case["fauna_sklearn_gradient"])
                case["bounds"] = bounds_kl_gradient(sk, fa)
                case["bounds_sklearn_gradient"] = bounds_same(sk)
            cases[name] = case
            print(name, json.dumps(case["summary"]), flush=True)
    # Exact vs Barnes-Hut, fauna's default forces: largest |KL difference| over (init, seed).
    differences = {}
    for dims in (2, 3):
        pairs = zip(cases["%dd_exact" % dims]["fauna"], cases["%dd_barnes_hut" % dims]["fauna"])
        measured = max(abs(a["kl"] - b["kl"]) for a, b in pairs)
        differences["%dd" % dims] = {"measured_max": measured, "bound": 2 * measured}
    oracle = {
        "made_by": "eval/testdata/measure_tsne_oracle.py " + os.path.basename(binary),
        "reason": reason,
        "date": datetime.date.today().isoformat(),
        "cpu": cpu_model(),
        "sklearn_version": sklearn.__version__,
        "fixture": "tsne_blobs.safetensors",
        "perplexity": PERPLEXITY,
        "trustworthiness_neighbours": 5,
        "seeds": SEEDS,
        "rules": RULES,
        "exact_vs_barnes_hut_kl_difference": differences,
        "cases": cases,
    }
    with open(os.path.join(HERE, "tsne_oracle.json"), "w") as f:
        json.dump(oracle, f, indent=1)
        f.write("\n")
    print(json.dumps(differences))


if __name__ == "__main__":
    main()
