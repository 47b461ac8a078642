#!/usr/bin/python3
"""The Python scripts a user would write instead of `tinfer run -m MODEL` for an
ImageNet classifier (bench/arch.py runs them).

    /usr/bin/python3 bench/py_arch.py --models FILE -m NAME [-b N] [-j N] [--tuned] INPUT ...
    /usr/bin/python3 bench/py_arch.py --models FILE -m NAME [-b N] [-j N] --forward-alone INPUT ...

Same semantics as `tinfer run` for a classify entry with `"resize": "crop"`
(SPEC §3): PIL decode, EXIF orientation applied (ImageOps.exif_transpose),
RGB, the shorter side resized to `resize_to` (the other side round(side ·
resize_to / shorter), half to even) with
torch.nn.functional.interpolate(bilinear, align_corners=False,
antialias = interp == "antialias") in float, centre crop `size` at offset
round((resized − size) / 2), pixel = (v · scale − mean) / std, batches of -b,
forward, softmax, top-k, one JSON line per input on stdout.

plain (default): torch.jit.load, contiguous batches, forward under
torch.no_grad(), everything on the main thread: the script most users write.

--tuned: the same plus torch.jit.freeze + torch.jit.optimize_for_inference at
load (--no-optimize: freeze only), channels-last batches, torch.inference_mode(), and the next batch read,
decoded and preprocessed on a second thread while the model runs the current
one (PIL's decoder and torch's kernels release the GIL).

Both print one JSON object as the last line of stderr, with tinfer's report
names: {"runner", "time_ms": {"startup", "load", "first_result", "total",
"forward"}, "ok", "failed", "items_per_s", "threads", "torch"}; times in ms
from the start of the script; startup = imports until the load begins, load
= torch.jit.load (and, tuned, freeze + optimize_for_inference), forward = the
model calls alone.

--forward-alone: no records.  Reads and preprocesses every INPUT into batches
first (untimed), then, for each way of running the model, loads it afresh and
times its forward passes alone over those batches, the first (slower) pass
included, as a run pays it:
  tinfer  the module as tinfer runs it on the CPU: torch.jit.load, the graph
          executor's optimisation off (tinfer's setGraphExecutorOptimize(false)),
          channels-last batches, inference mode;
  plain   as the plain script runs it: torch.jit.load, contiguous, no_grad;
  tuned   as the tuned script runs it: frozen + optimize_for_inference,
          channels-last, inference mode;
  frozen  as --tuned --no-optimize runs it: frozen only.
--ways picks them (default tinfer,plain,tuned); --rotate N starts at the Nth.
Prints {"forward_alone": {way: {"total_ms", "batch_ms": [...]}}, "check": {way:
{"max_abs_diff", "top1_same", "n"}}, ...} on stdout: "check" compares every
way's logits with the first way's, to catch an optimisation that changes the
results (torch 1.13's optimize_for_inference does, on MobileNetV3).
"""
import argparse
import concurrent.futures
import json
import os
import sys
import time

t_start = time.perf_counter()

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image, ImageOps  # noqa: E402


def ms_since(t):
    return round((time.perf_counter() - t) * 1e3, 1)


class Prep:
    """The manifest entry's input spec, as one callable: path -> ([3, H, W] float tensor, w, h)."""

    def __init__(self, entry):
        spec = entry["input"]
        if spec.get("resize") != "crop":
            raise SystemExit("py_arch: only \"resize\": \"crop\" entries are implemented")
        self.H, self.W = spec["size"]  # [height, width]
        self.to = spec["resize_to"]
        self.antialias = spec.get("interp", "bilinear") == "antialias"
        self.scale = spec.get("scale", 1.0)
        self.mean = torch.tensor(spec.get("mean", [0.0] * 3), dtype=torch.float32).view(1, 3, 1, 1)
        self.std = torch.tensor(spec.get("std", [1.0] * 3), dtype=torch.float32).view(1, 3, 1, 1)

    def __call__(self, path):
        with Image.open(path) as im0:
            im = ImageOps.exif_transpose(im0).convert("RGB")
        w, h = im.size
        x = torch.from_numpy(np.array(im)).permute(2, 0, 1).unsqueeze(0).float()  # [1, 3, h, w]
        if w <= h:
            nw, nh = self.to, round(h * self.to / w)
        else:
            nw, nh = round(w * self.to / h), self.to
        x = F.interpolate(x, size=(nh, nw), mode="bilinear", align_corners=False, antialias=self.antialias)
        top, left = round((nh - self.H) / 2), round((nw - self.W) / 2)
        x = x[:, :, top:top + self.H, left:left + self.W]
        return ((x * self.scale - self.mean) / self.std)[0], w, h


def list_inputs(inputs):
    paths = []
    for p in inputs:
        if os.path.isdir(p):
            paths += sorted(os.path.join(p, n) for n in os.listdir(p)
                            if n.lower().endswith((".png", ".jpg", ".jpeg")) and os.path.isfile(os.path.join(p, n)))
        else:
            paths.append(p)
    return paths


def load(path, tuned, optimize=True):
    model = torch.jit.load(path, map_location="cpu").eval()
    if tuned:
        model = torch.jit.freeze(model)
        if optimize:
            model = torch.jit.optimize_for_inference(model)
    return model


def read_batch(prep, paths):
    """Records and the stacked tensor of one batch; a bad input gets an error record."""
    records, tensors = [], []
    for p in paths:
        try:
            x, w, h = prep(p)
        except Exception as e:  # one bad input never stops the run
            records.append({"input": p, "ok": False, "error": str(e)})
            continue
        records.append({"input": p, "ok": True, "task": "classify", "width": w, "height": h})
        tensors.append(x)
    return records, (torch.stack(tensors) if tensors else None)


def run(a, entry, model_path, paths, prep):
    t_load0 = time.perf_counter()
    model = load(model_path, a.tuned, not a.no_optimize)
    t_load1 = time.perf_counter()
    labels = entry.get("labels") if isinstance(entry.get("labels"), list) else None
    batches = [paths[i:i + a.batch_size] for i in range(0, len(paths), a.batch_size)]
    fwd_s, first, ok, failed = 0.0, None, 0, 0
    out = sys.stdout
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1) if a.tuned else None
    grad = torch.inference_mode() if a.tuned else torch.no_grad()
    with grad:
        ahead = pool.submit(read_batch, prep, batches[0]) if pool and batches else None
        for k, chunk in enumerate(batches):
            if pool:
                records, x = ahead.result()
                if k + 1 < len(batches):
                    ahead = pool.submit(read_batch, prep, batches[k + 1])
            else:
                records, x = read_batch(prep, chunk)
            if x is not None:
                if a.tuned:
                    x = x.contiguous(memory_format=torch.channels_last)
                t0 = time.perf_counter()
                logits = model(x)
                dt = time.perf_counter() - t0
                fwd_s += dt
                probs = torch.softmax(logits, dim=1)
                scores, idx = probs.topk(min(a.top_k, probs.shape[1]), dim=1)
                done = iter(zip(scores.tolist(), idx.tolist()))
                for r in records:
                    if r["ok"]:
                        s, ix = next(done)
                        r["ms"] = round(dt * 1e3, 2)
                        r["top"] = [{"index": j, "label": labels[j] if labels else str(j), "score": v}
                                    for j, v in zip(ix, s)]
                        ok += 1
                    else:
                        failed += 1
            else:
                failed += len(records)
            out.write("".join(json.dumps(r) + "\n" for r in records))
            out.flush()
            if first is None:
                first = ms_since(t_start)
    if pool:
        pool.shutdown()
    total = ms_since(t_start)
    rep = {"runner": ("tuned, freeze only" if a.no_optimize else "tuned") if a.tuned else "plain",
           "time_ms": {"startup": round((t_load0 - t_start) * 1e3, 1), "load": round((t_load1 - t_load0) * 1e3, 1),
                       "first_result": first, "total": total, "forward": round(fwd_s * 1e3, 1)},
           "inputs": len(paths), "ok": ok, "failed": failed,
           "items_per_s": round(ok / (total / 1e3), 2) if total > 0 else 0.0,
           "threads": torch.get_num_threads(), "torch": torch.__version__}
    print(json.dumps(rep), file=sys.stderr, flush=True)
    return 0 if failed == 0 else 1


WAYS = ("tinfer", "plain", "tuned", "frozen")


def forward_alone(a, model_path, paths, prep):
    batches = [read_batch(prep, paths[i:i + a.batch_size])[1] for i in range(0, len(paths), a.batch_size)]
    batches = [b for b in batches if b is not None]
    res, logits = {}, {}
    ways = [w for w in a.ways.split(",") if w]
    if any(w not in WAYS for w in ways):
        raise SystemExit("py_arch: --ways: choose among " + ", ".join(WAYS))
    k = a.rotate % len(ways)
    for way in ways[k:] + ways[:k]:
        torch._C._set_graph_executor_optimize(way != "tinfer")
        model = load(model_path, way in ("tuned", "frozen"), way == "tuned")
        cl = way != "plain"
        times, outs = [], []
        with (torch.no_grad() if way == "plain" else torch.inference_mode()):
            for b in batches:
                x = b.contiguous(memory_format=torch.channels_last) if cl else b
                t0 = time.perf_counter()
                y = model(x)
                times.append((time.perf_counter() - t0) * 1e3)
                outs.append(y.clone())
        res[way] = {"total_ms": round(sum(times), 1), "batch_ms": [round(t, 1) for t in times]}
        logits[way] = torch.cat(outs)  # [N, C]
        del model
    torch._C._set_graph_executor_optimize(True)
    # each way's logits against the first way asked for: do the optimisations change the results?
    ref = logits[ways[0]]
    check = {w: {"against": ways[0], "max_abs_diff": float((z - ref).abs().max()),
                 "top1_same": int((z.argmax(1) == ref.argmax(1)).sum()), "n": int(z.shape[0])}
             for w, z in logits.items()}
    json.dump({"forward_alone": res, "order": ways[k:] + ways[:k], "check": check,
               "images": sum(b.shape[0] for b in batches), "batches": len(batches),
               "threads": torch.get_num_threads()}, sys.stdout)
    sys.stdout.write("\n")
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", required=True, help="manifest (tinfer's format)")
    ap.add_argument("-m", "--model", required=True, help="entry name")
    ap.add_argument("-b", "--batch-size", type=int, default=0, help="default: the manifest's")
    ap.add_argument("-j", "--threads", type=int, default=0, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--top-k", type=int, default=5)
    ap.add_argument("--tuned", action="store_true", help="freeze + optimize_for_inference, channels-last, "
                    "inference_mode, decoding ahead on a thread")
    ap.add_argument("--no-optimize", action="store_true", help="--tuned without optimize_for_inference "
                    "(freeze only)")
    ap.add_argument("--forward-alone", action="store_true", help="time the forward passes alone (see above)")
    ap.add_argument("--ways", default="tinfer,plain,tuned", help="--forward-alone: which ways, among "
                    + ", ".join(WAYS) + " (default tinfer,plain,tuned); the others' logits are compared with "
                    "the first's")
    ap.add_argument("--rotate", type=int, default=0, help="--forward-alone: start the ways at this index")
    ap.add_argument("inputs", nargs="+")
    a = ap.parse_args()

    with open(a.models) as f:
        entry = json.load(f)["models"][a.model]
    model_path = os.path.join(os.path.dirname(os.path.abspath(a.models)), entry["file"])
    a.batch_size = a.batch_size or entry.get("defaults", {}).get("batch_size", 1)
    if a.threads:
        torch.set_num_threads(a.threads)
    prep, paths = Prep(entry), list_inputs(a.inputs)
    if a.forward_alone:
        return forward_alone(a, model_path, paths, prep)
    return run(a, entry, model_path, paths, prep)


if __name__ == "__main__":
    sys.exit(main())
