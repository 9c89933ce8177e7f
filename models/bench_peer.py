"""Peer of //models:models_bench: torchvision's resnet18, resnet50 and vgg16 at the same sizes.

Usage: bench_peer.py [--sizes 64,224] [--batch 8] [--seconds 2]
Prints one line per model, mode and size: images per second, eval-mode forward (no grad) and a
training step (forward, cross-entropy, backward, SGD update).
"""
import argparse
import time

import torch
import torchvision


def images_per_second(step, batch, seconds):
    step()  # warm-up
    count, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        step()
        count += 1
    return count * batch / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="64,224")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=2.0)
    args = parser.parse_args()
    for name in ("resnet18", "resnet50", "vgg16"):
        for side in (int(s) for s in args.sizes.split(",")):
            model = getattr(torchvision.models, name)(num_classes=10)
            x = torch.randn(args.batch, 3, side, side)
            labels = torch.randint(10, (args.batch,))
            optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)

            def forward():
                with torch.no_grad():
                    model(x)

            def train_step():
                optimizer.zero_grad()
                torch.nn.functional.cross_entropy(model(x), labels).backward()
                optimizer.step()

            model.eval()
            rate = images_per_second(forward, args.batch, args.seconds)
            print(f"{name}/forward/{args.batch}/{side} images_per_s={rate:.1f}")
            model.train()
            rate = images_per_second(train_step, args.batch, args.seconds)
            print(f"{name}/train_step/{args.batch}/{side} images_per_s={rate:.1f}")


if __name__ == "__main__":
    main()
