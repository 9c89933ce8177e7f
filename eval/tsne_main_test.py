"""End-to-end test of //eval:tsne_main: a features file in, embedding.safetensors, tsne.svg and
tsne.json out. The SVG is read by Python's XML parser (class names with XML's special characters
included); the report's trustworthiness is scikit-learn's for the written embedding; the same seed
gives the same bytes; every bad input is one "error: ..." line, exit code 1 and no output.

Usage (Bazel passes it): tsne_main_test.py <tsne_main binary>
"""
import json
import os
import shutil
import subprocess
import sys
import unittest
import xml.dom.minidom

import numpy as np
from sklearn.manifold import trustworthiness

from bench.features_io import read_features, write_features

TOOL = os.path.abspath(sys.argv[1])
TMP = os.environ.get("TEST_TMPDIR", "/tmp")
CLASSES = ["cat & dog", "<wild>", "\"fox\"", "owl"]


def blobs(path, n=160, d=60, seed=0, nan=False):
    """Four well-separated blobs in d dimensions, rows in class order, with paths."""
    rng = np.random.RandomState(seed)
    labels = np.arange(n) % 4
    x = rng.uniform(-10, 10, (4, d))[labels] + rng.standard_normal((n, d))
    order = np.argsort(labels, kind="stable")
    x, labels = x[order], labels[order]
    if nan:
        x[3, 2] = np.nan
    write_features(path, x.astype(np.float32), labels, CLASSES, model="demo", layer="pool",
                   paths=["img_%03d.png" % i for i in range(n)])
    return x.astype(np.float32), labels


def run(*flags):
    return subprocess.run([TOOL, "--progress=false", "--threads=1"] + list(flags),
                          capture_output=True, text=True)


def text_of(node):
    return "".join(child.data for child in node.childNodes if child.nodeType == child.TEXT_NODE)


class TsneMainTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.features = os.path.join(TMP, "blobs.safetensors")
        cls.x, cls.labels = blobs(cls.features)

    def embed(self, out, *flags):
        shutil.rmtree(out, ignore_errors=True)
        done = run("--features=" + self.features, "--out=" + out, *flags)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertIn("wrote " + out, done.stdout)
        with open(os.path.join(out, "tsne.json")) as f:
            report = json.load(f)
        embedding, labels, meta = read_features(os.path.join(out, "embedding.safetensors"))
        svg = xml.dom.minidom.parse(os.path.join(out, "tsne.svg")).documentElement
        self.assertEqual(svg.tagName, "svg")
        return report, embedding, labels, meta, svg

    def check_svg(self, svg, points, panels):
        groups = [g for g in svg.getElementsByTagName("g") if g.getAttribute("class") == "points"]
        self.assertEqual(len(groups), panels)
        for group in groups:
            self.assertEqual(len(group.getElementsByTagName("circle")), points)
        legend = [g for g in svg.getElementsByTagName("g") if g.getAttribute("class") == "legend"]
        self.assertEqual(len(legend), 1)
        entries = [text_of(t) for t in legend[0].getElementsByTagName("text")]
        self.assertEqual(len(entries), len(CLASSES))
        for name, entry in zip(CLASSES, entries):
            self.assertTrue(entry.startswith(name + " ("), entry)
        return entries

    def test_two_dimensions_barnes_hut_with_pca_and_a_subsample(self):
        out = os.path.join(TMP, "run2d")
        report, embedding, labels, meta, svg = self.embed(
            out, "--max_points=120", "--seed=3", "--method=barnes_hut", "--n_iter=400",
            "--perplexity=20", "--title=Blobs & <friends>")
        self.assertEqual(report["points"], 120)
        self.assertEqual(report["points_in_file"], 160)
        self.assertEqual(report["input_dim"], 60)
        self.assertEqual(report["pca_components"], 50)
        self.assertEqual(report["method"], "barnes_hut")
        self.assertEqual(report["dims"], 2)
        self.assertEqual(report["iterations"], 400)
        self.assertEqual(report["classes"], CLASSES)
        self.assertGreater(report["trustworthiness"], 0.9)
        self.assertTrue(0 < report["kl_divergence"] < 5)
        self.assertEqual(len(report["checks"]), 8)
        self.assertEqual(set(report["seconds"]),
                         {"pca", "affinities", "optimise", "trustworthiness", "total"})
        # The embedding is a features file of the chosen rows, in file order.
        self.assertEqual(embedding.shape, (120, 2))
        paths = json.loads(meta["paths"])
        rows = [int(p[4:7]) for p in paths]
        self.assertEqual(rows, sorted(set(rows)))
        np.testing.assert_array_equal(labels, self.labels[rows])
        self.assertEqual(json.loads(meta["classes"]), CLASSES)
        self.assertEqual(meta["layer"], "tsne2d of pool")
        # The picture: 120 points in one panel, a legend of the four (escaped) class names.
        entries = self.check_svg(svg, 120, 1)
        counts = [int(e.rsplit("(", 1)[1].rstrip(")")) for e in entries]
        self.assertEqual(counts, [int((labels == c).sum()) for c in range(4)])
        titles = [text_of(t) for t in svg.getElementsByTagName("text")]
        self.assertIn("Blobs & <friends>", titles)
        # The report's trustworthiness is scikit-learn's, on t-SNE's input (the 50 principal
        # components of the rows, which keep their distances up to rounding) and the embedding
        # as written (float32; the report's comes from the float64 one).
        x = self.x[rows].astype(np.float64)
        centred = x - x.mean(0)
        pcs = centred @ np.linalg.svd(centred, full_matrices=False)[2][:50].T
        theirs = trustworthiness(pcs, embedding.astype(np.float64), n_neighbors=5)
        self.assertAlmostEqual(report["trustworthiness"], theirs, delta=1e-4)

    def test_three_dimensions_exact(self):
        out = os.path.join(TMP, "run3d")
        report, embedding, labels, _, svg = self.embed(
            out, "--dims=3", "--method=exact", "--pca=0", "--n_iter=300", "--perplexity=15")
        self.assertEqual(embedding.shape, (160, 3))
        self.assertEqual(report["method"], "exact")
        self.assertEqual(report["pca_components"], 0)
        self.assertEqual(report["degrees_of_freedom"], 2)
        self.assertIsNone(report["theta"])
        self.check_svg(svg, 160, 3)
        self.assertGreater(report["trustworthiness"], 0.9)

    def test_same_seed_same_bytes(self):
        outputs = []
        for name, seed in [("a", 5), ("b", 5), ("c", 6)]:
            out = os.path.join(TMP, "seed_" + name)
            self.embed(out, "--init=random", "--seed=%d" % seed, "--n_iter=260",
                       "--method=barnes_hut", "--pca=0")
            with open(os.path.join(out, "embedding.safetensors"), "rb") as f:
                outputs.append(f.read())
        self.assertEqual(outputs[0], outputs[1])
        self.assertNotEqual(outputs[0], outputs[2])

    def test_bad_input_is_one_error_line_and_no_output(self):
        small = os.path.join(TMP, "small.safetensors")
        blobs(small, n=20, d=5)
        with_nan = os.path.join(TMP, "nan.safetensors")
        blobs(with_nan, n=20, d=5, nan=True)
        cases = [
            (["--features=" + small], "--perplexity 30 must be less than the number of points, 20"),
            (["--features=" + small, "--perplexity=20"], "less than the number of points, 20"),
            (["--features=" + self.features, "--max_points=10", "--perplexity=10"],
             "less than the number of points, 10"),
            (["--features=" + small, "--perplexity=0"], "--perplexity must be positive"),
            (["--features=" + small, "--dims=4"], "--dims must be 2 or 3, not 4"),
            (["--features=" + small, "--dims=1"], "--dims must be 2 or 3, not 1"),
            (["--features=" + small, "--method=fast"], "must be auto, exact or barnes_hut"),
            (["--features=" + small, "--init=zeros"], "must be pca or random"),
            (["--features=" + small, "--max_points=-1"], "must be >= 0"),
            (["--features=" + os.path.join(TMP, "missing.safetensors")], "missing.safetensors"),
            (["--features=" + with_nan], "is nan"),
            ([], "--features is required"),
            (["--features=" + small, "extra"], "usage: tsne_main"),
        ]
        for flags, message in cases:
            out = os.path.join(TMP, "bad")
            shutil.rmtree(out, ignore_errors=True)
            done = run("--out=" + out, *flags)
            self.assertEqual(done.returncode, 1, (flags, done.stderr))
            lines = done.stderr.splitlines()
            self.assertEqual(len(lines), 1, (flags, done.stderr))
            self.assertTrue(lines[0].startswith("error: "), lines[0])
            self.assertIn(message, lines[0])
            self.assertFalse(os.path.exists(os.path.join(out, "tsne.json")), flags)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
