"""tools/gpu_check.py — the measuring half of tools/gpu-check (which builds the
shim and runs the tests first, then this with the torch it found).

Side by side in one run, on a model made here with torch alone (traced; no
torchvision): a small convolution stem and two large fully connected layers,
>= 100 MB of fp32 weights on CUDA, fed 512 64x64 RGB PNGs written here.
With --mode cpu (make check runs it, on a shared machine) the model has
about 27 MB, 32 images (8 at batch 1), one intra-op thread on both sides.

  vram_ratio_vs_torch_max_dev   max over batch 1 and 32 of |tinfer's
                                vram_bytes.peak_allocated / the Python
                                script's torch.cuda.max_memory_allocated - 1|,
                                both after the load (cache emptied, peaks reset),
                                same model, batches, dtype (fp32), layout
  half_vram_ratio_load          --half / fp32 vram_bytes.load_peak
  half_vram_ratio_inference     --half / fp32 vram_bytes.peak_allocated, batch 32
  load_rss_excess_in_largest_tensors
                                (tinfer's peak RSS, one image, batch 1 - the
                                minimal C++ program's, the same load and one
                                pass) / the largest weight tensor's bytes
  throughput_ratio_b32          images/s once loaded at batch 32, tinfer /
                                the Python script (PNG decode, normalise, forward)
  max_vram_below_weights_exit   exit status of --max-vram at a quarter of the weights
  max_vram_run_ok               --max-vram at 1.5 x weights + 256 MiB: exit 0 and
                                vram_bytes.peak_reserved within it

Device figures are null on the CPU.  Every figure's inputs are under "raw".
"""
import argparse
import datetime
import json
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib

import torch

TARGETS = {
    "vram_ratio_vs_torch_max_dev": "<= 0.02",
    "half_vram_ratio_load": "<= 0.55",
    "half_vram_ratio_inference": "<= 0.55",
    "load_rss_excess_in_largest_tensors": "<= 1.1",
    "throughput_ratio_b32": ">= 1.0",
    "max_vram_below_weights_exit": "== 4",
    "max_vram_run_ok": "true",
}
H = W = 64


class Big(torch.nn.Module):
    def __init__(self, hidden):
        super().__init__()
        self.stem = torch.nn.Conv2d(3, 32, 3, padding=1)
        self.pool = torch.nn.AdaptiveAvgPool2d(16)
        self.fc1 = torch.nn.Linear(32 * 16 * 16, hidden)
        self.fc2 = torch.nn.Linear(hidden, hidden)
        self.head = torch.nn.Linear(hidden, 10)

    def forward(self, x):
        y = self.pool(torch.relu(self.stem(x))).flatten(1)
        return self.head(torch.relu(self.fc2(torch.relu(self.fc1(y)))))


def png(path, rgb):
    """Writes rgb (bytes, H*W*3) as an 8-bit RGB PNG, filter 0 on every row."""
    raw = b"".join(b"\0" + rgb[y * W * 3:(y + 1) * W * 3] for y in range(H))
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", W, H, 8, 2, 0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw, 6)) + chunk(b"IEND", b""))


def unpng(path):
    """Decodes a PNG written by png() (PIL when there is one: what a user's script does)."""
    try:
        from PIL import Image
        import numpy as np
        return torch.from_numpy(np.asarray(Image.open(path).convert("RGB")).copy())
    except ImportError:
        data = open(path, "rb").read()
        pos, idat = 8, b""
        while pos < len(data):
            n, t = struct.unpack(">I4s", data[pos:pos + 8])
            if t == b"IDAT":
                idat += data[pos + 8:pos + 8 + n]
            pos += 12 + n
        raw = zlib.decompress(idat)
        rows = b"".join(raw[y * (W * 3 + 1) + 1:(y + 1) * (W * 3 + 1)] for y in range(H))
        return torch.frombuffer(bytearray(rows), dtype=torch.uint8).view(H, W, 3)


PY_SCRIPT = r'''
import json, sys, time, torch
sys.path.insert(0, sys.argv[1])
from gpu_check import unpng
model, dev, b, listfile = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
if len(sys.argv) > 6:
    torch.set_num_threads(int(sys.argv[6]))
paths = open(listfile).read().split()
m = torch.jit.load(model, map_location=dev).eval()
cuda = dev.startswith("cuda")
if cuda:
    torch.cuda.synchronize(); torch.cuda.empty_cache(); torch.cuda.reset_peak_memory_stats()
t0 = time.perf_counter()
with torch.inference_mode():
    for i in range(0, len(paths), b):
        x = torch.stack([unpng(p) for p in paths[i:i + b]]).permute(0, 3, 1, 2).float().div_(255)
        y = m(x.to(dev)).cpu()
t = time.perf_counter() - t0
print(json.dumps({"images_per_s": len(paths) / t,
                  "max_memory_allocated": torch.cuda.max_memory_allocated() if cuda else None}))
'''


def run(cmd, timeout=240):
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout, text=True)
    return p.returncode, p.stdout, p.stderr


class Check:
    def __init__(self, a, tmp):
        self.a, self.tmp = a, tmp
        self.dev = "cuda:0" if a.mode == "cuda" else "cpu"
        self.notes = []
        self.threads = [] if a.mode == "cuda" else ["-j", "1"]

    def tinfer(self, name, b, *extra, images=None):
        rep = f"{self.tmp}/{name}.json"
        lst = images or f"{self.tmp}/list"
        cmd = [self.a.tinfer, "run", "-m", "big", "--models", f"{self.tmp}/models.json", "-d", self.dev, *self.threads,
               "--memory-format", "contiguous", "-b", str(b), "-q", "-o", f"{self.tmp}/{name}.jsonl",
               "--report", rep, "-T", lst, *extra]
        rc, _, err = run(cmd)
        r = json.load(open(rep)) if os.path.exists(rep) else None
        if rc not in (0, 4) or r is None:
            self.notes.append(f"tinfer {name}: exit {rc}: {err.strip()[-300:]}")
        return rc, r

    def python(self, b, images=None):
        rc, out, err = run([sys.executable, "-c", PY_SCRIPT, os.path.dirname(os.path.abspath(__file__)),
                            f"{self.tmp}/big.pt", self.dev, str(b), images or f"{self.tmp}/list", *self.threads[1:]])
        if rc:
            self.notes.append(f"python b{b}: exit {rc}: {err.strip()[-300:]}")
            return None
        return json.loads(out)


def once_loaded(r):
    t = r["time_ms"]
    busy = t["total"] - t["startup"] - t["load"]
    return r["ok"] / (busy / 1000) if busy > 0 else None


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["cuda", "cpu"], required=True)
    ap.add_argument("--tinfer", required=True)
    ap.add_argument("--minimal", default="")
    ap.add_argument("--shim", default="")
    ap.add_argument("--tests", default="")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    cuda = a.mode == "cuda"
    if cuda and not torch.cuda.is_available():
        sys.exit("gpu-check: torch sees no CUDA device (use --cpu)")
    torch.manual_seed(0)
    hidden, n_images, n_b1 = (3072, 512, 512) if cuda else (768, 32, 8)
    with tempfile.TemporaryDirectory(prefix="gpu-check.") as tmp:
        c = Check(a, tmp)
        model = Big(hidden).eval()
        torch.jit.trace(model, torch.zeros(1, 3, H, W)).save(f"{tmp}/big.pt")
        sd = model.state_dict()
        weights = sum(t.numel() * t.element_size() for t in sd.values())
        largest = max(t.numel() * t.element_size() for t in sd.values())
        json.dump({"models": {"big": {"file": f"{tmp}/big.pt", "task": "classify",
                                      "input": {"size": [H, W], "channels": 3, "resize": "stretch",
                                                "scale": 1 / 255}}}}, open(f"{tmp}/models.json", "w"))
        g = torch.Generator().manual_seed(1)
        paths = []
        for i in range(n_images):
            p = f"{tmp}/{i:04d}.png"
            png(p, bytes(torch.randint(0, 256, (H * W * 3,), dtype=torch.uint8, generator=g).tolist()))
            paths.append(p)
        open(f"{tmp}/list", "w").write("\n".join(paths) + "\n")
        open(f"{tmp}/one", "w").write(paths[0] + "\n")
        open(f"{tmp}/list_b1", "w").write("\n".join(paths[:n_b1]) + "\n")

        raw = {"weight_bytes": weights, "largest_tensor_bytes": largest, "images": n_images,
               "images_b1": n_b1, "input": [3, H, W], "hidden": hidden, "threads": c.threads[1:] or None}
        # tinfer: fp32 at batch 1 and 32, --half at 32, one image for the load's RSS
        _, t1 = c.tinfer("fp32_b1", 1, images=f"{tmp}/list_b1")
        _, t32 = c.tinfer("fp32_b32", 32)
        _, h32 = c.tinfer("half_b32", 32, "--half")
        _, one = c.tinfer("fp32_one", 1, images=f"{tmp}/one")
        p1, p32 = c.python(1, f"{tmp}/list_b1"), c.python(32)
        vb = lambda r, k: r["vram_bytes"][k] if r else None
        raw["tinfer"] = {
            "b1": {"peak_allocated": vb(t1, "peak_allocated"), "images_per_s_once_loaded": t1 and once_loaded(t1)},
            "b32": {"peak_allocated": vb(t32, "peak_allocated"), "load_peak": vb(t32, "load_peak"),
                    "images_per_s_once_loaded": t32 and once_loaded(t32),
                    "ram_peak": t32 and t32["ram_bytes"]["peak"]},
            "half_b32": {"peak_allocated": vb(h32, "peak_allocated"), "load_peak": vb(h32, "load_peak"),
                         "dtype": h32 and h32["dtype"], "fallback": h32 and h32["fallback"]},
            "one_image_ram_peak": one and one["ram_bytes"]["peak"],
        }
        raw["python"] = {"b1": p1, "b32": p32}
        # the minimal C++ program: the same load, one pass
        mini = None
        if a.minimal:
            rc, out, err = run([a.minimal, f"{tmp}/big.pt", c.dev, f"3x{H}x{W}"])
            if rc == 0:
                mini = int(out.split()[1])
            else:
                c.notes.append(f"gpu_minimal: exit {rc}: {err.strip()[-300:]}")
        else:
            c.notes.append("no minimal C++ program (make BUILD/gpu_minimal): load_rss figure null")
        raw["minimal_ram_peak"] = mini
        # --max-vram
        below = above_ok = None
        if cuda:
            below, _ = c.tinfer("cap_below", 1, "--max-vram", str(weights // 4))
            cap = int(weights * 1.5) + (256 << 20)
            rc, r = c.tinfer("cap_above", 32, "--max-vram", str(cap))
            above_ok = rc == 0 and r is not None and 0 < (r["vram_bytes"]["peak_reserved"] or 0) <= cap
            raw["max_vram"] = {"below_bytes": weights // 4, "below_exit": below, "above_bytes": cap,
                               "above_exit": rc, "above_peak_reserved": r and r["vram_bytes"]["peak_reserved"]}
        else:
            rc, _, err = run([a.tinfer, "run", "-m", "big", "--models", f"{tmp}/models.json", "-d", "cpu",
                              "--max-vram", "1G", paths[0]])
            raw["max_vram"] = {"cpu_exit": rc, "cpu_message": err.strip()}

        dev_vram = [vb(t1, "peak_allocated"), vb(t32, "peak_allocated")]
        py_vram = [p and p["max_memory_allocated"] for p in (p1, p32)]
        devs = [abs(t / p - 1) for t, p in zip(dev_vram, py_vram) if t and p]
        figures = {
            "vram_ratio_vs_torch_max_dev": round(max(devs), 4) if cuda and len(devs) == 2 else None,
            "half_vram_ratio_load": cuda and ratio(vb(h32, "load_peak"), vb(t32, "load_peak")) or None,
            "half_vram_ratio_inference": cuda and ratio(vb(h32, "peak_allocated"), vb(t32, "peak_allocated")) or None,
            "load_rss_excess_in_largest_tensors":
                (raw["tinfer"]["one_image_ram_peak"] - mini) / largest
                if mini and raw["tinfer"]["one_image_ram_peak"] else None,
            "throughput_ratio_b32": ratio(raw["tinfer"]["b32"]["images_per_s_once_loaded"],
                                          p32 and p32["images_per_s"]),
            "max_vram_below_weights_exit": below if cuda else None,
            "max_vram_run_ok": above_ok if cuda else None,
        }
        for k, v in figures.items():
            if isinstance(v, float):
                figures[k] = round(v, 4)
        res = {
            "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "mode": a.mode,
            "device": c.dev,
            "gpu": torch.cuda.get_device_name(0) if cuda else None,
            "torch": torch.__version__,
            "cuda": torch.version.cuda,
            "shim": a.shim,
            "tests": a.tests or None,
            "raw": raw,
            "figures": figures,
            "targets": TARGETS,
            "notes": c.notes,
        }
    with open(a.out, "w") as f:
        json.dump(res, f, indent=1)
        f.write("\n")
    for k, v in figures.items():
        print(f"gpu-check: {k} = {v} (target {TARGETS[k]})", file=sys.stderr)


if __name__ == "__main__":
    main()
