"""Parity: tinfer's classify and embed results equal the same TorchScript
file run from Python with interpolate() preprocessing, within 2e-4.

Covers the sample digits model (stretch, channels 1, logits) and two models
built here with random weights: an RGB classifier (crop, bgr, probs) and an
embedder (letterbox centre, stretch+antialias variant, channels 1 from RGB,
normalize)."""
import json
import math
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, SKIMAGE, check, done, preprocess, tinfer  # noqa: E402

TOL = 2e-4
torch.manual_seed(0)
tmp = tempfile.mkdtemp(prefix="tinfer-parity-")


class RGBProbs(torch.nn.Module):
    """3-channel input, outputs probabilities (softmax inside the model)."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(3, 8, 3, stride=2)
        self.c2 = torch.nn.Conv2d(8, 16, 3, stride=2)
        self.fc = torch.nn.Linear(16, 7)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(x))
        return torch.softmax(self.fc(x.mean((2, 3))) * 4.0, dim=1)


class GrayEmbed(torch.nn.Module):
    """1-channel input, a 16-d embedding."""

    def __init__(self):
        super().__init__()
        self.c1 = torch.nn.Conv2d(1, 8, 3, stride=2)
        self.fc = torch.nn.Linear(8 * 4, 16)

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.nn.functional.adaptive_avg_pool2d(x, (2, 2)).flatten(1)
        return self.fc(x)


def save(module, name):
    path = os.path.join(tmp, name)
    torch.jit.script(module.eval()).save(path)
    return path


def photos():
    """Real photos (PNG and JPEG) plus odd shapes, copied to the temp dir."""
    out = []
    for n in ("astronaut.png", "chelsea.png", "coffee.png", "camera.png", "rocket.jpg"):
        src = os.path.join(SKIMAGE, n)
        if os.path.exists(src):
            out.append(src)
    rng = np.random.default_rng(1)
    from PIL import Image
    for (w, h) in ((97, 23), (23, 97), (5, 5)):
        p = os.path.join(tmp, f"noise_{w}x{h}.png")
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(p)
        out.append(p)
    return out


def reference(model_path, imgs, cfg):
    m = torch.jit.load(model_path)
    with torch.no_grad():
        return m(torch.stack([preprocess(p, cfg) for p in imgs])).numpy()


def compare_top(name, recs, ref, probs, labels=None):
    check(len(recs) == len(ref), f"{name}/count", f"{len(recs)} records for {len(ref)} inputs")
    for i, (rec, row) in enumerate(zip(recs, ref)):
        if not probs:
            row = np.exp(row - row.max())
            row = row / row.sum()
        want = np.argsort(-row, kind="stable")[:5]
        got = rec.get("top", [])
        idx_ok = [t["index"] for t in got] == list(want)
        err = max((abs(t["score"] - float(row[t["index"]])) for t in got), default=math.inf)
        check(rec.get("ok") and idx_ok and err <= TOL, f"{name}/{os.path.basename(rec['input'])}",
              f"indices {[t['index'] for t in got]} vs {list(want)}, max score error {err:.2e}")
        if labels and got:
            check(got[0]["label"] == labels[got[0]["index"]], f"{name}/label/{i}", got[0])


# 1. the sample digits classifier, through its manifest entry
manifest = json.load(open(os.path.join(ROOT, "samples", "models.json")))["models"]["digits"]
digits = sorted(os.path.join(ROOT, "samples/inputs/digits", f)
                for f in os.listdir(os.path.join(ROOT, "samples/inputs/digits"))
                if f.endswith((".png", ".jpg")))
recs, rc, err = tinfer("run", "-m", "digits", "--models", os.path.join(ROOT, "samples/models.json"),
                       "-b", "4", *digits)
check(rc == 0, "digits/exit", f"status {rc}: {err}")
ref = reference(os.path.join(ROOT, "samples", manifest["file"]), digits, manifest["input"])
labels = [l.strip() for l in open(os.path.join(ROOT, "samples", manifest["labels"]))]
compare_top("digits", recs, ref, probs=False, labels=labels)
correct = sum(1 for r, p in zip(recs, digits)
              if r.get("top") and r["top"][0]["label"] == os.path.basename(p).split("_")[1][0])
check(correct >= len(digits) - 1, "digits/accuracy-on-samples", f"{correct}/{len(digits)}")

# 2. RGB, crop with resize_to, bgr, probabilities; batch 3 with odd shapes
imgs = photos()
rgb = save(RGBProbs(), "rgb.pt")
cfg = {"size": [48, 64], "resize": "crop", "resize_to": 72, "color": "bgr", "scale": 1 / 255,
       "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]}
models = {"models": {
    "rgb": {"file": rgb, "task": "classify", "input": cfg, "output": "probs"},
    "lb": {"file": rgb, "task": "classify", "output": "probs",
           "input": {"size": [40, 40], "resize": "letterbox", "align": "center", "pad_value": 114,
                     "scale": 1 / 255}},
    "croppad": {"file": rgb, "task": "classify", "output": "probs",
                "input": {"size": [48, 64], "resize": "crop", "resize_to": 40, "pad_value": 7,
                          "interp": "antialias"}},
    "emb": {"file": save(GrayEmbed(), "emb.pt"), "task": "embed", "normalize": True,
            "input": {"size": [36, 20], "channels": 1, "resize": "stretch", "interp": "antialias",
                      "scale": 1 / 255, "mean": [0.5], "std": [0.25]}},
}}
mpath = os.path.join(tmp, "models.json")
json.dump(models, open(mpath, "w"))

recs, rc, err = tinfer("run", "-m", "rgb", "--models", mpath, "-b", "3", *imgs)
check(rc == 0, "rgb-crop-bgr/exit", f"status {rc}: {err}")
compare_top("rgb-crop-bgr", recs, reference(rgb, imgs, cfg), probs=True)

# 3. letterbox, centre alignment, pad 114
recs, rc, err = tinfer("run", "-m", "lb", "--models", mpath, "-b", "2", *imgs)
check(rc == 0, "letterbox-center/exit", f"status {rc}: {err}")
compare_top("letterbox-center", recs, reference(rgb, imgs, models["models"]["lb"]["input"]), probs=True)

# 3b. a crop larger than the resized image pads (as torchvision's CenterCrop)
recs, rc, err = tinfer("run", "-m", "croppad", "--models", mpath, *imgs)
check(rc == 0, "crop-pad/exit", f"status {rc}: {err}")
compare_top("crop-pad", recs, reference(rgb, imgs, models["models"]["croppad"]["input"]), probs=True)

# 4. embed: channels 1 from RGB, stretch with antialias, L2-normalised
recs, rc, err = tinfer("run", "-m", "emb", "--models", mpath, "-b", "4", *imgs)
check(rc == 0, "embed/exit", f"status {rc}: {err}")
ref = reference(models["models"]["emb"]["file"], imgs, models["models"]["emb"]["input"])
for rec, row in zip(recs, ref):
    want = row / np.linalg.norm(row)
    got = np.array(rec.get("embedding", []), dtype=np.float64)
    ok = rec.get("ok") and rec.get("dim") == 16 and got.shape == want.shape
    e = float(np.abs(got - want).max()) if ok else math.inf
    check(ok and e <= TOL, f"embed/{os.path.basename(rec['input'])}", f"max error {e:.2e}")
    check(abs(np.linalg.norm(got) - 1) < 1e-5 if ok else False, f"embed/unit-norm/{os.path.basename(rec['input'])}",
          f"norm {np.linalg.norm(got)}")

shutil.rmtree(tmp)
done()
