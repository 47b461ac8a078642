#!/usr/bin/python3
"""Convert face-api's Tiny Face Detector (TF.js weights) to TorchScript for tinfer.

Source: npm package @vladmandic/face-api 1.7.15 (MIT, Vladimir Mandic; a fork of
face-api.js by Vincent Muehler, MIT). Fetch it once with

    mkdir -p /tmp/face-api && cd /tmp/face-api && npm pack @vladmandic/face-api@1.7.15 \\
        && tar xzf vladmandic-face-api-1.7.15.tgz

which leaves the package folder at /tmp/face-api/package (the default).

Usage (from anywhere; outputs go next to this script):

    /usr/bin/python3 samples/make_faces.py [PACKAGE_DIR]

Writes samples/models/faces.pt, the "faces" entry of samples/models.json (the manifest
entry, for merging into samples/models.json) and, when scikit-image's sample
data is installed, the demo photos in samples/inputs/photos/.

The network (face-api src/tinyYolov2/TinyYolov2Base.ts, runMobilenet, with the
TinyFaceDetector config: withSeparableConvs, isFirstLayerConv2d, filterSizes
[3, 16, 32, 64, 128, 256, 512], so no conv6/conv7):

    conv0   3x3 conv 3->16, 'valid' (no padding), + bias, leaky 0.1
    maxpool 2x2 stride 2, TF 'same'
    conv1..conv5: pad 1, depthwise 3x3 + pointwise 1x1 (no bias between),
            + bias, leaky 0.1; each followed by maxpool 2x2, stride 2 'same'
            (stride 1 'same' after conv5)
    conv8   1x1 conv 512->25 + bias (raw output)

With a 416x416 input the spatial sizes are 416 -> 414 -> 207 -> 104 -> 52
-> 26 -> 13 -> 13. TF's 'same' max pooling pads only at the bottom/right when
the total padding is odd (here always 0 or 1) and never lets padding win the
max: reproduced with -inf padding.

Output [B, 25, 13, 13]: channel a*5 + k for anchor a (5 anchors) and
k = tx, ty, tw, th, objectness (face-api reshapes its NHWC output to
[13, 13, 5, 5]). No class channel (one class).

Input: face-api feeds (v - meanRgb) / 255 with meanRgb [117.001, 114.697,
97.404], v the 0..255 RGB value, after padding the image to a square with 0 at
the bottom/right and resizing it to 416x416.

Weights: tiny_face_detector_model.bin holds the tensors of the weights
manifest back to back, one uint8 per value; value = q * scale + min (the
manifest's quantization block), converted to float32 as TF.js does.
"""

import json
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from typing import List

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PKG = "/tmp/face-api/package"
FETCH_HELP = ("fetch it with:\n"
              "  mkdir -p /tmp/face-api && cd /tmp/face-api && "
              "npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz\n"
              "then run: /usr/bin/python3 samples/make_faces.py /tmp/face-api/package")

# face-api src/tinyFaceDetector/const.ts
ANCHORS = [[1.603231, 2.094468], [6.041143, 7.080126], [2.882459, 3.518061],
           [4.266906, 5.178857], [9.041765, 10.66308]]
MEAN_RGB = [117.001, 114.697, 97.404]
IOU_THRESHOLD = 0.4       # const.ts IOU_THRESHOLD
SCORE_THRESHOLD = 0.5     # TinyYolov2Options default scoreThreshold
INPUT_SIZE = 416          # TinyYolov2Options default inputSize
FILTERS = [3, 16, 32, 64, 128, 256, 512]

ENTRY = {
    "file": "models/faces.pt",
    "task": "detect",
    "description": ("Tiny Face Detector (separable-conv Tiny YOLOv2, 416x416), converted from "
                    "the TF.js weights of @vladmandic/face-api 1.7.15 (MIT, Vladimir Mandic; "
                    "originally face-api.js by Vincent Muehler, MIT)"),
    "input": {
        "size": [INPUT_SIZE, INPUT_SIZE],
        "channels": 3,
        "color": "rgb",
        "resize": "letterbox",
        "align": "topleft",
        "pad_value": 0,
        "scale": 1.0,
        "mean": MEAN_RGB,
        "std": [255.0, 255.0, 255.0],
    },
    "decoder": {"type": "yolov2", "anchors": ANCHORS, "classes": 1},
    "labels": ["face"],
    "defaults": {"batch_size": 8, "conf": SCORE_THRESHOLD, "iou": IOU_THRESHOLD},
}


def tf_same_maxpool(x: torch.Tensor, stride: int) -> torch.Tensor:
    """tf.maxPool(x, [2, 2], [stride, stride], 'same') on NCHW."""
    h = x.shape[2]
    w = x.shape[3]
    oh = (h + stride - 1) // stride
    ow = (w + stride - 1) // stride
    ph = max((oh - 1) * stride + 2 - h, 0)
    pw = max((ow - 1) * stride + 2 - w, 0)
    if ph > 0 or pw > 0:
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2], value=float("-inf"))
    return F.max_pool2d(x, 2, stride)


class SepConv(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.depthwise = nn.Conv2d(cin, cin, 3, padding=1, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.leaky_relu(self.pointwise(self.depthwise(x)), 0.1)


class TinyFaceDetector(nn.Module):
    """forward(x[B, 3, H, W] = (RGB - meanRgb) / 255) -> raw grid [B, 25, H', W']."""

    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 16, 3, padding=0, bias=True)
        self.conv1 = SepConv(16, 32)
        self.conv2 = SepConv(32, 64)
        self.conv3 = SepConv(64, 128)
        self.conv4 = SepConv(128, 256)
        self.conv5 = SepConv(256, 512)
        self.conv8 = nn.Conv2d(512, 25, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv0(x), 0.1)
        x = tf_same_maxpool(x, 2)
        x = tf_same_maxpool(self.conv1(x), 2)
        x = tf_same_maxpool(self.conv2(x), 2)
        x = tf_same_maxpool(self.conv3(x), 2)
        x = tf_same_maxpool(self.conv4(x), 2)
        x = tf_same_maxpool(self.conv5(x), 1)
        return self.conv8(x)


def load_tfjs_weights(pkg):
    mdir = os.path.join(pkg, "model")
    man_path = os.path.join(mdir, "tiny_face_detector_model-weights_manifest.json")
    if not os.path.isfile(man_path):
        sys.exit(f"error: face-api package not found at {pkg!r} "
                 f"(no model/tiny_face_detector_model-weights_manifest.json);\n{FETCH_HELP}")
    with open(man_path) as f:
        manifest = json.load(f)
    weights = {}
    for group in manifest:
        data = b"".join(open(os.path.join(mdir, p), "rb").read() for p in group["paths"])
        off = 0
        for w in group["weights"]:
            shape = w["shape"]
            n = int(np.prod(shape)) if shape else 1
            q = w.get("quantization")
            if q is None:
                assert w["dtype"] == "float32", w
                arr = np.frombuffer(data, "<f4", n, off).astype(np.float32)
                off += 4 * n
            else:
                assert q["dtype"] == "uint8", q
                raw = np.frombuffer(data, np.uint8, n, off)
                off += n
                # TF.js: Float32Array from (v * scale + min) computed in doubles
                arr = (raw.astype(np.float64) * q["scale"] + q["min"]).astype(np.float32)
            weights[w["name"]] = arr.reshape(shape)
        if off != len(data):
            sys.exit(f"error: weights file has {len(data)} bytes, manifest accounts for {off}")
    return weights


def build(weights):
    m = TinyFaceDetector()
    sd = {}

    def t(a):
        return torch.from_numpy(np.ascontiguousarray(a))

    # conv filters [h, w, in, out] -> [out, in, h, w]
    sd["conv0.weight"] = t(weights["conv0/filters"].transpose(3, 2, 0, 1))
    sd["conv0.bias"] = t(weights["conv0/bias"])
    for i in range(1, 6):
        # depthwise [h, w, in, 1] -> [in, 1, h, w]; pointwise [1, 1, in, out] -> [out, in, 1, 1]
        sd[f"conv{i}.depthwise.weight"] = t(weights[f"conv{i}/depthwise_filter"].transpose(2, 3, 0, 1))
        sd[f"conv{i}.pointwise.weight"] = t(weights[f"conv{i}/pointwise_filter"].transpose(3, 2, 0, 1))
        sd[f"conv{i}.pointwise.bias"] = t(weights[f"conv{i}/bias"])
    sd["conv8.weight"] = t(weights["conv8/filters"].transpose(3, 2, 0, 1))
    sd["conv8.bias"] = t(weights["conv8/bias"])
    used = {"conv0/filters", "conv0/bias", "conv8/filters", "conv8/bias"} | {
        f"conv{i}/{k}" for i in range(1, 6) for k in ("depthwise_filter", "pointwise_filter", "bias")}
    extra = set(weights) - used
    if extra:
        sys.exit(f"error: unexpected weights in the manifest: {sorted(extra)}")
    m.load_state_dict(sd, strict=True)
    return m.eval()


SKIMAGE_DATA = "/usr/lib/python3/dist-packages/skimage/data"


def make_photos(data_dir=SKIMAGE_DATA):
    """samples/inputs/photos/ from scikit-image's sample data (see FACES.md for licences)."""
    from PIL import Image
    src_a = os.path.join(data_dir, "astronaut.png")
    src_c = os.path.join(data_dir, "coffee.png")
    if not (os.path.isfile(src_a) and os.path.isfile(src_c)):
        print(f"note: scikit-image data not found in {data_dir}; photos not regenerated")
        return
    out = os.path.join(HERE, "inputs", "photos")
    os.makedirs(out, exist_ok=True)
    a = Image.open(src_a).convert("RGB")                  # 512x512
    a.save(os.path.join(out, "astronaut.jpg"), quality=90)  # full image, baseline JPEG
    # top 320 rows, scaled by 0.75: 384x240 (non-square, so letterbox pads the bottom)
    a.crop((0, 0, 512, 320)).resize((384, 240), Image.LANCZOS).save(
        os.path.join(out, "astronaut.png"), optimize=True)
    c = Image.open(src_c).convert("RGB")                  # 600x400
    c.resize((300, 200), Image.LANCZOS).save(os.path.join(out, "coffee.png"), optimize=True)
    print(f"wrote {out}/astronaut.jpg, astronaut.png, coffee.png")


def dumps(obj, indent=0):
    """JSON with objects indented and lists of scalars/lists kept on one line."""
    pad = "  " * indent
    if isinstance(obj, dict):
        items = [f'{pad}  {json.dumps(k)}: {dumps(v, indent + 1)}' for k, v in obj.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    return json.dumps(obj)


def main():
    # TorchScript writes the constants of nn.Conv2d in set order, which depends
    # on str hashing: pin the hash seed so that faces.pt is byte-for-byte stable.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    pkg = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PKG
    weights = load_tfjs_weights(pkg)
    n_params = sum(int(a.size) for a in weights.values())
    print(f"loaded {len(weights)} weight tensors, {n_params} values from {pkg}")
    model = build(weights)

    with torch.no_grad():
        y = model(torch.zeros(2, 3, INPUT_SIZE, INPUT_SIZE))
    assert tuple(y.shape) == (2, 25, 13, 13), y.shape

    os.makedirs(os.path.join(HERE, "models"), exist_ok=True)
    pt = os.path.join(HERE, "models", "faces.pt")
    scripted = torch.jit.script(model)
    scripted.eval()
    torch.jit.save(scripted, pt)
    print(f"wrote {pt} ({os.path.getsize(pt)} bytes)")

    # check the saved file reproduces the eager model
    x = torch.randn(1, 3, INPUT_SIZE, INPUT_SIZE, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        d = (torch.jit.load(pt)(x) - model(x)).abs().max().item()
    assert d == 0.0, d

    # the "faces" entry of the samples manifest, other entries kept as they are
    entry_path = os.path.join(HERE, "models.json")
    with open(entry_path) as f:
        manifest = json.load(f)
    manifest["models"]["faces"] = ENTRY
    with open(entry_path, "w") as f:
        f.write(json.dumps(manifest, indent=2) + "\n")
    print(f"updated the faces entry of {entry_path}")

    make_photos()


if __name__ == "__main__":
    main()
