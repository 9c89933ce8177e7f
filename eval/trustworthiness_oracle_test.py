"""fauna's trustworthiness (//eval:trustworthiness_main) equals scikit-learn's
sklearn.manifold.trustworthiness, computed here at test time, to 1e-9 on fixtures of continuous
random values (no two distances from a point tie, so the order of ties cannot matter): embeddings
from good (a rotation, a PCA) to poor (noise) of data of several sizes and dimensions, with 1 to
N / 2 - 1 neighbours. Both sides read the same float32 values.

Usage (Bazel passes it): trustworthiness_oracle_test.py <trustworthiness_main binary>
"""
import json
import os
import subprocess
import sys
import unittest

import numpy as np
from sklearn.manifold import trustworthiness

from bench.features_io import write_features

TOOL = os.path.abspath(sys.argv[1])
TMP = os.environ.get("TEST_TMPDIR", "/tmp")


def fauna_trustworthiness(x, e, neighbours, name):
    data = os.path.join(TMP, name + "_x.safetensors")
    embedding = os.path.join(TMP, name + "_e.safetensors")
    labels = np.zeros(len(x), dtype=np.int64)
    write_features(data, x, labels, ["all"])
    write_features(embedding, e, labels, ["all"])
    done = subprocess.run([TOOL, "--features=" + data, "--embedding=" + embedding,
                           "--neighbours=" + ",".join(map(str, neighbours)), "--threads=2"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError(done.stderr)
    report = json.loads(done.stdout)
    return {int(k): v for k, v in report["trustworthiness"].items()}


class TrustworthinessOracleTest(unittest.TestCase):

    def check(self, x, e, neighbours, name):
        x = x.astype(np.float32)
        e = e.astype(np.float32)
        ours = fauna_trustworthiness(x, e, neighbours, name)
        for k in neighbours:
            theirs = trustworthiness(x.astype(np.float64), e.astype(np.float64), n_neighbors=k)
            self.assertAlmostEqual(ours[k], theirs, delta=1e-9, msg="%s, k=%d" % (name, k))
        return ours

    def test_embeddings_from_good_to_poor(self):
        rng = np.random.RandomState(0)
        for n, d in [(40, 3), (257, 30)]:
            x = rng.standard_normal((n, d)) * np.linspace(3, 0.5, d)
            centred = x - x.mean(0)
            pca = centred @ np.linalg.svd(centred, full_matrices=False)[2][:2].T
            embeddings = {
                "rotation": x[:, :3] @ np.linalg.qr(rng.standard_normal((3, 3)))[0],
                "pca": pca,
                "pca_noisy": pca + rng.standard_normal(pca.shape) * pca.std() * 0.3,
                "projection": x @ rng.standard_normal((d, 2)),
                "noise": rng.standard_normal((n, 2)),
            }
            neighbours = sorted({1, 5, n // 4, (n - 1) // 2})
            for name, e in embeddings.items():
                values = self.check(x, e, neighbours, "%s_%d_%d" % (name, n, d))
                if name == "noise":
                    self.assertLess(values[5], 0.8)
        # The rotation of 3-D data keeps every neighbour.
        x = rng.standard_normal((60, 3))
        self.assertEqual(self.check(x, x @ np.linalg.qr(rng.standard_normal((3, 3)))[0], [5],
                                    "exact_rotation")[5], 1.0)

    def test_clustered_data_and_a_tsne_like_embedding(self):
        rng = np.random.RandomState(1)
        centres = rng.uniform(-10, 10, (6, 20))
        labels = np.arange(600) % 6
        x = centres[labels] + rng.standard_normal((600, 20))
        # Clusters kept apart, positions within a cluster shuffled a little.
        e = rng.uniform(-40, 40, (6, 2))[labels] + x[:, :2] * 0.5 + rng.standard_normal((600, 2))
        self.check(x, e, [5, 12, 50], "clusters")

    def test_bad_input_is_one_error_line(self):
        x = np.random.RandomState(2).standard_normal((10, 3)).astype(np.float32)
        data = os.path.join(TMP, "bad_x.safetensors")
        write_features(data, x, np.zeros(10, dtype=np.int64), ["all"])
        short = os.path.join(TMP, "bad_e.safetensors")
        write_features(short, x[:9, :2], np.zeros(9, dtype=np.int64), ["all"])
        for flags, message in [
                (["--embedding=" + short], "has 10 rows but"),
                (["--embedding=" + data, "--neighbours=5"], "less than N / 2"),
                (["--embedding=" + data, "--neighbours=2,x"], "positive whole numbers"),
                (["--embedding=/no/such/file.safetensors"], "/no/such/file.safetensors"),
                ([], "usage")]:
            done = subprocess.run([TOOL, "--features=" + data] + flags, capture_output=True,
                                  text=True)
            self.assertEqual(done.returncode, 1, flags)
            lines = done.stderr.splitlines()
            self.assertEqual(len(lines), 1, done.stderr)
            self.assertTrue(lines[0].startswith("error: "), lines[0])
            self.assertIn(message, lines[0])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
