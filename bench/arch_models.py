#!/usr/bin/python3
"""Seeded random-weight torchvision classifiers as TorchScript, for bench/arch.py.

    /usr/bin/python3 bench/arch_models.py OUTDIR --calib PHOTO ... [--models a,b] [--seed 0]

Writes OUTDIR/NAME.pt for each of mobilenet_v3_large, resnet50, vit_b_16
(torchvision 0.14 architectures, weights=None), OUTDIR/decode_only.pt (a
module that returns zeros [B, 1000] and costs nothing) and OUTDIR/models.json,
a tinfer manifest with an entry for each: task classify, the preprocessing of
torchvision's weights transforms (shorter side to 232 for ResNet-50 and
MobileNetV3, 256 for ViT-B/16, as IMAGENET1K_V2 / IMAGENET1K_V1 give it;
centre crop 224; /255; ImageNet mean and std; "interp": "antialias", as
PIL's bilinear resize, which the transforms use on PIL images, is), output
logits, batch size 8.  Prints one JSON line of statistics on the calibration
photos per model.

Random weights as torchvision initialises them say nothing: ViT's head is
zero (every logit 0), and with batch norm's default running statistics (mean
0, variance 1) in eval mode the activations of the CNNs drift to a scale where
the logits barely depend on the input.  So, from torch.manual_seed(seed + k):
  1. batch norm is calibrated on the calibration photos: running statistics
     reset, cumulative averaging (momentum None), one forward pass per batch
     of 8 in train mode (each layer then sees the normalised output of the
     layers before it, as in eval mode afterwards);
  2. the classifier head (the last Linear) gets N(0, 0.02) weights where
     torchvision zeroes them (ViT), then is standardised class by class on
     the calibration photos: logit_c <- K (logit_c - mean_c) / sd_c, with K =
     --logit-sd (3).  Every class's logit then has mean 0 and spread K over
     real photos: which class wins depends on the photo, not on a bias, and
     the top-1 margins are those of ~N(0, K^2) logits, not near-ties.
The models are saved with torch.jit.script in eval mode.
"""
import argparse
import json
import os
import statistics
import sys

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from py_arch import Prep  # noqa: E402  (the plain script's preprocessing, the manifest's semantics)

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
# name: (constructor, resize_to of its torchvision weights transforms, weights it follows)
ARCHS = {
    "mobilenet_v3_large": (torchvision.models.mobilenet_v3_large, 232, "MobileNet_V3_Large_Weights.IMAGENET1K_V2"),
    "resnet50": (torchvision.models.resnet50, 232, "ResNet50_Weights.IMAGENET1K_V2"),
    "vit_b_16": (torchvision.models.vit_b_16, 256, "ViT_B_16_Weights.IMAGENET1K_V1"),
}


class DecodeOnly(torch.nn.Module):
    """[B, 3, H, W] -> zeros [B, 1000]: the forward pass costs nothing."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.zeros([x.shape[0], 1000], dtype=x.dtype)


def entry(name, file, resize_to, description):
    return {"file": file, "task": "classify", "description": description,
            "input": {"size": [224, 224], "channels": 3, "color": "rgb", "resize": "crop",
                      "resize_to": resize_to, "interp": "antialias",
                      "scale": 1 / 255, "mean": MEAN, "std": STD},
            "output": "logits", "defaults": {"batch_size": 8}}


def last_linear(model):
    """(qualified name, module) of the model's last Linear: its classifier head."""
    return [(n, m) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)][-1]


class RandomHead(torch.nn.Module):
    """The classifier head that replaces the last Linear: the head's input centred on the
    calibration photos' mean and whitened along its r main directions of spread (proj, [r, D]),
    scaled to unit length, then a random N(0, K^2) matrix (out, [C, r]).  Every photo's logits
    are then ~N(0, K^2) over the classes, and which class wins depends on the direction in which
    the photo's features differ from the mean."""

    def __init__(self, d: int, r: int, c: int, k: float):
        super().__init__()
        self.proj = torch.nn.Linear(d, r)
        self.out = torch.nn.Linear(r, c, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = torch.nn.functional.normalize(self.proj(x), dim=1)  # [B, r]
        return self.out(u)                                      # [B, C]


def make(name, seed, batches, logit_sd, max_components):
    ctor = ARCHS[name][0]
    torch.manual_seed(seed)
    model = ctor(weights=None)
    bns = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        if bns:
            for m in bns:
                m.reset_running_stats()
                m.momentum = None  # cumulative average over the calibration batches
            model.train()
            for x in batches:
                model(x)
        model.eval()
        name_, head = last_linear(model)
        feats = []
        hook = head.register_forward_hook(lambda m, i, o: feats.append(i[0]))
        for x in batches:
            model(x)
        hook.remove()
        f = torch.cat(feats).double()                 # [N, D] the head's input on the calibration photos
        mu = f.mean(0)                                # [D]
        _, sv, vt = torch.linalg.svd(f - mu, full_matrices=False)
        sd = sv / (f.shape[0] - 1) ** 0.5             # [min(N, D)] spread along each principal direction
        r = min(max_components, int((sd > 0.05 * sd[0]).sum()))
        whiten = vt[:r] / sd[:r, None]                # [r, D] unit variance along r directions
        new = RandomHead(head.in_features, r, head.out_features, logit_sd)
        new.proj.weight.copy_(whiten.float())
        new.proj.bias.copy_((-(whiten @ mu)).float())
        torch.nn.init.normal_(new.out.weight, std=logit_sd)
        parent, _, attr = name_.rpartition(".")
        setattr(model.get_submodule(parent) if parent else model, attr, new)
        logits = new(torch.cat(feats))               # [N, C] the new head on the same features
        p = torch.softmax(logits, 1).topk(2, 1).values
    stats = {"model": name, "calib_photos": int(logits.shape[0]),
             "components": r, "spread_kept": round(float(sd[r - 1] / sd[0]), 4),
             "distinct_top1": len(set(logits.argmax(1).tolist())),
             "p1_median": round(statistics.median(p[:, 0].tolist()), 4),
             "margin_median": round(statistics.median((p[:, 0] - p[:, 1]).tolist()), 4)}
    return torch.jit.script(model), stats


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--calib", nargs="+", required=True, help="calibration photos (not the benchmark's)")
    ap.add_argument("--models", default=",".join(ARCHS), help="comma-separated subset of " + ", ".join(ARCHS))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--logit-sd", type=float, default=5.0, help="spread of the logits (default 5)")
    ap.add_argument("--components", type=int, default=24,
                    help="at most this many principal directions of the head's input (default 24)")
    ap.add_argument("-j", "--threads", type=int, default=0)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    names = [n for n in a.models.split(",") if n]
    for n in names:
        if n not in ARCHS:
            raise SystemExit("arch_models: unknown model %s (known: %s)" % (n, ", ".join(ARCHS)))
    os.makedirs(a.outdir, exist_ok=True)
    manifest = {}
    for k, name in enumerate(names):
        _, resize_to, weights = ARCHS[name]
        e = entry(name, name + ".pt", resize_to,
                  "torchvision %s, seeded random weights (seed %d, batch norm and head calibrated), "
                  "preprocessing of %s" % (name, a.seed + k, weights))
        prep = Prep(e)
        xs = [prep(p)[0] for p in a.calib]
        batches = [torch.stack(xs[i:i + 8]) for i in range(0, len(xs), 8)]
        scripted, stats = make(name, a.seed + k, batches, a.logit_sd, a.components)
        scripted.save(os.path.join(a.outdir, name + ".pt"))
        print(json.dumps(stats), flush=True)
        manifest[name] = e
    torch.jit.script(DecodeOnly().eval()).save(os.path.join(a.outdir, "decode_only.pt"))
    manifest["decode_only"] = entry("decode_only", "decode_only.pt", 232,
                                    "returns zeros [B, 1000]: decoding and preprocessing alone")
    with open(os.path.join(a.outdir, "models.json"), "w") as f:
        json.dump({"models": manifest}, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
