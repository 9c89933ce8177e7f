"""End-to-end tests of the seed-stability runner with a fake trainer (testdata/fake_trainer.py):
seeds run and are gathered into stability.{json,md,svg}; a failing seed is reported with its exit
code and log and makes the exit code non-zero; a rerun skips finished seeds and resumes the
others; a trainer or a runner killed mid-run loses nothing; shards 0/2 and 1/2 together give the
bytes of one unsharded run; bad input gives one clear error line.

Usage (Bazel passes these): seed_stability_main_test.py <seed_stability binary> <fake trainer>
"""
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import time
import unittest
import xml.dom.minidom

RUNNER = os.path.abspath(sys.argv[1])
FAKE = os.path.abspath(sys.argv[2])
TMP = os.environ.get("TEST_TMPDIR", "/tmp")
OUTPUTS = ("stability.json", "stability.md", "stability.svg")


def fresh(name):
    path = os.path.join(TMP, name)
    shutil.rmtree(path, ignore_errors=True)
    return path


def command(out, *flags, trainer_flags=()):
    cmd = [RUNNER, "--trainer=" + FAKE, "--out=" + out] + list(flags)
    if trainer_flags:
        cmd += ["--"] + list(trainer_flags)
    return cmd


def run(out, *flags, trainer_flags=(), env=None):
    return subprocess.run(command(out, *flags, trainer_flags=trainer_flags), capture_output=True,
                          text=True, env=env, timeout=240)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def invocations(out, seed):
    path = os.path.join(out, "seed_%d" % seed, "invocations.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f]


def outputs(out):
    result = {}
    for name in OUTPUTS:
        with open(os.path.join(out, name), "rb") as f:
            result[name] = f.read()
    return result


def process_gone(pid):
    """Whether process `pid` has ended (a zombie has ended too)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


class SeedStabilityTest(unittest.TestCase):

    def assert_ok(self, done):
        self.assertEqual(done.returncode, 0, done.stdout + done.stderr)

    def assert_outputs_match_the_seed_folders(self, out, seeds):
        """stability.json against the seeds' own files, recomputed here; the md and svg read."""
        report = read_json(os.path.join(out, "stability.json"))
        self.assertEqual(report["finished_seeds"], seeds)
        curves = {}
        for seed in seeds:
            curve = {}
            with open(os.path.join(out, "seed_%d" % seed, "metrics.jsonl")) as f:
                for line in f:
                    record = json.loads(line)
                    if record["phase"] == "cluster":
                        curve[record["epoch"]] = record["val_acc"]
            curves[seed] = curve
            entry = report["seeds"][seeds.index(seed)]
            self.assertEqual(entry["x"], sorted(curve))
            self.assertEqual(entry["y"], [curve[x] for x in sorted(curve)])
        epochs = sorted(set(x for curve in curves.values() for x in curve))
        self.assertEqual([p["x"] for p in report["per_x"]], epochs)
        for point in report["per_x"]:
            values = [c[point["x"]] for c in curves.values() if point["x"] in c]
            self.assertEqual(point["count"], len(values))
            self.assertAlmostEqual(point["mean"], statistics.mean(values), places=12)
            self.assertAlmostEqual(point["std"],
                                   statistics.stdev(values) if len(values) > 1 else 0, places=12)
            self.assertEqual(point["min"], min(values))
            self.assertEqual(point["max"], max(values))
        for key in ("acc", "nmi", "ari"):
            values = [read_json(os.path.join(out, "seed_%d" % s, "results.json"))["test"][key]
                      for s in seeds]
            final = report["final"]["test." + key]
            self.assertEqual(final["count"], len(seeds))
            self.assertAlmostEqual(final["mean"], statistics.mean(values), places=12)
            self.assertAlmostEqual(final["std"], statistics.stdev(values), places=12)
            self.assertEqual(final["per_seed"], {str(s): v for s, v in zip(seeds, values)})
        with open(os.path.join(out, "stability.md")) as f:
            md = f.read()
        self.assertIn("| test.acc | %d |" % len(seeds), md)
        root = xml.dom.minidom.parse(os.path.join(out, "stability.svg")).documentElement
        self.assertEqual(root.tagName, "svg")
        texts = [t.firstChild.data for t in root.getElementsByTagName("text") if t.firstChild]
        for seed in seeds:
            self.assertIn("seed %d" % seed, texts)
        return report

    def test_a_failing_seed_is_reported_and_a_rerun_skips_finished_seeds(self):
        out = fresh("failing")
        done = run(out, "--seeds=5", trainer_flags=["--fail_seed=3"])
        self.assertEqual(done.returncode, 1, done.stdout + done.stderr)
        log = os.path.join(out, "seed_3", "log.txt")
        self.assertEqual(done.stderr.splitlines()[-1],
                         "error: 1 of 5 seeds failed: seed 3: exit code 3, log " + log)
        lines = done.stdout.splitlines()
        for seed in (0, 1, 2, 4):
            self.assertTrue(any(line.startswith("seed %d [%d/5]: finished in " % (seed, seed + 1))
                                for line in lines), done.stdout)
        self.assertIn("seed 3 [4/5]: FAILED after", done.stdout)
        self.assertIn("(exit code 3); log " + log, done.stdout)
        self.assertIn("seed 0 [1/5]: finished in", done.stdout)
        self.assertIn("val_acc 0.5560 at epoch 6", done.stdout)
        with open(log) as f:
            text = f.read()
        self.assertIn("=== seed_stability ", text)
        self.assertIn("failing on purpose", text)
        # The finished seeds are gathered nonetheless; seed 3 is listed as unfinished.
        report = self.assert_outputs_match_the_seed_folders(out, [0, 1, 2, 4])
        self.assertEqual(report["unfinished_seeds"], [{"seed": 3, "state": "checkpoint"}])

        done = run(out, "--seeds=5")
        self.assert_ok(done)
        for seed in (0, 1, 2, 4):
            self.assertIn("seed %d [%d/5]: already finished" % (seed, seed + 1), done.stdout)
            self.assertEqual(len(invocations(out, seed)), 1)
        self.assertIn("seed 3 [4/5]: resumed and finished in", done.stdout)
        runs = invocations(out, 3)
        self.assertEqual(len(runs), 2)
        self.assertNotIn("--resume", runs[0]["argv"])
        self.assertEqual(runs[1]["argv"], ["--seed=3", "--run_dir=" + os.path.join(out, "seed_3"),
                                           "--progress=false", "--resume"])
        report = self.assert_outputs_match_the_seed_folders(out, [0, 1, 2, 3, 4])
        self.assertEqual(report["unfinished_seeds"], [])
        self.assertIn("test.acc", done.stdout)

        # A third run has nothing to do.
        done = run(out, "--seeds=5")
        self.assert_ok(done)
        self.assertEqual(done.stdout.count("already finished"), 5)
        self.assertEqual(len(invocations(out, 3)), 2)

    def test_shards_together_equal_one_unsharded_run(self):
        whole = fresh("unsharded")
        self.assert_ok(run(whole, "--seeds=5", "--first_seed=3"))
        self.assert_outputs_match_the_seed_folders(whole, [3, 4, 5, 6, 7])

        sharded = fresh("sharded")
        done = run(sharded, "--seeds=5", "--first_seed=3", "--shard=0/2")
        self.assert_ok(done)
        self.assertEqual(sorted(os.listdir(sharded)),
                         ["seed_3", "seed_5", "seed_7"] + list(OUTPUTS))
        self.assertIn("seed 7 [3/3]: finished", done.stdout)
        done = run(sharded, "--seeds=5", "--first_seed=3", "--shard=1/2")
        self.assert_ok(done)
        self.assertIn("seed 6 [2/2]: finished", done.stdout)
        self.assertEqual(outputs(sharded), outputs(whole))

        # Two shards at once, then the merge alone.
        parallel = fresh("parallel")
        processes = [subprocess.Popen(command(parallel, "--seeds=5", "--first_seed=3",
                                              "--shard=%d/2" % i),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                     for i in (0, 1)]
        for process in processes:
            stdout, stderr = process.communicate(timeout=240)
            self.assertEqual(process.returncode, 0, stdout + stderr)
        self.assert_ok(run(parallel, "--seeds=5", "--first_seed=3", "--aggregate_only"))
        self.assertEqual(outputs(parallel), outputs(whole))

    def test_a_killed_trainer_is_resumed(self):
        reference = fresh("reference")
        self.assert_ok(run(reference, "--seeds=2"))
        out = fresh("killed_trainer")
        done = run(out, "--seeds=2", trainer_flags=["--die_after_epoch=2"])
        self.assertEqual(done.returncode, 1)
        self.assertIn("killed by signal 9", done.stderr.splitlines()[-1])
        self.assertIn("no finished seed in " + out, done.stderr.splitlines()[-1])
        # Epoch 3 was logged without its checkpoint: the resumed run logs it again.
        done = run(out, "--seeds=2")
        self.assert_ok(done)
        self.assertEqual(done.stdout.count("resumed and finished"), 2)
        self.assertEqual(outputs(out), outputs(reference))

    def test_a_killed_runner_loses_nothing(self):
        reference = fresh("reference_runner")
        self.assert_ok(run(reference, "--seeds=2"))
        out = fresh("killed_runner")
        runner = subprocess.Popen(command(out, "--seeds=2", trainer_flags=["--epoch_seconds=0.5"]),
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        checkpoint = os.path.join(out, "seed_0", "checkpoint.pt")
        deadline = time.time() + 60
        while not os.path.exists(checkpoint) and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(os.path.exists(checkpoint))
        runner.kill()
        runner.wait()
        trainer = invocations(out, 0)[0]["pid"]
        deadline = time.time() + 20
        while not process_gone(trainer) and time.time() < deadline:
            time.sleep(0.05)
        self.assertTrue(process_gone(trainer), "the trainer outlived its runner")
        self.assertFalse(os.path.exists(os.path.join(out, "seed_0", "results.json")))

        done = run(out, "--seeds=2")
        self.assert_ok(done)
        self.assertIn("seed 0 [1/2]: resumed and finished", done.stdout)
        self.assertIn("seed 1 [2/2]: finished", done.stdout)
        self.assertEqual(outputs(out), outputs(reference))

    def test_recipes_flagfiles_and_default_folders(self):
        workspace = fresh("workspace")
        here = fresh("typed_here")
        os.makedirs(here)
        env = dict(os.environ, BUILD_WORKSPACE_DIRECTORY=workspace, BUILD_WORKING_DIRECTORY=here)
        # --recipe: the flagfile from the runfiles; the folder runs/stability/<recipe> of the
        # workspace, as under `bazel run`.
        done = subprocess.run([RUNNER, "--trainer=" + FAKE, "--recipe=vgg16_best", "--seeds=1"],
                              capture_output=True, text=True, env=env, timeout=120)
        self.assert_ok(done)
        out = os.path.join(workspace, "runs", "stability", "vgg16_best")
        argv = invocations(out, 0)[0]["argv"]
        self.assertTrue(argv[0].startswith("--flagfile="), argv)
        self.assertTrue(argv[0].endswith("train/recipes/vgg16_best.flags"), argv)
        self.assertTrue(os.path.isfile(argv[0][len("--flagfile="):]))
        with open(os.path.join(out, "stability.md")) as f:
            self.assertTrue(f.read().startswith("# Seed stability: vgg16_best\n"))

        # --flagfile=PATH, --out and --trainer relative to where the command was typed; flags after
        # -- reach the trainer last.
        with open(os.path.join(here, "vade_small.flags"), "w") as f:
            f.write("--epochs=3\n")
        shutil.copy(FAKE, os.path.join(here, "trainer.py"))
        done = subprocess.run([RUNNER, "--trainer=trainer.py", "--flagfile=vade_small.flags",
                               "--out=mine", "--seeds=2", "--first_seed=9", "--",
                               "--epoch_seconds=0"],
                              capture_output=True, text=True, env=env, timeout=120)
        self.assert_ok(done)
        out = os.path.join(here, "mine")
        self.assertEqual(invocations(out, 9)[0]["argv"],
                         ["--flagfile=" + os.path.join(here, "vade_small.flags"), "--seed=9",
                          "--run_dir=" + os.path.join(out, "seed_9"), "--progress=false",
                          "--epoch_seconds=0"])
        report = read_json(os.path.join(out, "stability.json"))
        self.assertEqual(report["name"], "vade_small")
        self.assertEqual(report["finished_seeds"], [9, 10])

        # No --out, no recipe: named after the trainer.
        done = subprocess.run([RUNNER, "--trainer=trainer.py", "--seeds=1"], capture_output=True,
                              text=True, env=env, timeout=120)
        self.assert_ok(done)
        self.assertTrue(os.path.isfile(
            os.path.join(workspace, "runs", "stability", "trainer", "stability.json")))

    def test_aggregate_only_reads_other_curves_and_runs_nothing(self):
        out = fresh("other_curves")
        self.assert_ok(run(out, "--seeds=3"))
        done = run(out, "--aggregate_only", "--where=phase=pretrain", "--y=loss",
                   "--final=test.acc,epochs_run")
        self.assert_ok(done)
        report = read_json(os.path.join(out, "stability.json"))
        self.assertEqual(report["where"], "phase=pretrain")
        self.assertEqual(report["y"], "loss")
        self.assertEqual([p["x"] for p in report["per_x"]], [1, 2])
        self.assertEqual(report["per_x"][0]["mean"], 239.0)  # 240, 239, 238
        self.assertEqual(report["final"]["epochs_run"]["per_seed"], {"0": 6, "1": 6, "2": 4})
        for seed in range(3):
            self.assertEqual(len(invocations(out, seed)), 1)
        # Seeds beyond --seeds are gathered too: every seed folder counts.
        self.assert_ok(run(out, "--seeds=1", "--first_seed=7"))
        report = read_json(os.path.join(out, "stability.json"))
        self.assertEqual(report["finished_seeds"], [0, 1, 2, 7])

    def expect_error(self, want, *args, env=None):
        done = subprocess.run([RUNNER] + list(args), capture_output=True, text=True, env=env,
                              timeout=120)
        self.assertEqual(done.returncode, 1, "%s: %s" % (args, done.stderr))
        lines = done.stderr.splitlines()
        self.assertEqual(len(lines), 1, "%s: %s" % (args, done.stderr))
        self.assertTrue(lines[0].startswith("error: "), lines[0])
        for text in ([want] if isinstance(want, str) else want):
            self.assertIn(text, lines[0])

    def test_bad_input_gives_one_error_line(self):
        out = fresh("bad_input")
        trainer = "--trainer=" + FAKE
        self.expect_error("bad shard '2/2'", trainer, "--out=" + out, "--shard=2/2")
        self.expect_error("bad shard 'a/b'", trainer, "--out=" + out, "--shard=a/b")
        self.expect_error("n must be at least 1", trainer, "--out=" + out, "--shard=1/0")
        # (Without --trainer the runner takes train/deep_cluster from its runfiles, which exist.)
        self.expect_error("no trainer at /no/such/trainer (--trainer)",
                          "--trainer=/no/such/trainer", "--out=" + out)
        self.expect_error(["no recipe ", "train/recipes/nope.flags", "vgg16_best"], trainer,
                          "--recipe=nope", "--out=" + out)
        self.expect_error("no flagfile /no/such.flags", trainer, "--flagfile=/no/such.flags",
                          "--out=" + out)
        self.expect_error("not both", trainer, "--recipe=vgg16_best", "--flagfile=x.flags")
        self.expect_error("the runner sets --seed", trainer, "--out=" + out, "--", "--seed=3")
        self.expect_error("the runner sets --seed", trainer, "--out=" + out, "--", "--resume")
        self.expect_error("--seed is a trainer's flag", trainer, "--seed=3")
        self.expect_error("pass it to the trainer after --", trainer, "--device=cpu")
        self.expect_error("--seeds=0: at least 1", trainer, "--seeds=0")
        self.expect_error("unexpected argument 'extra'", trainer, "extra")
        self.expect_error("is no key=value", trainer, "--where=phase")
        self.expect_error("an empty key", trainer, "--final=test.acc,,test.nmi")
        self.assertFalse(os.path.exists(out))  # nothing ran

        self.expect_error(" is no folder", "--aggregate_only", "--out=" + out)
        os.makedirs(out)
        self.expect_error("no finished seed in " + out, "--aggregate_only", "--out=" + out)

        self.assert_ok(run(out, "--seeds=1"))
        metrics = os.path.join(out, "seed_0", "metrics.jsonl")
        self.expect_error(metrics + ":3: no \"nope\" in a record with phase=cluster",
                          "--aggregate_only", "--out=" + out, "--y=nope")
        self.expect_error("seed_0/results.json: no \"nope\" in \"test\"", "--aggregate_only",
                          "--out=" + out, "--final=test.nope")
        with open(metrics, "a") as f:
            f.write("{\"phase\": \"cluster\", \"epoch\": 7, \"val_acc\"\n")
        self.expect_error(metrics + ":9: malformed JSON line", "--aggregate_only", "--out=" + out)

        # A trainer that exits 0 without writing results.json fails its seed.
        empty = fresh("no_results")
        done = subprocess.run([RUNNER, "--trainer=/bin/true", "--out=" + empty, "--seeds=1"],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 1)
        self.assertIn("seed 0: exit code 0 but no " + os.path.join(empty, "seed_0", "results.json"),
                      done.stderr.splitlines()[-1])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
