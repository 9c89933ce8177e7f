"""The torchvision peer of fauna's loader benchmark: ImageFolder + transforms + DataLoader.

Resize to SIZE, random horizontal flip, random rotation (15 degrees), ToTensor, ImageNet
normalisation, shuffled batches from NUM_WORKERS worker processes; the same work fauna's
//bench:loader_bench does. Prints one JSON line per epoch: {"peer": "torchvision", "epoch": e,
"images": n, "seconds": s, "images_per_s": r}.

Usage: loader_peer.py ROOT [--workers 2] [--batch 64] [--size 224] [--epochs 2] [--threads 1]
"""
import argparse
import json
import time

import torch
import torchvision
from torchvision import transforms


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    transform = transforms.Compose([
        transforms.Resize((args.size, args.size)),
        transforms.RandomHorizontalFlip(),
        transforms.RandomRotation(15),
        transforms.ToTensor(),
        transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    ])
    dataset = torchvision.datasets.ImageFolder(args.root, transform=transform)
    loader = torch.utils.data.DataLoader(dataset, batch_size=args.batch, shuffle=True,
                                         num_workers=args.workers,
                                         persistent_workers=args.workers > 0)
    for epoch in range(args.epochs):
        start = time.perf_counter()
        images = 0
        for batch, _ in loader:
            images += batch.shape[0]
        seconds = time.perf_counter() - start
        print(json.dumps({"peer": "torchvision", "epoch": epoch, "images": images,
                          "seconds": round(seconds, 4),
                          "images_per_s": round(images / seconds, 2)}), flush=True)


if __name__ == "__main__":
    main()
