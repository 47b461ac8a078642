#!/usr/bin/python3
"""tinfer benchmark on real architectures: torchvision MobileNetV3-Large, ResNet-50 and
ViT-B/16 (seeded random weights) on real JPEG photos, against the Python scripts a
user would write, side by side in one run.

    /usr/bin/python3 bench/arch.py [-n 3] [-j CORES] [--models a,b] [--photos 128] [--out FILE]

Writes --photos JPEGs (quality 90, long side 640-2000 px, varied aspect ratios
and crops, every 8th with an EXIF orientation tag) cut from the photos that ship
with Debian's python3-skimage, and 32 more (other crops) to calibrate the
models; generates the models as TorchScript with bench/arch_models.py (seeded
random weights made input-dependent: batch norm calibrated on the calibration
photos, a head that whitens the features and projects them randomly; see that
file) and a manifest for them, in a temporary folder.  MobileNetV3 and
ResNet-50 run on all the photos, ViT-B/16 on the first quarter.  Then, per model:

  tinfer  build/tinfer run -m MODEL --models GENERATED.json -b 8 -j J -q --report R PHOTOS...
  plain   bench/py_arch.py: PIL + exif_transpose, the manifest's crop with
          F.interpolate(antialias), torch.jit.load, no_grad, batches of 8
  tuned   bench/py_arch.py --tuned: + freeze + optimize_for_inference,
          channels-last, inference_mode, decoding a batch ahead on a thread
  forward alone  bench/py_arch.py --forward-alone: the same batches, made
          first, and only the forward passes timed, with the module run as
          tinfer runs it, as plain runs it and as tuned runs it

and the decode-only runs: a model that returns zeros (its forward costs
nothing) through tinfer with --decode-threads N for N = 1..J (when this tinfer
has the option; else that table says n/a) and without the option.

A warm-up run of every program (untimed) fills the page cache and writes the
records compared for top-1 agreement.  Then -n rounds, one run of every case
per round, each a fresh process under build/bench/measure (wall from fork to
exit, the child's peak RSS), the order rotated every round; the report gives
medians.  Prints a Markdown report; --out FILE writes it too.

Top-1 agreement: per photo, tinfer's top-1 class against plain Python's (the
warm-up runs' records), counted over all photos of the model and over the
photos whose plain-Python margin p1 - p2 (softmax probabilities of its best
two classes) exceeds --margin (0.02): with random weights a photo may sit on a
near-tie, where float rounding alone (channels-last kernels, another
summation order) may pick the other class.  Tuned against plain is given too.

See bench/README.md.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402  (bench.py: Runner, build, machine_info, med, log, cleanup, emit)
import detect as D  # noqa: E402  (detect.py: SKIMAGE, the sample photos' folder)

B.PY = os.environ.get("PYTHON", B.PY)
PY_ARCH = os.path.join(HERE, "py_arch.py")
ARCH_MODELS = os.path.join(HERE, "arch_models.py")
MODELS = ["mobilenet_v3_large", "resnet50", "vit_b_16"]
LABEL = {"mobilenet_v3_large": "MobileNetV3-Large", "resnet50": "ResNet-50", "vit_b_16": "ViT-B/16"}
SHARE = {"mobilenet_v3_large": 1, "resnet50": 1, "vit_b_16": 4}  # runs on 1/SHARE of --photos
RUNNERS = ["tinfer", "plain", "tuned"]
# optimize_for_inference changes the logits by more than this (they spread ~5): it is broken for that model
# (torch 1.13 on MobileNetV3); the tuned script is then timed with freeze only, and the broken one shown too
OFI_TOL = 0.05
TARGET_PLAIN, TARGET_TUNED, TARGET_FWD, TARGET_AGREE = 1.5, 1.15, 1.1, 0.95
# Colour photos of skimage (detect.py's, without the gray camera, with two more)
SOURCES = ["astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "hubble_deep_field.jpg",
           "motorcycle_left.png", "retina.jpg", "motorcycle_right.png", "ihc.png"]
# (width, height): long side 640-2000 px, 4:3, 3:2, 16:9, 1:1, 21:9, landscape and portrait
SIZES = [(1600, 1200), (640, 480), (1920, 1080), (1000, 1000), (1200, 1600), (2000, 1333),
         (720, 1280), (1024, 768), (1500, 1000), (800, 1200), (2000, 857), (1280, 960)]


def make_photos(folder, n, salt=0):
    """n JPEG q90 photos from skimage's colour photos, detect.make_photos's way (cover crop shifted
    per image, resized), at the sizes above, each also zoomed in by 0-32% so that repeats of a source
    differ; every 8th is stored rotated with an EXIF orientation tag (6 or 8) that restores it.  salt
    shifts every choice: the calibration photos are other crops than the benchmark's."""
    from PIL import Image

    srcs = []
    for name in SOURCES:
        p = os.path.join(D.SKIMAGE, name)
        if os.path.exists(p):
            srcs.append((name.split(".")[0], Image.open(p).convert("RGB")))
    if not srcs:
        raise SystemExit("arch: no skimage sample photos in %s (apt install python3-skimage)" % D.SKIMAGE)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i in range(n):
        j = i + salt
        stem, im = srcs[j % len(srcs)]
        w, h = SIZES[(j // len(srcs) + 5 * j) % len(SIZES)]
        sw, sh = im.size
        s = max(w / sw, h / sh) / (1 - 0.08 * ((j * 7) % 5))
        cw, ch = min(sw, round(w / s)), min(sh, round(h / s))
        ox = (sw - cw) * ((j * 37) % 11) // 10
        oy = (sh - ch) * ((j * 53) % 11) // 10
        im2 = im.crop((ox, oy, ox + cw, oy + ch)).resize((w, h), Image.BICUBIC)
        kw = {"quality": 90}
        if i % 8 == 7:
            orient = 6 if (i // 8) % 2 == 0 else 8
            im2 = im2.transpose(Image.ROTATE_90 if orient == 6 else Image.ROTATE_270)
            exif = Image.Exif()
            exif[0x0112] = orient
            kw["exif"] = exif.tobytes()
        p = os.path.join(folder, "%03d_%s_%dx%d.jpg" % (i, stem, w, h))
        im2.save(p, "JPEG", **kw)
        paths.append(p)
    return paths


def generate(a, tmp, calib):
    """Runs arch_models.py into --model-dir (reused when made with the same settings) or tmp/models.
    Returns (manifest path, {model: calibration statistics})."""
    folder = a.model_dir or os.path.join(tmp, "models")
    manifest, stamp = os.path.join(folder, "models.json"), os.path.join(folder, "arch.json")
    want = {"models": a.models, "seed": a.seed, "calib": len(calib)}
    if a.model_dir and os.path.exists(manifest) and os.path.exists(stamp):
        with open(stamp) as f:
            st = json.load(f)
        if st.get("settings") == want:
            B.log("arch: reusing the models in", folder)
            return manifest, st["stats"]
    B.log("arch: generating %s in %s" % (", ".join(a.models), folder))
    t0 = time.time()
    out = subprocess.run([B.PY, ARCH_MODELS, folder, "--models", ",".join(a.models), "--seed", str(a.seed),
                          "-j", str(a.threads), "--calib"] + calib,
                         check=True, capture_output=True, text=True).stdout
    stats = {s["model"]: s for s in (json.loads(line) for line in out.splitlines() if line.startswith("{"))}
    B.log("arch: models generated in %.0f s" % (time.time() - t0))
    with open(stamp, "w") as f:
        json.dump({"settings": want, "stats": stats}, f)
    return manifest, stats


def decode_threads_supported(manifest, photo):
    """False when this tinfer rejects --decode-threads as an unknown option (exit 2)."""
    p = subprocess.run([B.TINFER, "run", "--models", manifest, "-m", "decode_only", "-q", "--decode-threads", "1",
                        photo], capture_output=True, text=True)
    unknown = p.returncode == 2 and "decode-threads" in p.stderr and (
        "unknown option" in p.stderr or "unrecognized option" in p.stderr)
    if p.returncode not in (0, 2) or (p.returncode == 2 and not unknown):
        raise SystemExit("arch: tinfer --decode-threads 1 exited %d:\n%s" % (p.returncode, p.stderr[-2000:]))
    return not unknown


def last_json_line(path):
    with open(path, errors="replace") as f:
        lines = [line for line in f.read().splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit("arch: no JSON report in %s" % path)
    return json.loads(lines[-1])


def read_top(path):
    """{input basename: (top-1 index, p1 - p2)} of the ok records."""
    d = {}
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("ok"):
                t = r["top"]
                d[os.path.basename(r["input"])] = (t[0]["index"], t[0]["score"] - (t[1]["score"] if len(t) > 1 else 0))
    return d


def agreement(path, ref_path, margin):
    """Top-1 of path against ref_path's, over all photos and over those whose ref margin > margin."""
    x, ref = read_top(path), read_top(ref_path)
    keys = sorted(ref)
    same = [k for k in keys if k in x and x[k][0] == ref[k][0]]
    clear = [k for k in keys if ref[k][1] > margin]
    diff = [(k, ref[k][1]) for k in keys if k not in same]
    return {"n": len(keys), "same": len(same), "n_clear": len(clear),
            "same_clear": sum(1 for k in clear if k in x and x[k][0] == ref[k][0]),
            "diff": diff, "missing": len(set(ref) - set(x)), "distinct": len({v[0] for v in ref.values()}),
            "margins": sorted(v[1] for v in ref.values())}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--rounds", type=int, default=3, help="timed rounds (default 3)")
    ap.add_argument("-j", "--threads", type=int, default=len(os.sched_getaffinity(0)),
                    help="intra-op threads for every program (default: the cores usable, tinfer's default)")
    ap.add_argument("--models", default=",".join(MODELS), help="comma-separated subset of " + ", ".join(MODELS))
    ap.add_argument("--photos", type=int, default=128,
                    help="JPEG photos for MobileNetV3 and ResNet-50; ViT-B/16 gets a quarter (default 128)")
    ap.add_argument("--batch", type=int, default=8, help="batch size (default 8)")
    ap.add_argument("--margin", type=float, default=0.02,
                    help="top-1 agreement also counted on photos with plain margin p1 - p2 above this (0.02)")
    ap.add_argument("--seed", type=int, default=0, help="weights' seed (default 0)")
    ap.add_argument("--no-decode", action="store_true", help="skip the decode-only runs")
    ap.add_argument("--model-dir", help="generate the models there and reuse them on the next run "
                    "(default: a new temporary folder each run)")
    ap.add_argument("--optimize", default="on", help="tinfer is also run with --optimize each of these "
                    "(comma-separated auto, on, off; '' for none; default on)")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    ap.add_argument("--tinfer", default=B.TINFER, help="the tinfer program to measure (default build/tinfer)")
    a = ap.parse_args()
    a.models = [m for m in a.models.split(",") if m]
    a.optimize = [o for o in a.optimize.split(",") if o]
    if any(o not in ("auto", "on", "off") for o in a.optimize):
        ap.error("--optimize: choose among auto, on, off")
    bad = [m for m in a.models if m not in MODELS]
    if bad or not a.models:
        ap.error("--models: choose among %s" % ", ".join(MODELS))
    if a.rounds < 1 or a.threads < 1 or a.batch < 1 or a.photos < max(SHARE[m] for m in a.models):
        ap.error("counts must be at least 1 (and --photos at least 4 with vit_b_16)")
    if a.model_dir:
        a.model_dir = os.path.abspath(a.model_dir)
    a.tinfer = os.path.abspath(a.tinfer)
    B.build(a.tinfer)
    B.TINFER = a.tinfer
    tmp = tempfile.mkdtemp(prefix="tinfer-arch-")
    try:
        report = bench(a, tmp)
    finally:
        B.cleanup("arch", tmp, a.keep)
    B.emit("arch", report, a.out)


def bench(a, tmp):
    J, Bs = str(a.threads), str(a.batch)
    B.log("arch: writing %d JPEGs (+ 32 for calibration) from %s" % (a.photos, D.SKIMAGE))
    photos = make_photos(os.path.join(tmp, "photos"), a.photos)
    calib = make_photos(os.path.join(tmp, "calib"), 32, salt=1000)
    manifest, stats = generate(a, tmp, calib)
    info = B.machine_info(a.threads)
    R = B.Runner(tmp)
    rep = lambda name: os.path.join(tmp, name + ".json")  # noqa: E731
    err = lambda name: os.path.join(tmp, name + ".err")  # noqa: E731
    inputs = {m: photos[:a.photos // SHARE[m]] for m in a.models}

    broken = {m: False for m in a.models}  # optimize_for_inference changes this model's logits

    TOPT = ["tinfer:" + o for o in a.optimize]  # tinfer --optimize O, besides its default

    def runners(m):
        return RUNNERS[:1] + TOPT + RUNNERS[1:] + (["tuned_ofi"] if broken[m] else [])

    def WAY(m, r):
        """The forward-alone way that runs the module as runner r does (tinfer --optimize on: the
        tuned way, frozen and optimised, or frozen only where optimize_for_inference is broken)."""
        return {"tuned": "frozen" if broken[m] else "tuned", "tuned_ofi": "tuned",
                "tinfer:on": "frozen" if broken[m] else "tuned", "tinfer:off": "tinfer",
                "tinfer:auto": "tinfer"}.get(r, r)

    def argv(model, runner):
        if runner.startswith("tinfer"):
            opt = ["--optimize", runner[7:]] if runner != "tinfer" else []
            return [B.TINFER, "run", "-m", model, "--models", manifest, "-b", Bs, "-j", J, "-q",
                    "--report", rep("%s.%s" % (model, runner))] + opt + inputs[model]
        extra = {"plain": [], "tuned": ["--tuned"] + (["--no-optimize"] if broken[model] else []),
                 "tuned_ofi": ["--tuned"],
                 "fwd": ["--forward-alone", "--ways", ",".join(WAY(model, r) for r in ["plain", "tinfer", "tuned"]
                                                               + runners(model)[3:])]}[runner]
        return [B.PY, PY_ARCH, "--models", manifest, "-m", model, "-b", Bs, "-j", J] + extra + inputs[model]

    cases = []
    decode = a.threads if not a.no_decode else 0
    dt_ok = decode_threads_supported(manifest, photos[0]) if decode else False
    if decode:
        cases.append(("decode_only", "default"))
        if dt_ok:
            cases += [("decode_only", n) for n in range(1, a.threads + 1)]
        else:
            B.log("arch: this tinfer has no --decode-threads: that table will say n/a")

    def case_argv(c, it=0):
        m, r = c
        if m == "decode_only":
            return [B.TINFER, "run", "-m", m, "--models", manifest, "-b", Bs, "-j", J, "-q",
                    "--report", rep("decode_only.%s" % r)] + \
                ([] if r == "default" else ["--decode-threads", str(r)]) + photos
        return argv(m, r) + (["--rotate", str(it)] if r == "fwd" else [])

    def collect(c, out=None):
        """Runs case c once; returns (wall ms, peak RSS MiB, report)."""
        m, r = c
        wall, rss = R.run(case_argv(c, len(res[c]) if c in res else 0), stdout=out or os.path.join(tmp, "out.jsonl"),
                          stderr=err("%s.%s" % (m, r)))
        if r == "fwd":
            with open(out or os.path.join(tmp, "out.jsonl")) as f:
                rp = json.loads(f.read())
        elif m == "decode_only" or r.startswith("tinfer"):
            rp = B.load_json(rep("%s.%s" % (m, r)))
        else:
            rp = last_json_line(err("%s.%s" % (m, r)))
        return wall, rss, rp

    res = {}
    B.log("arch: warm-up and top-1 agreement (load %s)" % open("/proc/loadavg").read().split()[0])
    checks = {}
    for m in a.models:
        B.log("arch: warm-up %s forward alone" % m)
        checks[m] = collect((m, "fwd"), os.path.join(tmp, "%s.fwd.json" % m))[2]["check"]
        broken[m] = checks[m]["tuned"]["max_abs_diff"] > OFI_TOL
        if broken[m]:
            B.log("arch: optimize_for_inference changes %s's logits (by up to %.3g): tuned is timed with freeze only"
                  % (m, checks[m]["tuned"]["max_abs_diff"]))
    outs = {(m, r): os.path.join(tmp, "%s.%s.jsonl" % (m, r)) for m in a.models for r in runners(m)}
    for m in a.models:
        for r in runners(m):
            B.log("arch: warm-up %s %s" % (m, r))
            collect((m, r), outs[(m, r)])
    agree = {m: {r: agreement(outs[(m, r)], outs[(m, "plain")], a.margin) for r in runners(m) if r != "plain"}
             for m in a.models}

    cases = [(m, r) for m in a.models for r in runners(m) + ["fwd"]] + cases
    res = {c: [] for c in cases}
    for it in range(a.rounds):
        B.log("arch: round %d/%d (load %s)" % (it + 1, a.rounds, open("/proc/loadavg").read().split()[0]))
        order = cases[it % len(cases):] + cases[:it % len(cases)]
        for c in order:
            res[c].append(collect(c))
    return render(a, info, stats, inputs, res, agree, dt_ok, decode, len(photos), checks, broken, runners, WAY)


def render(a, info, stats, inputs, res, agree, dt_ok, decode, n_photos, checks, broken, runners, WAY):
    med = B.med
    L = []
    w = L.append

    def wall(c):
        return med([x[0] for x in res[c]]) / 1e3

    def rss(c):
        return med([x[1] for x in res[c]])

    def loaded_s(c):
        """Time once loaded, s: tinfer total - load (startup, which holds the first batch's decoding
        with lazy loading, stays in); Python total - startup - load."""
        m, r = c
        if m == "decode_only" or r.startswith("tinfer"):
            return med([x[2]["time_ms"]["total"] - x[2]["time_ms"]["load"] for x in res[c]]) / 1e3
        return med([x[2]["time_ms"]["total"] - x[2]["time_ms"]["startup"] - x[2]["time_ms"]["load"]
                    for x in res[c]]) / 1e3

    def fwd_alone_s(m, way):
        return med([x[2]["forward_alone"][way]["total_ms"] for x in res[(m, "fwd")]]) / 1e3

    def own_fwd_s(c):
        return med([x[2]["time_ms"]["forward"] for x in res[c]]) / 1e3

    def rounds(c1, c2):
        v = [y[0] / x[0] for x, y in zip(res[c1], res[c2])]
        return min(v), max(v)

    def yes(ok):
        return "yes" if ok else "**no**"

    def pct(k, n):
        return "%d / %d (%.1f%%)" % (k, n, 100.0 * k / n) if n else "—"

    w("## tinfer on real architectures (torchvision, random weights, JPEG photos)\n")
    w("- date: %s; machine: %s, %s, %s RAM, Linux %s; load average at start %s" %
      (info["date"], info["cpu"], info["cores"], info["mem"], info["kernel"], info["load"]))
    w("- libtorch %s (tinfer); Python: %s, torch %s; %s" % (info["libtorch"], B.PY, info["pytorch"], info["tinfer"]))
    w("- models: torchvision 0.14 architectures with seeded random weights (seed %d), batch norm and head "
      "calibrated on 32 other photos (`bench/arch_models.py`), TorchScript (`torch.jit.script`); manifest: "
      "crop (shorter side to 232, 256 for ViT) → 224, antialiased bilinear, ImageNet mean/std, logits" % a.seed)
    w("- inputs: %d JPEG photos (quality 90, long side 640–2000 px, 9 skimage sources, varied crops and aspect "
      "ratios, every 8th with an EXIF orientation); ViT-B/16 runs on the first %d" % (n_photos, n_photos // 4))
    w("- batch %d, %d intra-op thread(s) for every program; every figure is the median of %d rounds, one fresh "
      "process per case per round, the order rotated every round; wall = fork to exit, RSS = the child's peak "
      "(`build/bench/measure`). Shared, noisy machine: read the ratios\n" % (a.batch, a.threads, a.rounds))

    def rlabel(m, r):
        if r.startswith("tinfer"):
            x = [rp[2].get("optimize", {}).get("ran", "?") for rp in res[(m, r)]]
            return "tinfer %s (ran: %s)" % ("--optimize " + r[7:] if r != "tinfer" else "default",
                                            ", ".join(sorted(set(x))))
        return {"tinfer": "tinfer", "plain": "plain Python",
                "tuned": "tuned Python, freeze only⁴" if broken[m] else "tuned Python",
                "tuned_ofi": "tuned Python with optimize_for_inference: wrong logits⁴"}[r]

    w("| model (photos) | program | wall s | images/s | tinfer ÷ this, speed (rounds) | images/s once loaded¹ "
      "| tinfer ÷ this once loaded | once loaded ÷ forward alone² | peak RSS MiB | top-1 = plain³ |")
    w("|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    summary = []
    for m in a.models:
        n = len(inputs[m])
        t = (m, "tinfer")
        for r in runners(m):
            c = (m, r)
            lo, hi = rounds(t, c)
            sp = "%.2f (%.2f–%.2f)" % (wall(c) / wall(t), lo, hi) if r != "tinfer" else "1"
            ol = "%.2f" % (loaded_s(c) / loaded_s(t)) if r != "tinfer" else "1"
            ag = agree[m].get(r)
            same = "%s; margin > %g: %s" % (pct(ag["same"], ag["n"]), a.margin, pct(ag["same_clear"], ag["n_clear"])) \
                if ag else "(the reference)"
            w("| %s (%d) | %s | %.2f | %.1f | %s | %.1f | %s | %.2f | %.0f | %s |" %
              (LABEL[m], n, rlabel(m, r), wall(c), n / wall(c), sp, n / loaded_s(c), ol,
               loaded_s(c) / fwd_alone_s(m, WAY(m, r)), rss(c), same))
        ag = agree[m]["tinfer"]
        summary.append((m, wall((m, "plain")) / wall(t), rounds(t, (m, "plain")), wall((m, "tuned")) / wall(t),
                        rounds(t, (m, "tuned")), loaded_s(t) / fwd_alone_s(m, "tinfer"), ag))

    w("\n¹ images / time once the model is loaded: tinfer `time_ms.total − load` of its `--report` (its "
      "`startup`, which with lazy loading holds reading and decoding the first batch, stays in); Python: "
      "`total − startup − load` of its own report (startup = `import torch`, load = `torch.jit.load`, tuned "
      "also freeze + optimize_for_inference).")
    w("² time once loaded / the forward passes alone on the same batches made beforehand (`py_arch.py "
      "--forward-alone`, a fresh load, the first pass included), with the module run as this program runs "
      "it: tinfer's way (graph executor optimisation off, channels-last, inference mode), plain's "
      "(contiguous, no_grad) or tuned's (frozen + optimized, channels-last, inference mode).")
    w("³ per photo, the top-1 class against plain Python's (warm-up runs); also counted on the photos whose "
      "plain-Python margin p1 − p2 exceeds %g, which leaves out near-ties that float rounding may flip."
      % a.margin)
    bad = [m for m in a.models if broken[m]]
    if bad:
        w("⁴ torch %s's `torch.jit.optimize_for_inference` changes %s's logits (by up to %s against the plain "
          "script's, on the same batches; freeze alone by %s): it is broken for this model, so the tuned "
          "script is timed with `torch.jit.freeze` only (`py_arch.py --tuned --no-optimize`) and the targets "
          "use that; the broken variant is shown for reference." %
          (info["pytorch"], ", ".join(LABEL[m] for m in bad),
           ", ".join("%.3g" % checks[m]["tuned"]["max_abs_diff"] for m in bad),
           ", ".join("%.3g" % med([x[2]["check"]["frozen"]["max_abs_diff"] for x in res[(m, "fwd")]])
                     for m in bad)))
    w("")

    w("### Targets\n")
    w("| model | tinfer ÷ plain, whole process | ≥ %.2g | tinfer ÷ tuned | ≥ %.3g | tinfer once loaded ÷ forward "
      "alone | ≤ %.2g | top-1 = plain, margin > %g (all) | ≥ %d%% |"
      % (TARGET_PLAIN, TARGET_TUNED, TARGET_FWD, a.margin, TARGET_AGREE * 100))
    w("|---|---:|---|---:|---|---:|---|---:|---|")
    for m, rp, (lp, hp), rt, (lt, ht), fr, ag in summary:
        share = ag["same_clear"] / ag["n_clear"] if ag["n_clear"] else 0.0
        w("| %s | %.2f × (rounds %.2f–%.2f) | %s | %.2f × (rounds %.2f–%.2f) | %s | %.2f | %s | %.1f%% (%.1f%%) | %s |"
          % (LABEL[m], rp, lp, hp, yes(rp >= TARGET_PLAIN), rt, lt, ht, yes(rt >= TARGET_TUNED), fr,
             yes(fr <= TARGET_FWD), 100 * share, 100.0 * ag["same"] / ag["n"], yes(share >= TARGET_AGREE)))

    w("\n### Forward passes (medians, s)\n")
    w("| model | batches | forward alone: tinfer's way | plain's way | tuned's way | tinfer's `time_ms.forward` "
      "in its run | plain's own | tuned's own | tuned's way ÷ tinfer's way, forward alone |")
    w("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for m in a.models:
        fr = res[(m, "fwd")][-1][2]
        tw = WAY(m, "tuned")
        w("| %s | %d | %.2f | %.2f | %.2f%s | %.2f | %.2f | %.2f | %.2f |" %
          (LABEL[m], fr["batches"], fwd_alone_s(m, "tinfer"), fwd_alone_s(m, "plain"), fwd_alone_s(m, tw),
           " (freeze only; with optimize_for_inference %.2f)" % fwd_alone_s(m, "tuned") if broken[m] else "",
           own_fwd_s((m, "tinfer")), own_fwd_s((m, "plain")), own_fwd_s((m, "tuned")),
           fwd_alone_s(m, tw) / fwd_alone_s(m, "tinfer")))

    w("\n### Models and top-1 agreement (warm-up runs)\n")
    w("| model | calibration: directions kept, distinct top-1 of 32, median p1, median margin | photos: distinct "
      "plain top-1, median plain margin, photos with margin ≤ %g | tinfer = plain | tuned = plain | max \\|Δ logit\\| "
      "against plain, forward alone: tinfer's way, tuned's | tinfer ≠ plain (plain margin) |" % a.margin)
    w("|---|---|---|---|---|---|---|")
    for m in a.models:
        s, t, u = stats.get(m, {}), agree[m]["tinfer"], agree[m]["tuned"]
        mg = t["margins"]
        diff = ", ".join("%s (%.4f)" % d for d in t["diff"][:6]) or "none"
        ck = res[(m, "fwd")][-1][2]["check"]
        w("| %s | %s, %s, %s, %s | %d, %.3f, %d | %s; margin > %g: %s | %s; margin > %g: %s | %.2g, %.2g | %s |" %
          (LABEL[m], s.get("components", "?"), s.get("distinct_top1", "?"), s.get("p1_median", "?"),
           s.get("margin_median", "?"), t["distinct"], B.med(mg), sum(1 for v in mg if v <= a.margin),
           pct(t["same"], t["n"]), a.margin, pct(t["same_clear"], t["n_clear"]),
           pct(u["same"], u["n"]), a.margin, pct(u["same_clear"], u["n_clear"]),
           ck["tinfer"]["max_abs_diff"], ck[WAY(m, "tuned")]["max_abs_diff"], diff))

    if decode:
        n = n_photos
        w("\n### Decode only (%d photos, a model whose forward returns zeros)\n" % n)
        w("| tinfer run | images/s once loaded | linear (N × N=1) | share of linear | images/s whole process "
          "| peak RSS MiB |")
        w("|---|---:|---:|---:|---:|---:|")
        d = ("decode_only", "default")
        w("| default (no `--decode-threads`) | %.1f | | | %.1f | %.0f |" % (n / loaded_s(d), n / wall(d), rss(d)))
        if dt_ok:
            one = n / loaded_s(("decode_only", 1))
            for k in range(1, decode + 1):
                c = ("decode_only", k)
                v = n / loaded_s(c)
                w("| `--decode-threads %d` | %.1f | %.1f | %.2f | %.1f | %.0f |" %
                  (k, v, k * one, v / (k * one), n / wall(c), rss(c)))
        else:
            for k in range(1, decode + 1):
                w("| `--decode-threads %d` | n/a | n/a | n/a | n/a | n/a |" % k)
            w("\nn/a: this tinfer has no `--decode-threads` option (it exits 2, unknown option).")

    w("\n### Details (median, min–max over %d rounds)\n" % a.rounds)
    w("| case | wall s | peak RSS MiB | report: startup / load / first result / total / forward (s) |")
    w("|---|---:|---:|---|")
    for c, xs in res.items():
        m, r = c
        wl, rs = [x[0] / 1e3 for x in xs], [x[1] for x in xs]
        if r == "fwd":
            extra = "forward alone: " + ", ".join("%s %.2f" % (k, fwd_alone_s(m, k)) for k in xs[-1][2]["order"])
        else:
            extra = " / ".join("%.2f" % (med([x[2]["time_ms"][f] or 0 for x in xs]) / 1e3)
                               for f in ("startup", "load", "first_result", "total", "forward"))
        w("| %s %s | %.2f (%.2f–%.2f) | %.0f (%.0f–%.0f) | %s |" %
          (m, r, med(wl), min(wl), max(wl), med(rs), min(rs), max(rs), extra))
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
