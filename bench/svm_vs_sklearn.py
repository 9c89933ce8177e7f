#!/usr/bin/python3
"""fauna's SVM against scikit-learn's, side by side on the same data, machine and threads.

Rows (the goals of issue 12):
  svc     SVC(C=10, kernel='rbf', gamma='scale') on Fashion-MNIST's first 10,000 training images
          (784 pixels / 255); predict the 10,000 test images.
  grid    GridSearchCV(SVC(), the AFHQ study's grid (72 cells), cv=5, n_jobs=2) on the first 2,000
          training images; refit, score the test images.

fauna runs `svm_grid` (its fit and predict seconds are measured inside the binary, around the fit
and the prediction only); scikit-learn is timed here around the same calls. Prints medians over
the repeats and the ratios.

Usage:
  bazel build -c opt //models/heads:svm_grid
  bench/svm_vs_sklearn.py --svm_grid=bazel-bin/models/heads/svm_grid [--rows=svc,grid]
      [--repeats=3] [--sklearn_repeats=1]
"""
import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features_io  # noqa: E402

STUDY_VALUES = [0.001, 0.01, 0.1, 1, 10, 100]


def cpu_name():
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def fauna(binary, args, threads):
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        run = subprocess.run([binary, "--progress=false", f"--threads={threads}",
                              f"--out={out.name}", *args], capture_output=True, text=True)
        if run.returncode != 0:
            sys.exit(f"svm_grid failed: {run.stderr}")
        with open(out.name) as f:
            return json.load(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--svm_grid", required=True)
    parser.add_argument("--rows", default="svc,grid")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sklearn_repeats", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    from sklearn.model_selection import GridSearchCV
    from sklearn.svm import SVC

    images, labels = features_io.fashion_mnist("train")
    test_images, test_labels = features_io.fashion_mnist("t10k")
    x = images.reshape(len(images), -1).astype(np.float32) / 255
    x_test = test_images.reshape(len(test_images), -1).astype(np.float32) / 255
    tmp = tempfile.mkdtemp()
    test_path = os.path.join(tmp, "test.safetensors")
    features_io.write_features(test_path, x_test, test_labels, features_io.FASHION_CLASSES)
    print(f"machine: {cpu_name()}, {os.cpu_count()} cores; threads {args.threads}; "
          f"repeats: fauna {args.repeats}, scikit-learn {args.sklearn_repeats}")
    rows = []

    if "svc" in args.rows.split(","):
        n = 10_000
        train_path = os.path.join(tmp, "train10k.safetensors")
        features_io.write_features(train_path, x[:n], labels[:n], features_io.FASHION_CLASSES)
        ours = [fauna(args.svm_grid, [f"--train={train_path}", f"--test={test_path}",
                                      "--grid=kernel=rbf;C=10;gamma=scale", "--cv=0"],
                      args.threads) for _ in range(args.repeats)]
        fit, predict, acc = [], [], []
        for _ in range(args.sklearn_repeats):
            svc = SVC(C=10, kernel="rbf", gamma="scale")
            start = time.perf_counter()
            svc.fit(x[:n], labels[:n])
            fit.append(time.perf_counter() - start)
            start = time.perf_counter()
            predicted = svc.predict(x_test)
            predict.append(time.perf_counter() - start)
            acc.append(float(np.mean(predicted == test_labels)))
        rows.append(("SVC rbf C=10 gamma=scale, 10k x 784: fit", statistics.median(fit),
                     statistics.median(r["fit_seconds"] for r in ours), "",
                     f"acc {acc[0]:.4f} vs {ours[0]['accuracy']['test']:.4f}"))
        rows.append(("  predict 10k test", statistics.median(predict),
                     statistics.median(r["predict_seconds"]["test"] for r in ours), "", ""))

    if "grid" in args.rows.split(","):
        n = 2_000
        train_path = os.path.join(tmp, "train2k.safetensors")
        features_io.write_features(train_path, x[:n], labels[:n], features_io.FASHION_CLASSES)
        ours = [fauna(args.svm_grid, [f"--train={train_path}", f"--test={test_path}",
                                      "--grid=afhq_study", "--cv=5"], args.threads)
                for _ in range(args.repeats)]
        seconds, best, score = [], None, None
        for _ in range(args.sklearn_repeats):
            grid = {"C": STUDY_VALUES, "gamma": STUDY_VALUES, "kernel": ["rbf", "linear"]}
            start = time.perf_counter()
            search = GridSearchCV(SVC(), grid, cv=5, n_jobs=args.threads).fit(x[:n], labels[:n])
            seconds.append(time.perf_counter() - start)
            best = search.best_params_
            score = (search.best_score_, search.score(x_test, test_labels))
        b = ours[0]["best"]
        rows.append(("GridSearchCV study grid (72 cells), 2k x 784, cv=5: search + refit",
                     statistics.median(seconds),
                     statistics.median(r["cv_seconds"] + r["fit_seconds"] for r in ours), "",
                     f"best {best['kernel']} C={best['C']} gamma={best['gamma']} cv {score[0]:.4f}"
                     f" test {score[1]:.4f} vs {b['kernel']} C={b['C']:g} gamma={b['gamma']} cv "
                     f"{b['cv_accuracy']:.4f} test {ours[0]['accuracy']['test']:.4f}"))

    print(f"\n| work | scikit-learn s | fauna s | fauna faster by | agreement |")
    print("|---|---|---|---|---|")
    for name, theirs, mine, _, note in rows:
        print(f"| {name} | {theirs:.3f} | {mine:.3f} | {theirs / mine:.1f}x | {note} |")


if __name__ == "__main__":
    main()
