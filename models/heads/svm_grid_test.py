"""svm_grid against scikit-learn's GridSearchCV(SVC()) on the same features: the same folds and
cells, so every cell's mean CV accuracy agrees (within a borderline row per fold, since both stop
at the same tolerance on different paths), the best cell is the same, and the refitted model's
test accuracy agrees; --select=val scores each cell as SVC fitted on train and scored on val.
Also: bad input gives one line and exit status 1.

Usage (Bazel passes it): svm_grid_test.py <svm_grid binary>
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest
import warnings

import numpy as np

from bench import features_io

SVM_GRID = None
GRID = "kernel=rbf,linear;C=0.1,1,10;gamma=scale,0.01"


class SvmGridTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        images, labels = features_io.fashion_mnist("train")
        x = images.reshape(len(images), -1).astype(np.float32) / 255
        cls.x_train, cls.y_train = x[:600], labels[:600]
        cls.x_test, cls.y_test = x[600:1400], labels[600:1400]
        cls.train = cls.write("train", cls.x_train, cls.y_train)
        cls.test = cls.write("test", cls.x_test, cls.y_test)

    @classmethod
    def write(cls, name, x, y, classes=features_io.FASHION_CLASSES):
        path = os.path.join(cls.tmp, name + ".safetensors")
        features_io.write_features(path, x, y, classes)
        return path

    def run_grid(self, *args):
        return subprocess.run([SVM_GRID, "--progress=false", "--threads=2", *args],
                              capture_output=True, text=True)

    def test_matches_grid_search_cv(self):
        from sklearn.model_selection import GridSearchCV
        from sklearn.svm import SVC
        out = os.path.join(self.tmp, "grid.json")
        run = self.run_grid(f"--train={self.train}", f"--test={self.test}", f"--grid={GRID}",
                            "--cv=5", f"--out={out}")
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(out) as f:
            ours = json.load(f)
        param_grid = {"kernel": ["rbf", "linear"], "C": [0.1, 1, 10], "gamma": ["scale", 0.01]}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            search = GridSearchCV(SVC(), param_grid, cv=5).fit(self.x_train, self.y_train)
        theirs = search.cv_results_
        self.assertEqual(len(ours["cv_results"]), len(theirs["params"]))
        # A fold has 120 rows; both solvers stop within tol of the optimum, on different paths.
        largest = max(abs(cell["mean_test_score"] - mean) for cell, mean in
                      zip(ours["cv_results"], theirs["mean_test_score"]))
        print(f"largest difference of a cell's mean CV accuracy: {largest}", file=sys.stderr)
        for cell, params, mean in zip(ours["cv_results"], theirs["params"],
                                      theirs["mean_test_score"]):
            self.assertEqual((cell["kernel"], cell["C"], str(cell["gamma"])),
                             (params["kernel"], params["C"], str(params["gamma"])))
            self.assertAlmostEqual(cell["mean_test_score"], mean, delta=1 / 120 + 1e-9,
                                   msg=str(params))
        best = ours["best"]
        self.assertEqual((best["kernel"], best["C"], str(best["gamma"])),
                         (search.best_params_["kernel"], search.best_params_["C"],
                          str(search.best_params_["gamma"])))
        self.assertAlmostEqual(ours["accuracy"]["test"], search.score(self.x_test, self.y_test),
                               delta=2 / 800 + 1e-9)

    def test_one_cell_without_cv_matches_svc(self):
        from sklearn.svm import SVC
        out = os.path.join(self.tmp, "fit.json")
        model = os.path.join(self.tmp, "svm.safetensors")
        run = self.run_grid(f"--train={self.train}", f"--test={self.test}",
                            "--grid=kernel=rbf;C=10;gamma=scale", "--cv=0", f"--out={out}",
                            f"--save_model={model}")
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(out) as f:
            ours = json.load(f)
        scored = os.path.join(self.tmp, "scored.json")
        run = self.run_grid(f"--model={model}", f"--test={self.test}", f"--out={scored}")
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(scored) as f:
            self.assertEqual(json.load(f)["accuracy"]["test"], ours["accuracy"]["test"])
        svc = SVC(C=10, gamma="scale").fit(self.x_train, self.y_train)
        self.assertEqual(ours["support_vectors"], len(svc.support_))
        self.assertAlmostEqual(ours["accuracy"]["test"], svc.score(self.x_test, self.y_test),
                               delta=1 / 800 + 1e-9)

    def test_refit_rows_fits_the_best_cell_on_more_rows(self):
        out = os.path.join(self.tmp, "refit.json")
        run = self.run_grid(f"--train={self.train}", f"--test={self.test}", f"--grid={GRID}",
                            "--cv=3", "--max_train_rows=300", "--refit_rows=600", f"--out={out}")
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(out) as f:
            refit = json.load(f)
        self.assertAlmostEqual(refit["train_rows"], 300, delta=10)  # Per class, rounded.
        self.assertEqual(refit["refit_rows"], 600)
        best = refit["best"]
        # The same cell fitted on the 600 rows alone gives the same model and accuracies.
        gamma = "" if best["kernel"] == "linear" else f";gamma={best['gamma']}"
        alone = os.path.join(self.tmp, "alone.json")
        run = self.run_grid(f"--train={self.train}", f"--test={self.test}", "--cv=0",
                            f"--grid=kernel={best['kernel']};C={best['C']:g}{gamma}",
                            f"--out={alone}")
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(alone) as f:
            alone = json.load(f)
        self.assertEqual(refit["accuracy"], alone["accuracy"])
        self.assertEqual(refit["support_vectors"], alone["support_vectors"])
        # Fewer rows for the final model than for the search is refused.
        run = self.run_grid(f"--train={self.train}", f"--grid={GRID}", "--cv=3",
                            "--max_train_rows=300", "--refit_rows=100")
        self.assertEqual(run.returncode, 1)
        self.assertIn("--refit_rows=100 is fewer rows than the search's", run.stderr)
        # Without --cv there is no best cell to refit.
        run = self.run_grid(f"--train={self.train}", "--grid=kernel=linear;C=1", "--cv=0",
                            "--refit_rows=600")
        self.assertEqual(run.returncode, 1)
        self.assertIn("--refit_rows refits a grid search's best cell", run.stderr)

    def test_select_on_val_matches_svc_fitted_on_train_and_scored_on_val(self):
        from sklearn.svm import SVC
        val = self.write("val", self.x_test[:400], self.y_test[:400])
        out = os.path.join(self.tmp, "select_val.json")
        run = self.run_grid(f"--train={self.train}", f"--val={val}", f"--test={self.test}",
                            f"--grid={GRID}", "--select=val", f"--out={out}")
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(out) as f:
            ours = json.load(f)
        self.assertEqual(ours["select"], "val")
        val_scores, largest = [], 0.0
        for cell in ours["cv_results"]:
            gamma = cell["gamma"] if cell["gamma"] == "scale" else float(cell["gamma"])
            svc = SVC(kernel=cell["kernel"], C=cell["C"], gamma=gamma)
            theirs = svc.fit(self.x_train, self.y_train).score(self.x_test[:400],
                                                                self.y_test[:400])
            val_scores.append(theirs)
            largest = max(largest, abs(cell["mean_test_score"] - theirs))
            # Both stop within tol of the optimum on different paths: a few borderline rows.
            self.assertAlmostEqual(cell["mean_test_score"], theirs, delta=3 / 400 + 1e-9,
                                   msg=str(cell))
        print(f"largest difference of a cell's val accuracy: {largest}", file=sys.stderr)
        best = ours["best"]
        scores = [cell["mean_test_score"] for cell in ours["cv_results"]]
        self.assertEqual(best["val_accuracy"], scores[best["index"]])
        self.assertEqual(best["val_accuracy"], max(scores))
        # The final model is the best cell fitted on --train alone (from a cold start, the search
        # warm-started): the val accuracy it was chosen by, within a borderline row or two.
        self.assertAlmostEqual(ours["accuracy"]["val"], best["val_accuracy"],
                               delta=3 / 400 + 1e-9)
        self.assertGreaterEqual(best["val_accuracy"], max(val_scores) - 3 / 400 - 1e-9)
        for args, message in [([], "--select=val scores the cells on --val: give --val"),
                              ([f"--val={val}", "--select=best"], "--select must be cv or val"),
                              ([f"--val={val}", "--select=val", "--cv=0"], "leave --cv out")]:
            run = self.run_grid(f"--train={self.train}", "--grid=kernel=linear;C=1",
                                *(args or ["--select=val"]))
            self.assertEqual(run.returncode, 1, args)
            self.assertIn(message, run.stderr)

    def test_max_train_rows_draws_every_class_from_rows_sorted_by_class(self):
        # Features files of class folders hold their rows class by class: the first 200 rows
        # would be two classes; the drawn ones are all ten, in proportion.
        order = np.argsort(self.y_train, kind="stable")
        path = self.write("sorted", self.x_train[order], self.y_train[order])
        out = os.path.join(self.tmp, "sorted.json")
        run = self.run_grid(f"--train={path}", f"--test={self.test}", "--grid=kernel=linear;C=1",
                            "--cv=3", "--max_train_rows=200", f"--out={out}")
        self.assertEqual(run.returncode, 0, run.stderr)
        with open(out) as f:
            ours = json.load(f)
        self.assertAlmostEqual(ours["train_rows"], 200, delta=10)
        # A model of the first classes only would score at most their share of the test rows
        # (scikit-learn's linear SVC on the first 200: classes 0-3, 0.341); on 200 rows drawn
        # per class it scored 0.744-0.771 over 5 draws, so 0.6 parts the two on any machine.
        self.assertGreater(ours["accuracy"]["test"], 0.6)

    def test_bad_input_is_one_line(self):
        nan = self.x_train[:50].copy()
        nan[7, 3] = np.nan
        cases = {
            "empty file": (self.write_bytes("empty", b""), None),
            "NaN features": (self.write("nan", nan, self.y_train[:50]), "feature [7, 3] is nan"),
            "one class only": (self.write("one", self.x_train[:20], np.zeros(20, np.int64)),
                               "one class only"),
            "mismatched dims": (self.train, "784 features per row"),
        }
        for name, (path, message) in cases.items():
            args = [f"--train={path}", "--grid=kernel=linear;C=1", "--cv=0"]
            if name == "mismatched dims":
                args.append("--test=" + self.write("narrow", self.x_test[:, :10], self.y_test))
            run = self.run_grid(*args, f"--out={os.path.join(self.tmp, 'bad.json')}")
            self.assertEqual(run.returncode, 1, name)
            errors = [line for line in run.stderr.splitlines() if line.startswith("error:")]
            self.assertEqual(len(errors), 1, name + ": " + run.stderr)
            if message:
                self.assertIn(message, errors[0], name)
        run = self.run_grid(f"--train={self.train}", "--grid=kernel=rbf;C=-1")
        self.assertEqual(run.returncode, 1)
        self.assertIn("not a positive number", run.stderr)

    def write_bytes(self, name, data):
        path = os.path.join(self.tmp, name + ".safetensors")
        with open(path, "wb") as f:
            f.write(data)
        return path


if __name__ == "__main__":
    SVM_GRID = sys.argv.pop(1)
    unittest.main()
