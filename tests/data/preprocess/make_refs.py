#!/usr/bin/python3
"""Reference outputs for tests/unit/test_preprocess.c, computed with PyTorch.

Run with the interpreter that has torch (Debian: /usr/bin/python3):

    /usr/bin/python3 tests/data/preprocess/make_refs.py

It rewrites tests/data/preprocess/*.ref and index.txt.  Everything is
deterministic (fixed seeds, legacy numpy RandomState).

The pipeline is the one of SPEC section 3, written independently of the C:

  uint8 HWC -> float32; 1-channel model from RGB: luma in float32 on the
  source pixels, (0.299*R + 0.587*G) + 0.114*B, before resizing
  -> NCHW -> F.interpolate(size=(new_h, new_w), mode="bilinear",
  align_corners=False, antialias=aa) -> gray repeated to 3 channels, or
  RGB -> BGR -> placed at (left, top) on a pad_value canvas (crop: negative
  offsets) -> (v * scale - mean[c]) / std[c] for every pixel, padding included.

File format (one case per file), a text header then raw little-endian data:

    tinfer-preprocess-ref 1
    name NAME
    src W H C
    cfg width height channels bgr resize align_center resize_to interp pad scale m0 m1 m2 s0 s1 s2
    geom new_w new_h left top
    end
    <W*H*C uint8 source pixels, HWC><channels*height*width float32, CHW>

resize: 0 letterbox, 1 stretch, 2 crop; interp: 0 bilinear, 1 antialias.
Floats in the header are written with repr() (exact for float32 values).
"""
import os
import struct

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
LETTERBOX, STRETCH, CROP = 0, 1, 2
BILINEAR, ANTIALIAS = 0, 1
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def source(w, h, c, seed):
    """Noise over a gradient: every pixel differs, values span 0..255."""
    rs = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    base = (xx * 255.0 / max(w - 1, 1) + yy * 97.0 / max(h - 1, 1))[..., None]
    img = base + rs.randint(-60, 61, size=(h, w, c)) + np.arange(c) * 40
    return np.clip(img, 0, 255).astype(np.uint8)


def geometry(cfg, w, h):
    W, H = cfg["width"], cfg["height"]
    if cfg["resize"] == LETTERBOX:
        r = min(H / h, W / w)
        nw, nh = max(1, min(W, round(w * r))), max(1, min(H, round(h * r)))
        if cfg["align_center"]:
            left, top = round((W - nw) / 2 - 0.1), round((H - nh) / 2 - 0.1)
        else:
            left, top = 0, 0
    elif cfg["resize"] == STRETCH:
        nw, nh, left, top = W, H, 0, 0
    else:
        rt = cfg["resize_to"]
        if w <= h:
            nw, nh = rt, round(h * rt / w)
        else:
            nw, nh = round(w * rt / h), rt
        left, top = -round((nw - W) / 2), -round((nh - H) / 2)
    return nw, nh, left, top


def reference(src, cfg):
    h, w, sc = src.shape
    nw, nh, left, top = geometry(cfg, w, h)
    C = cfg["channels"]
    x = src.astype(np.float32)
    if C == 1 and sc == 3:
        x = (np.float32(0.299) * x[..., 0] + np.float32(0.587) * x[..., 1]
             + np.float32(0.114) * x[..., 2])[..., None]
    t = torch.from_numpy(np.ascontiguousarray(x)).permute(2, 0, 1)[None].contiguous()
    t = F.interpolate(t, size=(nh, nw), mode="bilinear", align_corners=False,
                      antialias=cfg["interp"] == ANTIALIAS)
    if C == 3 and t.shape[1] == 1:
        t = t.expand(1, 3, nh, nw)
    elif C == 3 and cfg["bgr"]:
        t = t[:, [2, 1, 0]]
    W, H = cfg["width"], cfg["height"]
    canvas = torch.full((1, C, H, W), float(cfg["pad"]), dtype=torch.float32)
    # intersection of the resized image, placed at (left, top), with the canvas
    x0, y0 = max(0, -left), max(0, -top)
    x1, y1 = min(nw, W - left), min(nh, H - top)
    canvas[:, :, top + y0:top + y1, left + x0:left + x1] = t[:, :, y0:y1, x0:x1]
    mean = torch.tensor(cfg["mean"][:C], dtype=torch.float32)[:, None, None]
    std = torch.tensor(cfg["std"][:C], dtype=torch.float32)[:, None, None]
    out = (canvas * np.float32(cfg["scale"]) - mean) / std
    return out[0].numpy().astype(np.float32), (nw, nh, left, top)


def f32(v):
    return float(np.float32(v))


def case(name, src, **kw):
    cfg = dict(channels=3, bgr=0, resize=LETTERBOX, align_center=1, resize_to=0,
               interp=BILINEAR, pad=0.0, scale=1.0, mean=[0.0, 0.0, 0.0],
               std=[1.0, 1.0, 1.0])
    cfg.update(kw)
    for k in ("pad", "scale"):
        cfg[k] = f32(cfg[k])
    cfg["mean"] = [f32(v) for v in cfg["mean"]]
    cfg["std"] = [f32(v) for v in cfg["std"]]
    out, geom = reference(src, cfg)
    h, w, c = src.shape
    head = [
        "tinfer-preprocess-ref 1",
        "name %s" % name,
        "src %d %d %d" % (w, h, c),
        "cfg %d %d %d %d %d %d %d %d %r %r %s %s" % (
            cfg["width"], cfg["height"], cfg["channels"], cfg["bgr"], cfg["resize"],
            cfg["align_center"], cfg["resize_to"], cfg["interp"], cfg["pad"], cfg["scale"],
            " ".join(repr(v) for v in cfg["mean"]), " ".join(repr(v) for v in cfg["std"])),
        "geom %d %d %d %d" % geom,
        "end",
    ]
    with open(os.path.join(HERE, name + ".ref"), "wb") as f:
        f.write(("\n".join(head) + "\n").encode())
        f.write(np.ascontiguousarray(src).tobytes())
        f.write(out.astype("<f4").tobytes())
    return name


def main():
    torch.set_num_threads(1)
    rgb = source(37, 23, 3, 1)       # wider than tall
    tall = source(23, 37, 3, 2)      # taller than wide
    gray = source(10, 10, 1, 3)
    one_rgb = source(1, 1, 3, 4)
    one_gray = source(1, 1, 1, 5)
    wide = source(61, 9, 3, 6)       # much wider than tall
    big = source(160, 120, 1, 7)     # strong downscale
    thin = source(5, 70, 3, 8)       # much taller than wide
    aa = dict(interp=ANTIALIAS)
    norm = dict(scale=1 / 255, mean=IMAGENET_MEAN, std=IMAGENET_STD)

    names = [
        case("lb_center_down", rgb, width=16, height=16),
        case("lb_center_down_aa", rgb, width=16, height=16, pad=114, **aa),
        case("lb_topleft_tall_aa", tall, width=20, height=24, align_center=0, pad=114,
             scale=1 / 255, **aa),
        case("lb_center_tall", tall, width=24, height=20, pad=50),
        case("lb_center_up_gray", gray, width=32, height=24, pad=7),
        case("lb_center_up_gray_aa", gray, width=32, height=24, pad=7, **aa),
        case("lb_wide_aa", wide, width=32, height=32, pad=114, **aa),
        case("lb_thin", thin, width=16, height=16, pad=114, **norm),
        case("lb_big_aa", big, width=16, height=16, channels=1, pad=3, **aa),
        case("lb_big", big, width=16, height=16, channels=3, **norm),
        case("stretch_bgr", rgb, width=24, height=40, resize=STRETCH, bgr=1, **norm),
        case("stretch_bgr_aa", rgb, width=24, height=40, resize=STRETCH, bgr=1, **aa, **norm),
        case("stretch_identity", rgb, width=37, height=23, resize=STRETCH),
        case("stretch_identity_aa", rgb, width=37, height=23, resize=STRETCH, **aa),
        case("stretch_same_w_aa", rgb, width=37, height=10, resize=STRETCH, **aa),
        case("stretch_same_h", rgb, width=20, height=23, resize=STRETCH),
        case("stretch_same_h_aa", rgb, width=48, height=23, resize=STRETCH, **aa),
        case("crop", rgb, width=16, height=16, resize=CROP, resize_to=20, **norm),
        case("crop_aa", rgb, width=16, height=16, resize=CROP, resize_to=20, **aa, **norm),
        case("crop_tall_luma_aa", tall, width=16, height=12, channels=1, resize=CROP,
             resize_to=18, scale=1 / 255, mean=[0.5, 0, 0], std=[0.25, 1, 1], **aa),
        case("crop_up", gray, width=24, height=24, resize=CROP, resize_to=27),
        case("luma_stretch", rgb, width=20, height=12, channels=1, resize=STRETCH),
        case("luma_lb_aa", rgb, width=24, height=24, channels=1, pad=114, **aa),
        case("one_rgb", one_rgb, width=8, height=6, pad=9),
        case("one_gray_aa", one_gray, width=5, height=3, resize=STRETCH, **aa),
        case("one_rgb_luma_aa", one_rgb, width=4, height=4, channels=1, resize=STRETCH, **aa),
    ]
    with open(os.path.join(HERE, "index.txt"), "w") as f:
        f.write("\n".join(n + ".ref" for n in names) + "\n")


if __name__ == "__main__":
    main()
