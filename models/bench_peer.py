"""The PyTorch peer of //models:models_bench (bench/models_vs_torchvision.sh runs both sides).

The same models, scales, timing and JSON lines as models_bench, in Python with Debian's torch and
torchvision:
  - resnet18, resnet50, vgg16, vgg16_bn: torchvision's own constructors at width 1; at a reduced
    width, torchvision's ResNet and VGG classes (their blocks, make_layers and forward code) with
    every channel count scaled as fauna's ScaleWidth does (round(c * width), at least 1);
  - endangered_baseline, endangered_model4 and autoencoder, which torchvision lacks: plain
    torch.nn modules written here to fauna's architecture (models/endangered_cnn.h,
    models/autoencoder.h), with fauna's state-dict names.
--describe prints each model's parameter count and sorted "key shape" lines instead of timing,
so that the script can check both sides build the same networks.

Usage: bench_peer.py [--scale ci|small|paper] [--models resnet18,...] [--modes forward,train]
                     [--threads 2] [--min_time 1.0] [--min_steps 3] [--warmup 2] [--describe]
"""
import argparse
import json
import statistics
import time

import torch
from torch import nn
import torch.nn.functional as F
import torchvision
from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet
from torchvision.models.vgg import VGG, cfgs, make_layers

# name: (image side, width multiplier, batch); the trainer's scales, as in models_bench.cc.
SCALES = {"ci": (32, 0.125, 16), "small": (64, 0.25, 32), "paper": (224, 1.0, 8)}
MODELS = ("resnet18,resnet50,vgg16,vgg16_bn,endangered_baseline,endangered_model4,"
          "autoencoder")


def scale_width(channels, width):
    """fauna's ScaleWidth: round half away from zero, at least 1."""
    return max(1, int(channels * width + 0.5))


class ScaledResNet(ResNet):
    """torchvision's ResNet with every stage's planes scaled by `width`.

    ResNet.__init__ hard-codes 64 input planes, so this sets up the same attributes itself and
    builds the stages with torchvision's _make_layer; forward and the blocks are torchvision's.
    """

    def __init__(self, block, layers, width, num_classes):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = scale_width(64, width)
        self.dilation = 1
        self.groups = 1
        self.base_width = 64
        self.conv1 = nn.Conv2d(3, self.inplanes, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(self.inplanes)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, scale_width(64, width), layers[0])
        self.layer2 = self._make_layer(block, scale_width(128, width), layers[1], stride=2)
        self.layer3 = self._make_layer(block, scale_width(256, width), layers[2], stride=2)
        self.layer4 = self._make_layer(block, scale_width(512, width), layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(self.inplanes, num_classes)
        for m in self.modules():  # torchvision's initialisation
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.constant_(m.weight, 1)
                nn.init.constant_(m.bias, 0)


def resnet(depth, width, num_classes):
    if width == 1.0:
        return getattr(torchvision.models, f"resnet{depth}")(num_classes=num_classes)
    block, layers = {18: (BasicBlock, [2, 2, 2, 2]), 50: (Bottleneck, [3, 4, 6, 3])}[depth]
    return ScaledResNet(block, layers, width, num_classes)


def vgg(cfg, batch_norm, width, num_classes):
    """torchvision's VGG: make_layers on the scaled table, the classifier at the scaled width."""
    if width == 1.0:
        name = {"D": "vgg16"}[cfg] + ("_bn" if batch_norm else "")
        return getattr(torchvision.models, name)(num_classes=num_classes)
    table = [c if c == "M" else scale_width(c, width) for c in cfgs[cfg]]
    model = VGG(make_layers(table, batch_norm=batch_norm), num_classes=num_classes)
    hidden = scale_width(4096, width)
    model.classifier[0] = nn.Linear(table[-2] * 7 * 7, hidden)
    model.classifier[3] = nn.Linear(hidden, hidden)
    model.classifier[6] = nn.Linear(hidden, num_classes)
    for i in (0, 3, 6):  # torchvision's VGG initialisation of linear layers
        nn.init.normal_(model.classifier[i].weight, 0, 0.01)
        nn.init.constant_(model.classifier[i].bias, 0)
    return model


class EndangeredCnn(nn.Module):
    """fauna's EndangeredCnn (models/endangered_cnn.h): [conv 3x3, (BN), ReLU, max pool 2] per
    stage, adaptive max pool to 14x14, then [dropout, linear, (BN), ReLU] per hidden layer and the
    linear head, under the study's names."""

    def __init__(self, conv_channels, conv_bn, hidden, fc_bn, dropout, width, num_classes,
                 pooled_size=14):
        super().__init__()
        self.pooled_size = pooled_size
        layers, channels = [], 3
        for c in conv_channels:
            out = scale_width(c, width)
            layers.append(nn.Conv2d(channels, out, kernel_size=3, padding=1))
            if conv_bn:
                layers.append(nn.BatchNorm2d(out))
            layers += [nn.ReLU(inplace=True), nn.MaxPool2d(2, 2)]
            channels = out
        self.convolutional_layers = nn.Sequential(*layers)
        layers, features = [], channels * pooled_size * pooled_size
        for h in hidden:
            out = scale_width(h, width)
            layers += [nn.Dropout(dropout), nn.Linear(features, out)]
            if fc_bn:
                layers.append(nn.BatchNorm1d(out))
            layers.append(nn.ReLU(inplace=True))
            features = out
        layers.append(nn.Linear(features, num_classes))
        self.fully_connection_layers = nn.Sequential(*layers)

    def forward(self, x):
        x = self.convolutional_layers(x)
        x = F.adaptive_max_pool2d(x, self.pooled_size).flatten(1)
        return self.fully_connection_layers(x)


def endangered(name, width, num_classes):
    if name == "baseline":
        return EndangeredCnn([32, 128, 256], False, [512, 128], False, 0.0, width, num_classes)
    assert name in ("model3", "model4"), name
    return EndangeredCnn([64, 128, 128, 256], True, [512, 256, 128], True, 0.4, width,
                         num_classes)


class Encoder(nn.Module):
    def __init__(self, channels, side, latent_dim):
        super().__init__()
        layers, previous = [], 3
        for c in channels:
            layers += [nn.Conv2d(previous, c, kernel_size=3, padding=1), nn.ReLU(inplace=True),
                       nn.MaxPool2d(2, 2)]
            previous = c
        self.conv = nn.Sequential(*layers)
        self.fc = nn.Linear(previous * side * side, latent_dim)

    def forward(self, x):
        return self.fc(self.conv(x).flatten(1))


class Decoder(nn.Module):
    def __init__(self, channels, side, latent_dim):
        super().__init__()
        self.shape = (channels[-1], side, side)
        self.fc = nn.Linear(latent_dim, channels[-1] * side * side)
        layers, sizes = [], [3] + channels
        for i in range(len(sizes) - 1, 0, -1):
            layers.append(nn.ConvTranspose2d(sizes[i], sizes[i - 1], kernel_size=2, stride=2))
            if i > 1:
                layers.append(nn.ReLU(inplace=True))
        self.deconv = nn.Sequential(*layers)

    def forward(self, code):
        code = F.relu(self.fc(code))
        return self.deconv(code.view(code.size(0), *self.shape))


class Autoencoder(nn.Module):
    """fauna's ConvAutoencoder (models/autoencoder.h) with its defaults: stages of 32, 64, 128
    channels (times width), a 256-wide FC bottleneck, transposed convolutions back up."""

    def __init__(self, side, width, latent_dim=256):
        super().__init__()
        channels = [scale_width(c, width) for c in (32, 64, 128)]
        code_side = side >> len(channels)
        self.encoder = Encoder(channels, code_side, latent_dim)
        self.decoder = Decoder(channels, code_side, latent_dim)

    def forward(self, x):
        return self.decoder(self.encoder(x))


def create(name, side, width, num_classes):
    if name.startswith("resnet"):
        return resnet(int(name[6:]), width, num_classes)
    if name.startswith("vgg"):
        return vgg({"16": "D"}[name[3:5]], name.endswith("_bn"), width, num_classes)
    if name.startswith("endangered_"):
        return endangered(name[len("endangered_"):], width, num_classes)
    if name == "autoencoder":
        return Autoencoder(side, width)
    raise ValueError(f"unknown model {name!r}")


def describe(model):
    keys = sorted(f"{k} {','.join(str(d) for d in v.shape)}"
                  for k, v in model.state_dict(keep_vars=True).items())
    return {"params": sum(p.numel() for p in model.parameters()), "keys": keys}


def timed(step, warmup, min_time, min_steps):
    """The loop of models_bench.cc: `warmup` untimed steps, then timed steps until min_time
    seconds have passed and at least min_steps were taken; returns each step's seconds."""
    for _ in range(warmup):
        step()
    seconds = []
    while sum(seconds) < min_time or len(seconds) < min_steps:
        start = time.perf_counter()
        step()
        seconds.append(time.perf_counter() - start)
    return seconds


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", default="ci", choices=sorted(SCALES))
    parser.add_argument("--models", default=MODELS)
    parser.add_argument("--modes", default="forward,train")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--min_time", type=float, default=1.0)
    parser.add_argument("--min_steps", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--num_classes", type=int, default=10)
    parser.add_argument("--describe", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    side, width, batch = SCALES[args.scale]
    for name in args.models.split(","):
        model = create(name, side, width, args.num_classes)
        line = {"peer": "torch", "model": name, "scale": args.scale, "side": side,
                "width": width, "batch": batch}
        if args.describe:
            print(json.dumps({**line, **describe(model)}), flush=True)
            continue
        x = torch.randn(batch, 3, side, side)
        labels = torch.randint(args.num_classes, (batch,))
        for mode in args.modes.split(","):
            if mode == "forward":
                model.eval()

                def step():
                    model(x)
            elif mode == "train":
                model.train()
                optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
                loss_fn = F.mse_loss if name == "autoencoder" else F.cross_entropy
                target = x if name == "autoencoder" else labels

                def step():
                    optimizer.zero_grad()
                    loss_fn(model(x), target).backward()
                    optimizer.step()
            else:
                raise ValueError(f"unknown mode {mode!r}")
            with torch.set_grad_enabled(mode != "forward"):
                seconds = timed(step, args.warmup, args.min_time, args.min_steps)
            print(json.dumps({**line, "mode": mode, "threads": torch.get_num_threads(),
                              "steps": len(seconds), "seconds": sum(seconds),
                              "images_per_s": batch / statistics.median(seconds),
                              "mean_images_per_s": len(seconds) * batch / sum(seconds)}),
                  flush=True)


if __name__ == "__main__":
    main()
