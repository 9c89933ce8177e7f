"""Round trip of tools/convert_weights.py on torchvision's resnet18, and its errors."""
import collections
import os
import subprocess
import sys
import tempfile
import unittest

import torch
import torchvision

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "convert_weights.py")


def convert(src, dst):
    return subprocess.run([sys.executable, SCRIPT, src, dst], capture_output=True, text=True)


class ConvertWeightsTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(dir=os.environ.get("TEST_TMPDIR"))

    def path(self, name):
        return os.path.join(self.dir, name)

    def test_torchvision_round_trip_gives_the_same_model(self):
        torch.manual_seed(0)
        model = torchvision.models.resnet18(num_classes=5).eval()
        torch.save(model.state_dict(), self.path("r18.pth"))  # An OrderedDict, as people save it.
        result = convert(self.path("r18.pth"), self.path("r18.safetensors"))
        self.assertEqual(result.returncode, 0, result.stderr)
        result = convert(self.path("r18.safetensors"), self.path("r18.pt"))
        self.assertEqual(result.returncode, 0, result.stderr)
        loaded = torch.load(self.path("r18.pt"))
        self.assertIs(type(loaded), dict)
        copy = torchvision.models.resnet18(num_classes=5).eval()
        copy.load_state_dict(loaded)
        x = torch.randn(2, 3, 64, 64)
        self.assertTrue(torch.equal(model(x), copy(x)))
        self.assertEqual(loaded["bn1.num_batches_tracked"].dtype, torch.int64)

    def test_checkpoint_dicts_and_dtypes(self):
        tensors = collections.OrderedDict(
            h=torch.randn(3).half(), b=torch.randn(2).bfloat16(), flag=torch.tensor([1, 0]).gt(0),
            empty=torch.zeros(0, 4))
        torch.save({"epoch": 3, "state_dict": tensors}, self.path("ckpt.pth"))
        self.assertEqual(convert(self.path("ckpt.pth"), self.path("c.safetensors")).returncode, 0)
        self.assertEqual(convert(self.path("c.safetensors"), self.path("c.pt")).returncode, 0)
        back = torch.load(self.path("c.pt"))
        for name, tensor in tensors.items():
            self.assertEqual(back[name].dtype, tensor.dtype, name)
            self.assertTrue(torch.equal(back[name], tensor), name)

    def test_errors_are_one_clear_line(self):
        torch.save([torch.ones(1)], self.path("list.pth"))
        result = convert(self.path("list.pth"), self.path("x.safetensors"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("not a state dict", result.stderr)
        with open(self.path("junk.safetensors"), "wb") as f:
            f.write(b"\xff" * 16)
        result = convert(self.path("junk.safetensors"), self.path("x.pt"))
        self.assertEqual(result.returncode, 1)
        self.assertIn("beyond the file", result.stderr)
        result = convert(self.path("list.pth"), self.path("x.bin"))
        self.assertIn("must end in", result.stderr)
        result = convert(self.path("missing.pth"), self.path("x.safetensors"))
        self.assertEqual(result.returncode, 1)
        self.assertEqual(len(result.stderr.strip().splitlines()), 1)


if __name__ == "__main__":
    unittest.main()
