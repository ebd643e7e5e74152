#!/usr/bin/env python3
"""scripts/convert_ultralytics.py — an ultralytics YOLOv5 checkpoint (.pt, as train.py saves it or as released) to a
safetensors state dict that `nabla val|detect|train yolov5s --weights` loads strictly.

A .pt file pickles the model objects themselves (models.yolo.Model, models.common.Conv, ...), so loading it normally
needs the ultralytics repository on the Python path. This script needs only Debian's python3-torch: classes of the
ultralytics packages (models.*, utils.*) are replaced while unpickling by plain torch.nn.Module stand-ins, which keep
the pickled submodules, parameters and buffers, so state_dict() gives ultralytics' own keys (model.0.conv.weight, ...,
model.24.anchors). The EMA weights are taken when the checkpoint has them (train.py's 'ema'), else 'model'; float16
tensors (ultralytics saves half precision) are written as float32. Optional and offline: Nabla itself never needs
Python.

  /usr/bin/python3 scripts/convert_ultralytics.py yolov5s.pt yolov5s.safetensors [--model]
"""
import argparse
import json
import os
import pickle
import sys
import types

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_writer  # noqa: E402

ULTRALYTICS_PACKAGES = ("models", "utils")  # the yolov5 repository's top-level packages
_STANDINS = {}


def standin(module, name):
    """An nn.Module subclass named like the ultralytics class: unpickling restores its __dict__ (the _modules,
    _parameters and _buffers of the original) through nn.Module.__setstate__."""
    key = f"{module}.{name}"
    if key not in _STANDINS:
        _STANDINS[key] = type(name, (torch.nn.Module,), {"__module__": module})
    return _STANDINS[key]


class Unpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if module.split(".")[0] in ULTRALYTICS_PACKAGES:
            return standin(module, name)
        try:
            return super().find_class(module, name)
        except (ImportError, AttributeError):  # another package missing here: a stand-in as well
            return standin(module, name)


def load_checkpoint(path):
    """torch.load with Unpickler. Debian's torch 1.13 ignores torch.load's pickle_module unless weights_only is set
    (it assigns `pickle_module = pickle`), so the module torch.serialization calls `pickle` is swapped for the time
    of the load: the real pickle module with this Unpickler."""
    real = torch.serialization.pickle
    patched = types.ModuleType("pickle")
    patched.__dict__.update(pickle.__dict__)
    patched.Unpickler = Unpickler
    torch.serialization.pickle = patched
    try:
        return torch.load(path, map_location="cpu", pickle_module=patched)
    finally:
        torch.serialization.pickle = real

def convert(src, dst, prefer="ema"):
    ckpt = load_checkpoint(src)
    if isinstance(ckpt, dict):
        order = ("ema", "model") if prefer == "ema" else ("model", "ema")
        model = next((ckpt[k] for k in order if ckpt.get(k) is not None), None)
        if model is None:
            raise SystemExit(f"{src}: a dict without 'model' or 'ema' (keys: {sorted(ckpt)})")
    else:
        model = ckpt
    state = model.state_dict() if hasattr(model, "state_dict") else model
    tensors = {}
    for key, t in state.items():
        if not torch.is_tensor(t):
            continue
        tensors[key] = t.float() if t.is_floating_point() else t
    names = getattr(model, "names", None)
    meta = {"source": src, "nc": getattr(model, "nc", ""), "names": json.dumps(names) if names else ""}
    safetensors_writer.write(dst, tensors, meta)
    return tensors


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("src", help="ultralytics checkpoint (.pt)")
    p.add_argument("dst", help="safetensors file to write")
    p.add_argument("--model", action="store_true", help="take 'model' even when the checkpoint has 'ema'")
    a = p.parse_args()
    tensors = convert(a.src, a.dst, "model" if a.model else "ema")
    params = sum(t.numel() for k, t in tensors.items() if not k.endswith(("running_mean", "running_var",
                                                                           "num_batches_tracked", "anchors")))
    print(f"{a.src} -> {a.dst}: {len(tensors)} tensors, {params:,} parameters", file=sys.stderr)


if __name__ == "__main__":
    main()
