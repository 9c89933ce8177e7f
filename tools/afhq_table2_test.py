"""The AFHQ study's Table 2 (VGG16 features into a grid-searched SVM: train, validation and test
accuracy of the best cell) end to end at the ci scale, on the synthetic set:

  //train:train (the vgg16_best recipe, --scale=ci)
    -> //tools:extract_features (--run: the run's penultimate layer, fc7 after its ReLU)
    -> //models/heads:svm_grid (--grid=afhq_study --cv=5: the study's 72 cells, GridSearchCV's
       folds)

Checked: each stage's output fits the next (rows, dims, classes), the grid is the study's, the
best cell is the top-ranked one and is refitted, and the table's three accuracies are fractions of
the parts' sizes. The accuracies themselves are printed, not bounded: this checks the structure of
the pipeline, not its numbers (train/golden_test.py guards the numbers of training).

Usage (Bazel passes these): afhq_table2_test.py <train> <extract_features> <svm_grid> <recipes>
"""
import json
import os
import subprocess
import sys
import tempfile
import unittest

TRAIN = EXTRACT = SVM_GRID = RECIPES = None
# The study's grid (seeds/000, "VGG16 extract feature then use SVM classify").
STUDY_VALUES = [0.001, 0.01, 0.1, 1, 10, 100]


def run(*command):
    # OpenMP threads that spin while they wait cost a loaded machine several times their work.
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    done = subprocess.run(list(command), capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise AssertionError("%s failed (%d): %s" % (os.path.basename(command[0]),
                                                     done.returncode, done.stderr[-3000:]))
    return done


class AfhqTable2Test(unittest.TestCase):
    def test_vgg16_features_into_the_studys_svm_grid(self):
        tmp = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))
        common = ["--threads=2", "--progress=false"]
        cache = "--cache_dir=" + os.path.join(tmp, "cache")
        run_dir = os.path.join(tmp, "vgg16_best")
        run(TRAIN, "--flagfile=" + os.path.join(RECIPES, "vgg16_best.flags"), "--scale=ci",
            "--workers=1", "--run_dir=" + run_dir, cache, *common)
        features = os.path.join(tmp, "features")
        extracted = run(EXTRACT, "--run=" + run_dir, "--out=" + features, cache, *common)
        svm_json = os.path.join(tmp, "svm.json")
        parts = {name: os.path.join(features, name + ".safetensors")
                 for name in ("train", "val", "test")}
        run(SVM_GRID, "--train=" + parts["train"], "--val=" + parts["val"],
            "--test=" + parts["test"], "--grid=afhq_study", "--cv=5", "--out=" + svm_json,
            *common)

        with open(os.path.join(run_dir, "results.json")) as f:
            trained = json.load(f)
        with open(os.path.join(features, "extraction.json")) as f:
            extraction = json.load(f)
        with open(svm_json) as f:
            svm = json.load(f)

        # Extraction: the run's classes and parts, fc7 of VGG16 at the ci width (4096 / 8).
        self.assertEqual(extraction["layer"], "penultimate")
        self.assertEqual(extraction["model"], "vgg16")
        rows = {name: extraction["parts"][name]["rows"] for name in parts}
        self.assertEqual(rows, trained["config"]["data"]["sizes"])
        self.assertEqual({extraction["parts"][name]["dims"] for name in parts}, {512})
        self.assertIn("train: %d rows x 512 dims" % rows["train"], extracted.stdout)
        self.assertEqual(svm["classes"], trained["class_names"])

        # The study's grid: rbf and linear, C and gamma each over six decades, 5-fold CV.
        cells = svm["cv_results"]
        self.assertEqual(len(cells), 72)
        self.assertEqual(svm["cv"], 5)
        self.assertEqual({cell["kernel"] for cell in cells}, {"rbf", "linear"})
        self.assertEqual(sorted({cell["C"] for cell in cells}), STUDY_VALUES)
        self.assertEqual(sorted({float(cell["gamma"]) for cell in cells}), STUDY_VALUES)
        for cell in cells:
            self.assertEqual(len(cell["split_test_scores"]), 5)
            self.assertAlmostEqual(cell["mean_test_score"],
                                   sum(cell["split_test_scores"]) / 5, places=9)
        best = cells[svm["best"]["index"]]
        self.assertEqual(best["rank_test_score"], 1)
        self.assertEqual(best["mean_test_score"], max(cell["mean_test_score"] for cell in cells))
        self.assertEqual((svm["best"]["kernel"], svm["best"]["C"], svm["best"]["gamma"]),
                         (best["kernel"], best["C"], best["gamma"]))

        # Table 2: the best cell's train, validation and test accuracy, each k / rows.
        table = svm["accuracy"]
        self.assertEqual(set(table), {"train", "val", "test"})
        for name, accuracy in table.items():
            correct = accuracy * rows[name]
            self.assertAlmostEqual(correct, round(correct), places=6, msg=name)
            self.assertTrue(0 <= accuracy <= 1, name)
        print("Table 2 at the ci scale (synthetic, %d/%d/%d images): train %.2f, validation "
              "%.2f, test %.2f; best cell kernel=%s C=%g gamma=%s (CV %.4f); the softmax head's "
              "test accuracy %.4f" % (rows["train"], rows["val"], rows["test"],
                                      100 * table["train"], 100 * table["val"],
                                      100 * table["test"], best["kernel"], best["C"],
                                      best["gamma"], best["mean_test_score"],
                                      trained["test_acc"]), file=sys.stderr)


if __name__ == "__main__":
    if len(sys.argv) < 5:
        sys.exit(__doc__)
    TRAIN, EXTRACT, SVM_GRID, RECIPES = sys.argv[1:5]
    unittest.main(argv=sys.argv[:1] + sys.argv[5:])
