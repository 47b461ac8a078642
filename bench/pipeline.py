#!/usr/bin/python3
"""Peak memory of a two-model job: tinfer's two-process pipeline against the
Python script that holds both models for the whole run.

    /usr/bin/python3 bench/pipeline.py [--rounds N] [--inputs N] [-j N] [--md FILE]

The job: find the faces in ~50 photos, cut each box out, and compute its
128-d descriptor.  tinfer does it as

    tinfer run -m faces PHOTOS | tinfer run -m faceid --crop-from - --save-dir emb/

(two processes, each holding one model, running at the same time); the
Python script (bench/py_pipeline.py) loads both models at start-up and
holds them to the end, as a service or notebook would.  The photos are
samples/inputs/photos and scikit-image's photographs, copied round-robin
under numbered names up to --inputs.  Each process's peak RSS is its
ru_maxrss (os.wait4), wall time the whole job's; rounds are interleaved and
the medians printed as a Markdown table, with the crops and rows each side
made and how far apart their descriptors are.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..")
TINFER = os.environ.get("TINFER", os.path.join(ROOT, "build", "tinfer"))
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
PHOTOS = ["astronaut.png", "camera.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png",
          "coins.png", "moon.png", "page.png", "retina.jpg", "hubble_deep_field.jpg", "ihc.png"]


def photos(dest, n):
    srcs = [os.path.join(ROOT, "samples", "inputs", "photos", f)
            for f in sorted(os.listdir(os.path.join(ROOT, "samples", "inputs", "photos")))]
    srcs += [os.path.join(SKIMAGE, f) for f in PHOTOS if os.path.exists(os.path.join(SKIMAGE, f))]
    os.makedirs(dest)
    for i in range(n):
        s = srcs[i % len(srcs)]
        shutil.copy(s, os.path.join(dest, f"{i:03d}_{os.path.basename(s)}"))
    return len(srcs)


def wait_rss(p):
    """Waits for p; (exit status, peak RSS in MiB)."""
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, ru.ru_maxrss / 1024.0


def run_tinfer(d, threads):
    emb = os.path.join(d, "emb-tinfer")
    shutil.rmtree(emb, ignore_errors=True)
    t0 = time.perf_counter()
    j = ["-j", str(threads)] if threads else []
    det = subprocess.Popen([TINFER, "run", "-m", "faces", "-q", *j, "--report", f"{d}/det.json",
                            os.path.join(d, "photos")], stdout=subprocess.PIPE)
    with open(f"{d}/tinfer.jsonl", "w") as out:
        emb_p = subprocess.Popen([TINFER, "run", "-m", "faceid", "-q", *j, "--crop-from", "-", "--save-dir", emb,
                                  "--report", f"{d}/emb.json"], stdin=det.stdout, stdout=out)
        det.stdout.close()
        rc1, rss1 = wait_rss(det)
        rc2, rss2 = wait_rss(emb_p)
    wall = time.perf_counter() - t0
    assert rc1 == 0 and rc2 == 0, (rc1, rc2)
    rep = [json.load(open(f"{d}/{n}.json"))["ram_bytes"]["peak"] / 2**20 for n in ("det", "emb")]
    return {"det": rss1, "emb": rss2, "det_report": rep[0], "emb_report": rep[1], "wall": wall}


def run_python(d, threads):
    emb = os.path.join(d, "emb-python")
    shutil.rmtree(emb, ignore_errors=True)
    t0 = time.perf_counter()
    j = ["-j", str(threads)] if threads else []
    with open(f"{d}/python.jsonl", "w") as out:
        p = subprocess.Popen([sys.executable, os.path.join(HERE, "py_pipeline.py"), *j, "--save-dir", emb,
                              os.path.join(d, "photos")], stdout=out)
        rc, rss = wait_rss(p)
    assert rc == 0, rc
    return {"py": rss, "wall": time.perf_counter() - t0}


def agreement(d):
    """Crops and rows on each side, and the largest descriptor distance between the same crops."""
    t = [json.loads(x) for x in open(f"{d}/tinfer.jsonl")]
    p = [json.loads(x) for x in open(f"{d}/python.jsonl")]
    ta, pa = np.load(f"{d}/emb-tinfer/embeddings.npy"), np.load(f"{d}/emb-python/embeddings.npy")
    pk = {(r["input"], r["det"]): r["row"] for r in p}
    dist = [float(np.linalg.norm(ta[r["row"]] - pa[pk[(r["input"], r["det"])]]))
            for r in t if r["ok"] and (r["input"], r["det"]) in pk]
    return len(t), len(p), ta.shape, pa.shape, max(dist) if dist else float("nan")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--inputs", type=int, default=50)
    ap.add_argument("-j", "--threads", type=int, default=0)
    ap.add_argument("--md", help="also write the table to FILE")
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="tinfer-pipeline.")
    try:
        kinds = photos(os.path.join(d, "photos"), a.inputs)
        T, P = [], []
        for k in range(a.rounds):  # interleaved: the machine's noise falls on both
            T.append(run_tinfer(d, a.threads))
            P.append(run_python(d, a.threads))
            print(f"# round {k}: tinfer {T[-1]}, python {P[-1]}", file=sys.stderr)
        nt, np_, ts, ps, dmax = agreement(d)
        med = lambda xs, key: statistics.median(x[key] for x in xs)  # noqa: E731
        det, emb, py = med(T, "det"), med(T, "emb"), med(P, "py")
        both = statistics.median(x["det"] + x["emb"] for x in T)
        lines = [
            f"{a.inputs} photos ({kinds} distinct), {nt} face crops; medians of {a.rounds} interleaved rounds; "
            f"descriptors of the same crops at most {dmax:.2g} apart (tinfer {ts[0]} rows, Python {ps[0]})",
            "",
            "| process | peak RSS | vs the Python script |",
            "|---|---:|---:|",
            f"| `tinfer run -m faces` (detector) | {det:.1f} MiB | {det / py:.2f} × |",
            f"| `tinfer run -m faceid --crop-from -` (embedder) | {emb:.1f} MiB | {emb / py:.2f} × |",
            f"| both tinfer processes together (upper bound: they overlap in time) | {both:.1f} MiB | {both / py:.2f} × |",
            f"| Python script holding both models | {py:.1f} MiB | 1 × |",
            "",
            f"Wall time of the job: tinfer {med(T, 'wall'):.1f} s, Python {med(P, 'wall'):.1f} s.  "
            f"tinfer's own reports say {med(T, 'det_report'):.1f} and {med(T, 'emb_report'):.1f} MiB.",
        ]
        text = "\n".join(lines)
        print(text)
        if a.md:
            with open(a.md, "w") as f:
                f.write(text + "\n")
    finally:
        shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
