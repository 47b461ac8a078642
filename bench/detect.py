#!/usr/bin/python3
"""tinfer benchmark: detection throughput on JPEG photos (SPEC §10).

    /usr/bin/python3 bench/detect.py [-n 3] [-j 2] [--images 64] [--large 16] [--out FILE]

Writes --images JPEG photos (quality 90, varied sizes and orientations, a few
with an EXIF orientation tag) cut from the real photos that ship with Debian's
python3-skimage, and --large 2048x1536 / 1536x2048 JPEGs for --fast-decode,
into a temporary folder; runs every case once untimed (warm-up, and a check
that tinfer and bench/py_detect.py find the same boxes on every image), then
N rounds, one run of every case per round, the order rotated each round, each
a fresh process started by build/bench/measure.  Prints a Markdown report of
medians and ratios against the targets; --out FILE writes it too.

Cases: `tinfer run -m faces -b 8 -j J` (default: channels-last), with
`--memory-format contiguous`, `--autocast`, `--dtype bf16`; the same run with a
trivial TorchScript model of the same input and output shapes whose forward
costs nothing (to measure what is not the forward pass); the Python script
(plain, and with channels-last); on the large JPEGs, tinfer with and without
`--fast-decode` and the Python script.  See bench/README.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402  (bench.py: Runner, build, machine_info, med, log)

PY_DETECT = os.path.join(HERE, "py_detect.py")
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data"
SOURCES = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "camera.png",
           "hubble_deep_field.jpg", "motorcycle_left.png", "retina.jpg"]
SIZES = [(640, 480), (1280, 720), (512, 512), (480, 640), (1024, 768), (720, 1280), (320, 240), (800, 600)]
MODEL = "faces"
TOL_PX = 0.5

TRIVIAL_PY = r"""
import sys, torch
class Trivial(torch.nn.Module):
    # same input [B, 3, 416, 416] and output [B, 25, 13, 13] as the face detector; objectness
    # logits -10 (sigmoid 4.5e-5 < conf): no box, and a forward pass that costs nothing
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.full([x.shape[0], 25, 13, 13], -10.0, dtype=x.dtype)
torch.jit.script(Trivial().eval()).save(sys.argv[1])
"""


def make_photos(folder, n, large=False):
    """JPEG q90 photos from skimage's sample photos: cover-crop to the size, Lanczos resize.
    Every 8th normal image is stored rotated with an EXIF orientation tag (6 or 8) that restores it."""
    from PIL import Image

    srcs = []
    for name in SOURCES:
        p = os.path.join(SKIMAGE, name)
        if os.path.exists(p):
            srcs.append((name.split(".")[0], Image.open(p).convert("RGB")))
    if not srcs:
        raise SystemExit("bench: no skimage sample photos in %s (apt install python3-skimage)" % SKIMAGE)
    sizes = [(2048, 1536), (1536, 2048)] if large else SIZES
    paths = []
    for i in range(n):
        stem, im = srcs[i % len(srcs)]
        w, h = sizes[(i // len(srcs) + i) % len(sizes)]
        # cover crop to w:h, shifted a little per image so that repeats differ
        sw, sh_ = im.size
        s = max(w / sw, h / sh_)
        cw, ch = min(sw, round(w / s)), min(sh_, round(h / s))
        ox = (sw - cw) * ((i * 37) % 11) // 10
        oy = (sh_ - ch) * ((i * 53) % 11) // 10
        im2 = im.crop((ox, oy, ox + cw, oy + ch)).resize((w, h), Image.LANCZOS)
        kw = {"quality": 90}
        if not large and i % 8 == 7:
            orient = 6 if (i // 8) % 2 == 0 else 8
            # stored rotated so that applying the tag gives im2 back
            im2 = im2.transpose(Image.ROTATE_90 if orient == 6 else Image.ROTATE_270)
            exif = Image.Exif()
            exif[0x0112] = orient
            kw["exif"] = exif.tobytes()
        p = os.path.join(folder, "%03d_%s_%dx%d.jpg" % (i, stem, w, h))
        im2.save(p, "JPEG", **kw)
        paths.append(p)
    return paths


def trivial_manifest(tmp):
    """A manifest with the faces entry and a copy pointing at the trivial model."""
    model, script = os.path.join(tmp, "trivial.pt"), os.path.join(tmp, "make_trivial.py")
    with open(script, "w") as f:  # torch.jit.script needs the source in a file
        f.write(TRIVIAL_PY)
    subprocess.run([B.PY, script, model], check=True)
    with open(B.MODELS) as f:
        m = json.load(f)
    entry = dict(m["models"][MODEL])
    entry["file"] = model
    entry["description"] = "trivial model (bench/detect.py)"
    path = os.path.join(tmp, "models.json")
    with open(path, "w") as f:
        json.dump({"models": {"trivial": entry}}, f)
    return path


def read_dets(path):
    d = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            d[os.path.abspath(r["input"])] = [x["box"] for x in r["detections"]] if r.get("ok") else None
    return d


def compare(a_path, b_path):
    """Images on which a and b give the same number of boxes and each box of a has one of b within
    TOL_PX on every coordinate (greedy, one-to-one).  Returns (same, total, boxes, worst diff, differing)."""
    a, b = read_dets(a_path), read_dets(b_path)
    same, boxes, worst, bad = 0, 0, 0.0, []
    for k in sorted(set(a) | set(b)):
        da, db = a.get(k), b.get(k)
        if da is None or db is None or len(da) != len(db):
            bad.append(os.path.basename(k))
            continue
        left, good = list(db), True
        for x in da:
            best = min(left, key=lambda y: max(abs(p - q) for p, q in zip(x, y)), default=None)
            diff = max(abs(p - q) for p, q in zip(x, best)) if best else float("inf")
            if diff > TOL_PX:
                good = False
                break
            worst = max(worst, diff)
            left.remove(best)
        if good:
            same += 1
            boxes += len(da)
        else:
            bad.append(os.path.basename(k))
    return {"same": same, "total": len(set(a) | set(b)), "boxes": boxes, "worst": worst, "bad": bad}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--rounds", type=int, default=3, help="timed rounds (default 3)")
    ap.add_argument("-j", "--threads", type=int, default=2, help="intra-op threads for both (default 2)")
    ap.add_argument("--images", type=int, default=64, help="JPEG photos of varied sizes (default 64)")
    ap.add_argument("--large", type=int, default=16, help="2048x1536 JPEGs for --fast-decode (default 16; 0: skip)")
    ap.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    ap.add_argument("--tinfer", default=B.TINFER, help="the tinfer program to measure (default build/tinfer)")
    a = ap.parse_args()
    if a.rounds < 1 or a.threads < 1 or a.images < 1 or a.batch < 1 or a.large < 0:
        ap.error("counts must be at least 1")
    a.tinfer = os.path.abspath(a.tinfer)
    B.build(a.tinfer)
    B.TINFER = a.tinfer
    tmp = tempfile.mkdtemp(prefix="tinfer-detect-")
    try:
        report = bench(a, tmp)
    finally:
        B.cleanup("detect", tmp, a.keep)
    B.emit("detect", report, a.out)


def bench(a, tmp):
    J, Bs = str(a.threads), str(a.batch)
    photos, large = os.path.join(tmp, "photos"), os.path.join(tmp, "large")
    os.mkdir(photos)
    B.log("detect: writing %d JPEGs (+ %d large) from %s" % (a.images, a.large, SKIMAGE))
    make_photos(photos, a.images)
    if a.large:
        os.mkdir(large)
        make_photos(large, a.large, large=True)
    triv_models = trivial_manifest(tmp)
    info = B.machine_info(a.threads)
    R = B.Runner(tmp)
    rep = lambda name: os.path.join(tmp, name + ".json")  # noqa: E731

    def tinfer(name, folder, *extra, models=B.MODELS, model=MODEL):
        return [B.TINFER, "run", "--models", models, "-m", model, "-b", Bs, "-j", J, "-q",
                "--report", rep(name)] + list(extra) + [folder]

    def python(name, folder, *extra):
        return [B.PY, PY_DETECT, "--models", B.MODELS, "-m", MODEL, "-b", Bs, "-j", J,
                "--report", rep(name)] + list(extra) + [folder]

    cases = {
        "tinfer": tinfer("tinfer", photos),
        "contiguous": tinfer("contiguous", photos, "--memory-format", "contiguous"),
        "autocast": tinfer("autocast", photos, "--autocast"),
        "bf16": tinfer("bf16", photos, "--dtype", "bf16"),
        "trivial": tinfer("trivial", photos, models=triv_models, model="trivial"),
        "python": python("python", photos),
        "python_cl": python("python_cl", photos, "--channels-last"),
    }
    if a.large:
        cases.update({
            "large_tinfer": tinfer("large_tinfer", large),
            "large_fast": tinfer("large_fast", large, "--fast-decode"),
            "large_python": python("large_python", large),
            "large_trivial": tinfer("large_trivial", large, models=triv_models, model="trivial"),
            "large_trivial_fast": tinfer("large_trivial_fast", large, "--fast-decode", models=triv_models,
                                         model="trivial"),
        })

    B.log("detect: warm-up and agreement check")
    outs = {k: os.path.join(tmp, k + ".jsonl") for k in cases}
    for k, argv in cases.items():
        R.run(argv, stdout=outs[k])
    agree = {k: compare(outs[k], outs["python"]) for k in
             ("tinfer", "contiguous", "autocast", "bf16", "python_cl")}
    if a.large:
        agree["large_tinfer"] = compare(outs["large_tinfer"], outs["large_python"])
        agree["large_fast"] = compare(outs["large_fast"], outs["large_python"])
        agree["large_fast_vs_tinfer"] = compare(outs["large_fast"], outs["large_tinfer"])
    with open(outs["python"]) as f:
        n_faces = sum(len(json.loads(line)["detections"]) for line in f)

    res = {k: [] for k in cases}
    reports = {k: [] for k in cases}
    names = list(cases)
    for it in range(a.rounds):
        B.log("detect: round %d/%d (load %s)" % (it + 1, a.rounds, open("/proc/loadavg").read().split()[0]))
        order = names[it % len(names):] + names[:it % len(names)]
        for k in order:
            res[k].append(R.run(cases[k]))
            reports[k].append(B.load_json(rep(k)))
    return render(a, info, res, reports, agree, n_faces)


def render(a, info, res, reports, agree, n_faces):
    med = B.med
    N, n, nl = a.rounds, a.images, a.large
    L = []
    w = L.append
    w("## tinfer detection throughput (SPEC §10: JPEG photos, face detector)\n")
    w("- date: %s; machine: %s, %s, %s RAM, Linux %s; load average at start %s" %
      (info["date"], info["cpu"], info["cores"], info["mem"], info["kernel"], info["load"]))
    w("- libtorch %s (tinfer); Python script: /usr/bin/python3, torch %s; %s" %
      (info["libtorch"], info["pytorch"], info["tinfer"]))
    w("- model `faces` (samples/models/faces.pt, Tiny YOLOv2 416×416, yolov2 decoder); batch %d; "
      "%d intra-op thread(s) for both programs" % (a.batch, a.threads))
    w("- inputs: %d JPEG photos (quality 90) cut from skimage's sample photos, sizes 320×240 to 1280×720, "
      "landscape and portrait, every 8th with an EXIF orientation tag; %d faces found in them" % (n, n_faces))
    w("- every figure is the median of %d rounds; each round runs every case once in a fresh process, "
      "the order rotated every round (shared, noisy machine: read the ratios)\n" % N)

    def wall(k):
        return med([x[0] for x in res[k]])

    def rss(k):
        return med([x[1] for x in res[k]])

    def whole(k, cnt):
        return cnt / (wall(k) / 1e3)

    def post_ms(k):  # time once loaded, ms
        if k.startswith("python") or k == "large_python":
            return med([r["loop_ms"] for r in reports[k]])
        return med([r["time_ms"]["total"] - r["time_ms"]["load"] for r in reports[k]])

    def after(k, cnt):
        return cnt / (post_ms(k) / 1e3)

    def rng(k1, k2, f):
        v = [f(x, y) for x, y in zip(res[k1], res[k2])]
        return min(v), max(v)

    def verdict(ok):
        return "yes" if ok else "**no**"

    tw, pw = whole("tinfer", n), whole("python", n)
    ta, pa = after("tinfer", n), after("python", n)
    lo, hi = rng("python", "tinfer", lambda p, t: p[0] / t[0])
    # forward share: (tinfer once loaded − the trivial model's once loaded) / tinfer once loaded
    fwd_t = 1 - post_ms("trivial") / post_ms("tinfer")
    fwd_rounds = [1 - (rt["time_ms"]["total"] - rt["time_ms"]["load"]) / (r["time_ms"]["total"] - r["time_ms"]["load"])
                  for r, rt in zip(reports["tinfer"], reports["trivial"])]
    fwd_p = med([r["forward_ms"] / r["loop_ms"] for r in reports["python"]])
    dec_p = med([r["decode_ms"] / r["loop_ms"] for r in reports["python"]])

    w("| figure | tinfer | Python script | measured | target | met |")
    w("|---|---:|---:|---:|---|---|")
    w("| throughput, %d JPEGs, whole process¹ | %.1f img/s | %.1f img/s | %.2f × Python (rounds %.2f–%.2f) | ≥ 1.3 × Python | %s |"
      % (n, tw, pw, tw / pw, lo, hi, verdict(tw / pw >= 1.3)))
    w("| throughput, same runs, once loaded² | %.1f img/s | %.1f img/s | %.2f × Python | ≥ 1.3 × Python | %s |"
      % (ta, pa, ta / pa, verdict(ta / pa >= 1.3)))
    w("| forward-pass share of the time once loaded³ | %.3f (rounds %.3f–%.3f) | %.3f | %.3f | ≥ 0.9 | %s |"
      % (fwd_t, min(fwd_rounds), max(fwd_rounds), fwd_p, fwd_t, verdict(fwd_t >= 0.9)))
    w("| peak RSS, %d JPEGs | %.1f MiB | %.1f MiB | %.2f × Python | (none) | |" %
      (n, rss("tinfer"), rss("python"), rss("tinfer") / rss("python")))
    ag = agree["tinfer"]
    w("| same detections as the Python script⁴ | %d / %d images | | %d boxes, worst %.2f px | all, within %.1f px | %s |"
      % (ag["same"], ag["total"], ag["boxes"], ag["worst"], TOL_PX, verdict(ag["same"] == ag["total"])))

    w("\n¹ images / median wall time of the process (fork to exit: start-up, `import torch` or loading "
      "libtorch, model load, all images, exit).")
    w("² images / time once the model is loaded. tinfer: `total − load` of its `--report` (its `startup` "
      "is kept in: libtorch is loaded lazily, so `startup` includes reading and decoding the first batch); "
      "Python: the script's own timer from the end of `torch.jit.load` to the end.")
    w("³ tinfer: 1 − (time once loaded with a trivial TorchScript model of the same input and output shapes "
      "whose forward costs nothing) / (time once loaded with the real model), same images, same options: "
      "the trivial run does all the reading, JPEG decoding, letterboxing, normalising, batching and output, "
      "so the difference is the forward passes. Python: its own timers, forward / loop (PIL decode + "
      "letterbox + normalise take %.3f of its loop)." % dec_p)
    w("⁴ per image: the same number of boxes, and every tinfer box has a Python box within %.1f px on every "
      "coordinate (warm-up run).\n" % TOL_PX)

    w("### Precision and layout switches (%d JPEGs)\n" % n)
    w("| tinfer run | whole process | once loaded | × default once loaded | forward share³ | peak RSS | same detections as Python⁴ | report says |")
    w("|---|---:|---:|---:|---:|---:|---|---|")
    triv_post = post_ms("trivial")
    rows = [("tinfer", "default (`--memory-format auto`: channels-last)"),
            ("contiguous", "`--memory-format contiguous`"),
            ("autocast", "`--autocast` (CPU bf16 autocast)"),
            ("bf16", "`--dtype bf16`"),
            ("trivial", "trivial model (no forward): the rest of the pipeline")]
    for k, label in rows:
        r = reports[k][-1]
        says = "dtype %s, autocast %s, memory_format %s%s" % (r["dtype"], str(r["autocast"]).lower(), r["memory_format"],
                                                             ", fallback: " + r["fallback"] if r.get("fallback") else "")
        share = "" if k == "trivial" else "%.3f" % (1 - triv_post / post_ms(k))
        ag = agree.get(k)
        same = "%d / %d (worst %.2f px)" % (ag["same"], ag["total"], ag["worst"]) if ag else "—"
        w("| %s | %.1f img/s | %.1f img/s | %.2f | %s | %.1f MiB | %s | %s |" %
          (label, whole(k, n), after(k, n), after(k, n) / ta, share, rss(k), same, says))
    for k, label in (("python", "Python script (contiguous, as users write it)"),
                     ("python_cl", "Python script with channels-last (for comparison)")):
        fs = med([r["forward_ms"] / r["loop_ms"] for r in reports[k]])
        ag = agree.get(k)
        same = "%d / %d (worst %.2f px)" % (ag["same"], ag["total"], ag["worst"]) if ag else "(the reference)"
        w("| %s | %.1f img/s | %.1f img/s | %.2f | %.3f (own timers) | %.1f MiB | %s | |" %
          (label, whole(k, n), after(k, n), after(k, n) / ta, fs, rss(k), same))
    excl = med([n / ((r["time_ms"]["total"] - r["time_ms"]["startup"] - r["time_ms"]["load"]) / 1e3)
                for r in reports["tinfer"]])
    w("\ntinfer once loaded counted as bench.py does (total − startup − load, which leaves out the first "
      "batch's decoding): %.1f img/s, %.2f × Python." % (excl, excl / pa))
    w("Decode + preprocess + output cost per image once loaded: tinfer %.1f ms (trivial-model run), "
      "Python %.1f ms (its own timers: decode %.1f ms, post %.1f ms); forward per image: tinfer %.1f ms, "
      "Python %.1f ms (contiguous), %.1f ms (channels-last)." %
      (triv_post / n, med([(r["decode_ms"] + r["post_ms"]) / n for r in reports["python"]]),
       med([r["decode_ms"] / n for r in reports["python"]]), med([r["post_ms"] / n for r in reports["python"]]),
       (post_ms("tinfer") - triv_post) / n, med([r["forward_ms"] / n for r in reports["python"]]),
       med([r["forward_ms"] / n for r in reports["python_cl"]])))

    if nl:
        w("\n### `--fast-decode` (%d large JPEGs, 2048×1536 and 1536×2048)\n" % nl)
        w("| run | whole process | once loaded | × tinfer default once loaded | peak RSS | same detections |")
        w("|---|---:|---:|---:|---:|---|")
        base = after("large_tinfer", nl)
        for k, label, vs in (("large_tinfer", "tinfer (default)", "vs Python"),
                             ("large_fast", "tinfer `--fast-decode`", "vs Python"),
                             ("large_python", "Python script", None)):
            ag = agree.get(k)
            same = "%d / %d %s (worst %.2f px)" % (ag["same"], ag["total"], vs, ag["worst"]) if ag else "(the reference)"
            if k == "large_fast":
                g = agree["large_fast_vs_tinfer"]
                same += "; %d / %d vs tinfer default" % (g["same"], g["total"])
            w("| %s | %.1f img/s | %.1f img/s | %.2f | %.1f MiB | %s |" %
              (label, whole(k, nl), after(k, nl), after(k, nl) / base, rss(k), same))
        td, tf = post_ms("large_trivial") / nl, post_ms("large_trivial_fast") / nl
        w("\nDecode + preprocess + output per large image (trivial-model runs, once loaded): %.1f ms, "
          "%.1f ms with `--fast-decode` (%.2f ×); forward share of the large-JPEG run: %.3f without, %.3f with it."
          % (td, tf, tf / td, 1 - post_ms("large_trivial") / post_ms("large_tinfer"),
             1 - post_ms("large_trivial_fast") / post_ms("large_fast")))
        w("\n`--fast-decode` lets libjpeg-turbo decode at a reduced scale (1/2, 1/4, 1/8) when the image is "
          "still larger than the 416×416 input after it, so the letterbox starts from a smaller, slightly "
          "different image: boxes may move by a pixel or so, and a borderline box may appear or go.")

    w("\n### Details (median, min–max over %d rounds)\n" % N)
    w("| case | wall ms | peak RSS MiB | tinfer report: startup / load / total ms (median) |")
    w("|---|---:|---:|---|")
    for k, xs in res.items():
        wl, rs = [x[0] for x in xs], [x[1] for x in xs]
        if k.startswith("python") or k == "large_python":
            extra = "Python: start-up %.0f, load %.0f, loop %.0f (decode %.0f, forward %.0f, post %.0f)" % tuple(
                med([r[f] for r in reports[k]]) for f in
                ("startup_ms", "load_ms", "loop_ms", "decode_ms", "forward_ms", "post_ms"))
        else:
            extra = "%.0f / %.0f / %.0f" % tuple(med([r["time_ms"][f] for r in reports[k]])
                                                 for f in ("startup", "load", "total"))
        w("| %s | %.0f (%.0f–%.0f) | %.1f (%.1f–%.1f) | %s |" %
          (k, med(wl), min(wl), max(wl), med(rs), min(rs), max(rs), extra))
    bad = {k: v["bad"][:5] for k, v in agree.items() if v["bad"]}
    if bad:
        w("\nImages whose detections differ (first 5 per case): %s" % json.dumps(bad))
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
