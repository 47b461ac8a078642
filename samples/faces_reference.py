#!/usr/bin/python3
"""Reference (Python) pipeline for tinfer's `faces` sample model (SPEC §3, §5).

Usage:

    /usr/bin/python3 samples/faces_reference.py [--model samples/models/faces.pt]
        [--conf 0.5] [--iou 0.4] IMAGE...

Prints one JSON record per image: {"input": path, "width", "height",
"detections": [{"box": [x1, y1, x2, y2], "score", "class", "label"}]} with
boxes in source-image pixels, score descending.

Pipeline: PIL -> RGB float (0..255) -> letterbox to 416x416 with the image at
the top-left (gain r = min(416/h, 416/w), resized size round(w*r) x round(h*r)
with round-half-even, half-pixel bilinear via
torch.nn.functional.interpolate(align_corners=False), padding 0) ->
(v*1 - meanRgb) / 255 -> model -> yolov2 decode -> threshold -> NMS -> boxes
mapped back through the letterbox (divide by r; no offset with topleft) and
clipped to the image.

yolov2 decode of the [B, A*5, H, W] output (channel a*5 + k, k = tx, ty, tw,
th, objectness; no class channel because classes = 1), as face-api's
TinyYolov2Base.extractBoxes does it:

    cx = (col + sigmoid(tx)) / W * input_w     w = anchor_w * exp(tw) / W * input_w
    cy = (row + sigmoid(ty)) / H * input_h     h = anchor_h * exp(th) / H * input_h
    score = sigmoid(objectness)               (kept when score > conf)

NMS keeps the best box and drops those with IoU > iou (face-api keeps
IoU <= 0.4).
"""

import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))


def load_entry():
    with open(os.path.join(HERE, "models.json")) as f:
        return json.load(f)["models"]["faces"]


def letterbox(img, size_hw, pad_value=0.0, align="topleft"):
    """img: float32 numpy [h, w, 3] (0..255). Returns (tensor [3, H, W], gain, (left, top))."""
    H, W = size_hw
    h, w = img.shape[:2]
    r = min(H / h, W / w)
    nw, nh = round(w * r), round(h * r)
    x = torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1)[None].float()
    if (nh, nw) != (h, w):
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
    dw, dh = W - nw, H - nh
    if align == "center":
        left, top = round(dw / 2 - 0.1), round(dh / 2 - 0.1)
    else:
        left, top = 0, 0
    out = torch.full((1, 3, H, W), float(pad_value))
    out[:, :, top:top + nh, left:left + nw] = x
    return out[0], r, (left, top)


def normalize(x, entry):
    inp = entry["input"]
    mean = torch.tensor(inp["mean"], dtype=torch.float32).view(3, 1, 1)
    std = torch.tensor(inp["std"], dtype=torch.float32).view(3, 1, 1)
    return (x * inp["scale"] - mean) / std


def decode_yolov2(out, anchors, n_classes, input_hw, conf):
    """out: [A*(5+C) or A*5, H, W] for one image. Returns boxes [N, 4] (input px), scores, classes."""
    A = len(anchors)
    ch, gh, gw = out.shape
    per = ch // A
    assert per * A == ch and per in (5, 5 + n_classes), out.shape
    o = out.view(A, per, gh, gw)
    cols = torch.arange(gw, dtype=torch.float32).view(1, 1, gw)
    rows = torch.arange(gh, dtype=torch.float32).view(1, gh, 1)
    aw = torch.tensor([a[0] for a in anchors], dtype=torch.float32).view(A, 1, 1)
    ah = torch.tensor([a[1] for a in anchors], dtype=torch.float32).view(A, 1, 1)
    ih, iw = input_hw
    cx = (cols + torch.sigmoid(o[:, 0])) / gw * iw
    cy = (rows + torch.sigmoid(o[:, 1])) / gh * ih
    bw = aw * torch.exp(o[:, 2]) / gw * iw
    bh = ah * torch.exp(o[:, 3]) / gh * ih
    obj = torch.sigmoid(o[:, 4])
    if per == 5:
        score, cls = obj, torch.zeros_like(obj, dtype=torch.long)
    else:
        cs = torch.sigmoid(o[:, 5:])  # SPEC: sigmoid on class scores
        best, cls = cs.max(dim=1)
        score = obj * best
    boxes = torch.stack([cx - bw / 2, cy - bh / 2, cx + bw / 2, cy + bh / 2], -1).reshape(-1, 4)
    score, cls = score.reshape(-1), cls.reshape(-1)
    keep = score > conf
    return boxes[keep], score[keep], cls[keep]


def iou_one(b, bs):
    iw = (torch.minimum(b[2], bs[:, 2]) - torch.maximum(b[0], bs[:, 0])).clamp(min=0)
    ih = (torch.minimum(b[3], bs[:, 3]) - torch.maximum(b[1], bs[:, 1])).clamp(min=0)
    inter = iw * ih
    area = lambda x: (x[..., 2] - x[..., 0]) * (x[..., 3] - x[..., 1])
    return inter / (area(b) + area(bs) - inter)


def nms(boxes, scores, iou_thr):
    order = torch.argsort(scores, descending=True, stable=True)
    keep = []
    while order.numel():
        i = order[0]
        keep.append(int(i))
        if order.numel() == 1:
            break
        rest = order[1:]
        order = rest[iou_one(boxes[i], boxes[rest]) <= iou_thr]
    return keep


def run(model, paths, entry, conf=None, iou=None, raw=False):
    conf = entry["defaults"]["conf"] if conf is None else conf
    iou = entry["defaults"]["iou"] if iou is None else iou
    inp, dec = entry["input"], entry["decoder"]
    H, W = inp["size"]
    records = []
    for p in paths:
        img = np.asarray(Image.open(p).convert("RGB"), dtype=np.float32)
        h, w = img.shape[:2]
        x, r, (left, top) = letterbox(img, (H, W), inp["pad_value"], inp["align"])
        x = normalize(x, entry)[None]
        with torch.no_grad():
            out = model(x)[0]
        boxes, scores, classes = decode_yolov2(out, dec["anchors"], dec["classes"], (H, W), conf)
        dets = []
        for c in sorted(set(classes.tolist())):  # class-wise NMS
            idx = (classes == c).nonzero().flatten()
            for k in nms(boxes[idx], scores[idx], iou):
                dets.append((float(scores[idx[k]]), boxes[idx[k]].clone(), c))
        dets.sort(key=lambda d: -d[0])
        out_dets = []
        for s, b, c in dets:
            b = b.double()
            x1 = min(max((float(b[0]) - left) / r, 0.0), w)
            y1 = min(max((float(b[1]) - top) / r, 0.0), h)
            x2 = min(max((float(b[2]) - left) / r, 0.0), w)
            y2 = min(max((float(b[3]) - top) / r, 0.0), h)
            d = {"box": [round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)],
                 "score": round(s, 5), "class": c, "label": entry["labels"][c]}
            if raw:
                d["box_input_px"] = [round(float(v), 3) for v in b]
            out_dets.append(d)
        records.append({"input": p, "width": w, "height": h, "detections": out_dets})
    return records


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(HERE, "models", "faces.pt"))
    ap.add_argument("--conf", type=float, default=None)
    ap.add_argument("--iou", type=float, default=None)
    ap.add_argument("--raw", action="store_true", help="also print boxes in 416x416 input pixels")
    ap.add_argument("images", nargs="+")
    a = ap.parse_args()
    entry = load_entry()
    model = torch.jit.load(a.model).eval()
    for rec in run(model, a.images, entry, a.conf, a.iou, a.raw):
        print(json.dumps(rec))


if __name__ == "__main__":
    sys.exit(main())
