#!/usr/bin/python3
"""Regenerate tinfer's sample point-cloud part segmenter and its scene.

    /usr/bin/python3 samples/make_segment.py

Writes (next to this script):
  models/parts.pt              TorchScript PartSeg (below), C = 3 (x, y, z)
  inputs/clouds/scene.ply      6 separated primitives, 20,000 points with
                               normals, binary little endian float
  inputs/clouds/scene.xyz      1,500 of them as text, x y z nx ny nz
  data/scene-labels.npy        int32 [20000]: the true part of each scene.ply point
  data/scene-xyz-labels.npy    int32 [1500]: the same for scene.xyz
  models.json (entry "parts")  the manifest entry

then runs the SPEC section 5 pipeline (segment_reference.py) on scene.ply at
prompt batch 1, 4 and 16 and prints the accuracy up to relabelling.

The model is hand-built, not trained.  It follows P3-SAM's contract:
  encode(points[B, N, C]) -> feats[B, N, 1 + F]
  decode(feats, points[B, N, C], prompts[B, K, 3]) -> (masks[B, K, 3, N] logits, iou[B, K, 3])
  forward(points, prompts) = decode(encode(points), points, prompts)
Only x, y, z (the first 3 channels) are used, so C = 3 (C = 6 also works).

encode: voxelises the points on a 32^3 grid over [-1, 1]^3, dilates the
occupancy by one cell and labels its 26-connected components by repeated 3x3x3
max-pooling of cell ids until nothing changes; channel 0 of feats is each
point's component id (float32, exact), channels 1..F a per-point MLP
embedding of x, y, z (F = 64).

decode: for each prompt, a per-point feature tensor [B, K, N, F] from an MLP
over (point - prompt, point embedding) -- the memory-heavy part, like
P3-SAM's, growing with N x prompt batch -- feeds a small learned term
(weight 0.01, tanh-bounded) of every logit.  The dominant geometric term of
mask m is min((r_m - |point - prompt|) / 0.05, +-10), +10 when the point is in
the prompt's connected component and -10 otherwise, with r = 0.25, 0.6 and 4
(the last covers the whole normalised cloud, i.e. the whole component).  The
predicted IoU is 1 - (sum of 4 p (1 - p)) / (sum of p) over p =
sigmoid(logits): the share of the mask's soft mass that lies on a soft
boundary, so a mask cut by its radius through a part scores low and a whole
separated part scores about 0.998.
"""

import json
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import segment_reference as ref  # noqa: E402


class PartSeg(nn.Module):
    def __init__(self, grid: int = 32, feat: int = 64):
        super().__init__()
        self.grid = grid
        self.tau = 0.05
        self.alpha = 10.0
        self.learned_weight = 0.01
        self.register_buffer("radii", torch.tensor([0.25, 0.6, 4.0]))
        self.embed = nn.Sequential(nn.Linear(3, feat), nn.ReLU(), nn.Linear(feat, feat))
        self.dec1 = nn.Linear(3 + feat, feat)
        self.dec2 = nn.Linear(feat, feat)
        self.head = nn.Linear(feat, 1)

    @torch.jit.export
    def encode(self, points: torch.Tensor) -> torch.Tensor:
        p = points[:, :, :3]
        pf = p.float()                                                  # [B, N, 3]
        b, g = pf.shape[0], self.grid
        cell = ((pf + 1.0) * (0.5 * g)).floor().clamp(0, g - 1).long()  # [B, N, 3]
        flat = (cell[:, :, 0] * g + cell[:, :, 1]) * g + cell[:, :, 2]   # [B, N]
        occ = torch.zeros(b, g * g * g, dtype=torch.float32, device=p.device)
        occ.scatter_(1, flat, torch.ones_like(flat, dtype=torch.float32))
        occ = F.max_pool3d(occ.view(b, 1, g, g, g), 3, 1, 1)            # [B, 1, G, G, G], dilated
        ids = torch.arange(1, g * g * g + 1, dtype=torch.float32, device=p.device).view(1, 1, g, g, g) * occ
        changed = True
        while changed:
            nxt = F.max_pool3d(ids, 3, 1, 1) * occ
            changed = bool((nxt != ids).any())
            ids = nxt
        comp = ids.view(b, g * g * g).gather(1, flat)                   # [B, N]
        emb = self.embed(p)                                             # [B, N, F]
        return torch.cat([comp.unsqueeze(-1), emb.float()], -1)          # [B, N, 1 + F]

    @torch.jit.export
    def decode(self, feats: torch.Tensor, points: torch.Tensor, prompts: torch.Tensor):
        p = points[:, :, :3]
        k = prompts.shape[1]
        comp = feats[:, :, 0]                                           # [B, N]
        emb = feats[:, :, 1:].to(p.dtype)                               # [B, N, F]
        rel = p.unsqueeze(1) - prompts.to(p.dtype).unsqueeze(2)         # [B, K, N, 3]
        h = torch.cat([rel, emb.unsqueeze(1).expand(-1, k, -1, -1)], -1)  # [B, K, N, 3 + F]
        h = F.relu(self.dec1(h))                                        # [B, K, N, F]
        h = F.relu(self.dec2(h))                                        # [B, K, N, F]
        learned = torch.tanh(self.head(h).squeeze(-1)).float()          # [B, K, N]
        rf = rel.float()
        d = torch.sqrt((rf * rf).sum(-1))                               # [B, K, N]
        pc = comp.gather(1, d.argmin(-1))                               # [B, K], prompt's component
        same = comp.unsqueeze(1) == pc.unsqueeze(-1)                    # [B, K, N]
        conn = same.float() * (2.0 * self.alpha) - self.alpha           # [B, K, N], +-alpha
        ball = (self.radii.view(1, 1, -1, 1) - d.unsqueeze(2)) / self.tau  # [B, K, M, N]
        logits = torch.minimum(ball, conn.unsqueeze(2)) + self.learned_weight * learned.unsqueeze(2)
        prob = torch.sigmoid(logits)                                    # [B, K, M, N]
        area = prob.sum(-1)                                             # [B, K, M]
        edge = (4.0 * prob * (1.0 - prob)).sum(-1)                      # [B, K, M]
        iou = (1.0 - edge / area.clamp(min=1.0)).clamp(0.0, 1.0)        # [B, K, M]
        return logits.to(points.dtype), iou.to(points.dtype)

    def forward(self, points: torch.Tensor, prompts: torch.Tensor):
        return self.decode(self.encode(points), points, prompts)


# --- the scene ------------------------------------------------------------------

def box(rng, n, c, size):
    """n points on the surface of an axis-aligned box, with outward normals."""
    sx, sy, sz = size
    areas = np.array([sy * sz, sy * sz, sx * sz, sx * sz, sx * sy, sx * sy])
    face = rng.choice(6, size=n, p=areas / areas.sum())
    u = rng.uniform(-0.5, 0.5, size=(n, 3)) * np.array(size)
    nrm = np.zeros((n, 3))
    axis, sign = face // 2, np.where(face % 2 == 0, -1.0, 1.0)
    u[np.arange(n), axis] = sign * np.array(size)[axis] / 2
    nrm[np.arange(n), axis] = sign
    return u + c, nrm


def sphere(rng, n, c, r):
    v = rng.normal(size=(n, 3))
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    return c + r * v, v


def cylinder(rng, n, c, r, h):
    """Axis z, with caps."""
    areas = np.array([2 * np.pi * r * h, np.pi * r * r, np.pi * r * r])
    part = rng.choice(3, size=n, p=areas / areas.sum())
    t = rng.uniform(0, 2 * np.pi, size=n)
    rad = np.where(part == 0, r, r * np.sqrt(rng.uniform(0, 1, size=n)))
    z = np.where(part == 0, rng.uniform(-h / 2, h / 2, size=n), np.where(part == 1, -h / 2, h / 2))
    pts = np.stack([rad * np.cos(t), rad * np.sin(t), z], 1)
    nrm = np.where((part == 0)[:, None], np.stack([np.cos(t), np.sin(t), np.zeros(n)], 1),
                   np.stack([np.zeros(n), np.zeros(n), np.where(part == 1, -1.0, 1.0)], 1))
    return pts + c, nrm


# (kind, centre, dims): box sizes, sphere radius, cylinder (radius, height); points
# are spread over them in proportion to surface area.
PRIMS = [
    ("box", (-2.0, -1.0, 0.0), (1.2, 0.8, 1.0)),
    ("sphere", (0.5, -1.2, 0.2), 0.6),
    ("cylinder", (2.5, -1.0, 0.0), (0.4, 1.4)),
    ("box", (-1.5, 1.5, 0.3), (0.6, 1.4, 0.6)),
    ("sphere", (1.2, 1.4, -0.2), 0.5),
    ("box", (3.0, 1.6, 0.5), (0.8, 0.8, 0.2)),
]


def area(kind, dims):
    if kind == "box":
        a, b, c = dims
        return 2 * (a * b + b * c + a * c)
    if kind == "sphere":
        return 4 * np.pi * dims ** 2
    r, h = dims
    return 2 * np.pi * r * h + 2 * np.pi * r * r


def make_scene(n=20000, seed=20240601):
    rng = np.random.default_rng(seed)
    areas = np.array([area(k, d) for k, _, d in PRIMS])
    counts = np.floor(n * areas / areas.sum()).astype(int)
    counts[0] += n - counts.sum()
    pts, nrms, labels = [], [], []
    for i, ((kind, c, dims), m) in enumerate(zip(PRIMS, counts)):
        if kind == "box":
            p, q = box(rng, m, np.array(c), dims)
        elif kind == "sphere":
            p, q = sphere(rng, m, np.array(c), dims)
        else:
            p, q = cylinder(rng, m, np.array(c), *dims)
        pts.append(p)
        nrms.append(q)
        labels.append(np.full(m, i, dtype=np.int32))
    order = rng.permutation(n)                  # parts interleaved in the file
    return (np.concatenate(pts)[order].astype(np.float32), np.concatenate(nrms)[order].astype(np.float32),
            np.concatenate(labels)[order])


def write_ply(path, pts, nrm):
    head = ("ply\nformat binary_little_endian 1.0\ncomment tinfer sample scene: 6 primitives, "
            "see samples/make_segment.py\nelement vertex %d\nproperty float x\nproperty float y\n"
            "property float z\nproperty float nx\nproperty float ny\nproperty float nz\nend_header\n" % len(pts))
    body = np.concatenate([pts, nrm], 1).astype("<f4").tobytes()
    with open(path, "wb") as f:
        f.write(head.encode("ascii") + body)


def write_xyz(path, pts, nrm):
    with open(path, "w") as f:
        f.write("# tinfer sample scene (1,500 of scene.ply's points): x y z nx ny nz\n")
        for p, q in zip(pts, nrm):
            f.write("%.4f %.4f %.4f %.3f %.3f %.3f\n" % (*p, *q))


def accuracy(pred, truth):
    """Share of points whose predicted part matches the true one under the best one-to-one relabelling."""
    from scipy.optimize import linear_sum_assignment
    parts = np.unique(pred[pred >= 0])
    if len(parts) == 0:
        return 0.0
    conf = np.zeros((len(parts), truth.max() + 1), dtype=np.int64)
    for i, p in enumerate(parts):
        conf[i] = np.bincount(truth[pred == p], minlength=truth.max() + 1)
    r, c = linear_sum_assignment(-conf)
    return conf[r, c].sum() / len(truth)


def main():
    torch.manual_seed(0)
    for d in ("models", "inputs/clouds", "data"):
        os.makedirs(os.path.join(HERE, d), exist_ok=True)

    pts, nrm, labels = make_scene()
    write_ply(os.path.join(HERE, "inputs/clouds/scene.ply"), pts, nrm)
    np.save(os.path.join(HERE, "data/scene-labels.npy"), labels)
    small = np.random.default_rng(7).choice(len(pts), 1500, replace=False)
    small.sort()
    write_xyz(os.path.join(HERE, "inputs/clouds/scene.xyz"), pts[small], nrm[small])
    np.save(os.path.join(HERE, "data/scene-xyz-labels.npy"), labels[small])

    model = torch.jit.script(PartSeg().eval())
    path = os.path.join(HERE, "models/parts.pt")
    model.save(path)
    model = torch.jit.load(path)

    results = {}
    for pb in (1, 4, 16):
        t = time.time()
        results[pb] = ref.segment(pts, model, 15000, 75, pb, 0, 0.5)
        print("prompt batch %2d: %d parts, accuracy %.4f%% (%.1f s)"
              % (pb, len(np.unique(results[pb][results[pb] >= 0])), 100 * accuracy(results[pb], labels),
                 time.time() - t))
    same = all(np.array_equal(results[1], results[pb]) for pb in (4, 16))
    print("labels identical across prompt batches: %s" % same)
    xyz_pts = ref.read_cloud(os.path.join(HERE, "inputs/clouds/scene.xyz"))
    xyz_lab = ref.segment(xyz_pts, model, 15000, 75, 4, 0, 0.5)
    print("scene.xyz (1,500 points, all sampled): accuracy %.4f%%" % (100 * accuracy(xyz_lab, labels[small])))

    acc = accuracy(results[4], labels)
    entry = {
        "file": "models/parts.pt",
        "task": "segment",
        "description": "Hand-built promptable part segmenter for separated primitives (P3-SAM contract: "
                       "encode/decode, 3 masks per prompt; points are x, y, z); "
                       "%.2f%% of scene.ply's points correct" % (100 * acc),
        "defaults": {"points": 15000, "prompts": 75, "prompt_batch": 4},
    }
    # the "parts" entry of the samples manifest, other entries kept as they are
    with open(os.path.join(HERE, "models.json")) as f:
        manifest = json.load(f)
    manifest["models"]["parts"] = entry
    with open(os.path.join(HERE, "models.json"), "w") as f:
        f.write(json.dumps(manifest, indent=2) + "\n")
    print("peak RSS %.0f MiB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024))
    if not same or acc < 0.98:
        sys.exit(1)


if __name__ == "__main__":
    main()
