"""fauna's t-SNE (//eval:tsne_main) beside scikit-learn's sklearn.manifold.TSNE on Fashion-MNIST.

For each size N and dimension (2, 3): N images drawn from Debian's Fashion-MNIST training set
(seeded), pixels / 255 as 784 float32 features. Both sides reduce them to 50 principal components
and run Barnes-Hut t-SNE with the same settings (perplexity 30, theta 0.5, 1000 iterations, early
exaggeration 12, learning rate 'auto', init 'pca') on the same number of threads, each in its own
process, interleaved round by round (round r uses seed r on both sides). Timed: the whole process
(wall and CPU), which includes reading the data and the PCA; fauna's process (the command-line tool
as a user runs it) also computes the trustworthiness and writes the SVG and the embedding, which
scikit-learn's does not (its stage seconds are listed). Reported side by side: median seconds, the
ratio scikit-learn / fauna, and the KL divergence (both as scikit-learn reports it for Barnes-Hut)
and trustworthiness (5 neighbours, on each side's own 50 components; for scikit-learn's embedding
computed afterwards, untimed, by //eval:trustworthiness_main, which
//eval:trustworthiness_oracle_test holds equal to scikit-learn's function: that one needs
N x N matrices, 10 GB at N = 20,000). Under load from other processes the wall times vary; the
CPU seconds less so.

  bazel build -c opt //eval:tsne_main //eval:trustworthiness_main && \\
    /usr/bin/python3 bench/tsne_vs_sklearn.py [--sizes=5000,20000] [--dims=2,3] [--rounds=3]
      [--threads=2] [--out=bench_tsne.json]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from features_io import FASHION_CLASSES, fashion_mnist, read_features, write_features  # noqa

PERPLEXITY = 30.0


def timed(command, env):
    """Runs `command`; returns (wall seconds, CPU seconds of the child, stdout)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        sys.exit("%s failed:\n%s" % (command[0], done.stderr[-3000:]))
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def sklearn_child(features, dims, seed, threads, out):
    """scikit-learn's side, in its own process: PCA to 50, Barnes-Hut t-SNE; writes the 50
    components and the embedding as features files and prints its KL divergence."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE
    from threadpoolctl import threadpool_limits
    x, labels, _ = read_features(features)
    with threadpool_limits(threads):
        reduced = PCA(n_components=50, random_state=seed).fit_transform(x)
        tsne = TSNE(n_components=dims, perplexity=PERPLEXITY, method="barnes_hut", angle=0.5,
                    n_iter=1000, early_exaggeration=12, learning_rate="auto", init="pca",
                    random_state=seed, n_jobs=threads)
        embedding = tsne.fit_transform(reduced)
    write_features(os.path.join(out, "pca50.safetensors"), reduced, labels, FASHION_CLASSES)
    write_features(os.path.join(out, "embedding.safetensors"), embedding, labels, FASHION_CLASSES)
    print(json.dumps({"kl_divergence": float(tsne.kl_divergence_),
                      "iterations": int(tsne.n_iter_)}))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="5000,20000")
    parser.add_argument("--dims", default="2,3")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--tsne", default="bazel-bin/eval/tsne_main")
    parser.add_argument("--trust", default="bazel-bin/eval/trustworthiness_main")
    parser.add_argument("--out", default="", help="also write every run as JSON here")
    parser.add_argument("--sklearn-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sklearn_child:
        features, dims, seed, threads, out = args.sklearn_child
        sklearn_child(features, int(dims), int(seed), int(threads), out)
        return

    tsne, trust = os.path.abspath(args.tsne), os.path.abspath(args.trust)
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads),
               OPENBLAS_NUM_THREADS=str(args.threads), OMP_WAIT_POLICY="PASSIVE")
    images, labels = fashion_mnist("train")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(s) for s in args.sizes.split(",")]:
            rows = np.sort(np.random.RandomState(0).choice(len(images), n, replace=False))
            features = os.path.join(tmp, "fashion_%d.safetensors" % n)
            write_features(features, images[rows].reshape(n, -1).astype(np.float32) / 255,
                           labels[rows], FASHION_CLASSES, model="pixels", layer="raw")
            for dims in [int(d) for d in args.dims.split(",")]:
                for r in range(args.rounds):
                    out = os.path.join(tmp, "fauna_%d_%d_%d" % (n, dims, r))
                    wall, cpu, _ = timed(
                        [tsne, "--features=" + features, "--out=" + out, "--dims=%d" % dims,
                         "--method=barnes_hut", "--pca=50", "--seed=%d" % r,
                         "--threads=%d" % args.threads, "--progress=false",
                         "--perplexity=%g" % PERPLEXITY], env)
                    with open(os.path.join(out, "tsne.json")) as f:
                        report = json.load(f)
                    results.append({"side": "fauna", "n": n, "dims": dims, "round": r,
                                    "wall_s": wall, "cpu_s": cpu,
                                    "kl": report["kl_divergence"],
                                    "trustworthiness": report["trustworthiness"],
                                    "stages_s": report["seconds"]})
                    print(json.dumps(results[-1]), flush=True)

                    out = os.path.join(tmp, "sklearn_%d_%d_%d" % (n, dims, r))
                    os.makedirs(out)
                    wall, cpu, stdout = timed(
                        [sys.executable, os.path.abspath(__file__), "--sklearn-child", features,
                         str(dims), str(r), str(args.threads), out], env)
                    report = json.loads(stdout.strip().splitlines()[-1])
                    _, _, stdout = timed(
                        [trust, "--features=" + os.path.join(out, "pca50.safetensors"),
                         "--embedding=" + os.path.join(out, "embedding.safetensors"),
                         "--neighbours=5", "--threads=%d" % args.threads], env)
                    results.append({"side": "sklearn", "n": n, "dims": dims, "round": r,
                                    "wall_s": wall, "cpu_s": cpu,
                                    "kl": report["kl_divergence"],
                                    "trustworthiness": json.loads(stdout)["trustworthiness"]["5"]})
                    print(json.dumps(results[-1]), flush=True)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(results, f, indent=1)

    def median(side, n, dims, key):
        return statistics.median(r[key] for r in results
                                 if r["side"] == side and r["n"] == n and r["dims"] == dims)

    print("\nBarnes-Hut t-SNE of Fashion-MNIST (784 px -> PCA 50 -> t-SNE), %d threads, median of "
          "%d rounds; KL as scikit-learn reports it, trustworthiness with 5 neighbours" %
          (args.threads, args.rounds))
    print("| N | dims | fauna s | sklearn s | sklearn / fauna | fauna CPU s | sklearn CPU s "
          "| KL fauna | KL sklearn | trust fauna | trust sklearn |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for n in sorted({r["n"] for r in results}):
        for dims in sorted({r["dims"] for r in results if r["n"] == n}):
            f_wall, s_wall = median("fauna", n, dims, "wall_s"), median("sklearn", n, dims,
                                                                         "wall_s")
            print("| %d | %d | %.1f | %.1f | %.2f | %.1f | %.1f | %.4f | %.4f | %.4f | %.4f |" % (
                n, dims, f_wall, s_wall, s_wall / f_wall, median("fauna", n, dims, "cpu_s"),
                median("sklearn", n, dims, "cpu_s"), median("fauna", n, dims, "kl"),
                median("sklearn", n, dims, "kl"), median("fauna", n, dims, "trustworthiness"),
                median("sklearn", n, dims, "trustworthiness")))


if __name__ == "__main__":
    main()
