"""Writes torch.save files for //core:torch_save_test, with Debian's python3-torch.

Usage: make_torch_save_files.py OUT_DIR
  state_dict.pt    dict(model.state_dict()) of Linear(3, 2) + BatchNorm1d(2), values set by hand
  ordered_dict.pt  model.state_dict() as it is (an OrderedDict), which fauna refuses clearly
  list.pt          a list of tensors (LibTorch's unpickler cannot read its APPENDS opcode)
  tensor.pt        a bare tensor, not a dict
  mixed.pt         a dict with a non-tensor value
"""
import os
import sys

import torch


def main(out_dir):
    model = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    with torch.no_grad():
        model[0].weight.copy_(torch.arange(6, dtype=torch.float32).reshape(2, 3) / 4)
        model[0].bias.copy_(torch.tensor([-1.0, 1.0]))
        model[1].running_mean.copy_(torch.tensor([0.5, -0.5]))
        model[1].num_batches_tracked.fill_(7)
    torch.save(dict(model.state_dict()), os.path.join(out_dir, "state_dict.pt"))
    torch.save(model.state_dict(), os.path.join(out_dir, "ordered_dict.pt"))
    torch.save([torch.ones(2)], os.path.join(out_dir, "list.pt"))
    torch.save(torch.ones(2), os.path.join(out_dir, "tensor.pt"))
    torch.save({"w": torch.ones(2), "step": 3}, os.path.join(out_dir, "mixed.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
