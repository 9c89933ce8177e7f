"""End-to-end tests of the trainer binary at the ci scale: a run writes its results, plots and
weights; a run killed with SIGKILL and resumed ends with the numbers of an uninterrupted run; a
NaN loss stops cleanly with NaN in the results; bad flags give one error line; two data-parallel
processes on loopback match one process with the same total batch.

Usage (Bazel passes these): train_binary_test.py <train binary> <recipes folder>
"""
import json
import math
import os
import signal
import socket
import subprocess
import sys
import time
import unittest

TRAIN = os.path.abspath(sys.argv[1])
RECIPES = os.path.abspath(sys.argv[2])
TMP = os.environ.get("TEST_TMPDIR", "/tmp")
CACHE = os.path.join(TMP, "cache")


def command(recipe, run_dir, *flags):
    return [TRAIN, "--flagfile=" + os.path.join(RECIPES, recipe + ".flags"), "--scale=ci",
            "--threads=1", "--workers=1", "--progress=false", "--run_dir=" + run_dir,
            "--cache_dir=" + CACHE] + list(flags)


def run(recipe, run_dir, *flags):
    done = subprocess.run(command(recipe, run_dir, *flags), capture_output=True, text=True)
    if done.returncode != 0:
        raise AssertionError("train failed (%d): %s" % (done.returncode, done.stderr[-2000:]))
    with open(os.path.join(run_dir, "results.json")) as f:
        return json.load(f), done.stdout


def metrics(run_dir):
    """metrics.jsonl without the timings, which differ between runs."""
    rows = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            row = json.loads(line)
            row.pop("seconds")
            row.pop("images_per_s")
            rows.append(row)
    return rows


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TrainBinaryTest(unittest.TestCase):

    def run_two_ranks(self, recipe, run_dir, *flags):
        """Trains `recipe` as two Gloo ranks on loopback; returns rank 0's results.json and
        stderr."""
        port = str(free_port())
        processes = [subprocess.Popen(
            command(recipe, run_dir, *flags) +
            ["--world_size=2", "--rank=%d" % rank, "--master_port=" + port,
             "--dist_timeout_s=60"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for rank in (0, 1)]
        stderrs = []
        for process in processes:
            _, stderr = process.communicate(timeout=300)
            self.assertEqual(process.returncode, 0, stderr[-2000:])
            stderrs.append(stderr)
        with open(os.path.join(run_dir, "results.json")) as f:
            results = json.load(f)
        self.assertEqual(results["world_size"], 2)
        return results, stderrs[0]

    def test_run_writes_results_plots_and_weights(self):
        run_dir = os.path.join(TMP, "fresh")
        results, stdout = run("endangered_model4", run_dir)
        self.assertIn("test accuracy", stdout)
        self.assertIn("--scale=paper", stdout)  # The command for the paper scale.
        self.assertEqual(results["config"]["scale"], "ci")
        self.assertEqual(len(results["class_names"]), 11)
        self.assertEqual(results["epochs_run"], 3)
        self.assertFalse(results["diverged"])
        self.assertGreater(results["test_count"], 0)
        self.assertTrue(0.0 <= results["test_acc"] <= 1.0)
        self.assertEqual(results["test_confusion"]["total"], results["test_count"])
        for name in ("config.json", "metrics.jsonl", "checkpoint.pt", "model.safetensors",
                     "curves.svg", "confusion.svg"):
            self.assertTrue(os.path.exists(os.path.join(run_dir, name)), name)
        self.assertEqual(len(metrics(run_dir)), 3)

    def test_killed_run_resumes_to_the_same_numbers(self):
        # The rate follows a cosine step by step: a resumed run must pick up the step count too.
        flags = ("--epochs=4", "--max_epochs=4", "--lr_step_epochs=0", "--lr_cosine")
        whole_dir = os.path.join(TMP, "whole")
        whole, _ = run("endangered_model4", whole_dir, *flags)

        killed_dir = os.path.join(TMP, "killed")
        process = subprocess.Popen(command("endangered_model4", killed_dir, *flags),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        metrics_path = os.path.join(killed_dir, "metrics.jsonl")
        deadline = time.time() + 120
        while time.time() < deadline and process.poll() is None:
            if os.path.exists(metrics_path) and os.path.getsize(metrics_path) > 0:
                break
            time.sleep(0.02)
        process.send_signal(signal.SIGKILL)
        process.wait()
        resumed, _ = run("endangered_model4", killed_dir, "--resume", *flags)
        self.assertGreaterEqual(resumed["resumed_after_epoch"], 1)
        self.assertEqual(metrics(killed_dir), metrics(whole_dir))
        self.assertEqual(resumed["test_loss"], whole["test_loss"])
        self.assertEqual(resumed["test_acc"], whole["test_acc"])
        self.assertEqual(resumed["best_epoch"], whole["best_epoch"])

    def test_resume_with_other_flags_is_refused(self):
        run_dir = os.path.join(TMP, "other_flags")
        run("endangered_model4", run_dir, "--epochs=1")
        done = subprocess.run(command("endangered_model4", run_dir, "--epochs=1", "--resume",
                                      "--lr=0.5"), capture_output=True, text=True)
        self.assertEqual(done.returncode, 1)
        self.assertIn("lr differs", done.stderr)

    def test_init_weights_transfers_the_backbone_to_other_classes(self):
        source_dir = os.path.join(TMP, "source")
        run("endangered_model4", source_dir, "--epochs=1")
        weights = os.path.join(source_dir, "model.safetensors")
        transfer_dir = os.path.join(TMP, "transfer")
        done = subprocess.run(command("endangered_model4", transfer_dir, "--epochs=2",
                                      "--synthetic_classes=3", "--init_weights=" + weights,
                                      "--freeze_backbone_epochs=1"),
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertIn("head re-initialised for the classes", done.stderr)
        self.assertIn("(head only)", done.stderr)
        with open(os.path.join(transfer_dir, "results.json")) as f:
            self.assertEqual(len(json.load(f)["class_names"]), 3)
        done = subprocess.run(command("endangered_model4", transfer_dir, "--epochs=1",
                                      "--init_weights=" + os.path.join(TMP, "none.safetensors")),
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 1)
        self.assertIn("none.safetensors", done.stderr)

    def test_nan_loss_stops_cleanly(self):
        run_dir = os.path.join(TMP, "nan")
        results, stdout = run("endangered_model4", run_dir, "--lr=1e30", "--optimizer=sgd",
                              "--momentum=0")
        self.assertTrue(results["diverged"])
        self.assertIn("non-finite training loss", results["stop_reason"])
        self.assertEqual(results["test_acc"], "NaN")
        self.assertIn("nan", stdout.lower())

    def test_cosine_schedule_with_warmup_sets_the_rate_step_by_step(self):
        run_dir = os.path.join(TMP, "cosine")
        run("endangered_model4", run_dir, "--lr=0.002", "--lr_step_epochs=0", "--lr_cosine",
            "--lr_warmup_epochs=1")  # 3 epochs at the ci scale: 1 of warm-up, 2 of cosine.
        rates = [row["lr"] for row in metrics(run_dir)]  # Each epoch's first step.
        steps_per_epoch = round(0.002 / rates[0])  # Warm-up starts at lr / (warm-up steps).
        self.assertGreater(steps_per_epoch, 1)
        self.assertAlmostEqual(rates[0] * steps_per_epoch, 0.002, delta=1e-12)
        self.assertAlmostEqual(rates[1], 0.002, delta=1e-12)  # Cosine starts from the top...
        self.assertAlmostEqual(rates[2], 0.001, delta=1e-12)  # ...and is half-way down here.
        with open(os.path.join(run_dir, "config.json")) as f:
            config = json.load(f)
        self.assertTrue(config["lr_cosine"])
        self.assertEqual(config["lr_warmup_epochs"], 1)

    def test_every_classifier_recipe_trains_an_epoch(self):
        # Each recipe of this trainer, on a few synthetic images for one epoch: its flags, model,
        # optimiser, schedule and augmentation are accepted and run (the Fashion-MNIST recipes'
        # --data is overridden; their data is tested in //data).
        others = ("vade_", "gmvae_", "autoencoder_svm")  # Recipes of the other trainers.
        recipes = sorted(name[:-len(".flags")] for name in os.listdir(RECIPES)
                         if name.endswith(".flags") and not name.startswith(others))
        self.assertIn("endangered_model4", recipes)
        for recipe in recipes:
            run_dir = os.path.join(TMP, "every_recipe", recipe)
            results, _ = run(recipe, run_dir, "--data=synthetic", "--synthetic_classes=3",
                             "--synthetic_count=96", "--max_epochs=1")
            self.assertEqual(results["name"], recipe)
            self.assertEqual(len(metrics(run_dir)), 1, recipe)

    def test_help_lists_fauna_flags_with_the_recipe_in_force(self):
        done = subprocess.run(command("vgg16_best", os.path.join(TMP, "help"), "--help"),
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertIn("Optimisation:", done.stdout)
        self.assertIn('--lr (double, default 0.001; now 0.0001, from --flagfile)', done.stdout)
        self.assertNotIn("caffe2", done.stdout)
        self.assertLess(done.stdout.index("What the run is:"), done.stdout.index("Runtime:"))
        self.assertFalse(os.path.exists(os.path.join(TMP, "help")))  # --help runs nothing.

    def test_bad_flags_give_one_error_line(self):
        for flags, message in ((["--scale=huge"], "--scale=huge"),
                               (["--model=alexnet"], "alexnet"),
                               (["--data=/no/such/folder"], "/no/such/folder"),
                               (["--batch_size=0"], "--batch_size"),
                               (["--rank=2"], "rank"),
                               (["--model=autoencoder"], "--model=autoencoder is not a classifier"),
                               (["--model=resnet18", "--activation=tanh"],
                                "--model=resnet18: activation \"tanh\" applies to VGG models "
                                "only"),
                               (["--lr_cosine"], "cosine annealing and step decay do not "
                                "combine"),
                               (["--lr_step_epochs=0", "--lr_cosine", "--lr_warmup_epochs=3"],
                                "must be shorter than the run"),
                               (["--evaluate=" + os.path.join(TMP, "none.safetensors")],
                                "none.safetensors")):
            done = subprocess.run(command("endangered_model4", os.path.join(TMP, "bad"), *flags),
                                  capture_output=True, text=True)
            self.assertEqual(done.returncode, 1, flags)
            lines = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
            self.assertEqual(len(lines), 1, done.stderr)
            self.assertIn(message, lines[0])

    def test_two_processes_match_one_with_the_same_total_batch(self):
        # No dropout and no batch norm, so the only difference is the order of float sums. Plain
        # SGD at a moderate rate does not amplify such differences (Adam, which divides by the
        # root of tiny squared gradients, does: there two ranks drifted 3e-3 from one on an AMD
        # EPYC while two threads drifted 6e-4), so two ranks must match one within 1e-5, or ten
        # times what two threads move the numbers, if that is more. Measured on an AMD EPYC:
        # ranks 1.2e-7 and threads 2e-8 apart, while the loss moves by 1.7e-2 in the two epochs;
        # averaging gradients wrongly (a sum, one rank's) moves it by far more than 1e-5.
        flags = ("--model=endangered_baseline", "--dropout=0", "--epochs=2", "--batch_size=32",
                 "--optimizer=sgd", "--lr=0.05", "--momentum=0.9")
        single_dir = os.path.join(TMP, "single")
        single, _ = run("vgg16_best", single_dir, *flags)
        two_threads_dir = os.path.join(TMP, "single_two_threads")
        two_threads, _ = run("vgg16_best", two_threads_dir, *flags, "--threads=2")
        single_metrics = metrics(single_dir)
        self.assertGreater(abs(single_metrics[-1]["val_loss"] - single_metrics[0]["val_loss"]),
                           1e-3, "the model must learn for the comparison to mean anything")

        pair_dir = os.path.join(TMP, "pair")
        pair, _ = self.run_two_ranks("vgg16_best", pair_dir, *flags)
        self.assertEqual(pair["backend"], "gloo")

        def tolerance(a, b):
            return max(1e-5, 10 * abs(a - b))

        for a, b, c in zip(metrics(single_dir), metrics(pair_dir), metrics(two_threads_dir)):
            for key in ("train_loss", "val_loss"):
                self.assertAlmostEqual(a[key], b[key], delta=tolerance(a[key], c[key]), msg=key)
        self.assertAlmostEqual(single["test_loss"], pair["test_loss"],
                               delta=tolerance(single["test_loss"], two_threads["test_loss"]))
        self.assertLessEqual(abs(single["test_acc"] - pair["test_acc"]),
                             max(1.0 / single["test_count"],
                                 abs(single["test_acc"] - two_threads["test_acc"])) + 1e-9)

    def test_two_processes_with_batch_norm_report_what_their_saved_weights_score(self):
        # endangered_model4 has batch norm: each rank's running statistics see only its half of
        # every batch, so without rank 0's buffers broadcast before each evaluation the ranks
        # would validate different models and the saved weights would not score what was
        # reported.
        flags = ("--epochs=2", "--batch_size=16")
        pair_dir = os.path.join(TMP, "pair_bn")
        pair, stderr = self.run_two_ranks("endangered_model4", pair_dir, *flags)
        # The start-up line counts what an epoch leaves out: of the ci scale's 337 training
        # images the two equal parts of 168 hold all but one, and 168 is 21 full batches of 8.
        self.assertIn("337 train", stderr)
        self.assertIn("(equal parts for 2 ranks and full batches only: each epoch leaves 1 train "
                      "image for the next shuffle)", stderr)

        eval_dir = os.path.join(TMP, "pair_bn_eval")
        done = subprocess.run(command("endangered_model4", eval_dir, *flags) +
                              ["--evaluate=" + os.path.join(pair_dir, "model.safetensors")],
                              capture_output=True, text=True)
        self.assertEqual(done.returncode, 0, done.stderr[-2000:])
        self.assertIn("test accuracy", done.stdout)
        with open(os.path.join(eval_dir, "evaluation.json")) as f:
            evaluation = json.load(f)
        self.assertEqual(evaluation["test_count"], pair["test_count"])
        self.assertEqual(evaluation["test_acc"], pair["test_acc"])
        self.assertEqual(evaluation["val_acc"], pair["best"]["val_acc"])
        # One process sums the losses in another order than two.
        self.assertAlmostEqual(evaluation["test_loss"], pair["test_loss"],
                               delta=1e-5 * max(1.0, abs(pair["test_loss"])))
        self.assertAlmostEqual(evaluation["val_loss"], pair["best"]["val_loss"],
                               delta=1e-5 * max(1.0, abs(pair["best"]["val_loss"])))
        self.assertEqual(evaluation["test_confusion"]["counts"],
                         pair["test_confusion"]["counts"])

    def test_evaluate_takes_the_runs_settings_unless_typed(self):
        run_dir = os.path.join(TMP, "trained_at_40px")
        trained, _ = run("endangered_model4", run_dir, "--epochs=1", "--image_size=40",
                         "--normalization=unit", "--width=0.25", "--seed=3",
                         "--synthetic_classes=3")

        def evaluate(name, *flags):
            eval_dir = os.path.join(TMP, name)
            done = subprocess.run(command("endangered_model4", eval_dir, "--epochs=1") +
                                  ["--evaluate=" + os.path.join(run_dir, "model.safetensors")] +
                                  list(flags), capture_output=True, text=True)
            self.assertEqual(done.returncode, 0, done.stderr[-2000:])
            with open(os.path.join(eval_dir, "evaluation.json")) as f:
                return json.load(f), done.stderr

        # The recipe (a --flagfile) says 11 classes, seed 0, 32 px at the ci scale; the run's
        # config.json wins over it, so the very test part is scored by the very model.
        evaluation, stderr = evaluate("evaluated_as_trained")
        self.assertIn("--evaluate: model, width, activation, image_size, normalization, data, "
                      "seed of the run in", stderr)
        for key in ("test_acc", "test_loss", "test_count"):
            self.assertEqual(evaluation[key], trained[key], key)
        self.assertEqual(evaluation["test_confusion"]["counts"],
                         trained["test_confusion"]["counts"])

        # Typed flags win: another normalization scores the same images differently.
        evaluation, stderr = evaluate("evaluated_imagenet", "--normalization=imagenet")
        self.assertIn("--evaluate: model, width, activation, image_size, data, seed of", stderr)
        self.assertEqual(evaluation["test_count"], trained["test_count"])
        self.assertNotEqual(evaluation["test_loss"], trained["test_loss"])

        # A typed data flag keeps the caller's data and seed (another split of 3 classes).
        _, stderr = evaluate("evaluated_other_data", "--synthetic_classes=3")
        self.assertIn("--evaluate: model, width, activation, image_size, normalization of", stderr)

    def test_a_dead_rank_makes_the_other_exit(self):
        port = str(free_port())
        run_dir = os.path.join(TMP, "dead")
        # Far more epochs than the test waits for: rank 1 dies while both are training.
        flags = ("--model=vgg11", "--epochs=500", "--max_epochs=500", "--world_size=2",
                 "--master_port=" + port, "--dist_timeout_s=5")
        survivor = subprocess.Popen(command("vgg16_best", run_dir, "--rank=0", *flags),
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        doomed = subprocess.Popen(command("vgg16_best", run_dir + "_1", "--rank=1", *flags),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        metrics_path = os.path.join(run_dir, "metrics.jsonl")
        deadline = time.time() + 120
        while time.time() < deadline and survivor.poll() is None:
            if os.path.exists(metrics_path) and os.path.getsize(metrics_path) > 0:
                break
            time.sleep(0.02)
        doomed.send_signal(signal.SIGKILL)
        doomed.wait()
        _, stderr = survivor.communicate(timeout=60)
        self.assertEqual(survivor.returncode, 1, stderr[-2000:])
        self.assertIn("error: ", stderr)

if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
