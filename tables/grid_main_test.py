"""//tables:grid end to end with a fake trainer: a table run, killed (kill -9) and run again gives
the same table and runs only the missing cells; --merge_only; a failing cell; bad input."""
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

GRID = os.path.abspath(sys.argv[1])
TMP = os.environ.get("TEST_TMPDIR", tempfile.gettempdir())

# A trainer that leaves a checkpoint, works for a while, then writes results.json whose numbers
# follow from its flags alone; --lr=0.5 fails; --needs=<file> fails unless the file exists.
FAKE_TRAINER = r"""#!/usr/bin/python3
import json, os, sys, time
flags = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
resume = "--resume" in sys.argv
print("fake trainer:", " ".join(sys.argv[1:]), flush=True)
if flags.get("lr") == "0.5":
    sys.exit(2)
step = flags.get("needs")  # A step's output this run reads.
if step and not os.path.exists(step):
    sys.exit("no " + step)
open(os.path.join(flags["run_dir"], "checkpoint.pt"), "w").close()
time.sleep(float(os.environ.get("FAKE_SECONDS", "0.6")))  # In process: no child holds the lock.
acc = float(flags.get("lr", "0")) * 10 + int(flags["seed"]) / 100
path = os.path.join(flags["run_dir"], "results.json")
with open(path + ".tmp", "w") as f:
    json.dump({"test_acc": acc, "best": {"val_acc": acc}, "resumed": resume}, f)
os.rename(path + ".tmp", path)
"""


def write(path, text, mode=0o644):
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)


def make_grid(folder, lrs):
    path = os.path.join(folder, "demo.json")
    write(path, json.dumps({
        "name": "demo", "title": "Demo", "trainer": "train",
        "axes": [{"flag": "lr", "values": lrs}],
        "columns": [{"key": "test_acc"}, {"key": "best.val_acc"}], "best": "best.val_acc"}))
    return path


class GridMainTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.fake = os.path.join(self.dir, "fake_trainer.sh")
        write(self.fake, FAKE_TRAINER, 0o755)

    def command(self, grid, out, *extra):
        return [GRID, "--grids=" + grid, "--scale=ci", "--out=" + out,
                "--trainer_path=train=" + self.fake] + list(extra)

    def run_grid(self, grid, out, *extra, env=None):
        return subprocess.run(self.command(grid, out, *extra), capture_output=True, text=True,
                              env=env)

    def table(self, out):
        with open(os.path.join(out, "demo.json")) as f:
            table = json.load(f)
        return [(c["label"], c["values"]["test_acc"]["per_seed"]) for c in table["cells"]]

    def starts(self, out, cell, seed):
        log = os.path.join(out, "demo", cell, "seed_%d" % seed, "log.txt")
        if not os.path.exists(log):
            return []
        with open(log) as f:
            return [line for line in f if line.startswith("=== grid")]

    def test_killed_grid_reruns_only_missing_cells_and_gives_the_same_table(self):
        grid = make_grid(self.dir, ["0.01", "0.02", "0.03", "0.04"])
        whole = os.path.join(self.dir, "whole")
        done = self.run_grid(grid, whole, "--seeds=2")
        self.assertEqual(done.returncode, 0, done.stderr)

        killed = os.path.join(self.dir, "killed")
        process = subprocess.Popen(self.command(grid, killed, "--seeds=2"),
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # Kill it while the third run (lr=0.02, seed 0) is under way, past its checkpoint.
        checkpoint = os.path.join(killed, "demo", "lr=0.02", "seed_0", "checkpoint.pt")
        deadline = time.time() + 60
        while not os.path.exists(checkpoint) and time.time() < deadline:
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        time.sleep(0.3)  # The trainer gets SIGTERM as its parent thread dies.
        self.assertFalse(os.path.exists(os.path.join(killed, "demo.json")))

        rerun = self.run_grid(grid, killed, "--seeds=2")
        self.assertEqual(rerun.returncode, 0, rerun.stderr)
        self.assertEqual(self.table(killed), self.table(whole))
        # The runs finished before the kill were not run again; the killed one resumed.
        self.assertEqual(len(self.starts(killed, "lr=0.01", 0)), 1)
        self.assertEqual(len(self.starts(killed, "lr=0.01", 1)), 1)
        restarted = self.starts(killed, "lr=0.02", 0)
        self.assertEqual(len(restarted), 2)
        self.assertIn("resuming", restarted[1])
        self.assertIn("already finished", rerun.stdout)

        # A third run has nothing to do.
        again = self.run_grid(grid, killed, "--seeds=2")
        self.assertEqual(again.returncode, 0, again.stderr)
        self.assertEqual(again.stdout.count("already finished"), 8)

    def test_shards_and_jobs_share_one_table(self):
        grid = make_grid(self.dir, ["0.01", "0.02", "0.03"])
        whole = os.path.join(self.dir, "whole")
        self.assertEqual(self.run_grid(grid, whole, "--jobs=2").returncode, 0)
        shared = os.path.join(self.dir, "shared")
        env = dict(os.environ, FAKE_SECONDS="0.2")
        first = subprocess.Popen(self.command(grid, shared, "--shard=0/2"), env=env,
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        second = self.run_grid(grid, shared, "--shard=1/2", env=env)
        first_out, first_err = first.communicate()
        self.assertEqual(first.returncode, 0, first_err)
        self.assertEqual(second.returncode, 0, second.stderr)
        merged = self.run_grid(grid, shared, "--merge_only")
        self.assertEqual(merged.returncode, 0, merged.stderr)
        self.assertEqual(self.table(shared), self.table(whole))

    def test_steps_run_in_order_before_the_cells_with_several_jobs(self):
        path = os.path.join(self.dir, "steps.json")
        write(path, json.dumps({
            "name": "steps", "title": "Steps", "trainer": "train",
            "steps": [{"name": "first"},
                      {"name": "second", "flags": ["--needs={step:first}/results.json"]}],
            "axes": [{"flag": "lr", "values": ["0.01", "0.02", "0.03"]}],
            "flags": ["--needs={step:second}/results.json"],
            "columns": [{"key": "test_acc"}]}))
        out = os.path.join(self.dir, "steps")
        env = dict(os.environ, FAKE_SECONDS="0.1")
        result = self.run_grid(path, out, "--jobs=3", "--seeds=2", env=env)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("6 of 6 runs finished", result.stdout)

    def test_cells_of_a_failed_step_say_so(self):
        path = os.path.join(self.dir, "broken_step.json")
        write(path, json.dumps({
            "name": "broken_step", "title": "Broken step", "trainer": "train",
            "steps": [{"name": "first", "flags": ["--lr=0.5"]}],
            "axes": [{"flag": "lr", "values": ["0.01"]}],
            "columns": [{"key": "test_acc"}]}))
        out = os.path.join(self.dir, "broken")
        result = self.run_grid(path, out)
        self.assertEqual(result.returncode, 1)
        with open(os.path.join(out, "broken_step.md")) as f:
            self.assertIn("- lr=0.01, seed 0: skipped: step first of seed 0 failed", f.read())

    def test_a_failing_cell_is_reported_and_the_others_finish(self):
        grid = make_grid(self.dir, ["0.01", "0.5", "0.03"])
        out = os.path.join(self.dir, "failing")
        result = self.run_grid(grid, out)
        self.assertEqual(result.returncode, 1)
        self.assertIn("1 runs failed: demo: lr=0.5, seed 0: exit code 2", result.stderr)
        with open(os.path.join(out, "demo.md")) as f:
            md = f.read()
        self.assertIn("- lr=0.5, seed 0: failed: exit code 2", md)
        self.assertIn("\u2605 lr=0.03", md)
        with open(os.path.join(out, "demo.json")) as f:
            self.assertEqual(json.load(f)["best"], "lr=0.03")

    def test_rows_runs_some_rows_now_and_the_rest_later(self):
        path = os.path.join(self.dir, "rows.json")
        write(path, json.dumps({
            "name": "demo", "title": "Demo", "trainer": "train",
            "rows": [{"name": "slow one", "flags": ["--lr=0.01"]},
                     {"name": "goal", "flags": ["--lr=0.02"]}],
            "columns": [{"key": "test_acc"}]}))
        out = os.path.join(self.dir, "rows")
        some = self.run_grid(path, out, "--rows=goal")
        self.assertEqual(some.returncode, 0, some.stderr)
        self.assertIn("1 of 2 runs finished", some.stdout)
        self.assertEqual(self.starts(out, "slow_one", 0), [])
        self.assertEqual(len(self.starts(out, "goal", 0)), 1)
        rest = self.run_grid(path, out)
        self.assertEqual(rest.returncode, 0, rest.stderr)
        self.assertIn("2 of 2 runs finished", rest.stdout)
        self.assertEqual(len(self.starts(out, "goal", 0)), 1)  # Not run again.
        wrong = self.run_grid(path, out, "--rows=goal,nope")
        self.assertEqual(wrong.returncode, 1)
        self.assertIn('--rows: demo has no row "nope"', wrong.stderr)
        # With several tables, one without the row stops all before any runs.
        both = self.run_grid(path + "," + make_grid(self.dir, ["0.01"]),
                             os.path.join(self.dir, "both"), "--rows=goal")
        self.assertEqual(both.returncode, 1)
        self.assertIn('--rows: demo has no row "goal"', both.stderr)
        self.assertFalse(os.path.exists(os.path.join(self.dir, "both", "demo")))

    def test_rows_run_only_the_steps_their_cells_name(self):
        path = os.path.join(self.dir, "rows_steps.json")
        write(path, json.dumps({
            "name": "demo", "title": "Demo", "trainer": "train",
            "steps": [{"name": "pretrain", "trainer": "train", "flags": ["--lr=0.01"]}],
            "rows": [{"name": "scratch", "flags": ["--lr=0.01"]},
                     {"name": "transfer",
                      "flags": ["--needs={step:pretrain}/results.json"]}],
            "columns": [{"key": "test_acc"}]}))
        out = os.path.join(self.dir, "rows_steps")
        scratch = self.run_grid(path, out, "--rows=scratch")
        self.assertEqual(scratch.returncode, 0, scratch.stderr)
        self.assertIn("demo: 0 steps and 1 cells to run", scratch.stderr)
        self.assertEqual(self.starts(out, "pretrain", 0), [])
        transfer = self.run_grid(path, out, "--rows=transfer")
        self.assertEqual(transfer.returncode, 0, transfer.stderr)
        self.assertIn("demo: 1 steps and 1 cells to run", transfer.stderr)
        self.assertEqual(len(self.starts(out, "pretrain", 0)), 1)

    def test_merge_only_writes_a_table_of_what_there_is(self):
        grid = make_grid(self.dir, ["0.01"])
        out = os.path.join(self.dir, "nothing")
        result = self.run_grid(grid, out, "--merge_only")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("0 of 1 runs finished", result.stdout)
        self.assertFalse(os.path.exists(os.path.join(out, "demo", "lr=0.01", "seed_0", "log.txt")))

    def test_project_tables_are_known_by_name(self):
        result = self.run_grid("endangered_models", os.path.join(self.dir, "m"), "--merge_only")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("Endangered study, Models 0-4", result.stdout)
        self.assertIn("0.8287", result.stdout)  # The study's Model 4 beside fauna's.

    def test_bad_input_is_one_line(self):
        out = os.path.join(self.dir, "bad")
        cases = [
            (["--grids=nope"], "no table \"nope\""),
            (["--grids=" + os.path.join(self.dir, "missing.json")], "no grid file"),
            (["--grids=endangered_models", "--scale=huge"], "--scale=huge: ci, small or paper"),
            (["--grids=endangered_models", "--seeds=0"], "--seeds: at least 1"),
            (["--grids=endangered_models", "--shard=2/2"], "2/2"),
            (["--grids=endangered_models", "--trainer_path=nope=/bin/true"], "no trainer \"nope\""),
            (["--grids=endangered_models", "stray"], "unexpected argument 'stray'"),
        ]
        for args, message in cases:
            result = subprocess.run([GRID, "--out=" + out] + args, capture_output=True, text=True)
            self.assertEqual(result.returncode, 1, args)
            lines = result.stderr.strip().splitlines()
            self.assertTrue(lines and lines[-1].startswith("error: "), result.stderr)
            self.assertIn(message, lines[-1])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
