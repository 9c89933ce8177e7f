"""The clustering benchmark: fauna's //models/heads:cluster beside scikit-learn on the same data
and thread count, fit time only on both sides (the CLI measures its fit inside the binary; file
reading and process start are not counted), medians of --runs runs with seeds 0, 1, 2, ...

Tasks (the goals of issue 12):
  gmm     GaussianMixture(10, covariance_type="diag", max_iter=100) on the first 20,000
          Fashion-MNIST training images (pixels / 255, flattened 784) times a 784 x 10 matrix
          numpy.random.default_rng(0).standard_normal((784, 10)); quality: mean log-likelihood
          per sample (higher is better). Goal: fauna >= 2x faster, log-likelihood at least as high.
  kmeans  KMeans(10, n_init=10) on the first 10,000 training images x 784 (pixels / 255);
          quality: inertia (lower is better). Goal: fauna >= 3x faster, inertia within 0.1%.

  bazel run //bench:clustering_vs_sklearn                       # both tasks, 3 runs, 2 threads
  bazel run //bench:clustering_vs_sklearn -- --tasks=kmeans --runs=5 --fauna_flags=--n_init=10

Prints one JSON line per run and side, then a table of medians and ratios (scikit-learn's time
over fauna's). Wall time is what the goals are about; CPU seconds (all threads) are printed
beside it because on a machine shared with other jobs, waiting for a core inflates wall time.
The one-minute load average before each run is recorded; above the thread count the machine was
busy and wall times are not comparable across runs. OpenMP's default busy-waiting makes both
sides much slower on a busy machine: OMP_WAIT_POLICY=passive (set for both sides) helps.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features_io  # noqa: E402  (beside this file; also //bench:features_io)


def make_inputs(folder):
    """Writes the two tasks' features files (once) and returns their paths."""
    paths = {"gmm": os.path.join(folder, "fashion_gmm_20000x10.safetensors"),
             "kmeans": os.path.join(folder, "fashion_kmeans_10000x784.safetensors")}
    if all(os.path.exists(p) for p in paths.values()):
        return paths
    images, labels = features_io.fashion_mnist("train")
    pixels = images.reshape(len(images), -1).astype(np.float64) / 255.0
    projection = np.random.default_rng(0).standard_normal((784, 10))
    features_io.write_features(paths["gmm"], pixels[:20000] @ projection, labels[:20000],
                               features_io.FASHION_CLASSES, model="fashion-mnist x N(0,1)",
                               layer="784x10 projection")
    features_io.write_features(paths["kmeans"], pixels[:10000], labels[:10000],
                               features_io.FASHION_CLASSES, model="fashion-mnist", layer="pixels")
    return paths


def run_fauna(binary, task, path, seed, threads, extra):
    out = tempfile.NamedTemporaryFile(suffix=".json", delete=False).name
    flags = ["--features=" + path, "--k=10", "--seed=%d" % seed, "--threads=%d" % threads,
             "--device=cpu", "--table=false", "--out=" + out]
    if task == "gmm":
        flags += ["--method=gmm", "--covariance_type=diag", "--max_iter=100"]
    else:
        flags += ["--method=kmeans", "--n_init=10"]
    subprocess.run([binary] + flags + extra, check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        results = json.load(f)
    os.unlink(out)
    quality = results["log_likelihood"] if task == "gmm" else results["inertia"]
    return results["fit_seconds"], results["fit_cpu_seconds"], quality


def run_sklearn(task, x, seed, threads):
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits
    with threadpool_limits(threads):
        cpu, wall = time.process_time(), time.perf_counter()
        if task == "gmm":
            model = GaussianMixture(10, covariance_type="diag", max_iter=100, random_state=seed)
            model.fit(x)
        else:
            model = KMeans(10, n_init=10, random_state=seed).fit(x)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    quality = model.score(x) if task == "gmm" else model.inertia_
    return wall, cpu, float(quality)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fauna", default="bazel-bin/models/heads/cluster",
                        help="the //models/heads:cluster binary")
    parser.add_argument("--tasks", default="gmm,kmeans")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "fauna_bench_cluster"))
    parser.add_argument("--fauna_flags", default="", help="extra flags for the fauna CLI")
    args = parser.parse_args()
    fauna = os.path.abspath(args.fauna)  # under `bazel run`: in the runfiles
    # Other paths are relative to the caller's folder, also under `bazel run`.
    os.chdir(os.environ.get("BUILD_WORKING_DIRECTORY", os.getcwd()))
    os.makedirs(args.data, exist_ok=True)
    os.environ["OMP_NUM_THREADS"] = str(args.threads)
    paths = make_inputs(args.data)
    extra = args.fauna_flags.split()

    rows = []
    for task in args.tasks.split(","):
        x = features_io.read_features(paths[task])[0].astype(np.float32)
        for seed in range(args.runs):
            for side in ["fauna", "sklearn"]:
                load = os.getloadavg()[0]
                if side == "fauna":
                    wall, cpu, quality = run_fauna(fauna, task, paths[task],
                                                   seed, args.threads, extra)
                else:
                    wall, cpu, quality = run_sklearn(task, x, seed, args.threads)
                row = {"task": task, "side": side, "seed": seed, "threads": args.threads,
                       "fit_seconds": round(wall, 4), "fit_cpu_seconds": round(cpu, 4),
                       "quality": quality, "load_before": round(load, 2)}
                rows.append(row)
                print(json.dumps(row), flush=True)

    print()
    print("task    side     fit s (median)  CPU s   quality (median)  runs  load (median)")
    for task in args.tasks.split(","):
        medians = {}
        for side in ["fauna", "sklearn"]:
            mine = [r for r in rows if r["task"] == task and r["side"] == side]
            medians[side] = statistics.median(r["fit_seconds"] for r in mine)
            print("%-7s %-8s %14.3f %7.3f %17.6g %5d %14.2f" % (
                task, side, medians[side], statistics.median(r["fit_cpu_seconds"] for r in mine),
                statistics.median(r["quality"] for r in mine), len(mine),
                statistics.median(r["load_before"] for r in mine)))
        print("%-7s sklearn / fauna fit time: %.2fx" % (task, medians["sklearn"] / medians["fauna"]))


if __name__ == "__main__":
    main()
