#!/usr/bin/python3
"""Remakes tests/data/faceapi/: the astronaut variants for the identity test
and reference.json, face-api's own outputs for a list of face crops (made by
samples/faceapi_reference.mjs), used by tests/parity/test_faceapi.py.

    /usr/bin/python3 tests/data/faceapi/make_data.py

Needs: scikit-image's sample photos (Debian python3-skimage), Pillow, a built
tinfer (TINFER, default build/tinfer: its `faces` model gives the boxes), and
node with face-api installed as samples/faceapi_reference.mjs describes
(FACEAPI_NODE, default /tmp/face-api-node; NODE, default node).

Images (derived from skimage's astronaut.png, Eileen Collins, NASA, public
domain; regions [x0, y0, x1, y1] of the 512x512 original):

    astronaut_mirror.png  region [125, 35, 317, 227] (192 px around the face), mirrored
    astronaut_half.png    region [93, 3, 349, 259] (256 px), Lanczos to 128x128 (0.5x)
    astronaut_x1.5.png    region [141, 51, 301, 211] (160 px), Lanczos to 240x240 (1.5x)
    astronaut_q70.jpg     region [93, 3, 349, 259], JPEG quality 70 (Pillow, 4:2:0)

(small regions keep the files small; the face detector still finds the face
in each). The repository's samples/inputs/photos/astronaut.png (0.75x) and
astronaut.jpg (quality 90) serve as two more variants.

Crops (reference.json "crops"): each has a source "image" (a repository path
or "skimage:NAME"), an integer "region" [X0, Y0, X1, Y1] and, when it came
from the detector, the `faces` "box" and "pad" it was cut with by the crop
rule (x1' = x1 - pad*w, ...; X0 = max(0, floor(x1')), X1 = min(W, ceil(x2')),
...). A few regions are fixed instead, to give odd aspect ratios. face-api's
outputs per crop: "expressions" (7 probabilities, face-api's order),
"descriptor" (128 floats), and "letterbox" (the same nets fed tinfer's
letterboxed input; see the .mjs), rounded to 8 significant digits.
"""
import json
import math
import os
import subprocess
import sys
import tempfile

from PIL import Image, ImageOps

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
TINFER = os.environ.get("TINFER") or os.path.join(ROOT, "build", "tinfer")
NODE = os.environ.get("NODE", "node")
REL = os.path.relpath(HERE, ROOT)

VARIANTS = {
    "astronaut_mirror.png": ((125, 35, 317, 227), "mirror"),
    "astronaut_half.png": ((93, 3, 349, 259), (128, 128)),
    "astronaut_x1.5.png": ((141, 51, 301, 211), (240, 240)),
    "astronaut_q70.jpg": ((93, 3, 349, 259), "jpeg70"),
}

# (name, image, pad) cut around the detector's box; (name, image, region) fixed
DETECTED = [
    ("astronaut", "skimage:astronaut.png", 0.0),
    ("astronaut_pad25", "skimage:astronaut.png", 0.25),
    ("photos_astronaut", "samples/inputs/photos/astronaut.png", 0.0),
    ("camera", "skimage:camera.png", 0.0),
    ("camera_pad25", "skimage:camera.png", 0.25),
    ("mirror", f"{REL}/astronaut_mirror.png", 0.0),
    ("half", f"{REL}/astronaut_half.png", 0.0),
    ("x1.5", f"{REL}/astronaut_x1.5.png", 0.0),
]
FIXED = [
    ("astronaut_tall", "skimage:astronaut.png", [171, 60, 272, 200]),   # 101 x 140
    ("astronaut_wide", "skimage:astronaut.png", [140, 90, 301, 180]),   # 161 x 90
]


def path_of(image):
    return os.path.join(SKIMAGE, image[8:]) if image.startswith("skimage:") else os.path.join(ROOT, image)


def crop_region(box, width, height, pad=0.0):
    """The crop rule of tinfer's --crop-from: the box grown by pad x its size, then
    floor/ceil to whole pixels and clipped to the image."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    return [max(0, math.floor(x1 - pad * w)), max(0, math.floor(y1 - pad * h)),
            min(width, math.ceil(x2 + pad * w)), min(height, math.ceil(y2 + pad * h))]


def make_variants():
    a = Image.open(os.path.join(SKIMAGE, "astronaut.png")).convert("RGB")
    for name, (region, how) in VARIANTS.items():
        im = a.crop(region)
        out = os.path.join(HERE, name)
        if how == "mirror":
            ImageOps.mirror(im).save(out, optimize=True)
        elif how == "jpeg70":
            im.save(out, quality=70)
        else:
            im.resize(how, Image.LANCZOS).save(out, optimize=True)
        print(f"wrote {out} ({os.path.getsize(out)} bytes)")


def detect(images):
    """The best `faces` box of each image, from tinfer."""
    p = subprocess.run([TINFER, "run", "-q", "-m", "faces", *[path_of(i) for i in images]],
                       capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"error: {TINFER} run -m faces failed ({p.returncode}): {p.stderr}")
    out = {}
    for image, line in zip(images, p.stdout.splitlines()):
        r = json.loads(line)
        if not r.get("detections"):
            sys.exit(f"error: no face found in {image}")
        out[image] = (r["detections"][0]["box"], r["width"], r["height"])
    return out


def g8(v):
    return float(f"{v:.8g}")


def main():
    make_variants()
    boxes = detect(sorted({img for _, img, _ in DETECTED}))
    crops = []
    for name, image, pad in DETECTED:
        box, w, h = boxes[image]
        crops.append({"name": name, "image": image, "box": [g8(v) for v in box], "pad": pad,
                      "region": crop_region(box, w, h, pad)})
    crops += [{"name": n, "image": i, "region": r} for n, i, r in FIXED]
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump({"crops": crops}, f)
    try:
        p = subprocess.run([NODE, os.path.join(ROOT, "samples", "faceapi_reference.mjs"), f.name],
                           cwd=ROOT, capture_output=True, text=True)
    finally:
        os.unlink(f.name)
    if p.returncode != 0:
        sys.exit(f"error: samples/faceapi_reference.mjs failed ({p.returncode}):\n{p.stderr}")
    ref = json.loads(p.stdout)
    for c in ref["crops"]:
        c["expressions"] = [g8(v) for v in c["expressions"]]
        c["descriptor"] = [g8(v) for v in c["descriptor"]]
        for k in ("expressions", "descriptor"):
            c["letterbox"][k] = [g8(v) for v in c["letterbox"][k]]
    out = os.path.join(HERE, "reference.json")
    with open(out, "w") as f:
        # one crop per line: small and diff-friendly
        f.write('{"faceapi": ' + json.dumps(ref["faceapi"]) + ',\n "labels": ' +
                json.dumps(["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]) +
                ',\n "crops": [\n' + ",\n".join("  " + json.dumps(c) for c in ref["crops"]) + "\n]}\n")
    print(f"wrote {out} ({os.path.getsize(out)} bytes, {len(ref['crops'])} crops)")


if __name__ == "__main__":
    main()
