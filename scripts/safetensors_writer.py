"""scripts/safetensors_writer.py — writes safetensors files with Debian's python3-torch alone (it has no `safetensors`
package): an 8-byte little-endian header length, a JSON header {name: {"dtype", "shape", "data_offsets"}} padded with
spaces to a multiple of 8 bytes (as the safetensors package pads it, so the data stays aligned), then the raw
little-endian bytes in key order. Used by scripts/convert_ultralytics.py and the fixture scripts under tests/fixtures.
"""
import json
import struct

import torch

DTYPES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.uint8: "U8", torch.bool: "BOOL"}


def write_raw(path, entries, metadata=None):
    """entries: {key: (dtype tag, shape, raw bytes)}, for dtypes torch tensors cannot give directly (F16 bits, ...);
    metadata, when given, is stored as it is."""
    header, blobs, offset = {}, [], 0
    for key in sorted(entries):
        tag, shape, data = entries[key]
        header[key] = {"dtype": tag, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def write(path, tensors, metadata=None):
    """{key: tensor} in Nabla's dtypes (DTYPES), saved contiguous from the CPU; metadata values become strings."""
    entries = {}
    for key, t in tensors.items():
        t = t.detach().contiguous().cpu()
        entries[key] = (DTYPES[t.dtype], t.shape, t.numpy().tobytes())
    write_raw(path, entries, {k: str(v) for k, v in metadata.items()} if metadata else None)
