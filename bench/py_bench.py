#!/usr/bin/python3
"""The Python twin of `tinfer bench`, for side-by-side figures: the same
TorchScript file, the same synthetic input shape, warm-up then timed
forward passes (input tensor made, output copied to host), percentiles by
nearest rank, items/s = batch * 1000 / mean, peak RSS of the process.

    /usr/bin/python3 bench/py_bench.py MODEL.pt C,H,W -b 1,8 [-j 2] [--warmup 3] [--iters 20]

Prints one JSON object per batch size, like `tinfer bench --format jsonl`
(the fields it has in common)."""
import argparse
import json
import math
import resource
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("shape", help="one input's shape, e.g. 3,416,416")
    ap.add_argument("-b", default="1")
    ap.add_argument("-j", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--channels-last", action="store_true")
    a = ap.parse_args()
    torch.set_num_threads(a.j)
    t0 = time.perf_counter()
    m = torch.jit.load(a.model).eval()
    load = (time.perf_counter() - t0) * 1000
    shape = [int(x) for x in a.shape.split(",")]
    for b in (int(x) for x in a.b.split(",")):
        x = torch.rand([b] + shape) * 2 - 1
        if a.channels_last and x.dim() == 4:
            x = x.contiguous(memory_format=torch.channels_last)
        ms = []
        with torch.inference_mode():
            for _ in range(a.warmup + a.iters):
                t = time.perf_counter()
                out = m(x.clone())
                _ = [o.cpu() for o in (out if isinstance(out, (tuple, list)) else [out])]
                ms.append((time.perf_counter() - t) * 1000)
        s = sorted(ms[a.warmup:])
        n = len(s)
        mean = sum(s) / n
        rank = lambda q: s[max(0, math.ceil(q * n) - 1)]
        print(json.dumps({"tool": "python", "torch": torch.__version__, "model": a.model, "batch_size": b,
                          "threads": a.j, "time_ms": {"load": round(load, 3), "first_inference": round(ms[0], 3)},
                          "latency_ms": {"min": s[0], "p50": rank(0.5), "p90": rank(0.9), "p99": rank(0.99),
                                         "max": s[-1], "mean": mean},
                          "items_per_s": round(b * 1000 / mean, 2),
                          "ram_bytes": {"peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}}))


if __name__ == "__main__":
    main()
