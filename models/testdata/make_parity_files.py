"""Writes torchvision reference files for fauna's model tests, with Debian's python3-torchvision.

Usage: make_parity_files.py OUT_DIR

  <arch>_keys.txt      one line "key dtype d0,d1,..." per entry of torchvision's state_dict, in
                       order, for resnet18, resnet50, vgg16 and vgg16_bn (1000 classes)
  resnet50_weights.pt  dict(state_dict()) of torchvision's resnet50(num_classes=10); floating
                       tensors stored as float16 (the model itself holds exactly those values, in
                       float32), so the file is half the size
  resnet50_io.pt       {"input": [2, 3, 64, 64], "logits": eval-mode output}
  vgg11_bn_w0125_weights.pt, vgg11_bn_w0125_io.pt
                       torchvision's VGG class with vgg11_bn's layout at width 1/8: make_layers on
                       the channel table scaled by 1/8 and the three classifier layers 512 wide
                       (4096 / 8), 10 classes, input [2, 3, 64, 64]. Full-width VGG weights are
                       over 500 MB, too big for a test; the forward code is torchvision's either way.

Batch-norm running statistics and affine parameters are randomised, so eval mode is a real test.
"""
import os
import sys

import torch
from torch import nn
import torchvision
from torchvision.models.vgg import VGG, cfgs, make_layers


def write_keys(model, path):
    with open(path, "w") as f:
        for key, value in model.state_dict().items():
            shape = ",".join(str(d) for d in value.shape)
            f.write(f"{key} {str(value.dtype).replace('torch.', '')} {shape}\n")


def randomise_and_round(model, generator):
    """Random batch-norm statistics; every floating value rounded to float16 precision."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d)):
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.uniform_(-0.2, 0.2, generator=generator)
                module.running_mean.uniform_(-0.2, 0.2, generator=generator)
                module.running_var.uniform_(0.5, 1.5, generator=generator)
        for value in model.state_dict().values():
            if value.is_floating_point():
                value.copy_(value.half().float())


def save_parity(model, name, out_dir, generator):
    randomise_and_round(model, generator)
    model.eval()
    x = torch.rand(2, 3, 64, 64, generator=generator) * 2 - 1
    with torch.no_grad():
        logits = model(x)
    weights = {k: (v.half() if v.is_floating_point() else v)
               for k, v in model.state_dict().items()}
    torch.save(weights, os.path.join(out_dir, f"{name}_weights.pt"))
    torch.save({"input": x, "logits": logits}, os.path.join(out_dir, f"{name}_io.pt"))


def scaled_vgg11_bn(width, num_classes):
    cfg = [c if c == "M" else max(1, round(c * width)) for c in cfgs["A"]]
    model = VGG(make_layers(cfg, batch_norm=True), num_classes=num_classes)
    channels = cfg[-2]
    hidden = max(1, round(4096 * width))
    model.classifier[0] = nn.Linear(channels * 7 * 7, hidden)
    model.classifier[3] = nn.Linear(hidden, hidden)
    model.classifier[6] = nn.Linear(hidden, num_classes)
    for i in (0, 3, 6):  # torchvision's VGG initialisation of linear layers
        nn.init.normal_(model.classifier[i].weight, 0, 0.01)
        nn.init.constant_(model.classifier[i].bias, 0)
    return model


def main(out_dir):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(0)
    for name in ("resnet18", "resnet50", "vgg16", "vgg16_bn"):
        write_keys(getattr(torchvision.models, name)(), os.path.join(out_dir, f"{name}_keys.txt"))
    generator = torch.Generator().manual_seed(1)
    save_parity(torchvision.models.resnet50(num_classes=10), "resnet50", out_dir, generator)
    save_parity(scaled_vgg11_bn(0.125, 10), "vgg11_bn_w0125", out_dir, generator)


if __name__ == "__main__":
    main(sys.argv[1])
