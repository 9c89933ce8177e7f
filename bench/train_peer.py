"""Peer of fauna's trainer: the plain PyTorch loop a user would write for the same recipe.

torchvision's ImageFolder + RandomHorizontalFlip/RandomVerticalFlip/RandomRotation(15) + ToTensor +
Normalize, DataLoader(num_workers, shuffle), the same architecture at the same width (from
models/bench_peer.py), Adam with the recipe's settings, cross-entropy, and a validation pass per
epoch. Prints one JSON line per epoch with the training images per second.

Usage: train_peer.py --data <class folder> --model vgg16 --width 0.25 --epochs 3
"""
import argparse
import json
import os
import sys
import time

import torch
import torchvision
from torchvision import transforms

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "models"))
import bench_peer  # noqa: E402  (the width-scaled torchvision architectures)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--model", default="vgg16")
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--size", type=int, default=64)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-4)
    parser.add_argument("--weight_decay", type=float, default=1e-4)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)

    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    train_tf = transforms.Compose([
        transforms.Resize((args.size, args.size)), transforms.RandomHorizontalFlip(),
        transforms.RandomVerticalFlip(), transforms.RandomRotation(15), transforms.ToTensor(),
        normalize])
    eval_tf = transforms.Compose([
        transforms.Resize((args.size, args.size)), transforms.ToTensor(), normalize])
    full = torchvision.datasets.ImageFolder(args.data)
    order = torch.randperm(len(full)).tolist()
    n_train = len(full) * 8 // 10
    n_val = len(full) // 10
    train = torch.utils.data.Subset(torchvision.datasets.ImageFolder(args.data, train_tf),
                                    order[:n_train])
    val = torch.utils.data.Subset(torchvision.datasets.ImageFolder(args.data, eval_tf),
                                  order[n_train:n_train + n_val])
    train_loader = torch.utils.data.DataLoader(train, batch_size=args.batch, shuffle=True,
                                               num_workers=args.workers,
                                               persistent_workers=args.workers > 0)
    val_loader = torch.utils.data.DataLoader(val, batch_size=args.batch,
                                             num_workers=args.workers,
                                             persistent_workers=args.workers > 0)

    model = bench_peer.create(args.model, args.size, args.width, len(full.classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    for epoch in range(1, args.epochs + 1):
        model.train()
        start = time.perf_counter()
        seen = 0
        for images, labels in train_loader:
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(images), labels)
            loss.backward()
            optimizer.step()
            seen += labels.numel()
        train_seconds = time.perf_counter() - start
        model.eval()
        correct = 0
        with torch.no_grad():
            for images, labels in val_loader:
                correct += (model(images).argmax(1) == labels).sum().item()
        print(json.dumps({"epoch": epoch, "images_per_s": seen / train_seconds,
                          "val_acc": correct / max(1, len(val))}), flush=True)


if __name__ == "__main__":
    main()
