"""Converts weights between PyTorch's torch.save format and safetensors, both ways.

  convert_weights.py resnet50.pth resnet50.safetensors    # torchvision weights for fauna
  convert_weights.py fauna.safetensors fauna.pt            # fauna's weights for Python

The direction comes from the output's extension (.safetensors, or .pt/.pth). A .pth may hold a
state dict (dict or OrderedDict), or a checkpoint dict whose "state_dict" or "model" entry is one.
A .pt written here is a plain dict, which both torch.load and fauna read. Runs with Debian's
python3-torch; needs no safetensors package (the format is written and checked here).
"""
import argparse
import collections
import json
import struct
import sys

import torch

_DTYPES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}
_TYPES = {name: dtype for dtype, name in _DTYPES.items()}


class ConversionError(Exception):
    pass


def load_state_dict(path):
    """The tensors of a torch.save file, by name."""
    loaded = torch.load(path, map_location="cpu")
    for key in ("state_dict", "model"):
        if isinstance(loaded, dict) and isinstance(loaded.get(key), dict):
            loaded = loaded[key]
    if not isinstance(loaded, dict):
        raise ConversionError("%s holds a %s, not a state dict" % (path, type(loaded).__name__))
    tensors = collections.OrderedDict()
    for name, value in loaded.items():
        if not isinstance(value, torch.Tensor):
            raise ConversionError("%s: '%s' is a %s, not a tensor" % (path, name, type(value).__name__))
        tensors[name] = value
    return tensors


def write_safetensors(path, tensors):
    header, chunks, offset = {}, [], 0
    for name, tensor in tensors.items():
        if tensor.dtype not in _DTYPES:
            raise ConversionError("'%s' has dtype %s, which safetensors cannot hold" % (name, tensor.dtype))
        tensor = tensor.detach().cpu().contiguous()
        data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        header[name] = {"dtype": _DTYPES[tensor.dtype], "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as out:
        out.write(struct.pack("<Q", len(text)))
        out.write(text)
        for chunk in chunks:
            out.write(chunk)


def read_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ConversionError("%s: too short for a safetensors file" % path)
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ConversionError("%s: header length %d reaches beyond the file" % (path, n))
    try:
        header = json.loads(data[8:8 + n])
    except ValueError as e:
        raise ConversionError("%s: header is not valid JSON (%s)" % (path, e))
    body = data[8 + n:]
    tensors = collections.OrderedDict()
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        dtype = _TYPES.get(entry.get("dtype"))
        if dtype is None:
            raise ConversionError("%s: '%s' has unknown dtype %r" % (path, name, entry.get("dtype")))
        begin, end = entry["data_offsets"]
        shape = entry["shape"]
        count = 1
        for d in shape:
            count *= d
        if not 0 <= begin <= end <= len(body) or end - begin != count * torch.empty(0, dtype=dtype).element_size():
            raise ConversionError("%s: '%s' has offsets that do not fit its shape or the file" % (path, name))
        raw = torch.frombuffer(bytearray(body[begin:end]), dtype=torch.uint8) if end > begin else torch.empty(0, dtype=torch.uint8)
        tensors[name] = raw.view(dtype).reshape(shape).clone()
    return tensors


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input")
    parser.add_argument("output")
    args = parser.parse_args(argv)
    try:
        if args.output.endswith(".safetensors"):
            tensors = load_state_dict(args.input)
            write_safetensors(args.output, tensors)
        elif args.output.endswith((".pt", ".pth")):
            tensors = read_safetensors(args.input)
            torch.save(dict(tensors), args.output)
        else:
            raise ConversionError("output must end in .safetensors, .pt or .pth: %s" % args.output)
    except (ConversionError, OSError, RuntimeError) as e:
        print("error: %s" % e, file=sys.stderr)
        return 1
    print("%s: %d tensors" % (args.output, len(tensors)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
