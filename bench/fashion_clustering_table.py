"""The Fashion-MNIST clustering table of issue 13: VaDE and GMVAE over 5 seeds (the recipes
vade_fashion_mnist and gmvae_fashion_mnist through the seed-stability runner), next to k-means and
a diagonal GMM on the same inputs (the 70,000 images' pixels / 255), all scored on all 70,000
images (clustering is transductive; the published figures are on all of them).

  /usr/bin/python3 bench/fashion_clustering_table.py [--seeds=5] [--out=runs/fashion_table]
      [--skip=gmvae]

Everything is resumable: the runner skips finished seeds and resumes killed ones, and finished
baselines are not run again. Writes <out>/table.md (mean +- std, min, max per method, the CPU and
the median seconds per seed) and prints it. Run it on an otherwise idle machine: on 2 cores it
takes hours.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import features_io  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def bazel_bin():
    subprocess.run(["bazel", "build", "-c", "opt", "//train:deep_cluster", "//train:seed_stability",
                    "//models/heads:cluster"], cwd=ROOT, check=True, capture_output=True)
    return os.path.realpath(os.path.join(ROOT, "bazel-bin"))


def deep_runs(bin_dir, recipe, seeds, out, aggregate_only):
    """The recipe over seeds 0..seeds-1; returns per-seed (all ACC, NMI, ARI, start ACC, seconds)."""
    folder = os.path.join(out, recipe)
    runfiles = os.path.join(bin_dir, "train/seed_stability.runfiles/fauna")
    subprocess.run([os.path.join(bin_dir, "train/seed_stability"),
                    f"--trainer={bin_dir}/train/deep_cluster",
                    f"--flagfile={ROOT}/train/recipes/{recipe}.flags", f"--seeds={seeds}",
                    f"--out={folder}", "--y=all_acc", "--final=all.acc,all.nmi,all.ari"]
                   + (["--aggregate_only"] if aggregate_only else []),
                   cwd=runfiles if os.path.isdir(runfiles) else ROOT, check=False)
    rows = []
    for seed in range(seeds):
        path = os.path.join(folder, f"seed_{seed}")
        results_path = os.path.join(path, "results.json")
        if not os.path.exists(results_path):
            continue
        results = json.load(open(results_path))
        lines = [json.loads(l) for l in open(os.path.join(path, "metrics.jsonl"))]
        start = [l for l in lines if l.get("phase") == "cluster" and l.get("epoch") == 0]
        seconds = results.get("wall_seconds", float("nan"))
        rows.append({"seed": seed, "acc": results["all"]["acc"], "nmi": results["all"]["nmi"],
                     "ari": results["all"]["ari"],
                     "start_acc": start[-1]["all_acc"] if start else float("nan"),
                     "seconds": seconds})
    return rows


def baseline_runs(bin_dir, method, seeds, out, pixels, run=True):
    rows = []
    for seed in range(seeds):
        path = os.path.join(out, "baselines", f"{method}_seed_{seed}.json")
        if not os.path.exists(path) and not run:
            continue
        if not os.path.exists(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
            flags = ["--method=kmeans", "--n_init=10"] if method == "kmeans" else \
                ["--method=gmm", "--covariance_type=diag", "--n_init=1"]
            start = time.time()
            subprocess.run([os.path.join(bin_dir, "models/heads/cluster"), f"--features={pixels}",
                            f"--seed={seed}", "--table=false", f"--out={path}", "--threads=2"]
                           + flags, check=True, capture_output=True)
            data = json.load(open(path))
            data["wall_seconds"] = time.time() - start
            json.dump(data, open(path, "w"))
        data = json.load(open(path))
        scores = data["scores"]
        rows.append({"seed": seed, "acc": scores["accuracy"], "nmi": scores["nmi"],
                     "ari": scores["ari"], "seconds": data.get("wall_seconds", float("nan"))})
    return rows


def summary(values):
    if not values:
        return "- | - | -"
    mean = statistics.mean(values)
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{mean:.4f} +- {sd:.4f} | {min(values):.4f} | {max(values):.4f}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=os.path.join(ROOT, "runs/fashion_table"))
    parser.add_argument("--skip", default="", help="comma-separated: vade,gmvae,baselines")
    parser.add_argument("--aggregate_only", action="store_true",
                        help="train nothing: tabulate what is finished")
    args = parser.parse_args()
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    skip = set(filter(None, args.skip.split(",")))
    os.makedirs(args.out, exist_ok=True)
    bin_dir = bazel_bin()

    table = []
    if "baselines" not in skip:
        pixels = os.path.join(args.out, "pixels.safetensors")
        if not os.path.exists(pixels):
            import numpy as np
            train_x, train_y = features_io.fashion_mnist("train")
            test_x, test_y = features_io.fashion_mnist("t10k")
            x = np.concatenate([train_x, test_x]).reshape(-1, 784).astype(np.float32) / 255
            features_io.write_features(pixels, x, np.concatenate([train_y, test_y]),
                                       features_io.FASHION_CLASSES, model="none", layer="pixels")
        table.append(("k-means (pixels, n_init 10)", baseline_runs(bin_dir, "kmeans", args.seeds,
                                                                   args.out, pixels,
                                                                   not args.aggregate_only)))
        table.append(("GMM diag (pixels)", baseline_runs(bin_dir, "gmm", args.seeds, args.out,
                                                         pixels, not args.aggregate_only)))
    for model in ("vade", "gmvae"):
        if model in skip:
            continue
        rows = deep_runs(bin_dir, f"{model}_fashion_mnist", args.seeds, args.out,
                         args.aggregate_only)
        if model == "vade":
            starts = [dict(r, acc=r["start_acc"]) for r in rows]
            table.append(("VaDE's start (epoch 0, before VaDE training)",
                          [dict(s, nmi=float("nan"), ari=float("nan"), seconds=float("nan"))
                           for s in starts]))
        table.append((f"{'VaDE' if model == 'vade' else 'GMVAE'} (recipe {model}_fashion_mnist)",
                      rows))

    cpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
    cpu = next((l.split(":", 1)[1].strip() for l in cpu.splitlines()
                if l.startswith("Model name")), "?")
    lines = [f"Fashion-MNIST, all 70,000 images; {cpu}, {os.cpu_count()} cores; "
             f"ACC/NMI/ARI as mean +- std | min | max over seeds",
             "", "| method | seeds | ACC mean +- std | min | max | NMI mean +- std | min | max | "
                 "ARI mean +- std | min | max | median s/seed |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, rows in table:
        def column(key):
            values = [r[key] for r in rows if r[key] == r[key]]
            return summary(values)
        seconds = [r["seconds"] for r in rows if r["seconds"] == r["seconds"]]
        median_seconds = f"{statistics.median(seconds):.0f}" if seconds else "-"
        lines.append(f"| {name} | {len(rows)} | {column('acc')} | {column('nmi')} | "
                     f"{column('ari')} | {median_seconds} |")
        lines.append("|  per seed: " + ", ".join(f"{r['seed']}: {r['acc']:.4f}" for r in rows) +
                     " |" + " |" * 11)
    text = "\n".join(lines) + "\n"
    open(os.path.join(args.out, "table.md"), "w").write(text)
    print(text)


if __name__ == "__main__":
    main()
