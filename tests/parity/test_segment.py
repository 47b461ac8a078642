"""segment: tinfer's labels equal samples/segment_reference.py's point for
point (the same TorchScript model run from Python, the same seeded sampling
and farthest-point prompts, the same merge); the generated scene's parts are
recovered (>= 98 % of points up to relabelling) and the labels do not change
with --prompt-batch 1, 4 or 16."""
import json
import os
import shutil
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import ROOT, check, done, tinfer  # noqa: E402

sys.path.insert(0, os.path.join(ROOT, "samples"))
import segment_reference as ref  # noqa: E402

tmp = tempfile.mkdtemp(prefix="tinfer-seg-")
M = os.path.join(ROOT, "samples/models.json")
model = torch.jit.load(os.path.join(ROOT, "samples/models/parts.pt"))
scene = os.path.join(ROOT, "samples/inputs/clouds/scene.ply")
truth = np.load(os.path.join(ROOT, "samples/data/scene-labels.npy"))


def accuracy(pred, true):
    """Share of points whose predicted part maps to their true part (greedy one-to-one matching)."""
    pairs = {}
    for p, t in zip(pred.tolist(), true.tolist()):
        pairs[(p, t)] = pairs.get((p, t), 0) + 1
    used_p, used_t, correct = set(), set(), 0
    for (p, t), c in sorted(pairs.items(), key=lambda kv: -kv[1]):
        if p not in used_p and t not in used_t and p >= 0:
            used_p.add(p)
            used_t.add(t)
            correct += c
    return correct / len(true)


labels_by_pb = {}
for pb in (1, 4, 16):
    recs, rc, err = tinfer("run", "-m", "parts", "--models", M, "--prompt-batch", str(pb), scene)
    check(rc == 0 and len(recs) == 1 and recs[0]["ok"], f"scene/pb{pb}/ok", f"status {rc}: {err} {recs[:1]}")
    if rc == 0:
        labels_by_pb[pb] = np.array(recs[0]["labels"])
want_labels, want_parts = ref.segment_full(ref.read_cloud(scene), model, 15000, 75, 4, 0, 0.5)
if 4 in labels_by_pb:
    got = labels_by_pb[4]
    check(np.array_equal(got, want_labels), "scene/labels-equal-reference",
          f"{(got != want_labels).sum()} of {len(got)} points differ")
    check(accuracy(got, truth) >= 0.98, "scene/parts-recovered>=98%", f"{accuracy(got, truth):.4f}")
    print(f"# scene accuracy through tinfer: {accuracy(got, truth):.4f}")
check(len(labels_by_pb) == 3 and all(np.array_equal(labels_by_pb[1], v) for v in labels_by_pb.values()),
      "scene/same-labels-for-prompt-batch-1-4-16", "labels differ between prompt batches")

recs, rc, err = tinfer("run", "-m", "parts", "--models", M, scene)
got_parts = recs[0]["parts"] if rc == 0 else []
check([(p["id"], p["points"]) for p in got_parts] == [(p["id"], p["points"]) for p in want_parts],
      "scene/parts-ids-and-sizes", f"{got_parts} vs {want_parts}")
check(all(abs(a["score"] - b["score"]) < 1e-5 and np.allclose(a["aabb"], b["aabb"], atol=1e-5)
          for a, b in zip(got_parts, want_parts)), "scene/parts-scores-and-aabb", "differ")

# other knobs: fewer points, another seed, a higher min-score; xyz and npy inputs
xyz = os.path.join(ROOT, "samples/inputs/clouds/scene.xyz")
npy = os.path.join(tmp, "scene.npy")
np.save(npy, ref.read_cloud(scene).astype(np.float64))
for name, path, args, kw in (
        ("points5000-seed3", scene, ["--points", "5000", "--seed", "3"], dict(n_points=5000, seed=3)),
        ("prompts20-minscore0.9", scene, ["--prompts", "20", "--min-score", "0.9"], dict(n_prompts=20, min_score=0.9)),
        ("xyz", xyz, [], {}),
        ("npy-float64", npy, ["--points", "8000"], dict(n_points=8000))):
    recs, rc, err = tinfer("run", "-m", "parts", "--models", M, *args, path)
    want = ref.segment(ref.read_cloud(path) if not path.endswith(".npy") else np.load(path)[:, :3].astype(np.float32),
                       model, **{**dict(n_points=15000, n_prompts=75, prompt_batch=4, seed=0, min_score=0.5), **kw})
    ok = rc == 0 and np.array_equal(np.array(recs[0].get("labels", [])), want)
    check(ok, f"{name}/labels-equal-reference", f"status {rc}: {err[:200]}")

# a module with only forward(points, prompts) is called once per prompt batch
class ForwardOnly(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, points, prompts):
        return self.inner.decode(self.inner.encode(points), points, prompts)


fo = os.path.join(tmp, "forward_only.pt")
torch.jit.script(ForwardOnly(model)).save(fo)
json.dump({"models": {"fo": {"file": fo, "task": "segment"}}}, open(os.path.join(tmp, "m.json"), "w"))
recs, rc, err = tinfer("run", "-m", "fo", "--models", os.path.join(tmp, "m.json"), "--prompts", "30", scene)
want = ref.segment(ref.read_cloud(scene), torch.jit.load(fo), n_prompts=30)
check(rc == 0 and np.array_equal(np.array(recs[0]["labels"]), want), "forward-only/labels-equal-reference",
      f"status {rc}: {err[:300]}")

# --save-dir: labels as .npy and a coloured PLY
recs, rc, err = tinfer("run", "-m", "parts", "--models", M, "--save-dir", os.path.join(tmp, "out"), scene)
r = recs[0] if recs else {}
check(rc == 0 and "labels" not in r and np.array_equal(np.load(r["labels_file"]), want_labels),
      "save-dir/labels-npy", r)
if rc == 0:
    from_ply = ref.read_cloud(r["ply_file"])
    check(np.allclose(from_ply, ref.read_cloud(scene)), "save-dir/ply-points", "coordinates differ")
shutil.rmtree(tmp)
done()
