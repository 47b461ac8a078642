"""Shared helpers for the parity tests: the reference preprocessing of
SPEC §3 written with PIL and torch.nn.functional.interpolate, and a way to
run the real tinfer binary.  Every test prints PASS/FAIL lines that
tests/run.sh counts."""
import json
import os
import subprocess

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageOps

ROOT = os.environ.get("ROOT") or os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINFER = os.environ.get("TINFER") or os.path.join(ROOT, "build", "tinfer")
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"

failures = 0


def check(cond, name, why=""):
    global failures
    if cond:
        print("PASS", name, flush=True)
    else:
        failures += 1
        print("FAIL", name + ":", why, flush=True)


def done():
    raise SystemExit(1 if failures else 0)


def tinfer(*args, stdin=None):
    """Runs tinfer; returns (records, exit status, stderr)."""
    p = subprocess.run([TINFER, *args], input=stdin, capture_output=True)
    recs = [json.loads(line) for line in p.stdout.decode().splitlines() if line.strip()]
    return recs, p.returncode, p.stderr.decode()


def geometry(cfg, w, h):
    """(new_w, new_h, left, top) for a w x h source: SPEC §3 with Python's round()."""
    H, W = cfg["size"]
    mode = cfg.get("resize", "letterbox")
    if mode == "stretch":
        return W, H, 0, 0
    if mode == "crop":
        to = cfg.get("resize_to", min(H, W))
        s = min(w, h)
        nw, nh = (to, round(h * to / s)) if w <= h else (round(w * to / s), to)
        return nw, nh, -round((nw - W) / 2), -round((nh - H) / 2)
    r = min(H / h, W / w)
    nw, nh = round(w * r), round(h * r)
    if cfg.get("align", "center") == "center":
        dw, dh = W - nw, H - nh
        return nw, nh, round(dw / 2 - 0.1), round(dh / 2 - 0.1)
    return nw, nh, 0, 0


def preprocess(path, cfg):
    """The model input tensor [C, H, W] for one image, as SPEC §3 defines it."""
    im = ImageOps.exif_transpose(Image.open(path))
    gray_src = im.mode in ("1", "L", "LA", "I", "I;16", "P") and im.convert("RGB").getbands() and \
        im.mode != "P" and im.mode != "RGB"
    C = cfg.get("channels", 3)
    if gray_src:
        g = np.asarray(im.convert("L") if im.mode != "I;16" else im, dtype=np.float32)
        a = g[:, :, None] if C == 1 else np.repeat(g[:, :, None], 3, axis=2)
    else:
        rgb = np.asarray(im.convert("RGB"), dtype=np.float32)
        if C == 1:
            a = (np.float32(0.299) * rgb[:, :, 0] + np.float32(0.587) * rgb[:, :, 1] +
                 np.float32(0.114) * rgb[:, :, 2])[:, :, None]
        else:
            a = rgb[:, :, ::-1] if cfg.get("color", "rgb") == "bgr" else rgb
    h, w = a.shape[:2]
    nw, nh, left, top = geometry(cfg, w, h)
    x = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]
    aa = cfg.get("interp", "bilinear") == "antialias"
    x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=aa)[0]
    H, W = cfg["size"]
    out = torch.full((C, H, W), float(cfg.get("pad_value", 0)))
    # paste the resized image at (left, top), clipped to the canvas
    x0, y0 = max(left, 0), max(top, 0)
    x1, y1 = min(left + nw, W), min(top + nh, H)
    out[:, y0:y1, x0:x1] = x[:, y0 - top:y1 - top, x0 - left:x1 - left]
    scale = cfg.get("scale", 1.0)
    mean = torch.tensor(cfg.get("mean", [0.0]) * (3 // len(cfg.get("mean", [0.0]))))[:C].view(C, 1, 1)
    std = torch.tensor(cfg.get("std", [1.0]) * (3 // len(cfg.get("std", [1.0]))))[:C].view(C, 1, 1)
    return (out * scale - mean) / std
