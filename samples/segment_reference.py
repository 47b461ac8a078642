#!/usr/bin/python3
"""Reference implementation of tinfer's segment pipeline (SPEC section 5).

tinfer's C implementation follows this file bit for bit up to the model call;
the exact rules are:

RNG -- splitmix64, 64-bit unsigned arithmetic modulo 2**64, state = seed
(--seed, default 0, taken modulo 2**64):
    state += 0x9E3779B97F4A7C15
    z = state
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
    z = (z ^ (z >> 27)) * 0x94D049BB133111EB
    return z ^ (z >> 31)
One generator per cloud, seeded afresh; its draws are used in this order:
the sampling draws (if any), then the one FPS start draw.

Normalisation -- the cloud's n points are float32.  lo, hi = per-axis
min and max (float32, exact); centre = (lo + hi) / 2 and half = max over the
three axes of (hi - lo) / 2, both in double; half = 1 when it is 0.  Each
coordinate becomes (float)(((double)v - centre) / half).  Normals are not
used (the sample model takes C = 3: x, y, z).

Sampling -- N = min(points, n).  When N == n every point is taken in file
order and no draw is made.  Otherwise a partial Fisher-Yates shuffle over
perm = [0, 1, ..., n-1]:
    for i in 0 .. N-1:  j = i + rng() % (n - i);  swap(perm[i], perm[j])
and the sampled points are perm[0], ..., perm[N-1] in that order (the model
sees them in that order; "sampled index" below means position in it).

Prompts -- K = min(prompts, N) by farthest-point sampling over the sampled,
normalised points: sel[0] = rng() % N; dist[i] = +inf (float32) for all i;
for k in 1 .. K-1: with q = point sel[k-1], for every i
    d = (dx*dx + dy*dy) + dz*dz,  dx = x_i - x_q etc., all in float32, no FMA
    dist[i] = min(dist[i], d)
and sel[k] = the index of the largest dist, the lowest index on a tie.
The prompt coordinates are those points' normalised coordinates, [1, K, 3].

Model -- feats = encode(points[1, N, 3]) once; decode(feats, points,
prompts[:, b:b+B]) for b = 0, B, 2B, ... < K (B = --prompt-batch; the last
batch may be shorter) gives masks [1, k, M, N] logits and iou [1, k, M].
A module without encode/decode is called as forward(points, prompts[:, b:b+B]).

Masks -- per prompt: m = argmax over M of iou (lowest m on a tie), score =
iou[m] (float32), mask = logits[m] > 0.  Dropped when (double)score <
min_score or the mask is empty.  Duplicates: the survivors sorted by score
descending (lower prompt index first on a tie); each is dropped when its mask
IoU (|a and b| / |a or b|, integer counts, compared as double) with an already
kept mask is > 0.9.

Painting -- the kept masks sorted by size (number of sampled points in the
mask) descending, then score descending, then prompt index ascending; every
sampled point starts at -1 and each mask in that order writes its position in
that order into the points it covers (so smaller parts overwrite larger
ones).  Positions that end up owning no sampled point are removed and the
remaining ones renumbered 0, 1, ... keeping their order: those are part ids.

Labels -- every input point (normalised) takes the label of its nearest
sampled point: squared distance as in FPS, in float32; the lowest sampled
index on a tie.
"""

import sys

import numpy as np
import torch

MASK64 = (1 << 64) - 1


class SplitMix64:
    """The generator specified above."""

    def __init__(self, seed):
        self.state = seed & MASK64

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK64
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
        return z ^ (z >> 31)


def normalise(points):
    """(n, 3) float32 -> (n, 3) float32 in [-1, 1], by bounding-box centre and largest half-extent."""
    p = np.ascontiguousarray(points[:, :3], dtype=np.float32)
    lo = p.min(axis=0).astype(np.float64)
    hi = p.max(axis=0).astype(np.float64)
    centre = (lo + hi) / 2
    half = float(((hi - lo) / 2).max())
    if half == 0:
        half = 1.0
    return ((p.astype(np.float64) - centre) / half).astype(np.float32)


def sample(n, n_points, rng):
    """Indices of the sampled points, in order."""
    if n_points >= n:
        return np.arange(n, dtype=np.int64)
    perm = np.arange(n, dtype=np.int64)
    for i in range(n_points):
        j = i + rng.next() % (n - i)
        perm[i], perm[j] = perm[j], perm[i]
    return perm[:n_points].copy()


def sqdist(p, q):
    """float32 squared distances from each row of p (m, 3) to q (3,), evaluated as (dx*dx + dy*dy) + dz*dz."""
    d = p - q
    return (d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1]) + d[:, 2] * d[:, 2]


def fps(pts, k, rng):
    """Farthest-point sampling over pts (N, 3) float32: k indices, the first drawn from rng."""
    n = len(pts)
    sel = np.empty(k, dtype=np.int64)
    sel[0] = rng.next() % n
    dist = np.full(n, np.inf, dtype=np.float32)
    for i in range(1, k):
        dist = np.minimum(dist, sqdist(pts, pts[sel[i - 1]]))
        sel[i] = int(np.argmax(dist))
    return sel


def nearest(queries, pts, chunk=64):
    """Index of the nearest row of pts for each row of queries (float32, lowest index on a tie)."""
    out = np.empty(len(queries), dtype=np.int64)
    for s in range(0, len(queries), chunk):
        q = queries[s:s + chunk]
        d = q[:, None, :] - pts[None, :, :]
        d2 = (d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1]) + d[..., 2] * d[..., 2]
        out[s:s + chunk] = np.argmin(d2, axis=1)
    return out


def run_model(model, sampled, prompts, prompt_batch):
    """Masks (K, M, N) bool-able logits and iou (K, M) float32, batch by batch."""
    pts = torch.from_numpy(sampled).unsqueeze(0)
    pr = torch.from_numpy(prompts).unsqueeze(0)
    masks, ious = [], []
    has_enc = hasattr(model, "encode") and hasattr(model, "decode")
    with torch.no_grad():
        feats = model.encode(pts) if has_enc else None
        for b in range(0, pr.shape[1], prompt_batch):
            sub = pr[:, b:b + prompt_batch]
            m, iou = model.decode(feats, pts, sub) if has_enc else model(pts, sub)
            masks.append((m[0] > 0).numpy())
            ious.append(iou[0].float().numpy())
    return np.concatenate(masks), np.concatenate(ious)


def segment_full(points, model, n_points=15000, n_prompts=75, prompt_batch=4, seed=0, min_score=0.5):
    """The whole pipeline.  Returns (labels (n,) int64, parts [{"id", "points", "score", "aabb"}]);
    aabb is [xmin, ymin, zmin, xmax, ymax, zmax] of the part's input points, in input coordinates."""
    points = np.asarray(points, dtype=np.float32)
    norm = normalise(points)
    rng = SplitMix64(seed)
    idx = sample(len(norm), n_points, rng)
    sampled = norm[idx]
    sel = fps(sampled, min(n_prompts, len(sampled)), rng)
    masks, ious = run_model(model, sampled, sampled[sel], prompt_batch)

    cands = []
    for k in range(len(sel)):
        m = int(np.argmax(ious[k]))
        score = np.float32(ious[k, m])
        mask = masks[k, m]
        if float(score) < min_score or not mask.any():
            continue
        cands.append((score, k, mask))
    cands.sort(key=lambda c: (-c[0], c[1]))
    kept = []
    for c in cands:
        dup = False
        for o in kept:
            inter = int(np.count_nonzero(c[2] & o[2]))
            union = int(np.count_nonzero(c[2] | o[2]))
            if inter / union > 0.9:
                dup = True
                break
        if not dup:
            kept.append(c)
    kept.sort(key=lambda c: (-int(np.count_nonzero(c[2])), -c[0], c[1]))
    lab = np.full(len(sampled), -1, dtype=np.int64)
    for pos, c in enumerate(kept):
        lab[c[2]] = pos
    present = [pos for pos in range(len(kept)) if (lab == pos).any()]
    remap = np.full(len(kept) + 1, -1, dtype=np.int64)
    for new, pos in enumerate(present):
        remap[pos] = new
    lab = remap[lab]                        # -1 indexes the trailing -1

    labels = lab[nearest(norm, sampled)]
    parts = []
    for new, pos in enumerate(present):
        own = points[labels == new, :3]
        parts.append({"id": new, "points": int(len(own)), "score": float(kept[pos][0]),
                      "aabb": [float(v) for v in np.concatenate([own.min(0), own.max(0)])] if len(own) else None})
    return labels, parts


def segment(points, model, n_points=15000, n_prompts=75, prompt_batch=4, seed=0, min_score=0.5):
    """Per-point part labels (n,) int64, -1 for unlabelled points."""
    return segment_full(points, model, n_points, n_prompts, prompt_batch, seed, min_score)[0]


def read_cloud(path):
    """x, y, z of a .npy, .xyz/.txt or PLY (vertex x/y/z as float or double; ascii or binary) file."""
    if path.endswith(".npy"):
        return np.load(path)[:, :3].astype(np.float32)
    with open(path, "rb") as f:
        data = f.read()
    if not data.startswith(b"ply"):
        return np.loadtxt(path, comments="#", ndmin=2)[:, :3].astype(np.float32)
    end = data.index(b"end_header") + len(b"end_header")
    end = data.index(b"\n", end) + 1
    fmt, props, count, in_vertex = None, [], 0, False
    for line in data[:end].decode("ascii").splitlines():
        w = line.split()
        if not w:
            continue
        if w[0] == "format":
            fmt = w[1]
        elif w[0] == "element":
            in_vertex = w[1] == "vertex"
            if in_vertex:
                count = int(w[2])
            elif not props:
                raise ValueError("read_cloud handles files whose first element is vertex")
        elif w[0] == "property" and in_vertex:
            if w[1] == "list":
                raise ValueError("read_cloud does not handle list properties on the vertex")
            props.append((w[2], w[1]))
    if fmt == "ascii":
        rows = data[end:].decode("ascii").split("\n")[:count]
        a = np.array([[float(v) for v in r.split()[:len(props)]] for r in rows])
        cols = {name: a[:, i] for i, (name, _) in enumerate(props)}
    else:
        codes = {"float": "f4", "float32": "f4", "double": "f8", "float64": "f8", "uchar": "u1", "uint8": "u1",
                 "char": "i1", "int8": "i1", "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
                 "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4"}
        order = "<" if fmt == "binary_little_endian" else ">"
        dt = np.dtype([(name, order + codes[t]) for name, t in props])
        a = np.frombuffer(data, dtype=dt, count=count, offset=end)
        cols = {name: a[name] for name, _ in props}
    return np.stack([cols["x"], cols["y"], cols["z"]], axis=1).astype(np.float32)


def main(argv):
    import argparse
    import json
    ap = argparse.ArgumentParser(description="Run the segment pipeline in Python; print one JSON record.")
    ap.add_argument("model")
    ap.add_argument("cloud")
    ap.add_argument("--points", type=int, default=15000)
    ap.add_argument("--prompts", type=int, default=75)
    ap.add_argument("--prompt-batch", type=int, default=4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--min-score", type=float, default=0.5)
    ap.add_argument("--labels-out", help="write the labels as an int64 .npy here")
    a = ap.parse_args(argv)
    model = torch.jit.load(a.model)
    pts = read_cloud(a.cloud)
    labels, parts = segment_full(pts, model, a.points, a.prompts, a.prompt_batch, a.seed, a.min_score)
    if a.labels_out:
        np.save(a.labels_out, labels)
    print(json.dumps({"input": a.cloud, "points": len(pts), "parts": parts}))


if __name__ == "__main__":
    main(sys.argv[1:])
