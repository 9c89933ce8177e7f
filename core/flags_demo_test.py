"""End-to-end test of fauna's --help on a binary that links LibTorch (core/flags_demo.cc): --help
and -h list the binary's own flags, grouped, with the values a --flagfile or the command line set,
and none of LibTorch's, glog's or gflags'; --helpfull lists all of them.

Usage (Bazel passes it): flags_demo_test.py <flags_demo binary>
"""
import os
import subprocess
import sys
import unittest

DEMO = os.path.abspath(sys.argv[1])
TMP = os.environ.get("TEST_TMPDIR", "/tmp")
HELPFULL_LINE = ("--helpfull lists every flag, those of LibTorch, glog and gflags "
                 "(--flagfile, ...) too.")


def run(*flags):
    return subprocess.run([DEMO] + list(flags), capture_output=True, text=True)


class FlagsDemoTest(unittest.TestCase):

    def assert_fauna_help(self, done):
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stderr, "")
        out = done.stdout
        self.assertTrue(out.startswith("flags_demo: Shows fauna's --help; see core/flags.h.\n"),
                        out)
        self.assertIn("\nWhat the run is:\n  --name (string, default \"demo\"", out)
        self.assertIn("\nOptimisation:\n  --epochs (int64, default 10", out)
        self.assertIn("\nFlags from core/flags_demo.cc:\n  --touch_tensor (bool, default false)\n",
                      out)
        for foreign in ["caffe2_", "torch_jit", "logtostderr", "minloglevel", "--flagfile (",
                        "--helpfull (", "Flags from ./", "Flags from /"]:
            self.assertNotIn(foreign, out)
        self.assertTrue(out.endswith("\n" + HELPFULL_LINE + "\n"), out)
        return out

    def test_help_lists_own_flags_only(self):
        out = self.assert_fauna_help(run("--help"))
        self.assertIn("\nWhat the run is:\n"
                      "  --name (string, default \"demo\")\n"
                      "      Name of the run.\n"
                      "  --resume (bool, default false)\n"
                      "      Continue the run.\n"
                      "\n"
                      "Optimisation:\n"
                      "  --epochs (int64, default 10)\n"
                      "      Most epochs.\n"
                      "  --lr (double, default 0.001)\n", out)

    def test_short_and_single_dash_spellings(self):
        expected = self.assert_fauna_help(run("--help"))
        self.assertEqual(self.assert_fauna_help(run("-h")), expected)
        self.assertEqual(self.assert_fauna_help(run("-help")), expected)

    def test_help_shows_values_from_flagfile_and_command_line(self):
        flagfile = os.path.join(TMP, "recipe.flags")
        with open(flagfile, "w") as f:
            f.write("# A recipe.\n--name=recipe\n--lr=0.1\n--epochs=100\n")
        out = self.assert_fauna_help(run("--flagfile=" + flagfile, "--epochs=3", "--help"))
        self.assertIn("--name (string, default \"demo\"; now \"recipe\", from --flagfile)\n", out)
        self.assertIn("--lr (double, default 0.001; now 0.1, from --flagfile)\n", out)
        self.assertIn("--epochs (int64, default 10; now 3, from the command line)\n", out)
        self.assertIn("--resume (bool, default false)\n", out)

    def test_helpfull_lists_every_flag(self):
        done = run("--helpfull")
        self.assertEqual(done.returncode, 1)  # gflags' own --helpfull exits with 1.
        for flag in ["-caffe2_", "-torch_jit", "-logtostderr", "-flagfile", "-name", "-lr"]:
            self.assertIn(flag, done.stdout)
        # --helpfull wins over --help (gflags' listing then shows -help as set).
        both = run("--help", "--helpfull")
        self.assertEqual(both.returncode, 1)
        self.assertIn("-caffe2_", both.stdout)

    def test_flags_parse_as_usual(self):
        done = run("--name=x", "--noresume", "--lr", "0.5", "--touch_tensor", "a", "--", "--b")
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertEqual(done.stdout, "name=x resume=0 epochs=10 lr=0.5 args=2\n")

    def test_unknown_flag_is_an_error(self):
        done = run("--no_such_flag", "--help")
        self.assertEqual(done.returncode, 1)
        self.assertIn("unknown command line flag 'no_such_flag'", done.stderr)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
