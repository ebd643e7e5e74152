#!/usr/bin/env python3
# tests/fuzz/make_seeds.py — writes the seed corpora of the fuzz targets under tests/fuzz/corpus/<target>/: small valid
# inputs and slightly broken ones (truncated, a wrong field), from the repository's own data where it has some
# (tests/fixtures, data/generated, data/photos through ImageMagick's `convert`). The files are committed; rerun only
# to change them:  python3 tests/fuzz/make_seeds.py
import json
import os
import shutil
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, "corpus")


# Seeds the reader must accept are named ok_*, those it must refuse with an Error bad_* (test_fuzz_replay checks both).
OK = {
    "safetensors": ["all_dtypes.safetensors", "adaptive_avgpool.safetensors", "torch_converted.safetensors"],
    "checkpoint": ["checkpoint.safetensors"],
    "image": ["rgb.png", "grey.png", "grey_alpha.png", "rgba.png", "deep16.png", "palette.png", "rgb.bmp",
              "flower.jpg"],
    "segmentation_list": ["pairs.txt"],
    "wflw": ["face.txt", "face_euler.txt", "coords_only.txt"],
    "prepared_list": ["list.txt"],
    "yolo_label": ["shapes.txt", "polygon.txt", "duplicates.txt", "empty.txt"],
    "data_yaml": ["data.yaml", "names_map.yaml", "nc_only.yaml"],
    "yolo_model": ["tiny.yaml", "count_anchors.yaml"],
    "trace_json": ["trace.json", "empty.json"],
}


def put(target, name, data):
    name = ("ok_" if name in OK.get(target, []) else "bad_") + name.removeprefix("bad_")
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    """tensors: {name: (dtype, shape, bytes)} -> the file's bytes (keys sorted, header padded to 8)."""
    header, blobs, offset = {}, b"", 0
    for name in sorted(tensors):
        dtype, shape, blob = tensors[name]
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(blob)]}
        offset += len(blob)
        blobs += blob
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + blobs


def f32(*xs):
    return struct.pack("<%df" % len(xs), *xs)


def seeds_safetensors():
    for rel in ["nn/adaptive_avgpool.safetensors", "io/torch_converted.safetensors"]:
        src = os.path.join(ROOT, "tests/fixtures", rel)
        if os.path.getsize(src) <= 16384:
            put("safetensors", os.path.basename(rel), open(src, "rb").read())
    t = {"w": ("F32", [2, 3], f32(*range(6))), "b": ("I64", [2], struct.pack("<2q", 1, -2)),
         "h": ("F16", [2], struct.pack("<2H", 0x3C00, 0x7C00)), "g": ("BF16", [1], struct.pack("<H", 0x3F80)),
         "m": ("BOOL", [3], b"\x00\x01\x02"), "i": ("I32", [1], struct.pack("<i", -7)), "e": ("F32", [0, 4], b"")}
    good = safetensors(t, {"epoch": "3"})
    put("safetensors", "all_dtypes.safetensors", good)
    put("safetensors", "truncated.safetensors", good[:-5])
    put("safetensors", "header_only.safetensors", good[:8])
    put("safetensors", "bad_offsets.safetensors", safetensors({"w": ("F32", [3], f32(1, 2))}))
    put("safetensors", "unknown_dtype.safetensors", safetensors({"w": ("I8", [2], b"\x01\x02")}))
    crc = {"w": "00000000"}
    put("safetensors", "bad_crc.safetensors",
        safetensors({"w": ("F32", [1], f32(1))}, {"nabla.crc32": json.dumps(crc)}))
    put("safetensors", "nested_metadata.safetensors", safetensors({}, {"k": {"x": 1}}))


def seeds_checkpoint():
    meta = {"format": "nabla.checkpoint", "version": "1", "epoch": "2", "step": "40", "batch_in_epoch": "0",
            "best_metric": "0.5", "rng": "", "config": "{}"}
    t = {"model.w": ("F32", [2], f32(1, 2)), "optimizer.step": ("I64", [1], struct.pack("<q", 40))}
    put("checkpoint", "checkpoint.safetensors", safetensors(t, meta))
    put("checkpoint", "bad_epoch.safetensors", safetensors(t, dict(meta, epoch="two")))
    put("checkpoint", "bad_version.safetensors", safetensors(t, dict(meta, version="9")))
    put("checkpoint", "not_checkpoint.safetensors", safetensors(t, {"epoch": "1"}))
    put("checkpoint", "metric_overflow.safetensors", safetensors(t, dict(meta, best_metric="1e999", step="-1")))


def png(width, height, color_type, bit_depth, rows, palette=None):
    """A PNG from raw scanlines (each row's bytes without the filter byte)."""
    def chunk(tag, body):
        return struct.pack(">I", len(body)) + tag + body + struct.pack(">I", zlib.crc32(tag + body))
    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 0))
    if palette:
        out += chunk(b"PLTE", palette)
    return out + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def bmp24(width, height, pixel):
    stride = (3 * width + 3) // 4 * 4
    rows = b"".join((b"".join(bytes(pixel(x, y)) for x in range(width))).ljust(stride, b"\x00") for y in range(height))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + len(rows), 0, 0, 14 + len(info)) + info + rows


def seeds_image():
    w, h = 12, 9

    rgb = [b"".join(bytes((x * 20 % 256, y * 28 % 256, (x + y) * 10 % 256)) for x in range(w)) for y in range(h)]
    put("image", "rgb.png", png(w, h, 2, 8, rgb))
    put("image", "grey.png", png(w, h, 0, 8, [bytes((x * y) % 256 for x in range(w)) for y in range(h)]))
    put("image", "grey_alpha.png", png(w, h, 4, 8, [b"".join(bytes((x * 9 % 256, 255 - y)) for x in range(w))
                                                    for y in range(h)]))
    put("image", "rgba.png", png(w, h, 6, 8, [b"".join(bytes((x * 20 % 256, y * 28 % 256, 7, 200)) for x in range(w))
                                              for y in range(h)]))
    put("image", "deep16.png", png(w, h, 2, 16, [b"".join(struct.pack(">HHH", x * 5000, y * 7000, 1234)
                                                          for x in range(w)) for y in range(h)]))
    put("image", "palette.png", png(w, h, 3, 8, [bytes((x + y) % 4 for x in range(w)) for y in range(h)],
                                    palette=bytes((0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255))))
    put("image", "rgb.bmp", bmp24(w, h, lambda x, y: (x * 20 % 256, y * 28 % 256, 99)))
    good = png(w, h, 2, 8, rgb)
    put("image", "truncated.png", good[: len(good) // 2])
    huge = bytearray(good)
    huge[16:24] = struct.pack(">II", 60000, 60000)  # IHDR claims 60000 x 60000 (its crc no longer matches)
    put("image", "huge_header.png", bytes(huge))
    put("image", "not_an_image.txt", b"hello, world\n")
    # JPEG: the smallest of the bundled photos (stb decodes baseline and progressive; this one is baseline)
    jpeg = open(os.path.join(ROOT, "data/photos/flower.jpg"), "rb").read()
    put("image", "flower.jpg", jpeg)
    put("image", "flower_truncated.jpg", jpeg[:2000])


def seeds_lists():
    put("segmentation_list", "pairs.txt", "# image mask\nimages/a.png masks/a.png\n\na.png b.png\n")
    put("segmentation_list", "missing.txt", "images/a.png masks/none.png\nonly_one_field\n")
    put("segmentation_list", "empty.txt", "")
    faces = os.path.join(ROOT, "data/generated/faces/WFLW_annotations/list_98pt_rect_attr_train_test")
    line = open(os.path.join(faces, "list_98pt_rect_attr_test.txt")).readline().split()
    euler = open(os.path.join(faces, "list_98pt_rect_attr_test_euler.txt")).readline()
    wflw = " ".join(line[:-1] + ["images/a.png"]) + "\n"
    put("wflw", "face.txt", wflw)
    put("wflw", "face_euler.txt", wflw + "#euler\n" + euler)
    put("wflw", "coords_only.txt", " ".join(line[:196] + ["a.png"]) + "\n")
    put("wflw", "bad_flag.txt", " ".join(line[:-2] + ["2", "a.png"]) + "\n")
    put("wflw", "short.txt", " ".join(line[:100]) + "\n")
    coords = ["%.4f" % (0.2 + 0.6 * (k % 13) / 13) for k in range(196)]
    prepared = " ".join(["imgs/face.png"] + coords + ["0", "1", "0", "0", "1", "0", "1.5", "-3.25", "10"])
    put("prepared_list", "list.txt", prepared + "\n" + prepared.replace("imgs/face.png", "face.png") + "\n")
    put("prepared_list", "bad_angle.txt", prepared.replace("-3.25", "nan") + "\n")
    put("prepared_list", "missing.txt", prepared.replace("imgs/face.png", "nowhere/x.png") + "\n")


def seeds_labels_and_yaml():
    label = open(os.path.join(ROOT, "data/generated/shapes160/labels/train/shapes_00990.txt")).read()
    put("yolo_label", "shapes.txt", label)
    put("yolo_label", "polygon.txt", "3 0.1 0.1 0.5 0.1 0.5 0.6 0.1 0.6 0.3 0.2\n")
    put("yolo_label", "duplicates.txt", "1 0.5 0.5 0.2 0.2\n1 0.5 0.5 0.2 0.2\n\n")
    put("yolo_label", "bad_class.txt", "80 0.5 0.5 0.2 0.2\n")
    put("yolo_label", "not_normalised.txt", "0 12 40 3 3\n")
    put("yolo_label", "empty.txt", "")
    put("data_yaml", "data.yaml", open(os.path.join(ROOT, "data/generated/shapes/data.yaml")).read()
        .replace("images/train", "images").replace("images/val", "images"))
    put("data_yaml", "names_map.yaml", "path: .\ntrain: [images, imgs]\nval: images\nnames:\n  0: cat\n  1: dog\n")
    put("data_yaml", "nc_only.yaml", "train: images\nval: images\nnc: 3\n")
    put("data_yaml", "mismatch.yaml", "train: images\nnc: 2\nnames: [a]\n")
    put("data_yaml", "missing_source.yaml", "train: nowhere\nnc: 1\n")
    put("data_yaml", "bad_yaml.yaml", "train: [images\nnc: 1\n")


def seeds_yolo_model():
    tiny = """nc: 2
depth_multiple: 0.33
width_multiple: 0.25
anchors:
  - [10,13, 16,30, 33,23]
  - [30,61, 62,45, 59,64]
backbone:
  [[-1, 1, Conv, [16, 6, 2, 2]],
   [-1, 1, Conv, [32, 3, 2]],
   [-1, 3, C3, [32]],
   [-1, 1, Conv, [64, 3, 2]],
   [-1, 1, SPPF, [64, 5]],
  ]
head:
  [[-1, 1, Conv, [32, 1, 1]],
   [-1, 1, nn.Upsample, [None, 2, 'nearest']],
   [[-1, 2], 1, Concat, [1]],
   [-1, 1, C3, [32, False]],
   [[8, 4], 1, Detect, [nc, anchors]],
  ]
"""
    put("yolo_model", "tiny.yaml", tiny)
    put("yolo_model", "count_anchors.yaml", tiny.replace(
        "anchors:\n  - [10,13, 16,30, 33,23]\n  - [30,61, 62,45, 59,64]\n", "anchors: 3\n"))
    put("yolo_model", "unknown_module.yaml", tiny.replace("SPPF", "Focus"))
    put("yolo_model", "bad_from.yaml", tiny.replace("[[-1, 2], 1, Concat", "[[-1, 9], 1, Concat"))
    put("yolo_model", "no_head.yaml", tiny.split("head:")[0])


def seeds_trace():
    events = [{"name": "conv2d", "cat": "op", "ph": "X", "ts": 10.5, "dur": 3.25, "pid": 1, "tid": 1,
               "args": {"depth": 1, "seq": 0, "flops": 100, "mem": 4096, "mem_delta": 64, "shapes": "f32[1,3,8,8]"}},
              {"name": "train_step", "cat": "step", "ph": "X", "ts": 1, "dur": 40, "pid": 1, "tid": 1},
              {"name": "conv2d_backward", "cat": "backward", "ph": "X", "ts": 20, "dur": 5, "pid": 1, "tid": 2,
               "args": {"fwd_seq": 0}},
              {"name": "epoch 1", "cat": "marker", "ph": "i", "s": "t", "ts": 41, "pid": 1, "tid": 1},
              {"name": "thread_name", "ph": "M", "pid": 1, "tid": 2, "args": {"name": "worker"}}]
    other = {"tracer": "function_graph", "version": "nabla-trace 1", "entries": 4, "written": 5, "lost": 1,
             "threads": [{"tid": 1, "name": "main", "entries": 3, "lost": 1, "lost_before_ns": 500}]}
    put("trace_json", "trace.json", json.dumps({"displayTimeUnit": "ns", "otherData": other, "traceEvents": events}))
    put("trace_json", "unknown_category.json", json.dumps({"traceEvents": [dict(events[1], cat="loop")]}))
    put("trace_json", "empty.json", json.dumps({"traceEvents": []}))
    put("trace_json", "not_object.json", "[1, 2, 3]")
    put("trace_json", "truncated.json", json.dumps({"traceEvents": events})[:60])


if __name__ == "__main__":
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    os.makedirs(os.path.join(CORPUS, "safetensors"))
    seeds_safetensors()
    seeds_checkpoint()
    seeds_image()
    seeds_lists()
    seeds_labels_and_yaml()
    seeds_yolo_model()
    seeds_trace()
    sys.exit(0)
