#!/usr/bin/python3
"""Convert face-api's FaceExpressionNet and FaceRecognitionNet (TF.js weights) to
TorchScript for tinfer: the `expressions` (classify) and `faceid` (embed)
sample models. One script for both: they share the weight loader, the TF
`same` padding and the preprocessing (112 and 150 px, the same meanRgb).

Source: npm package @vladmandic/face-api 1.7.15 (MIT, Vladimir Mandic; a fork of
face-api.js by Vincent Muehler, MIT). Fetch it once with

    mkdir -p /tmp/face-api && cd /tmp/face-api && npm pack @vladmandic/face-api@1.7.15 \\
        && tar xzf vladmandic-face-api-1.7.15.tgz

which leaves the package folder at /tmp/face-api/package (the default).

Usage (from anywhere; outputs go next to this script):

    /usr/bin/python3 samples/make_faceapi_nets.py [PACKAGE_DIR]

Writes samples/models/expressions.pt, samples/models/faceid.pt and their
entries "expressions" and "faceid" in samples/models.json (other entries are
kept as they are). Byte-for-byte stable for a given torch build (the script
re-execs itself with PYTHONHASHSEED=0, as make_faces.py does).

Everything below is read from the package's TypeScript sources (src/, identical
to the sourcesContent of dist/face-api.esm.js.map):

FaceExpressionNet (src/faceExpressionNet/FaceExpressionNet.ts, a FaceProcessor
over FaceFeatureExtractor): input 112x112,
    dense0  denseBlock4, first layer: 3x3 conv 3->32 stride 2 'same' + bias
    dense1  denseBlock4 32->64,  dense2 64->128,  dense3 128->256
    avgPool 7x7 stride 2 'valid' -> [B, 256]  (112 -> 56 -> 28 -> 14 -> 7 -> 1)
    fc      256 -> 7 (+ bias), then tf.softmax in forwardInput
denseBlock4 (src/faceFeatureExtractor/denseBlock.ts): out1 = relu(conv0(x))
    (conv0 stride 2), out2 = conv1(out1), out3 = conv2(relu(out1 + out2)),
    out4 = conv3(relu(out1 + out2 + out3)), result relu(out1 + out2 + out3 + out4);
    conv1..3 (and conv0 of dense1..3) are tf.separableConv2d 'same' + bias
    (src/common/depthwiseSeparableConv.ts). TF 'same' with stride 2 on an even
    size pads 0 at the top/left and 1 at the bottom/right.
Output: probabilities (softmax inside the module, as face-api's forwardInput),
labels in FACE_EXPRESSION_LABELS order (src/faceExpressionNet/FaceExpressions.ts).

FaceRecognitionNet (src/faceRecognitionNet/*): input 150x150, every conv layer
is conv + bias then a per-channel scale layer (x * weights + biases),
    conv32_down  7x7 conv 3->32 stride 2 'valid', relu        150 -> 72
    maxPool 3x3 stride 2 'valid'                                72 -> 35
    conv32_1..3  residual (3x3 'same' conv, relu, 3x3 conv, + x, relu)
    conv64_down  residualDown: 3x3 stride 2 'valid' conv, relu, 3x3 conv;
                 shortcut avgPool 2x2 stride 2 'valid', zero channels appended
                 when the width doubles, and when the conv path is one pixel
                 smaller it gets a zero row/column at the bottom/right   -> 17
    conv64_1..3, conv128_down (-> 8), conv128_1..2, conv256_down (-> 4 via
    the zero row/column), conv256_1..2, conv256_down_out (-> 2)
    mean over H, W -> [B, 256], matMul fc [256, 128] (no bias)
Output: the raw 128-d descriptor (face-api does not normalise it; its
same-person threshold is a Euclidean distance of 0.6).

Pre-processing (both nets: FaceFeatureExtractor.forwardInput /
FaceRecognitionNet.forwardInput): NetInput.toBatchTensor(size, isCenterInputs =
true) pads the image to a square with 0, centred (padToSquare: round(diff / 2)
after, the rest before), resizes it with tf.image.resizeBilinear(alignCorners =
false, halfPixelCenters = false), then (v - meanRgb) / 255 with meanRgb
[122.782, 117.001, 104.298]. The manifest says the closest thing tinfer does:
letterbox, align center, pad_value 0 (before normalisation, as face-api's 0),
scale 1, mean = meanRgb, std 255 (see samples/FACES.md for the measured effect
of resize-then-pad vs pad-then-resize and half-pixel vs legacy sampling).

Weights: model/face_expression_model.bin and model/face_recognition_model.bin
hold the tensors of their weights manifests back to back; uint8-quantised ones
are q * scale + min (computed in double, stored as float32, as TF.js does),
the others (the expression net's biases, some of the recognition net's
conv64 filters) plain little-endian float32.
"""

import json
import os
import sys
from typing import List

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PKG = "/tmp/face-api/package"
FETCH_HELP = ("fetch it with:\n"
              "  mkdir -p /tmp/face-api && cd /tmp/face-api && "
              "npm pack @vladmandic/face-api@1.7.15 && tar xzf vladmandic-face-api-1.7.15.tgz\n"
              "then run: /usr/bin/python3 samples/make_faceapi_nets.py /tmp/face-api/package")

# src/faceFeatureExtractor/FaceFeatureExtractor.ts and
# src/faceRecognitionNet/FaceRecognitionNet.ts: the same meanRgb in both
MEAN_RGB = [122.782, 117.001, 104.298]
# src/faceExpressionNet/FaceExpressions.ts
EXPRESSION_LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]
CREDIT = ("the TF.js weights of @vladmandic/face-api 1.7.15 (MIT, Vladimir Mandic; "
          "originally face-api.js by Vincent Muehler, MIT)")


def input_block(size):
    return {
        "size": [size, size],
        "channels": 3,
        "color": "rgb",
        "resize": "letterbox",
        "align": "center",
        "pad_value": 0,
        "scale": 1.0,
        "mean": MEAN_RGB,
        "std": [255.0, 255.0, 255.0],
    }


ENTRIES = {
    "expressions": {
        "file": "models/expressions.pt",
        "task": "classify",
        "description": ("FaceExpressionNet (densenet-like FaceFeatureExtractor + fc, 112x112, "
                        "7 expressions, face crops), converted from " + CREDIT),
        "input": input_block(112),
        "output": "probs",
        "labels": EXPRESSION_LABELS,
        "defaults": {"batch_size": 16},
    },
    "faceid": {
        "file": "models/faceid.pt",
        "task": "embed",
        "description": ("FaceRecognitionNet (ResNet-34-like, 150x150, raw 128-d face descriptor; "
                        "same person when the Euclidean distance is < 0.6, face crops), "
                        "converted from " + CREDIT),
        "input": input_block(150),
        "normalize": False,
        "defaults": {"batch_size": 8},
    },
}


def tf_same_pad(x: torch.Tensor, k: int, stride: int) -> torch.Tensor:
    """The zero padding of TF's 'same' for a k x k window: the odd extra at the bottom/right."""
    h = x.shape[2]
    w = x.shape[3]
    oh = (h + stride - 1) // stride
    ow = (w + stride - 1) // stride
    ph = max((oh - 1) * stride + k - h, 0)
    pw = max((ow - 1) * stride + k - w, 0)
    if ph > 0 or pw > 0:
        x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
    return x


# ---------------------------------------------------------------- expressions

class SepConv(nn.Module):
    """tf.separableConv2d(x, depthwise, pointwise, stride, 'same') + bias."""

    def __init__(self, cin: int, cout: int, stride: int):
        super().__init__()
        self.stride = stride
        self.depthwise = nn.Conv2d(cin, cin, 3, stride=stride, padding=0, groups=cin, bias=False)
        self.pointwise = nn.Conv2d(cin, cout, 1, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(tf_same_pad(x, 3, self.stride)))


class FirstConv(nn.Module):
    """tf.conv2d(x, filters, 2, 'same') + bias (dense0/conv0)."""

    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, 3, stride=2, padding=0, bias=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(tf_same_pad(x, 3, 2))


class DenseBlock4(nn.Module):
    def __init__(self, cin: int, cout: int, first: bool):
        super().__init__()
        self.conv0 = FirstConv(cin, cout) if first else SepConv(cin, cout, 2)
        self.conv1 = SepConv(cout, cout, 1)
        self.conv2 = SepConv(cout, cout, 1)
        self.conv3 = SepConv(cout, cout, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out1 = F.relu(self.conv0(x))
        out2 = self.conv1(out1)
        out3 = self.conv2(F.relu(out1 + out2))
        out4 = self.conv3(F.relu(out1 + (out2 + out3)))
        return F.relu(out1 + (out2 + (out3 + out4)))


class FaceExpressionNet(nn.Module):
    """forward(x[B, 3, 112, 112] = (RGB - meanRgb) / 255) -> probabilities [B, 7]."""

    def __init__(self):
        super().__init__()
        self.dense0 = DenseBlock4(3, 32, True)
        self.dense1 = DenseBlock4(32, 64, False)
        self.dense2 = DenseBlock4(64, 128, False)
        self.dense3 = DenseBlock4(128, 256, False)
        self.fc = nn.Linear(256, 7)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.dense3(self.dense2(self.dense1(self.dense0(x))))
        x = F.avg_pool2d(x, 7, 2)                        # 'valid': 7x7 -> 1x1
        return torch.softmax(self.fc(torch.flatten(x, 1)), dim=1)


# -------------------------------------------------------------------- faceid

class ConvLayer(nn.Module):
    """conv + bias, then the scale layer x * weights + biases, then optionally relu
    (src/faceRecognitionNet/convLayer.ts). 'same' (stride 1) or 'valid'."""

    def __init__(self, cin: int, cout: int, k: int, stride: int, same: bool, relu: bool):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, k, stride=stride, padding=(k // 2) if same else 0, bias=True)
        self.scale_weights = nn.Parameter(torch.ones(cout))
        self.scale_biases = nn.Parameter(torch.zeros(cout))
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(x)
        x = x * self.scale_weights.view(1, -1, 1, 1) + self.scale_biases.view(1, -1, 1, 1)
        if self.relu:
            x = F.relu(x)
        return x


class Residual(nn.Module):
    def __init__(self, c: int):
        super().__init__()
        self.conv1 = ConvLayer(c, c, 3, 1, True, True)
        self.conv2 = ConvLayer(c, c, 3, 1, True, False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.relu(self.conv2(self.conv1(x)) + x)


class ResidualDown(nn.Module):
    def __init__(self, cin: int, cout: int):
        super().__init__()
        self.conv1 = ConvLayer(cin, cout, 3, 2, False, True)    # convDown: stride 2 'valid'
        self.conv2 = ConvLayer(cout, cout, 3, 1, True, False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        pooled = F.avg_pool2d(x, 2, 2)                          # 'valid'
        dh = pooled.shape[2] - out.shape[2]
        dw = pooled.shape[3] - out.shape[3]
        if dh != 0 or dw != 0:                                  # zeros at the bottom/right
            out = F.pad(out, [0, dw, 0, dh])
        if pooled.shape[1] != out.shape[1]:                     # zero channels appended
            pooled = torch.cat([pooled, torch.zeros_like(pooled)], 1)
        return F.relu(pooled + out)


class FaceRecognitionNet(nn.Module):
    """forward(x[B, 3, 150, 150] = (RGB - meanRgb) / 255) -> descriptor [B, 128]."""

    def __init__(self):
        super().__init__()
        self.conv32_down = ConvLayer(3, 32, 7, 2, False, True)
        self.conv32_1 = Residual(32)
        self.conv32_2 = Residual(32)
        self.conv32_3 = Residual(32)
        self.conv64_down = ResidualDown(32, 64)
        self.conv64_1 = Residual(64)
        self.conv64_2 = Residual(64)
        self.conv64_3 = Residual(64)
        self.conv128_down = ResidualDown(64, 128)
        self.conv128_1 = Residual(128)
        self.conv128_2 = Residual(128)
        self.conv256_down = ResidualDown(128, 256)
        self.conv256_1 = Residual(256)
        self.conv256_2 = Residual(256)
        self.conv256_down_out = ResidualDown(256, 256)
        self.fc = nn.Linear(256, 128, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(self.conv32_down(x), 3, 2)             # 'valid'
        x = self.conv32_3(self.conv32_2(self.conv32_1(x)))
        x = self.conv64_3(self.conv64_2(self.conv64_1(self.conv64_down(x))))
        x = self.conv128_2(self.conv128_1(self.conv128_down(x)))
        x = self.conv256_2(self.conv256_1(self.conv256_down(x)))
        x = self.conv256_down_out(x)
        return self.fc(x.mean([2, 3]))


# ------------------------------------------------------------------- weights

def load_tfjs_weights(pkg, name):
    mdir = os.path.join(pkg, "model")
    man_path = os.path.join(mdir, f"{name}-weights_manifest.json")
    if not os.path.isfile(man_path):
        sys.exit(f"error: face-api package not found at {pkg!r} "
                 f"(no model/{name}-weights_manifest.json);\n{FETCH_HELP}")
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
            sys.exit(f"error: {name}.bin has {len(data)} bytes, its manifest accounts for {off}")
    return weights


def t(a):
    return torch.from_numpy(np.ascontiguousarray(a))


def conv_w(a):       # [h, w, in, out] -> [out, in, h, w]
    return t(a.transpose(3, 2, 0, 1))


def depthwise_w(a):  # [h, w, in, 1] -> [in, 1, h, w]
    return t(a.transpose(2, 3, 0, 1))


def load_state(model, sd, weights, used):
    extra = set(weights) - used
    if extra:
        sys.exit(f"error: unexpected weights in the manifest: {sorted(extra)}")
    model.load_state_dict(sd, strict=True)
    return model.eval()


def build_expressions(weights):
    m = FaceExpressionNet()
    sd, used = {}, set()

    def w(name):
        used.add(name)
        return weights[name]

    for b in range(4):
        if b == 0:
            sd["dense0.conv0.conv.weight"] = conv_w(w("dense0/conv0/filters"))
            sd["dense0.conv0.conv.bias"] = t(w("dense0/conv0/bias"))
        for c in range(0 if b else 1, 4):
            p = f"dense{b}/conv{c}/"
            sd[f"dense{b}.conv{c}.depthwise.weight"] = depthwise_w(w(p + "depthwise_filter"))
            sd[f"dense{b}.conv{c}.pointwise.weight"] = conv_w(w(p + "pointwise_filter"))
            sd[f"dense{b}.conv{c}.pointwise.bias"] = t(w(p + "bias"))
    sd["fc.weight"] = t(w("fc/weights").T)              # matMul(x, [256, 7]) -> Linear [7, 256]
    sd["fc.bias"] = t(w("fc/bias"))
    return load_state(m, sd, weights, used)


def build_faceid(weights):
    m = FaceRecognitionNet()
    sd, used = {}, set()

    def w(name):
        used.add(name)
        return weights[name]

    def conv_layer(tf_prefix, pt_prefix):
        sd[pt_prefix + "conv.weight"] = conv_w(w(tf_prefix + "conv/filters"))
        sd[pt_prefix + "conv.bias"] = t(w(tf_prefix + "conv/bias"))
        sd[pt_prefix + "scale_weights"] = t(w(tf_prefix + "scale/weights"))
        sd[pt_prefix + "scale_biases"] = t(w(tf_prefix + "scale/biases"))

    conv_layer("conv32_down/", "conv32_down.")
    for name in ("conv32_1", "conv32_2", "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3",
                 "conv128_down", "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2",
                 "conv256_down_out"):
        for c in ("conv1", "conv2"):
            conv_layer(f"{name}/{c}/", f"{name}.{c}.")
    sd["fc.weight"] = t(w("fc").T)                       # matMul(x, [256, 128]) -> Linear [128, 256]
    return load_state(m, sd, weights, used)


def save(model, name, size, out_dim):
    with torch.no_grad():
        y = model(torch.zeros(2, 3, size, size))
    assert tuple(y.shape) == (2, out_dim), y.shape
    pt = os.path.join(HERE, "models", f"{name}.pt")
    scripted = torch.jit.script(model)
    scripted.eval()
    torch.jit.save(scripted, pt)
    x = torch.randn(2, 3, size, size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        d = (torch.jit.load(pt)(x) - model(x)).abs().max().item()
    assert d == 0.0, d
    n = sum(p.numel() for p in model.parameters())
    print(f"wrote {pt} ({os.path.getsize(pt)} bytes, {n} parameters)")


def main():
    # TorchScript writes the constants of nn.Conv2d in set order, which depends
    # on str hashing: pin the hash seed so that the .pt files are byte-for-byte stable.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    torch.set_num_threads(1)
    pkg = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PKG
    os.makedirs(os.path.join(HERE, "models"), exist_ok=True)
    save(build_expressions(load_tfjs_weights(pkg, "face_expression_model")), "expressions", 112, 7)
    save(build_faceid(load_tfjs_weights(pkg, "face_recognition_model")), "faceid", 150, 128)

    path = os.path.join(HERE, "models.json")
    with open(path) as f:
        manifest = json.load(f)
    manifest["models"].update(ENTRIES)
    with open(path, "w") as f:
        f.write(json.dumps(manifest, indent=2) + "\n")
    print(f"updated the expressions and faceid entries of {path}")


if __name__ == "__main__":
    main()
