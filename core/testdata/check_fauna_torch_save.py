"""Checks that Python's torch.load reads a dict written by fauna's WriteTorchSave.

Usage: check_fauna_torch_save.py FILE  (written by //core:torch_save_test)
"""
import sys

import torch


def main(path):
    loaded = torch.load(path)
    assert isinstance(loaded, dict), type(loaded)
    assert sorted(loaded) == ["0.bias", "0.weight", "1.num_batches_tracked"], sorted(loaded)
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    missing, unexpected = model.load_state_dict(loaded, strict=False)
    assert not unexpected, unexpected
    expected = torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4
    assert torch.equal(model[0].weight, expected), model[0].weight
    assert torch.equal(model[0].bias, torch.tensor([-1.0, 1.0]))
    assert loaded["1.num_batches_tracked"].dtype == torch.int64
    assert int(loaded["1.num_batches_tracked"]) == 7
    print("torch.load read fauna's file: OK")


if __name__ == "__main__":
    main(sys.argv[1])
