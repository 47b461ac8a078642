#!/usr/bin/python3
"""The Python script a user would write instead of `tinfer run -m MODEL`.

    /usr/bin/python3 bench/py_classify.py [--models FILE] [-m NAME] [-b N] [-j N]
                                          [--top-k K] [--report FILE] INPUT ...

Same semantics as `tinfer run -m digits` for a classify entry of the manifest:
PIL decode, luma (channels 1) or RGB, stretch resize with
torch.nn.functional.interpolate(bilinear, align_corners=False), pixel =
(v * scale - mean) / std, batches of -b, forward, softmax, top-k, one JSON
line per input on stdout.  INPUT may be a file or a directory (its files,
sorted).  --report FILE writes {"load_ms", "loop_ms", "items_per_s", ...}.
Only the stretch resize is implemented: enough for the benchmark.
"""
import argparse
import json
import os
import sys
import time

t_start = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--models", default=os.path.join(HERE, "..", "samples", "models.json"))
    ap.add_argument("-m", "--model", default="digits")
    ap.add_argument("-b", "--batch-size", type=int, default=0)
    ap.add_argument("-j", "--threads", type=int, default=0)
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--report")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    with open(a.models) as f:
        entry = json.load(f)["models"][a.model]
    base = os.path.dirname(os.path.abspath(a.models))
    spec = entry["input"]
    H, W = spec["size"][1], spec["size"][0]  # manifest size is [width, height]
    channels = spec.get("channels", 3)
    scale = spec.get("scale", 1.0)
    mean = torch.tensor(spec.get("mean", [0.0] * channels), dtype=torch.float32).view(1, -1, 1, 1)
    std = torch.tensor(spec.get("std", [1.0] * channels), dtype=torch.float32).view(1, -1, 1, 1)
    labels = entry.get("labels")
    if isinstance(labels, str):
        with open(os.path.join(base, labels)) as f:
            labels = [line.rstrip("\n") for line in f]
    batch = a.batch_size or entry.get("defaults", {}).get("batch_size", 1)
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
        im = Image.open(path)
        im = im.convert("L" if channels == 1 else "RGB")
        x = torch.from_numpy(np.asarray(im, dtype=np.uint8).copy())
        x = x.view(im.height, im.width, channels).permute(2, 0, 1).unsqueeze(0).float()
        x = F.interpolate(x, size=(H, W), mode="bilinear", align_corners=False)
        return ((x * scale - mean) / std)[0], im.width, im.height

    ok = failed = 0
    out = sys.stdout
    with torch.inference_mode():
        for i in range(0, len(paths), batch):
            records, tensors = [], []
            for p in paths[i:i + batch]:
                try:
                    x, w, h = preprocess(p)
                except Exception as e:  # one bad input never stops the run
                    records.append({"input": p, "ok": False, "error": str(e)})
                    failed += 1
                    continue
                records.append({"input": p, "ok": True, "task": "classify", "width": w, "height": h})
                tensors.append(x)
            if tensors:
                t0 = time.perf_counter()
                probs = torch.softmax(model(torch.stack(tensors)), dim=1)
                ms = round((time.perf_counter() - t0) * 1e3, 2)
                scores, idx = probs.topk(min(a.top_k, probs.shape[1]), dim=1)
                done = iter(zip(scores.tolist(), idx.tolist()))
                for r in records:
                    if r["ok"]:
                        s, ix = next(done)
                        r["ms"] = ms
                        r["top"] = [{"index": j, "label": labels[j] if labels else str(j), "score": v}
                                    for j, v in zip(ix, s)]
                        ok += 1
            out.write("".join(json.dumps(r) + "\n" for r in records))
            out.flush()
    t_end = time.perf_counter()
    if a.report:
        loop_s = t_end - t_load1
        with open(a.report, "w") as f:
            json.dump({"startup_ms": (t_load0 - t_start) * 1e3, "load_ms": (t_load1 - t_load0) * 1e3,
                       "loop_ms": loop_s * 1e3, "total_ms": (t_end - t_start) * 1e3,
                       "inputs": len(paths), "ok": ok, "failed": failed,
                       "items_per_s": ok / loop_s if loop_s > 0 else 0.0,
                       "threads": torch.get_num_threads(), "torch": torch.__version__}, f)
            f.write("\n")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
