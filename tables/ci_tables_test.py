"""CI's guard over every table at the ci scale: the tables //tables:all_ci built (inside Bazel,
seed 0, 2 threads) have every cell finished, and every accuracy within the bounds of
tables/testdata/ci_golden.json (measured over seeds; see tables/testdata/measure_ci_golden.py)."""
import json
import os
import sys
import unittest

RUNFILES = os.path.join(os.environ["TEST_SRCDIR"], "fauna")


def load(path):
    with open(path) as f:
        return json.load(f)


class CiTablesTest(unittest.TestCase):

    def setUp(self):
        self.golden = load(os.path.join(RUNFILES, "tables/testdata/ci_golden.json"))
        self.tables = {}
        for path in sys.argv[1:]:
            if path.endswith(".json"):
                table = load(os.path.join(RUNFILES, path))
                self.tables[table["name"]] = table

    def test_every_table_is_built_and_guarded(self):
        self.assertEqual(sorted(self.tables), sorted(self.golden["tables"]))

    def test_every_cell_finished(self):
        for name, table in self.tables.items():
            for cell in table["cells"]:
                self.assertEqual(cell["finished_seeds"], table["seeds"],
                                 "%s: %s: %s" % (name, cell["label"], cell["unfinished"]))

    def test_accuracies_within_the_measured_bounds(self):
        failures = []
        for name, table in self.tables.items():
            golden = self.golden["tables"].get(name, {"cells": {}})["cells"]
            for cell in table["cells"]:
                for key, bounds in golden.get(cell["label"], {}).items():
                    value = cell["values"][key]["mean"]
                    if not isinstance(value, (int, float)) or not (
                            bounds["min"] <= value <= bounds["max"]):
                        failures.append("%s: %s: %s = %s, outside [%s, %s] (seeds: %s)" % (
                            name, cell["label"], key, value, bounds["min"], bounds["max"],
                            bounds["seeds"]))
        self.assertEqual(failures, [], "\n".join(failures))

    def test_every_golden_cell_is_in_its_table(self):
        for name, entry in self.golden["tables"].items():
            labels = [cell["label"] for cell in self.tables[name]["cells"]]
            for label in entry["cells"]:
                self.assertIn(label, labels, name)


if __name__ == "__main__":
    unittest.main(argv=sys.argv[:1])
