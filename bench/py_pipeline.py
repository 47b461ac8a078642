#!/usr/bin/python3
"""The Python script that `tinfer run -m faces | tinfer run -m faceid
--crop-from - --save-dir DIR` replaces: one process that loads both models
up front and holds them for the whole run (detect, crop, embed).

    /usr/bin/python3 bench/py_pipeline.py [--models FILE] [-j N] --save-dir DIR INPUT ...

Same semantics as the two tinfer processes with the sample manifest: PIL
decode with the EXIF orientation applied, RGB; the detector's letterbox,
yolov2 decode and class-wise NMS are samples/faces_reference.py's (the
reference tinfer's detect is tested against), in batches of the manifest's
batch size; each box (rounded to 1/100 px as the detect record writes it)
is cut from the decoded image as tinfer's --crop-from cuts it (floor of the
top-left, ceiling of the bottom-right, clipped), letterboxed into faceid's
input by the same helper and normalised as its manifest says, and embedded
in batches of faceid's batch size.  One JSON line per crop on stdout
({"input", "det", "box", "row"}); DIR/embeddings.npy float32 [N, D] at the end.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch
from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "samples"))
import faces_reference as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(HERE, "..", "samples", "models.json"))
    ap.add_argument("-j", "--threads", type=int, default=0)
    ap.add_argument("--save-dir", required=True)
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    with open(a.models) as f:
        models = json.load(f)["models"]
    base = os.path.dirname(os.path.abspath(a.models))
    det_e, emb_e = models["faces"], models["faceid"]
    # the pattern this replaces: every model loaded at start-up, held to the end
    detector = torch.jit.load(os.path.join(base, det_e["file"]), map_location="cpu").eval()
    embedder = torch.jit.load(os.path.join(base, emb_e["file"]), map_location="cpu").eval()

    din, dec = det_e["input"], det_e["decoder"]
    DW, DH = din["size"]
    EW, EH = emb_e["input"]["size"]
    conf, iou = det_e["defaults"]["conf"], det_e["defaults"]["iou"]
    dbatch, ebatch = det_e["defaults"]["batch_size"], emb_e["defaults"]["batch_size"]

    paths = []
    for p in a.inputs:
        if os.path.isdir(p):
            paths += sorted(os.path.join(p, n) for n in os.listdir(p) if n.lower().endswith((".png", ".jpg", ".jpeg")))
        else:
            paths.append(p)

    rows, pending = [], []

    def flush_embed():
        if not pending:
            return
        x = torch.stack([t for _, t in pending])
        y = embedder(x)
        for (rec, _), v in zip(pending, y):
            rec["row"] = len(rows)
            rows.append(v.numpy().astype(np.float32))
            sys.stdout.write(json.dumps(rec) + "\n")
        sys.stdout.flush()
        pending.clear()

    with torch.inference_mode():
        for i in range(0, len(paths), dbatch):
            imgs, xs, geo = [], [], []
            for p in paths[i:i + dbatch]:
                im = np.asarray(ImageOps.exif_transpose(Image.open(p)).convert("RGB"), dtype=np.float32)
                x, r, pad = ref.letterbox(im, (DH, DW), din.get("pad_value", 0), din.get("align", "center"))
                imgs.append((p, im))
                xs.append(ref.normalize(x, det_e))
                geo.append((r, pad))
            out = detector(torch.stack(xs))
            for (p, im), y, (r, (left, top)) in zip(imgs, out, geo):
                h, w = im.shape[:2]
                boxes, scores, classes = ref.decode_yolov2(y, dec["anchors"], dec["classes"], (DH, DW), conf)
                dets = []
                for c in sorted(set(classes.tolist())):
                    idx = (classes == c).nonzero().flatten()
                    for k in ref.nms(boxes[idx], scores[idx], iou):
                        dets.append((float(scores[idx[k]]), boxes[idx[k]].double()))
                dets.sort(key=lambda d: -d[0])
                for n, (_, b) in enumerate(dets):
                    bx = [round(min(max((float(b[0]) - left) / r, 0.0), w), 2),
                          round(min(max((float(b[1]) - top) / r, 0.0), h), 2),
                          round(min(max((float(b[2]) - left) / r, 0.0), w), 2),
                          round(min(max((float(b[3]) - top) / r, 0.0), h), 2)]
                    x0, y0 = max(0, math.floor(bx[0])), max(0, math.floor(bx[1]))
                    x1, y1 = min(w, math.ceil(bx[2])), min(h, math.ceil(bx[3]))
                    if x1 <= x0 or y1 <= y0:
                        continue
                    crop = np.ascontiguousarray(im[y0:y1, x0:x1])
                    cx, _, _ = ref.letterbox(crop, (EH, EW), emb_e["input"].get("pad_value", 0),
                                             emb_e["input"].get("align", "center"))
                    pending.append(({"input": p, "det": n, "box": [x0, y0, x1, y1]}, ref.normalize(cx, emb_e)))
                    if len(pending) == ebatch:
                        flush_embed()
        flush_embed()
    os.makedirs(a.save_dir, exist_ok=True)
    np.save(os.path.join(a.save_dir, "embeddings.npy"),
            np.stack(rows) if rows else np.zeros((0, 128), np.float32))
    return 0


if __name__ == "__main__":
    sys.exit(main())
