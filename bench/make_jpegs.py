"""Writes a class folder of JPEGs for the loader benchmark: ROOT/<class>/<i>.jpg.

Images are smooth random colour fields with per-pixel noise of +-NOISE levels (so JPEG sizes are
realistic, unlike flat images: the default 12 gives about 137 KB per 512 px image at quality 95,
4.2 bits a pixel; 3 gives about 84 KB), of the given size and quality, the same bytes for the same
seed.

Usage: make_jpegs.py ROOT [--count 512] [--size 512] [--quality 95] [--noise 12] [--classes 3]
                          [--seed 0]
"""
import argparse
import os

import numpy as np
from PIL import Image


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--count", type=int, default=512)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--quality", type=int, default=95)
    parser.add_argument("--noise", type=int, default=12)
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    for c in range(args.classes):
        os.makedirs(os.path.join(args.root, "class%d" % c), exist_ok=True)
    low = args.size // 16
    for i in range(args.count):
        coarse = rng.integers(0, 256, size=(low, low, 3), dtype=np.uint8)
        image = Image.fromarray(coarse).resize((args.size, args.size), Image.BICUBIC)
        pixels = np.asarray(image).astype(np.int16)
        pixels += rng.integers(-args.noise, args.noise + 1, size=pixels.shape, dtype=np.int16)
        image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))
        path = os.path.join(args.root, "class%d" % (i % args.classes), "%05d.jpg" % i)
        image.save(path, quality=args.quality)


if __name__ == "__main__":
    main()
