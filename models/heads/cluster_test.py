"""End-to-end test of //models/heads:cluster on features files written with bench/features_io.py:
k-means and Gaussian mixtures reach scikit-learn's optimum on well separated blobs, the results
JSON carries the fit and the scores, and every bad input gives one line on stderr and exit 1.

Usage (Bazel passes it): cluster_test.py <cluster binary>
"""
import json
import os
import subprocess
import sys
import unittest

import numpy as np
from sklearn.cluster import KMeans
from sklearn.mixture import GaussianMixture

from bench import features_io

CLUSTER = os.path.abspath(sys.argv[1])
TMP = os.environ.get("TEST_TMPDIR", "/tmp")


def run(*flags):
    return subprocess.run([CLUSTER, "--threads=1"] + list(flags), capture_output=True, text=True)


def blobs():
    rng = np.random.default_rng(5)
    centres = np.array([[0, 0, 0, 0, 0], [6, 6, 0, 0, 0], [0, 6, 6, -6, 0]], dtype=np.float64)
    labels = np.repeat(np.arange(3), 100)
    x = centres[labels] + rng.normal(0, 1, (300, 5)) * np.array([1, 0.5, 1.5, 1, 0.7])
    # Shuffled rows, and cluster ids that need the matching.
    order = rng.permutation(300)
    return x[order].astype(np.float32), labels[order]


class ClusterTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.x, cls.y = blobs()
        cls.path = os.path.join(TMP, "blobs.safetensors")
        features_io.write_features(cls.path, cls.x, cls.y, ["a", "b", "c"])

    def fit(self, *flags):
        out = os.path.join(TMP, "results.json")
        done = run("--features=" + self.path, "--out=" + out, *flags)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(out) as f:
            return json.load(f), done.stdout

    def test_kmeans_reaches_scikit_learn_optimum(self):
        results, stdout = self.fit("--method=kmeans", "--seed=3")
        expected = KMeans(3, n_init=10, random_state=0).fit(self.x.astype(np.float64)).inertia_
        self.assertAlmostEqual(results["inertia"] / expected, 1.0, delta=1e-5)
        self.assertEqual(results["k"], 3)  # the file's class count
        self.assertEqual(results["options"]["n_init"], 10)
        self.assertGreater(results["fit_seconds"], 0)
        self.assertGreater(results["fit_cpu_seconds"], 0)
        scores = results["scores"]
        self.assertGreater(scores["accuracy"], 0.99)
        self.assertGreater(scores["nmi"], 0.95)
        self.assertGreater(scores["ari"], 0.95)
        self.assertEqual(len(scores["matching"]), 3)
        self.assertEqual(sum(map(sum, scores["contingency"]["counts"])), 300)
        self.assertIn("cluster \\ class", stdout)
        self.assertIn("ACC ", stdout)

    def test_gmm_reaches_scikit_learn_optimum(self):
        for covariance_type in ["diag", "full"]:
            results, stdout = self.fit("--method=gmm", "--covariance_type=" + covariance_type,
                                       "--k=3")
            model = GaussianMixture(3, covariance_type=covariance_type, random_state=0)
            model.fit(self.x.astype(np.float64))
            x64 = self.x.astype(np.float64)
            self.assertAlmostEqual(results["log_likelihood"], model.score(x64), delta=1e-4)
            self.assertAlmostEqual(results["bic"] / model.bic(x64), 1.0, delta=1e-5)
            self.assertGreater(results["scores"]["accuracy"], 0.99)
            self.assertEqual(results["options"]["covariance_type"], covariance_type)
            self.assertIn("log-likelihood", stdout)

    def test_save_writes_a_model(self):
        model = os.path.join(TMP, "kmeans.safetensors")
        self.fit("--k=3", "--save=" + model)
        _, _, meta = features_io_read_meta(model)
        self.assertEqual(meta["format"], "fauna.kmeans.v1")

    def assert_one_line_error(self, done, text):
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        lines = done.stderr.strip().split("\n")
        self.assertEqual(len(lines), 1, done.stderr)
        self.assertTrue(lines[0].startswith("error: "), lines[0])
        self.assertIn(text, lines[0])

    def test_bad_input(self):
        empty = os.path.join(TMP, "empty.safetensors")
        open(empty, "wb").close()
        nan = os.path.join(TMP, "nan.safetensors")
        x = self.x.copy()
        x[7, 2] = np.nan
        features_io.write_features(nan, x, self.y, ["a", "b", "c"])
        tiny = os.path.join(TMP, "tiny.safetensors")
        features_io.write_features(tiny, self.x[:4], self.y[:4] * 0, ["a"])
        cases = [
            ([], "--features is required"),
            (["--features=" + os.path.join(TMP, "missing.safetensors")], "missing.safetensors"),
            (["--features=" + empty], "empty.safetensors"),
            (["--features=" + nan], "[7, 2]"),
            (["--features=" + self.path, "--k=0"], "--k must be at least 1"),
            (["--features=" + self.path, "--k=-3"], "--k must be at least 1"),
            (["--features=" + tiny, "--k=5"], "--k=5 is more than the 4 rows"),
            (["--features=" + tiny, "--k=5", "--method=gmm"], "--k=5 is more than the 4 rows"),
            (["--features=" + self.path, "--n_init=0"], "--n_init must be at least 1"),
            (["--features=" + self.path, "--method=dbscan"], "--method must be kmeans or gmm"),
            (["--features=" + self.path, "--method=gmm", "--covariance_type=tied"],
             "covariance type must be full or diag"),
            (["--features=" + self.path, "--tol=-1"], "--tol must be at least 0"),
            (["--features=" + self.path, "--out=/nonexistent/dir/results.json"], "/nonexistent"),
        ]
        for flags, text in cases:
            with self.subTest(flags=flags):
                self.assert_one_line_error(run(*flags), text)


def features_io_read_meta(path):
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
    return None, None, header.get("__metadata__", {})


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
