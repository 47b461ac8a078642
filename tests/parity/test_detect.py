"""Parity for detect: tinfer's detections equal a Python reference (the same
TorchScript file run from Python, the same geometry, the same NMS): the same
set of boxes, coordinates within 0.5 px, scores within 1e-3.

1. The bundled face detector (yolov2 decoder) against samples/faces_reference.py,
   on real photos; it finds the astronaut's face (score > 0.9) and no face in
   coffee.png.
2. A YOLOv8-layout model built here (random weights, 3 classes, output
   [B, 4 + C, A]) saved with an ultralytics-style config.txt and run by path,
   against ultralytics' own preprocessing and post-processing written out in
   Python (centred letterbox on 114, 1/255, best class per anchor, class-wise
   NMS, scale_boxes)."""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, SKIMAGE, check, done, tinfer  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "samples"))
import faces_reference  # noqa: E402

tmp = tempfile.mkdtemp(prefix="tinfer-detect-")


def same_detections(name, got, want, tol_px=0.5, tol_score=1e-3):
    check(len(got) == len(want), f"{name}/count", f"{len(got)} records for {len(want)}")
    for g, w in zip(got, want):
        gd, wd = g.get("detections", []), w["detections"]
        base = os.path.basename(g["input"])
        ok = g.get("ok") and len(gd) == len(wd)
        err_px = err_s = 0.0
        if ok:
            for a, b in zip(gd, wd):
                ok = ok and a["class"] == b["class"]
                err_px = max(err_px, max(abs(x - y) for x, y in zip(a["box"], b["box"])))
                err_s = max(err_s, abs(a["score"] - b["score"]))
        check(ok and err_px <= tol_px and err_s <= tol_score, f"{name}/{base}",
              f"{len(gd)} vs {len(wd)} boxes, max box error {err_px:.3f} px, score error {err_s:.2e}; "
              f"got {gd[:3]} want {wd[:3]}")


# 1. faces
photos = sorted(os.path.join(ROOT, "samples/inputs/photos", f) for f in os.listdir(os.path.join(ROOT, "samples/inputs/photos")))
photos += [os.path.join(SKIMAGE, n) for n in ("astronaut.png", "coffee.png", "chelsea.png", "rocket.jpg")]
entry = faces_reference.load_entry()
model = torch.jit.load(os.path.join(ROOT, "samples/models/faces.pt")).eval()
for conf in (0.5, 0.2):
    recs, rc, err = tinfer("run", "-m", "faces", "--models", os.path.join(ROOT, "samples/models.json"),
                           "-b", "3", "--conf", str(conf), *photos)
    check(rc == 0, f"faces@{conf}/exit", f"status {rc}: {err}")
    same_detections(f"faces@{conf}", recs, faces_reference.run(model, photos, entry, conf=conf))
    if conf == 0.5:
        by = {os.path.basename(r["input"]): r for r in recs}
        a = [r for r in recs if r["input"].endswith("skimage/data/astronaut.png")][0]["detections"]
        check(len(a) == 1 and a[0]["score"] > 0.9 and a[0]["label"] == "face" and
              150 < a[0]["box"][0] < 180 and 60 < a[0]["box"][1] < 90, "faces/astronaut-found", a)
        c = [r for r in recs if r["input"].endswith("skimage/data/coffee.png")][0]["detections"]
        check(c == [], "faces/no-face-in-coffee", c)


# 2. a YOLOv8-layout export by path, with ultralytics' config.txt
class Yolo8ish(torch.nn.Module):
    """[B, 3, H, W] -> [B, 4 + C, (H/16) * (W/16)]: a box per 16-px cell."""

    def __init__(self, C=3):
        super().__init__()
        self.f = torch.nn.Sequential(
            torch.nn.Conv2d(3, 16, 3, 2, 1), torch.nn.SiLU(), torch.nn.Conv2d(16, 32, 3, 2, 1), torch.nn.SiLU(),
            torch.nn.Conv2d(32, 32, 3, 2, 1), torch.nn.SiLU(), torch.nn.Conv2d(32, 4 + C, 3, 2, 1))

    def forward(self, x):
        y = self.f(x)                                   # [B, 4 + C, h, w]
        B, K, h, w = y.shape
        col = torch.arange(w, dtype=x.dtype).view(1, w).expand(h, w)
        row = torch.arange(h, dtype=x.dtype).view(h, 1).expand(h, w)
        cx = (col + torch.sigmoid(y[:, 0])) * 16
        cy = (row + torch.sigmoid(y[:, 1])) * 16
        bw = torch.exp(y[:, 2].clamp(-3, 3)) * 24
        bh = torch.exp(y[:, 3].clamp(-3, 3)) * 24
        cls = torch.sigmoid(y[:, 4:] * 3)
        return torch.cat([torch.stack([cx, cy, bw, bh], 1), cls], 1).flatten(2)


torch.manual_seed(3)
H, W = 320, 256
names = {"0": "cat", "1": "dog", "2": "eel"}
yolo = os.path.join(tmp, "yolo8ish.torchscript")
torch.jit.trace(Yolo8ish().eval(), torch.zeros(1, 3, H, W)).save(
    yolo, _extra_files={"config.txt": json.dumps({"task": "detect", "imgsz": [H, W], "names": names, "stride": 16})})


def ultralytics_reference(path, conf=0.25, iou=0.45, max_det=300):
    img = np.asarray(Image.open(path).convert("RGB"), dtype=np.float32)
    h, w = img.shape[:2]
    r = min(H / h, W / w)
    nw, nh = round(w * r), round(h * r)
    dw, dh = W - nw, H - nh
    left, top = round(dw / 2 - 0.1), round(dh / 2 - 0.1)
    x = torch.from_numpy(img).permute(2, 0, 1)[None]
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False)
    canvas = torch.full((1, 3, H, W), 114.0)
    canvas[:, :, top:top + nh, left:left + nw] = x
    with torch.no_grad():
        out = torch.jit.load(yolo)(canvas / 255.0)[0]   # [4 + C, A]
    score, cls = out[4:].max(0)
    keep = score > conf
    b, s, c = out[:4, keep].T, score[keep], cls[keep]
    boxes = torch.stack([b[:, 0] - b[:, 2] / 2, b[:, 1] - b[:, 3] / 2, b[:, 0] + b[:, 2] / 2, b[:, 1] + b[:, 3] / 2], 1)
    kept = []
    for k in torch.argsort(s, descending=True, stable=True).tolist():
        if len(kept) == max_det:
            break
        if all(c[k] != c[j] or faces_reference.iou_one(boxes[j], boxes[k][None])[0] <= iou for j in kept):
            kept.append(k)
    dets = []
    for k in kept:
        x1, y1, x2, y2 = ((float(boxes[k][i]) - (left, top)[i % 2]) / r for i in range(4))
        dets.append({"box": [min(max(x1, 0), w), min(max(y1, 0), h), min(max(x2, 0), w), min(max(y2, 0), h)],
                     "score": float(s[k]), "class": int(c[k])})
    return {"input": path, "detections": dets}


imgs = photos[:4] + [os.path.join(SKIMAGE, "camera.png")]
rng = np.random.default_rng(5)
for (w, h) in ((640, 90), (90, 640)):                 # much wider than tall, and the reverse
    p = os.path.join(tmp, f"noise_{w}x{h}.png")
    Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
    imgs.append(p)
recs, rc, err = tinfer("run", "-m", yolo, "-b", "4", *imgs)
check(rc == 0, "yolov8/exit", f"status {rc}: {err}")
want = [ultralytics_reference(p) for p in imgs]
check(sum(len(w["detections"]) for w in want) > 20, "yolov8/reference-finds-boxes",
      [len(w["detections"]) for w in want])
same_detections("yolov8", recs, want)
check(all(d["label"] == names[str(d["class"])] for r in recs for d in r.get("detections", [])),
      "yolov8/labels-from-config", "labels do not match names")
recs, rc, err = tinfer("run", "-m", yolo, "--max-det", "2", "--conf", "0.1", "--iou", "0.3", imgs[0])
want = [ultralytics_reference(imgs[0], conf=0.1, iou=0.3, max_det=2)]
same_detections("yolov8-options", recs, want)

shutil.rmtree(tmp)
done()
