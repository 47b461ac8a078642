#!/usr/bin/python3
"""tinfer benchmark: the figures of SPEC §10, side by side in one run.

    /usr/bin/python3 bench/bench.py [-n 5] [-j 2] [--images 500] [--batch 8] [--out FILE]

Builds the helpers (bench/Makefile -> build/bench/), writes the held-out digits
as PNG files into a temporary folder, then runs every case N times,
interleaved (one of each case per round, the order rotated every round), each
in a fresh process started by build/bench/measure (fork, exec, wait4: wall
time and the child's peak RSS).  Prints a Markdown report with medians and the
ratios against the §10 targets; --out FILE writes the same report to FILE.

See bench/README.md.  Use /usr/bin/python3 (needs numpy and PIL; torch is
only needed by the Python baseline it runs, never imported here).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# BUILD: the build directory, relative to the source root (as for make);
# make check-libtorch2's root uses build-libtorch2 (see bench/README.md).
BUILD = os.path.join(ROOT, os.environ.get("BUILD", "build"))
TINFER = os.path.join(BUILD, "tinfer")
MEASURE = os.path.join(BUILD, "bench", "measure")
MINIMAL = os.path.join(BUILD, "bench", "minimal")
PY = os.environ.get("PYTHON", "/usr/bin/python3")
PY_SCRIPT = os.path.join(ROOT, "bench", "py_classify.py")
MODELS = os.path.join(ROOT, "samples", "models.json")
MODEL_NAME = "digits"
MODEL_FILE = os.path.join(ROOT, "samples", "models", "mnist.pt")
HOLDOUT = os.path.join(ROOT, "samples", "data", "mnist-holdout.npy")
HOLDOUT_LABELS = os.path.join(ROOT, "samples", "data", "mnist-holdout-labels.npy")
ONE_IMAGE = os.path.join(ROOT, "samples", "inputs", "digits", "d0_7.png")

MIB = 1024.0  # ru_maxrss is in KiB


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw).stdout


def build(tinfer):
    if tinfer != TINFER:
        if not os.access(tinfer, os.X_OK):
            raise SystemExit("bench: %s is not an executable" % tinfer)
    elif not (os.access(TINFER, os.X_OK) and os.path.exists(os.path.join(BUILD, "libtinfer_tch.so"))):
        log("bench: building tinfer (make)")
        subprocess.run(["make", "-C", ROOT, "-s", "BUILD=" + os.path.relpath(BUILD, ROOT)], check=True,
                       stdout=sys.stderr)
    log("bench: building %s and %s" % (MINIMAL, MEASURE))
    subprocess.run(["make", "-C", os.path.join(ROOT, "bench"), "-s", "OUT=" + os.path.join(BUILD, "bench")],
                   check=True, stdout=sys.stderr)


def write_pngs(folder, n):
    import numpy as np
    from PIL import Image

    data = np.load(HOLDOUT)
    labels = np.load(HOLDOUT_LABELS) if os.path.exists(HOLDOUT_LABELS) else None
    paths, truth = [], {}
    for i in range(n):
        p = os.path.join(folder, "%04d.png" % i)
        Image.fromarray(data[i % len(data)], mode="L").save(p)
        paths.append(p)
        if labels is not None:
            truth[p] = int(labels[i % len(labels)])
    lst = os.path.join(folder, "..", "list.txt")
    with open(lst, "w") as f:
        f.write("".join(p + "\n" for p in paths))
    return os.path.abspath(lst), truth


class Runner:
    def __init__(self, tmp):
        self.tmp = tmp
        self.k = 0

    def run(self, argv, expect_rc=0, stdout=None, stderr=None):
        """One fresh process: returns (wall_ms, maxrss_MiB)."""
        self.k += 1
        res = os.path.join(self.tmp, "res.txt")
        err = stderr or os.path.join(self.tmp, "stderr.txt")
        cmd = [MEASURE, res, "-o", stdout or "/dev/null", "-e", err, "--"] + argv
        subprocess.run(cmd, check=True)
        with open(res) as f:
            rc, wall, rss = f.read().split()
        if int(rc) != expect_rc:
            with open(err, errors="replace") as f:
                tail = f.read()[-2000:]
            raise SystemExit("bench: %s exited %s (expected %d):\n%s" % (" ".join(argv), rc, expect_rc, tail))
        return float(wall), int(rss) / MIB


def med(xs):
    return statistics.median(xs) if xs else float("nan")


def machine_info(threads):
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        libtorch = sh([MINIMAL, "--version"]).strip()
    except Exception:
        libtorch = "?"
    try:
        deb = sh(["dpkg-query", "-W", "-f", "${Version}", "libtorch-dev"]).strip()
        libtorch += " (Debian libtorch-dev %s)" % deb
    except Exception:
        pass
    try:
        pytorch = sh([PY, "-c", "import torch; print(torch.__version__)"]).strip()
    except Exception:
        pytorch = "?"
    try:
        tver = sh([TINFER, "--version"]).strip()
    except Exception:
        tver = "?"
    with open("/proc/loadavg") as f:
        load = " ".join(f.read().split()[:3])
    mem = "?"
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = "%.1f GiB" % (int(line.split()[1]) / 1024 / 1024)
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu,
        "cores": "%d online, %d usable by this process" % (os.cpu_count(), len(os.sched_getaffinity(0))),
        "mem": mem,
        "kernel": platform.release(),
        "libtorch": libtorch,
        "pytorch": pytorch,
        "tinfer": tver,
        "load": load,
        "threads": threads,
    }



def cleanup(name, tmp, keep):
    """Removes the temporary folder, or says where it was kept."""
    if keep:
        log(f"{name}: kept", tmp)
    else:
        shutil.rmtree(tmp, ignore_errors=True)


def emit(name, report, out):
    """Prints the Markdown report, and writes it to out when given."""
    sys.stdout.write(report)
    if out:
        with open(out, "w") as f:
            f.write(report)
        log(f"{name}: wrote", out)

def main():
    global TINFER
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", "--iterations", type=int, default=5, help="runs of each case (default 5)")
    ap.add_argument("-j", "--threads", type=int, default=2, help="intra-op threads for all three (default 2)")
    ap.add_argument("--images", type=int, default=500, help="images in the batch figures (default 500)")
    ap.add_argument("--batch", type=int, default=8, help="batch size in the batch figures (default 8)")
    ap.add_argument("--out", help="also write the Markdown report to this file")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder (printed)")
    ap.add_argument("--tinfer", default=TINFER,
                    help="the tinfer program to measure (default build/tinfer; its libtinfer_tch.so "
                         "must sit next to it)")
    a = ap.parse_args()
    if a.iterations < 1 or a.threads < 1 or a.images < 1 or a.batch < 1:
        ap.error("counts must be at least 1")

    a.tinfer = os.path.abspath(a.tinfer)
    build(a.tinfer)
    TINFER = a.tinfer
    tmp = tempfile.mkdtemp(prefix="tinfer-bench-")
    try:
        report = bench(a, tmp)
    finally:
        cleanup("bench", tmp, a.keep)
    emit("bench", report, a.out)


def bench(a, tmp):
    J = str(a.threads)
    imgdir = os.path.join(tmp, "images")
    os.mkdir(imgdir)
    log("bench: writing %d PNGs from %s" % (a.images, os.path.relpath(HOLDOUT, ROOT)))
    listfile, truth = write_pngs(imgdir, a.images)
    info = machine_info(a.threads)
    R = Runner(tmp)
    rep = lambda name: os.path.join(tmp, name + ".json")  # noqa: E731

    M = ["--models", MODELS]
    cli = {
        "`tinfer --help`": ([TINFER, "--help"], 0),
        "`tinfer models`": ([TINFER, "models"] + M, 0),
        "`tinfer info -m digits`": ([TINFER, "info"] + M + ["-m", MODEL_NAME], 0),
        "usage error (`tinfer run --bogus`)": ([TINFER, "run", "--bogus"], 2),
    }
    cold = {
        "tinfer": [TINFER, "run"] + M + ["-m", MODEL_NAME, "-j", J, "-q", "--report", rep("cold_tinfer"), ONE_IMAGE],
        "python": [PY, PY_SCRIPT, "--models", MODELS, "-m", MODEL_NAME, "-j", J,
                   "--report", rep("cold_python"), ONE_IMAGE],
        "minimal": [MINIMAL, "-j", J, "one", MODEL_FILE, "1x28x28"],
        "minimal_png": [MINIMAL, "-j", J, "one", MODEL_FILE, "1x28x28", ONE_IMAGE],
    }
    B = str(a.batch)
    batch = {
        "tinfer": [TINFER, "run"] + M + ["-m", MODEL_NAME, "-j", J, "-b", B, "-q", "--report", rep("batch_tinfer"), imgdir],
        "python": [PY, PY_SCRIPT, "--models", MODELS, "-m", MODEL_NAME, "-j", J, "-b", B,
                   "--report", rep("batch_python"), imgdir],
        "minimal": [MINIMAL, "-j", J, "batch", MODEL_FILE, "1x28x28", B, listfile,
                    repr(1 / 255), "0.1307", "0.3081"],
    }

    # Warm-up (not counted): fills the page cache, and checks that tinfer and
    # the Python script agree on the 500 images.
    log("bench: warm-up and agreement check")
    out_t, out_p = os.path.join(tmp, "tinfer.jsonl"), os.path.join(tmp, "python.jsonl")
    for name, (argv, rc) in cli.items():
        R.run(argv, rc)
    for argv in cold.values():
        R.run(argv)
    R.run(batch["tinfer"], stdout=out_t)
    R.run(batch["python"], stdout=out_p)
    R.run(batch["minimal"])
    agree = check_agreement(out_t, out_p, truth)

    # Timed rounds: one run of every case per round, order rotated each round.
    cases = [("cli", k) for k in cli] + [("cold", k) for k in cold] + [("batch", k) for k in batch]
    res = {c: [] for c in cases}
    reports = {k: [] for k in ("cold_tinfer", "cold_python", "batch_tinfer", "batch_python", "batch_minimal")}
    mini_out = os.path.join(tmp, "minimal.out")
    for it in range(a.iterations):
        log("bench: round %d/%d (load %s)" % (it + 1, a.iterations, open("/proc/loadavg").read().split()[0]))
        order = cases[it % len(cases):] + cases[:it % len(cases)]
        for grp, k in order:
            if grp == "cli":
                argv, rc = cli[k]
                res[(grp, k)].append(R.run(argv, rc))
            elif grp == "cold":
                res[(grp, k)].append(R.run(cold[k]))
                if k in ("tinfer", "python"):
                    reports["cold_" + k].append(load_json(rep("cold_" + k)))
            else:
                res[(grp, k)].append(R.run(batch[k], stdout=mini_out if k == "minimal" else None))
                if k == "minimal":
                    reports["batch_minimal"].append(parse_kv(mini_out))
                else:
                    reports["batch_" + k].append(load_json(rep("batch_" + k)))
    return render(a, info, cli, res, reports, agree)


def load_json(path):
    with open(path) as f:
        return json.load(f)


def parse_kv(path):
    with open(path) as f:
        return {k: float(v) for k, v in (w.split("=") for w in f.read().split())}


def check_agreement(out_t, out_p, truth):
    def top1(path):
        d = {}
        with open(path) as f:
            for line in f:
                r = json.loads(line)
                if r.get("ok"):
                    d[os.path.abspath(r["input"])] = r["top"][0]["index"]
        return d

    t, p = top1(out_t), top1(out_p)
    n = len(truth) or len(t)
    same = sum(1 for k in t if k in p and t[k] == p[k])
    acc = sum(1 for k, v in t.items() if truth.get(k) == v)
    return {"n": n, "tinfer_ok": len(t), "python_ok": len(p), "same_top1": same, "tinfer_correct": acc}


def render(a, info, cli, res, reports, agree):
    N = a.iterations
    L = []
    w = L.append
    w("## tinfer benchmark (SPEC §10)\n")
    w("- date: %s" % info["date"])
    w("- machine: %s, %s, %s RAM, Linux %s; load average at start %s" %
      (info["cpu"], info["cores"], info["mem"], info["kernel"], info["load"]))
    w("- libtorch %s (tinfer and the minimal C++ program); Python baseline: %s, torch %s" %
      (info["libtorch"], PY, info["pytorch"]))
    w("- %s; model `digits` (samples/models/mnist.pt); %d intra-op thread(s) for all three programs; "
      "batch figures: %d PNG images (held-out digits) at batch %d" % (info["tinfer"], a.threads, a.images, a.batch))
    w("- every figure is the median of %d runs, each a fresh process, interleaved round by round; "
      "wall = fork to exit as seen by the parent, RSS = the child's peak (wait4 ru_maxrss)" % N)
    w("- \"cold\" = a new process each time, with the OS page cache warm (one untimed warm-up run "
      "of every case first; caches are not dropped); this is a shared, noisy machine: "
      "read ratios, not absolute times")
    w("- peak RSS counts every resident page, including the pages of libtorch's shared libraries each "
      "process touched (most of the ~170 MiB of all three); the differences are what the program adds\n")

    def verdict(ok):
        return "yes" if ok else "**no**"

    w("| figure | tinfer | Python script | minimal C++ | measured | target | met |")
    w("|---|---:|---:|---:|---:|---|---|")
    for k in cli:
        ms = med([x[0] for x in res[("cli", k)]])
        rss = med([x[1] for x in res[("cli", k)]])
        w("| %s: wall | %.1f ms | | | %.2f × target | < 20 ms | %s |" % (k, ms, ms / 20, verdict(ms < 20)))
        w("| %s: peak RSS | %.1f MiB | | | %.2f × target | < 16 MiB | %s |" % (k, rss, rss / 16, verdict(rss < 16)))

    def col(grp, k, i):
        return [x[i] for x in res[(grp, k)]]

    def paired(grp, k1, k2, i, op):
        v = [op(x[i], y[i]) for x, y in zip(res[(grp, k1)], res[(grp, k2)])]
        return min(v), max(v)

    ct, cp, cm = (med(col("cold", k, 0)) for k in ("tinfer", "python", "minimal"))
    r1, r2 = ct / cp, ct / cm
    lo1, hi1 = paired("cold", "tinfer", "python", 0, lambda x, y: x / y)
    lo2, hi2 = paired("cold", "tinfer", "minimal", 0, lambda x, y: x / y)
    w("| cold run, 1 image: wall | %.0f ms | %.0f ms | %.0f ms | %.2f × Python (rounds %.2f–%.2f) | ≤ 0.55 × Python | %s |"
      % (ct, cp, cm, r1, lo1, hi1, verdict(r1 <= 0.55)))
    w("| cold run, 1 image: wall | | | | %.2f × minimal (rounds %.2f–%.2f) | ≤ 1.15 × minimal | %s |"
      % (r2, lo2, hi2, verdict(r2 <= 1.15)))

    bt, bp, bm = (med(col("batch", k, 1)) for k in ("tinfer", "python", "minimal"))
    r3, d4 = bt / bp, bt - bm
    lo3, hi3 = paired("batch", "tinfer", "python", 1, lambda x, y: x / y)
    lo4, hi4 = paired("batch", "tinfer", "minimal", 1, lambda x, y: x - y)
    w("| peak RSS, %d images, batch %d | %.1f MiB | %.1f MiB | %.1f MiB | %.2f × Python (rounds %.2f–%.2f) | ≤ 0.75 × Python | %s |"
      % (a.images, a.batch, bt, bp, bm, r3, lo3, hi3, verdict(r3 <= 0.75)))
    w("| peak RSS, %d images, batch %d | | | | %+.1f MiB over minimal (rounds %+.1f–%+.1f) | ≤ +24 MiB | %s |"
      % (a.images, a.batch, d4, lo4, hi4, verdict(d4 <= 24)))

    n = a.images
    et, ep, em = (n / (med(col("batch", k, 0)) / 1e3) for k in ("tinfer", "python", "minimal"))
    w("| throughput, %d images, batch %d, whole process | %.0f img/s | %.0f img/s | %.0f img/s | %.2f × Python, %.2f × minimal | (none for this model) | |"
      % (n, a.batch, et, ep, em, et / ep, et / em))
    st = med([r["ok"] / ((r["time_ms"]["total"] - r["time_ms"]["startup"] - r["time_ms"]["load"]) / 1e3)
              for r in reports["batch_tinfer"]])
    sp = med([r["items_per_s"] for r in reports["batch_python"]])
    sm = med([r["images_per_s"] for r in reports["batch_minimal"]])
    w("| throughput, same run, after the model is loaded¹ | %.0f img/s | %.0f img/s | %.0f img/s | %.2f × Python, %.2f × minimal | | |"
      % (st, sp, sm, st / sp, st / sm))

    w("\n¹ images / time from the end of the model load to the end of the run, as each program measures "
      "it (tinfer: from its `--report` time_ms, total − startup − load; its own `items_per_s` counts the "
      "load too). Includes decode, preprocessing, forward and output, and the first, slower TorchScript "
      "profiling runs.\n")

    # Details: spread of every case, and where the time goes.
    w("### Details (median, min–max over %d runs)\n" % N)
    w("| case | wall ms | peak RSS MiB |")
    w("|---|---:|---:|")
    names = {("cold", "tinfer"): "cold, 1 image: tinfer run",
             ("cold", "python"): "cold, 1 image: Python script",
             ("cold", "minimal"): "cold, 1 image: minimal C++, load + one forward on zeros (the baseline)",
             ("cold", "minimal_png"): "cold, 1 image: minimal C++, load + libpng decode + one forward (for reference)",
             ("batch", "tinfer"): "%d images, batch %d: tinfer run" % (a.images, a.batch),
             ("batch", "python"): "%d images, batch %d: Python script" % (a.images, a.batch),
             ("batch", "minimal"): "%d images, batch %d: minimal C++ (libpng decode, nearest resize)"
                                   % (a.images, a.batch)}
    for (grp, k), xs in res.items():
        label = k if grp == "cli" else names[(grp, k)]
        wall, rss = [x[0] for x in xs], [x[1] for x in xs]
        w("| %s | %.1f (%.1f–%.1f) | %.1f (%.1f–%.1f) |" % (label, med(wall), min(wall), max(wall),
                                                          med(rss), min(rss), max(rss)))

    def tm(key, field):
        return med([r["time_ms"][field] for r in reports[key]])

    def rb(key, field):
        return med([r["ram_bytes"][field] or 0 for r in reports[key]]) / 2**20

    w("\nInside the processes (medians):\n")
    w("- tinfer cold run report: startup %.1f ms, load (dlopen libtorch + torch::jit::load) %.0f ms, "
      "first result %.0f ms, total %.0f ms; RAM start %.1f MiB, after load %.1f MiB, peak %.1f MiB"
      % (tm("cold_tinfer", "startup"), tm("cold_tinfer", "load"), tm("cold_tinfer", "first_result"),
         tm("cold_tinfer", "total"), rb("cold_tinfer", "start"), rb("cold_tinfer", "after_load"),
         rb("cold_tinfer", "peak")))
    w("- Python cold run: `import torch` + PIL + numpy %.0f ms, torch.jit.load %.0f ms, then %.0f ms to the result"
      % (med([r["startup_ms"] for r in reports["cold_python"]]), med([r["load_ms"] for r in reports["cold_python"]]),
         med([r["loop_ms"] for r in reports["cold_python"]])))
    w("- tinfer %d-image run report: load %.0f ms, first result %.0f ms, total %.0f ms; RAM after load %.1f MiB, "
      "peak %.1f MiB" % (a.images, tm("batch_tinfer", "load"), tm("batch_tinfer", "first_result"),
                         tm("batch_tinfer", "total"), rb("batch_tinfer", "after_load"), rb("batch_tinfer", "peak")))
    w("- Python %d-image run: start-up %.0f ms, load %.0f ms, loop %.0f ms" %
      (a.images, med([r["startup_ms"] for r in reports["batch_python"]]),
       med([r["load_ms"] for r in reports["batch_python"]]), med([r["loop_ms"] for r in reports["batch_python"]])))
    w("- minimal C++ %d-image run: load %.0f ms (after the dynamic linker has mapped libtorch), loop %.0f ms" %
      (a.images, med([r["load_ms"] for r in reports["batch_minimal"]]),
       med([r["loop_ms"] for r in reports["batch_minimal"]])))
    def best(grp, k, i):
        return min(x[i] for x in res[(grp, k)])

    w("- best of %d instead of median: cold wall %.2f × Python, %.2f × minimal; %d-image peak RSS "
      "%.2f × Python, %+.1f MiB over minimal; %d-image wall %.2f × Python, %.2f × minimal"
      % (N, best("cold", "tinfer", 0) / best("cold", "python", 0), best("cold", "tinfer", 0) / best("cold", "minimal", 0),
         a.images, best("batch", "tinfer", 1) / best("batch", "python", 1),
         best("batch", "tinfer", 1) - best("batch", "minimal", 1), a.images,
         best("batch", "tinfer", 0) / best("batch", "python", 0), best("batch", "tinfer", 0) / best("batch", "minimal", 0)))
    w("- agreement on the %d images (warm-up run): tinfer ok %d, Python ok %d, same top-1 %d, tinfer top-1 "
      "correct vs labels %d" % (agree["n"], agree["tinfer_ok"], agree["python_ok"], agree["same_top1"],
                                agree["tinfer_correct"]))
    return "\n".join(L) + "\n"


if __name__ == "__main__":
    main()
