"""//robustness:noise_sweep with a fake trainer: one run per fraction with its --noise_fraction,
the table; bad input."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

SWEEP = os.path.abspath(sys.argv[1])
TMP = os.environ.get("TEST_TMPDIR", tempfile.gettempdir())

FAKE = r"""#!/bin/sh
dir=''; f=''; sigma=''
for a in "$@"; do
  case "$a" in
    --run_dir=*) dir="${a#--run_dir=}" ;;
    --noise_fraction=*) f="${a#--noise_fraction=}" ;;
    --noise_sigma=*) sigma="${a#--noise_sigma=}" ;;
  esac
done
acc=$(awk "BEGIN { print 0.9 - $f }")
printf '{"test_acc": %s, "best": {"val_acc": %s}, "sigma": %s}\n' "$acc" "$acc" "$sigma" \
  > "$dir/results.json"
"""


class NoiseSweepTest(unittest.TestCase):

    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=TMP)
        self.fake = os.path.join(self.dir, "fake.sh")
        with open(self.fake, "w") as f:
            f.write(FAKE)
        os.chmod(self.fake, 0o755)

    def sweep(self, *args):
        return subprocess.run([SWEEP, "--out=" + self.dir, "--trainer_path=train=" + self.fake,
                               "--scale=ci"] + list(args), capture_output=True, text=True)

    def test_one_run_per_fraction_and_the_table(self):
        result = self.sweep("--recipe=endangered_model4", "--fractions=0,0.1,0.2",
                            "--sigma=30", "--seeds=2")
        self.assertEqual(result.returncode, 0, result.stderr)
        with open(os.path.join(self.dir, "noise_endangered_model4_sigma30.json")) as f:
            table = json.load(f)
        labels = [cell["label"] for cell in table["cells"]]
        self.assertEqual(labels, ["noise_fraction=0", "noise_fraction=0.1",
                                  "noise_fraction=0.2"])
        means = [cell["values"]["test_acc"]["mean"] for cell in table["cells"]]
        for mean, expected in zip(means, [0.9, 0.8, 0.7]):
            self.assertAlmostEqual(mean, expected)
        self.assertEqual(table["best"], None)
        with open(os.path.join(self.dir, "noise_endangered_model4_sigma30", "noise_fraction=0.1",
                               "seed_1", "results.json")) as f:
            self.assertEqual(json.load(f)["sigma"], 30)
        self.assertTrue(
            os.path.exists(os.path.join(self.dir, "noise_endangered_model4_sigma30.svg")))

    def test_bad_input(self):
        cases = [
            (["--fractions=0,2"], "2 is not in [0, 1]"),
            (["--fractions=0,a"], "\"a\" is not a number"),
            (["--fractions=0.1,0.10"], "0.10 twice"),
            (["--sigma=300"], "--sigma=300"),
            (["--name=Bad"], "is [a-z0-9_]+"),
            (["--trainer=nope"], "no trainer \"nope\""),
        ]
        for args, message in cases:
            result = self.sweep("--recipe=endangered_model4", *args)
            self.assertEqual(result.returncode, 1, args)
            self.assertIn(message, result.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
