"""fauna features files (data/features_file.h) from Python, with numpy only, for the peer scripts.

A features file is safetensors: `features` float32 [N, D], `labels` int64 [N], and metadata
{"format": "fauna.features.v1", "classes": JSON list, "model", "layer", optional "paths"}.
Also reads Fashion-MNIST's IDX files as Debian ships them.
"""
import gzip
import json
import struct

import numpy as np

FASHION_MNIST = "/usr/share/datasets/fashion-mnist"
FASHION_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
                   "Sneaker", "Bag", "Ankle boot"]


def write_features(path, features, labels, classes, model="", layer="", paths=None):
    features = np.ascontiguousarray(features, dtype=np.float32)
    labels = np.ascontiguousarray(labels, dtype=np.int64)
    meta = {"format": "fauna.features.v1", "classes": json.dumps(list(classes)),
            "model": model, "layer": layer}
    if paths is not None:
        meta["paths"] = json.dumps(list(paths))
    fb, lb = features.tobytes(), labels.tobytes()
    header = {"__metadata__": meta,
              "features": {"dtype": "F32", "shape": list(features.shape),
                           "data_offsets": [0, len(fb)]},
              "labels": {"dtype": "I64", "shape": list(labels.shape),
                         "data_offsets": [len(fb), len(fb) + len(lb)]}}
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        f.write(fb)
        f.write(lb)


def read_features(path):
    """Returns (features, labels, metadata) of a fauna features file."""
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    def tensor(name, dtype):
        entry = header[name]
        begin, end = entry["data_offsets"]
        return np.frombuffer(data[begin:end], dtype=dtype).reshape(entry["shape"])
    return tensor("features", np.float32), tensor("labels", np.int64), header.get("__metadata__", {})


def fashion_mnist(split):
    """(images uint8 [N, 28, 28], labels int64 [N]) of Debian's Fashion-MNIST; split: train|t10k."""
    with gzip.open(f"{FASHION_MNIST}/{split}-images-idx3-ubyte.gz") as f:
        _, n, rows, cols = struct.unpack(">IIII", f.read(16))
        images = np.frombuffer(f.read(), dtype=np.uint8).reshape(n, rows, cols)
    with gzip.open(f"{FASHION_MNIST}/{split}-labels-idx1-ubyte.gz") as f:
        struct.unpack(">II", f.read(8))
        labels = np.frombuffer(f.read(), dtype=np.uint8).astype(np.int64)
    return images, labels
