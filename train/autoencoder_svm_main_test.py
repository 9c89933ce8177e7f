"""End-to-end tests of the autoencoder + SVM binary (the AFHQ study's Table 4) at the ci scale with
few images: a run of the recipe writes its files and results.json with the classifier trainer's
accuracy keys; a finished run resumed gives the same numbers without training; the dirty-data row
records its noisy items; bad flags give one error line.

Usage (Bazel passes these): autoencoder_svm_main_test.py <binary> <recipe flagfile>
"""
import json
import os
import subprocess
import sys
import unittest

BINARY = os.path.abspath(sys.argv[1])
RECIPE = os.path.abspath(sys.argv[2])
TMP = os.environ.get("TEST_TMPDIR", "/tmp")
CACHE = os.path.join(TMP, "cache")


def command(run_dir, *flags):
    return [BINARY, "--flagfile=" + RECIPE, "--scale=ci", "--synthetic_count=120",
            "--max_epochs=2", "--latent_dim=16", "--threads=1", "--workers=1",
            "--progress=false", "--run_dir=" + run_dir, "--cache_dir=" + CACHE] + list(flags)


def run(run_dir, *flags):
    done = subprocess.run(command(run_dir, *flags), capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError("failed (%d): %s" % (done.returncode, done.stderr[-2000:]))
    with open(os.path.join(run_dir, "results.json")) as f:
        return json.load(f), done.stdout


class AutoencoderSvmMainTest(unittest.TestCase):

    def test_run_writes_results_and_resumes(self):
        run_dir = os.path.join(TMP, "origin")
        results, stdout = run(run_dir)
        for key in ("train_acc", "val_acc", "test_acc", "train_count", "val_count", "test_count",
                    "pretrain_loss", "finetune_loss", "pretrain_seconds", "finetune_seconds",
                    "codes_seconds", "svm_seconds", "wall_seconds", "config", "svm", "transfer"):
            self.assertIn(key, results)
        for key in ("train_acc", "val_acc", "test_acc"):
            self.assertGreaterEqual(results[key], 0)
            self.assertLessEqual(results[key], 1)
        self.assertEqual(results["test_count"], 12)  # 10% of 120
        self.assertEqual(results["svm"]["C"], 1.0)
        self.assertEqual(results["svm"]["kernel"], "rbf")
        self.assertEqual(results["config"]["beta1"], 0.8)
        self.assertEqual(sorted(results["transfer"]["new"]),
                         ["decoder.fc.bias", "decoder.fc.weight", "encoder.fc.bias",
                          "encoder.fc.weight"])
        self.assertIn("test 0.", stdout)
        for name in ("config.json", "metrics.jsonl", "curves.svg", "stages.json",
                     "pretrain.safetensors", "autoencoder.safetensors", "svm.safetensors",
                     "codes/train.safetensors", "codes/val.safetensors", "codes/test.safetensors"):
            self.assertTrue(os.path.exists(os.path.join(run_dir, name)), name)
        with open(os.path.join(run_dir, "metrics.jsonl")) as f:
            stages = [json.loads(line)["stage"] for line in f]
        self.assertEqual(stages, ["pretrain"] * 2 + ["finetune"] * 2 + ["svm"])
        with open(os.path.join(run_dir, "curves.svg")) as f:
            svg = f.read()
        self.assertIn("pretraining (no FC layer)", svg)
        self.assertIn("fine-tuning (FC bottleneck)", svg)

        again, _ = run(run_dir, "--resume")
        self.assertEqual(again["resumed_after_epochs"], 4)
        for key in ("train_acc", "val_acc", "test_acc", "pretrain_loss", "finetune_loss"):
            self.assertEqual(again[key], results[key], key)

    def test_dirty_data_row(self):
        run_dir = os.path.join(TMP, "noise")
        results, _ = run(run_dir, "--noise_fraction=0.1", "--pretrain_parts=train")
        noise = results["config"]["data"]["noise"]
        self.assertEqual(noise["fraction"], 0.1)
        self.assertEqual(noise["sigma"], 25)
        self.assertEqual(noise["items"], {"train": 10, "val": 1, "test": 1})
        self.assertEqual(results["config"]["pretrain_parts"], "train")

    def test_bad_flags_are_one_line(self):
        run_dir = os.path.join(TMP, "bad")
        for flags, words in ((["--lr=-1"], "lr"),
                             (["--beta2=1.5"], "beta2"),
                             (["--pretrain_parts=some"], "pretrain_parts"),
                             (["--noise_fraction=1.5"], "noise_fraction"),
                             (["--svm_gamma=wide"], "gamma"),
                             (["--svm_c=0"], "C"),
                             (["--latent_dim=0"], "latent_dim"),
                             (["--scale=huge"], "huge"),
                             (["--augment=spin(degrees=3)"], "spin")):
            done = subprocess.run(command(run_dir, *flags), capture_output=True, text=True)
            self.assertEqual(done.returncode, 1, flags)
            lines = [line for line in done.stderr.splitlines()
                     if line and not line.startswith("device:")]
            self.assertEqual(len(lines), 1, (flags, done.stderr))
            self.assertTrue(lines[0].startswith("error: "), lines[0])
            self.assertIn(words, lines[0])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
