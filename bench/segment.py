#!/usr/bin/python3
"""tinfer benchmark: the segment memory sweep (SPEC §5, §10).

    /usr/bin/python3 bench/segment.py [-n 3] [-j 2] [--cloud-points 40000] [--out FILE]
                                      [--svg bench/segment-memory.svg]

Writes a 40,000-point scene of six separated primitives (samples/make_segment.py's
generator) as a binary PLY into a temporary folder, then, each run a fresh
process started by build/bench/measure (wall time and the child's peak RSS):

  1. the sweep: `tinfer run -m parts --points P --prompt-batch B` (75 prompts)
     for P in 5000, 15000, 30000 and B in 1, 4, 16 (--sweep-rounds times,
     default 1; peak RSS barely moves between runs);
  2. the prompts sweep: --prompts 25, 75, 150 at 15000 points, prompt batch 4;
  3. tinfer against the Python pipeline (samples/segment_reference.py, same
     arguments) at 15000 / 75 / 4, -n rounds (default 3) interleaved, medians;

fits peak RSS = a + b (points x prompt batch) by least squares over the
sweep, prints a Markdown report (--out FILE writes it too) and draws the sweep
as a hand-written SVG (--svg, default bench/segment-memory.svg).
See bench/README.md.
"""
import argparse
import json
import os
import sys
import tempfile
import xml.etree.ElementTree as ET

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bench as B  # noqa: E402  (bench.py: Runner, build, machine_info, med, log)

SAMPLES = os.path.join(B.ROOT, "samples")
REFERENCE = os.path.join(SAMPLES, "segment_reference.py")
MODEL_FILE = os.path.join(SAMPLES, "models", "parts.pt")
POINTS = (5000, 15000, 30000)
BATCHES = (1, 4, 16)
PROMPTS = (25, 75, 150)
BASE = (15000, 75, 4)  # points, prompts, prompt batch of the §10 figure

SCENE_PY = r"""
import sys
sys.path.insert(0, sys.argv[1])
import make_segment as ms
pts, nrm, labels = ms.make_scene(n=int(sys.argv[3]), seed=20240601)
ms.write_ply(sys.argv[2], pts, nrm)
"""


def make_scene(tmp, n):
    script, cloud = os.path.join(tmp, "make_scene.py"), os.path.join(tmp, "scene%d.ply" % n)
    with open(script, "w") as f:
        f.write(SCENE_PY)
    B.sh([B.PY, script, SAMPLES, cloud, str(n)])
    return cloud


def fit(xs, ys):
    """Least squares y = a + b x: (a, b, R^2)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys))
    b = sxy / sxx
    a = my - b * mx
    ss_res = sum((y - a - b * x) ** 2 for x, y in zip(xs, ys))
    ss_tot = sum((y - my) ** 2 for y in ys)
    return a, b, 1 - ss_res / ss_tot if ss_tot else 1.0


def fit2(ns, bs, ys):
    """Least squares y = a + c n + b n bs: (a, c, b, R^2)."""
    import numpy as np
    n, b, y = (np.asarray(v, dtype=float) for v in (ns, bs, ys))
    A = np.stack([np.ones_like(n), n, n * b], 1)
    coef = np.linalg.lstsq(A, y, rcond=None)[0]
    ss_tot = float(((y - y.mean()) ** 2).sum())
    r2 = 1 - float(((y - A @ coef) ** 2).sum()) / ss_tot if ss_tot else 1.0
    return float(coef[0]), float(coef[1]), float(coef[2]), r2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--rounds", type=int, default=3,
                    help="rounds of tinfer vs the Python pipeline at 15000/75/4 (default 3)")
    ap.add_argument("--sweep-rounds", type=int, default=1, help="runs of every sweep configuration (default 1)")
    ap.add_argument("-j", "--threads", type=int, default=2, help="intra-op threads (default 2)")
    ap.add_argument("--cloud-points", type=int, default=40000, help="points in the generated scene (default 40000)")
    ap.add_argument("--svg", default=os.path.join(HERE, "segment-memory.svg"),
                    help="where to draw the sweep (default bench/segment-memory.svg; '' for none)")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    ap.add_argument("--tinfer", default=B.TINFER, help="the tinfer program to measure (default build/tinfer)")
    a = ap.parse_args()
    if a.rounds < 1 or a.sweep_rounds < 1 or a.threads < 1 or a.cloud_points < 1:
        ap.error("counts must be at least 1")
    a.tinfer = os.path.abspath(a.tinfer)
    B.build(a.tinfer)
    B.TINFER = a.tinfer
    tmp = tempfile.mkdtemp(prefix="tinfer-segment-")
    try:
        report, sweep, prompts, py_rss = bench(a, tmp)
    finally:
        B.cleanup("segment", tmp, a.keep)
    B.emit("segment", report, a.out)
    if a.svg:
        svg = draw_svg(sweep, prompts, py_rss, a)
        ET.fromstring(svg)  # well-formed, or raise
        with open(a.svg, "w") as f:
            f.write(svg)
        B.log("segment: wrote %s (%d bytes)" % (a.svg, len(svg.encode())))


def bench(a, tmp):
    J = str(a.threads)
    B.log("segment: writing a %d-point scene" % a.cloud_points)
    cloud = make_scene(tmp, a.cloud_points)
    info = B.machine_info(a.threads)
    R = B.Runner(tmp)
    rep = os.path.join(tmp, "report.json")

    def tinfer(p, k, b):
        return [B.TINFER, "run", "--models", B.MODELS, "-m", "parts", "-j", J, "-q", "--points", str(p),
                "--prompts", str(k), "--prompt-batch", str(b), "--report", rep, cloud]

    def python(p, k, b):
        return [B.PY, REFERENCE, MODEL_FILE, cloud, "--points", str(p), "--prompts", str(k),
                "--prompt-batch", str(b)]

    def one(argv, stdout=None):
        wall, rss = R.run(argv, stdout=stdout)
        r = B.load_json(rep) if argv[0] == B.TINFER else None
        return {"wall": wall, "rss": rss, "report": r}

    # 1 + 2: the sweeps (points x prompt batch at 75 prompts; prompts at 15000 x 4)
    configs = [(p, 75, b) for p in POINTS for b in BATCHES] + [(BASE[0], k, BASE[2]) for k in PROMPTS if k != 75]
    runs = {c: [] for c in configs}
    for it in range(a.sweep_rounds):
        order = configs[it * 3 % len(configs):] + configs[:it * 3 % len(configs)]
        for c in order:
            B.log("segment: sweep %d/%d: points %d, prompts %d, prompt batch %d (load %s)"
                  % (it + 1, a.sweep_rounds, *c, open("/proc/loadavg").read().split()[0]))
            runs[c].append(one(tinfer(*c)))

    # 3: tinfer vs Python at 15000 / 75 / 4, interleaved; the first round also checks agreement
    side = {"tinfer": [], "python": []}
    out_t, out_p = os.path.join(tmp, "tinfer.jsonl"), os.path.join(tmp, "python.jsonl")
    for it in range(a.rounds):
        B.log("segment: tinfer vs Python %d/%d (load %s)" % (it + 1, a.rounds, open("/proc/loadavg").read().split()[0]))
        order = ("tinfer", "python") if it % 2 == 0 else ("python", "tinfer")
        for k in order:
            argv = tinfer(*BASE) if k == "tinfer" else python(*BASE)
            side[k].append(one(argv, stdout=(out_t if k == "tinfer" else out_p) if it == 0 else None))
    agree = compare_parts(out_t, out_p)
    return render(a, info, runs, side, agree)


def compare_parts(out_t, out_p):
    with open(out_t) as f:
        t = json.loads(f.readline())
    with open(out_p) as f:
        p = json.loads(f.readline())
    tp = [(x["points"], round(x["score"], 4)) for x in t.get("parts", [])]
    pp = [(x["points"], round(x["score"], 4)) for x in p.get("parts", [])]
    return {"tinfer_parts": len(tp), "python_parts": len(pp), "same": tp == pp,
            "sizes": [x[0] for x in tp]}


def render(a, info, runs, side, agree):
    med = B.med
    L = []
    w = L.append
    mib = 2.0 ** 20

    def m(c, key):
        xs = runs[c]
        if key == "peak":
            return med([r["report"]["ram_bytes"]["peak"] / mib for r in xs])
        if key == "after_load":
            return med([r["report"]["ram_bytes"]["after_load"] / mib for r in xs])
        if key == "cloud_ms":  # the cloud's time once loaded
            return med([r["report"]["time_ms"]["total"] - r["report"]["time_ms"]["load"] for r in xs])
        return med([r[key] for r in xs])

    grid = [(p, 75, b) for p in POINTS for b in BATCHES]
    eff = lambda p: min(p, a.cloud_points)  # noqa: E731  (points actually sampled)
    xs = [eff(p) * b for p, _, b in grid]
    a1, b1, r1 = fit(xs, [m(c, "rss") for c in grid])
    a2, b2, r2 = fit(xs, [m(c, "peak") for c in grid])
    prompts = [(BASE[0], k, BASE[2]) for k in PROMPTS]
    pr = [m(c, "rss") for c in prompts]

    tr = med([r["rss"] for r in side["tinfer"]])
    prss = med([r["rss"] for r in side["python"]])
    tw = med([r["wall"] for r in side["tinfer"]])
    pw = med([r["wall"] for r in side["python"]])
    ratios = [t["rss"] / p["rss"] for t, p in zip(side["tinfer"], side["python"])]

    w("## tinfer segment memory sweep (SPEC §5, §10)\n")
    w("- date: %s; machine: %s, %s, %s RAM, Linux %s; load average at start %s" %
      (info["date"], info["cpu"], info["cores"], info["mem"], info["kernel"], info["load"]))
    w("- libtorch %s (tinfer); Python pipeline: /usr/bin/python3 samples/segment_reference.py, torch %s; %s"
      % (info["libtorch"], info["pytorch"], info["tinfer"]))
    w("- model `parts` (samples/models/parts.pt: encode once, decode per prompt batch; its decoder holds a "
      "[1, prompt batch, points, 64] feature tensor); cloud: a %d-point scene of 6 separated primitives "
      "(samples/make_segment.py's generator), binary PLY; %d intra-op thread(s); each run a fresh process; "
      "peak RSS = the child's wait4 ru_maxrss (\"RSS\") and tinfer's own `--report` ram_bytes.peak (\"report\")\n"
      % (a.cloud_points, a.threads))

    w("| figure | tinfer | Python pipeline | measured | target | met |")
    w("|---|---:|---:|---:|---|---|")
    w("| peak RSS at %d points / %d prompts / batch %d (median of %d, interleaved) | %.1f MiB | %.1f MiB | %.2f × Python (rounds %.2f–%.2f) | under Python's | %s |"
      % (BASE[0], BASE[1], BASE[2], a.rounds, tr, prss, tr / prss, min(ratios), max(ratios),
         "yes" if tr < prss else "**no**"))
    w("| peak RSS ≈ a + b · points × prompt batch (least squares, 9 runs) | a = %.1f MiB, b = %.2f KiB per point·prompt, R² = %.4f | | | linear | %s |"
      % (a1, b1 * 1024, r1, "yes" if r1 >= 0.98 else "**no** (R² < 0.98)"))
    w("| the same fit on tinfer's report peak | a = %.1f MiB, b = %.2f KiB, R² = %.4f | | | | |" % (a2, b2 * 1024, r2))
    a3, c3, b3, r3 = fit2([eff(c[0]) for c in grid], [c[2] for c in grid], [m(c, "rss") for c in grid])
    w("| for comparison: peak RSS ≈ a + c · points + b · points × prompt batch | a = %.1f MiB, c = %.2f KiB per point, "
      "b = %.2f KiB per point·prompt, R² = %.4f | | | | |" % (a3, c3 * 1024, b3 * 1024, r3))
    # "not growing": the most prompts need at most 5% more than the fewest (single runs differ by up to
    # ~20 MiB from run to run, so the spread alone is not a test of growth)
    w("| peak RSS over %s prompts at %d × %d | %s MiB (spread %.1f MiB; %d prompts %+.1f%% vs %d) | | | not growing with prompts (≤ +5%%) | %s |"
      % (" / ".join(map(str, PROMPTS)), BASE[0], BASE[2], " / ".join("%.1f" % v for v in pr), max(pr) - min(pr),
         PROMPTS[-1], 100 * (pr[-1] / pr[0] - 1), PROMPTS[0], "yes" if pr[-1] <= 1.05 * pr[0] else "**no**"))
    w("| wall time at %d / %d / %d | %.1f s | %.1f s | %.2f × Python | | |" % (*BASE, tw / 1e3, pw / 1e3, tw / pw))
    w("| same parts as Python (point counts and scores, 4 decimals) | %d parts | %d parts | %s | | |"
      % (agree["tinfer_parts"], agree["python_parts"], "identical" if agree["same"] else "**differ**"))

    w("\n### Points × prompt batch (75 prompts)\n")
    w("| points | prompt batch | points × batch | peak RSS | report peak | report after load | fit | wall | cloud time once loaded |")
    w("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for c in grid:
        x = eff(c[0]) * c[2]
        w("| %d | %d | %d | %.1f MiB | %.1f MiB | %.1f MiB | %.1f MiB | %.1f s | %.1f s |" %
          (c[0], c[2], x, m(c, "rss"), m(c, "peak"), m(c, "after_load"), a1 + b1 * x, m(c, "wall") / 1e3,
           m(c, "cloud_ms") / 1e3))

    w("\n### Prompts (%d points, prompt batch %d)\n" % (BASE[0], BASE[2]))
    w("| prompts | decoder passes | peak RSS | report peak | wall | cloud time once loaded |")
    w("|---:|---:|---:|---:|---:|---:|")
    for c in prompts:
        w("| %d | %d | %.1f MiB | %.1f MiB | %.1f s | %.1f s |" % (c[1], -(-c[1] // c[2]), m(c, "rss"), m(c, "peak"),
                                                              m(c, "wall") / 1e3, m(c, "cloud_ms") / 1e3))

    w("\n### tinfer vs the Python pipeline at %d / %d / %d (%d rounds)\n" % (*BASE, a.rounds))
    w("| run | peak RSS per round MiB | median | wall per round s | median |")
    w("|---|---|---:|---|---:|")
    for k, label in (("tinfer", "`tinfer run -m parts`"), ("python", "`samples/segment_reference.py`")):
        rs, ws = [r["rss"] for r in side[k]], [r["wall"] / 1e3 for r in side[k]]
        w("| %s | %s | %.1f | %s | %.1f |" % (label, ", ".join("%.1f" % v for v in rs), med(rs),
                                              ", ".join("%.1f" % v for v in ws), med(ws)))
    tl = med([r["report"]["time_ms"]["load"] for r in side["tinfer"]])
    ta = med([r["report"]["ram_bytes"]["after_load"] / mib for r in side["tinfer"]])
    w("\ntinfer's report: load %.0f ms, RAM after load %.1f MiB; the fit's intercept a is libtorch and the "
      "model (compare RAM after load), the slope b what one point × prompt of a decoder pass costs." % (tl, ta))
    return "\n".join(L) + "\n", {(eff(c[0]),) + c[1:]: m(c, "rss") for c in grid}, {c: m(c, "rss") for c in prompts}, prss


def nice_ticks(lo, hi, n=6):
    import math
    span = hi - lo
    step = 10 ** math.floor(math.log10(span / n))
    for f in (1, 2, 2.5, 5, 10):
        if span / (step * f) <= n:
            step *= f
            break
    start = math.floor(lo / step) * step
    ticks, t = [start], start
    while t < hi - 1e-9:  # the last tick covers hi
        t += step
        ticks.append(t)
    return ticks


def draw_svg(sweep, prompts, py_rss, a):
    Wd, Ht = 760, 460
    ml, mr, mt, mb = 70, 190, 50, 55
    pw, ph = Wd - ml - mr, Ht - mt - mb
    pts = sorted(((p * b, rss, p, b) for (p, _, b), rss in sweep.items()))
    xs, ys = [x for x, *_ in pts], [y for _, y, *_ in pts]
    fa, fb, r2 = fit(xs, ys)
    ylo_d, yhi_d = min(ys + [fa]), max(ys + [py_rss])
    yt = nice_ticks(ylo_d - 0.05 * (yhi_d - ylo_d), yhi_d + 0.05 * (yhi_d - ylo_d))
    ylo, yhi = yt[0], yt[-1]
    xt = nice_ticks(0, max(xs) * 1.03)
    xhi = xt[-1]

    def X(v):
        return ml + pw * v / xhi

    def Y(v):
        return mt + ph * (1 - (v - ylo) / (yhi - ylo))

    colours = {1: "#1f77b4", 4: "#ff7f0e", 16: "#2ca02c"}
    o = []
    e = o.append
    e('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" '
      'font-family="sans-serif" font-size="11">' % (Wd, Ht, Wd, Ht))
    e('<rect width="%d" height="%d" fill="white"/>' % (Wd, Ht))
    e('<text x="%d" y="22" font-size="15" font-weight="bold">tinfer segment: peak RSS vs points × prompt batch</text>' % ml)
    e('<text x="%d" y="39" fill="#555">model parts, %s-point scene, 75 prompts, %d threads; '
      'peak RSS = wait4 ru_maxrss of the process</text>' % (ml, "{:,}".format(a.cloud_points), a.threads))
    # grid and ticks
    for t in yt:
        e('<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#e5e5e5"/>' % (ml, Y(t), ml + pw, Y(t)))
        e('<text x="%d" y="%.1f" text-anchor="end">%g</text>' % (ml - 6, Y(t) + 4, t))
    for t in xt:
        e('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#e5e5e5"/>' % (X(t), mt, X(t), mt + ph))
        e('<text x="%.1f" y="%d" text-anchor="middle">%s</text>' % (X(t), mt + ph + 16, "{:,}".format(int(t))))
    e('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#333"/>' % (ml, mt, pw, ph))
    e('<text x="%.1f" y="%d" text-anchor="middle">points × prompt batch</text>' % (ml + pw / 2, Ht - 14))
    e('<text transform="translate(18 %.1f) rotate(-90)" text-anchor="middle">peak RSS (MiB)</text>' % (mt + ph / 2))
    # fitted line, clipped to the plot
    e('<clipPath id="plot"><rect x="%d" y="%d" width="%d" height="%d"/></clipPath>' % (ml, mt, pw, ph))
    e('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#888" stroke-width="1.5" stroke-dasharray="6 4" '
      'clip-path="url(#plot)"/>' % (X(0), Y(fa), X(xhi), Y(fa + fb * xhi)))
    # Python pipeline at 15000 x 4
    px = BASE[0] * BASE[2]
    e('<path d="M %.1f %.1f l 6 6 l -6 6 l -6 -6 z" fill="#d62728"/>' % (X(px), Y(py_rss) - 6))
    plabel = "Python pipeline, %s × %d: %.0f" % ("{:,}".format(BASE[0]), BASE[2], py_rss)
    e('<text x="%.1f" y="%.1f" fill="#d62728">%s</text>' % (X(px) + 10, Y(py_rss) + 4, plabel))
    # markers, then labels: beside the marker, moved up or down (with a leader line) until the
    # label overlaps no marker and no other label and stays inside the plot
    boxes = [(X(x) - 5, Y(y) - 5, 10, 10) for x, y, _, _ in pts]
    boxes += [(X(px) - 6, Y(py_rss) - 6, 12, 12), (X(px) + 10, Y(py_rss) - 6, 6.3 * len(plabel), 13)]
    for x, y, p, b in pts:
        e('<circle cx="%.1f" cy="%.1f" r="4.5" fill="%s" stroke="white"/>' % (X(x), Y(y), colours.get(b, "#000")))

    def free(bx, by, bw, bh):
        return (ml <= bx and bx + bw <= ml + pw and mt <= by and by + bh <= mt + ph and
                not any(bx < qx + qw and qx < bx + bw and by < qy + qh and qy < by + bh for qx, qy, qw, qh in boxes))

    for x, y, p, b in pts:
        cx, cy = X(x), Y(y)
        label = "%s × %d: %.0f" % ("{:,}".format(p), b, y)
        wdt = 6.3 * len(label)
        spot = None
        for dy in [0] + [s * k * 13 for k in range(1, 12) for s in (1, -1)]:
            for lx in (cx + 9, cx - 9 - wdt):
                if free(lx, cy + dy - 9, wdt, 13):
                    spot = (lx, cy + dy)
                    break
            if spot:
                break
        lx, ly = spot or (cx + 9, cy)
        boxes.append((lx, ly - 9, wdt, 13))
        if abs(ly - cy) > 1:
            ex = lx if lx > cx else lx + wdt
            e('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#aaa"/>' % (cx, cy, ex, ly - 3))
        e('<text x="%.1f" y="%.1f">%s</text>' % (lx, ly + 1, label))
    # legend
    lx, ly = ml + pw + 15, mt + 10
    e('<text x="%d" y="%d" font-weight="bold">prompt batch</text>' % (lx, ly))
    for i, b in enumerate(sorted(colours)):
        e('<circle cx="%d" cy="%d" r="4.5" fill="%s"/>' % (lx + 5, ly + 18 + 16 * i - 4, colours[b]))
        e('<text x="%d" y="%d">%d</text>' % (lx + 15, ly + 18 + 16 * i, b))
    ly += 18 + 16 * 3 + 8
    e('<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888" stroke-width="1.5" stroke-dasharray="6 4"/>'
      % (lx, ly - 4, lx + 22, ly - 4))
    e('<text x="%d" y="%d">least squares fit:</text>' % (lx + 28, ly))
    e('<text x="%d" y="%d">%.1f MiB + %.2f KiB · x</text>' % (lx, ly + 16, fa, fb * 1024))
    e('<text x="%d" y="%d">R² = %.4f</text>' % (lx, ly + 32, r2))
    ly += 56
    e('<text x="%d" y="%d" font-weight="bold">prompts at %s × %d</text>' % (lx, ly, "{:,}".format(BASE[0]), BASE[2]))
    for i, ((_, k, _), rss) in enumerate(sorted(prompts.items())):
        e('<text x="%d" y="%d">%d prompts: %.1f MiB</text>' % (lx, ly + 16 * (i + 1), k, rss))
    e('<text x="%d" y="%d" fill="#555">labels: points × batch: MiB</text>' % (lx, ly + 16 * (len(prompts) + 2)))
    e('</svg>')
    return "\n".join(o) + "\n"


if __name__ == "__main__":
    main()
