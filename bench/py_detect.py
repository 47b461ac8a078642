#!/usr/bin/python3
"""The Python script a user would write instead of `tinfer run -m faces -b 8`.

    /usr/bin/python3 bench/py_detect.py [--models FILE] [-m NAME] [-b N] [-j N]
                                        [--conf X] [--iou X] [--max-det N]
                                        [--channels-last] [--report FILE] INPUT ...

Same semantics as `tinfer run -m faces` for a detect entry of the manifest
with the yolov2 decoder: PIL decode with the EXIF orientation applied
(ImageOps.exif_transpose), RGB, float 0..255, letterbox as the manifest says
(gain r = min(H/h, W/w), resized to round(w r) x round(h r) with
F.interpolate(bilinear, align_corners=False), placed top-left or centred,
padded with pad_value), (v * scale - mean) / std, batches of -b, forward under
torch.inference_mode(), yolov2 decode, score > conf, class-wise NMS (IoU > iou
dropped), at most --max-det boxes, score descending, boxes mapped back to
source pixels and clipped.  The letterbox, decode and NMS are the helpers of
samples/faces_reference.py, the reference the tests check tinfer against.
One JSON line per input on stdout.  INPUT may be a file or a directory (its
.jpg/.jpeg/.png files, sorted).

--channels-last runs the model on channels-last batches, as tinfer does by
default (not what most users write; for comparison only).
--report FILE writes {"startup_ms", "load_ms", "loop_ms", "decode_ms",
"forward_ms", "post_ms", "items_per_s", ...}: decode_ms is PIL decode +
letterbox + normalise, forward_ms the model calls, post_ms decode + NMS +
JSON output; loop_ms everything from the end of the load to the end.
"""
import argparse
import json
import os
import sys
import time

t_start = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "samples"))
import faces_reference as ref  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(HERE, "..", "samples", "models.json"))
    ap.add_argument("-m", "--model", default="faces")
    ap.add_argument("-b", "--batch-size", type=int, default=0)
    ap.add_argument("-j", "--threads", type=int, default=0)
    ap.add_argument("--conf", type=float)
    ap.add_argument("--iou", type=float)
    ap.add_argument("--max-det", type=int, default=300)
    ap.add_argument("--channels-last", action="store_true")
    ap.add_argument("--report")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    with open(a.models) as f:
        entry = json.load(f)["models"][a.model]
    base = os.path.dirname(os.path.abspath(a.models))
    inp, dec = entry["input"], entry["decoder"]
    assert dec["type"] == "yolov2", "this script implements the yolov2 decoder only"
    W, H = inp["size"]  # manifest size is [width, height]
    defaults = entry.get("defaults", {})
    conf = a.conf if a.conf is not None else defaults.get("conf", 0.25)
    iou = a.iou if a.iou is not None else defaults.get("iou", 0.45)
    batch = a.batch_size or defaults.get("batch_size", 1)
    labels = entry.get("labels") or [str(i) for i in range(dec.get("classes", 1))]
    if a.threads:
        torch.set_num_threads(a.threads)

    t_load0 = time.perf_counter()
    model = torch.jit.load(os.path.join(base, entry["file"]), map_location="cpu")
    model.eval()
    t_load1 = time.perf_counter()

    paths = []
    for p in a.inputs:
        if os.path.isdir(p):
            paths += sorted(os.path.join(p, n) for n in os.listdir(p)
                            if n.lower().endswith((".png", ".jpg", ".jpeg"))
                            and os.path.isfile(os.path.join(p, n)))
        else:
            paths.append(p)

    def preprocess(path):
        im = ImageOps.exif_transpose(Image.open(path)).convert("RGB")
        img = np.asarray(im, dtype=np.float32)
        x, r, pad = ref.letterbox(img, (H, W), inp.get("pad_value", 0), inp.get("align", "center"))
        return ref.normalize(x, entry), im.width, im.height, r, pad

    def detections(out, w, h, r, pad):
        boxes, scores, classes = ref.decode_yolov2(out, dec["anchors"], dec["classes"], (H, W), conf)
        dets = []
        for c in sorted(set(classes.tolist())):  # class-wise NMS
            idx = (classes == c).nonzero().flatten()
            for k in ref.nms(boxes[idx], scores[idx], iou):
                dets.append((float(scores[idx[k]]), boxes[idx[k]].double(), c))
        dets.sort(key=lambda d: -d[0])
        left, top = pad
        res = []
        for s, b, c in dets[:a.max_det]:
            x1 = min(max((float(b[0]) - left) / r, 0.0), w)
            y1 = min(max((float(b[1]) - top) / r, 0.0), h)
            x2 = min(max((float(b[2]) - left) / r, 0.0), w)
            y2 = min(max((float(b[3]) - top) / r, 0.0), h)
            res.append({"box": [round(x1, 2), round(y1, 2), round(x2, 2), round(y2, 2)],
                        "score": s, "class": c, "label": labels[c] if c < len(labels) else None})
        return res

    ok = failed = 0
    t_dec = t_fwd = t_post = 0.0
    out = sys.stdout
    with torch.inference_mode():
        for i in range(0, len(paths), batch):
            t0 = time.perf_counter()
            records, tensors, meta = [], [], []
            for p in paths[i:i + batch]:
                try:
                    x, w, h, r, pad = preprocess(p)
                except Exception as e:  # one bad input never stops the run
                    records.append({"input": p, "ok": False, "error": str(e)})
                    failed += 1
                    continue
                records.append({"input": p, "ok": True, "task": "detect", "width": w, "height": h})
                tensors.append(x)
                meta.append((w, h, r, pad))
            t1 = time.perf_counter()
            t_dec += t1 - t0
            if tensors:
                xb = torch.stack(tensors)
                if a.channels_last:
                    xb = xb.contiguous(memory_format=torch.channels_last)
                y = model(xb)
                t2 = time.perf_counter()
                t_fwd += t2 - t1
                ms = round((t2 - t0) * 1e3 / len(tensors), 2)
                k = 0
                for rec in records:
                    if rec["ok"]:
                        rec["ms"] = ms
                        rec["detections"] = detections(y[k], *meta[k])
                        k += 1
                        ok += 1
            t3 = time.perf_counter()
            out.write("".join(json.dumps(rec) + "\n" for rec in records))
            out.flush()
            t_post += time.perf_counter() - t3 + (t3 - t2 if tensors else 0.0)
    t_end = time.perf_counter()
    if a.report:
        loop_s = t_end - t_load1
        with open(a.report, "w") as f:
            json.dump({"startup_ms": (t_load0 - t_start) * 1e3, "load_ms": (t_load1 - t_load0) * 1e3,
                       "loop_ms": loop_s * 1e3, "total_ms": (t_end - t_start) * 1e3,
                       "decode_ms": t_dec * 1e3, "forward_ms": t_fwd * 1e3, "post_ms": t_post * 1e3,
                       "inputs": len(paths), "ok": ok, "failed": failed,
                       "items_per_s": ok / loop_s if loop_s > 0 else 0.0,
                       "threads": torch.get_num_threads(), "torch": torch.__version__}, f)
            f.write("\n")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
