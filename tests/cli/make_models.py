"""Small TorchScript models for the CLI tests, written into the folder given
as the first argument (random weights, seeded):

  raw.pt       dict output {"sum": [B], "pair": ([B, 2, 3], int)}
  badcls.pt    a 3-d output: incompatible with classify
  ucls.pt      an ultralytics-style classify export (config.txt extra file)
  side.pt      described by a sidecar side.pt.json
  ints.pt      takes int64 token ids [B, L], returns an embedding [B, 4]
  a.npy b.npy  float32 [2, 3];  c.npy float32 [4, 3];  ids*.npy int64 [5]
"""
import json
import os
import sys

import numpy as np
import torch

out = sys.argv[1]
torch.manual_seed(0)


class Raw(torch.nn.Module):
    def forward(self, x):
        return {"sum": x.sum(dim=(1, 2)), "pair": (x * 2, x.shape[0])}


class Bad(torch.nn.Module):
    def forward(self, x):
        return x.unsqueeze(1)


class Cls(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.c = torch.nn.Conv2d(3, 3, 3)

    def forward(self, x):
        return torch.softmax(self.c(x).mean((2, 3)), dim=1)


class Ids(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.e = torch.nn.Embedding(100, 4)

    def forward(self, ids):
        return self.e(ids).mean(1)


torch.jit.script(Raw()).save(os.path.join(out, "raw.pt"))
torch.jit.script(Bad()).save(os.path.join(out, "badcls.pt"))
cfg = {"task": "classify", "imgsz": [24, 24], "names": {"0": "cat", "1": "dog", "2": "eel"}, "stride": 1}
torch.jit.script(Cls().eval()).save(os.path.join(out, "ucls.pt"), _extra_files={"config.txt": json.dumps(cfg)})
torch.jit.script(Cls().eval()).save(os.path.join(out, "side.pt"))
json.dump({"task": "classify", "output": "probs", "labels": ["x", "y", "z"],
           "input": {"size": [16, 16], "resize": "stretch", "scale": 1 / 255}},
          open(os.path.join(out, "side.pt.json"), "w"))
torch.jit.script(Ids().eval()).save(os.path.join(out, "ints.pt"))
np.save(os.path.join(out, "a.npy"), np.arange(6, dtype=np.float32).reshape(2, 3))
np.save(os.path.join(out, "b.npy"), np.ones((2, 3), np.float32))
np.save(os.path.join(out, "c.npy"), np.ones((4, 3), np.float32))
for i in range(3):
    np.save(os.path.join(out, f"ids{i}.npy"), np.arange(i, i + 5, dtype=np.int64))
