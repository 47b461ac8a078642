# tinfer bench: configurations, percentiles consistent with the samples,
# formats, the --baseline gate, and --memory-trace / --plot (bench and run).
. tests/cli/lib.sh

# expect, keeping every stdout and stderr for the check that no number is
# ever written in e-notation (at the end)
xpect() {
	expect "$@"
	cat "$TMP/out" "$TMP/err" >>"$TMP/all-output"
}

xpect bench-json 0 "$T" bench -m digits -j 1 -b 1,4 --warmup 1 --iters 7
"$PY" - "$TMP/out" <<'PYEOF'
import json, math, sys
r = json.load(open(sys.argv[1]))
def check(c, name, why):
    print(f"PASS {name}" if c else f"FAIL {name}: {why}")
check([x["batch_size"] for x in r["results"]] == [1, 4], "json/one-result-per-batch-size", r["results"])
for x in r["results"]:
    l, s = x["latency_ms"], sorted(x["samples_ms"])
    n = len(s)
    rank = lambda q: s[max(0, math.ceil(q * n) - 1)]
    b = x["batch_size"]
    check(n == 7 and l["min"] <= l["p50"] <= l["p90"] <= l["p99"] <= l["max"], f"b{b}/percentiles-ordered", l)
    check(l["min"] == s[0] and l["max"] == s[-1] and l["p50"] == rank(0.5) and l["p90"] == rank(0.9) and
          l["p99"] == rank(0.99), f"b{b}/percentiles-from-samples", (l, s))
    check(abs(l["mean"] - sum(s) / n) < 1e-2, f"b{b}/mean", l)
    check(abs(x["items_per_s"] - b * 1000 / l["mean"]) / x["items_per_s"] < 0.01, f"b{b}/items-per-s", x["items_per_s"])
    check(x["ram_bytes"]["peak"] > 100 * 2**20 and (x["vram_bytes"]["peak_allocated"] is None) == (r["device"] == "cpu"), f"b{b}/memory", x["ram_bytes"])
check(len(r["sha256"]) == 64 and r["file_bytes"] > 0 and r["libtorch"] and r["cpu"] and r["device"] in ("cpu", "cuda:0") and
      r["input"] == "synthetic" and r["time_ms"]["load"] > 0, "json/configuration", {k: r[k] for k in ("sha256", "cpu")})
import hashlib
check(r["sha256"] == hashlib.sha256(open(r["file"], "rb").read()).hexdigest(), "json/sha256-of-the-model", r["sha256"])
PYEOF
cp "$TMP/out" "$TMP/base.json"

xpect bench-jsonl 0 "$T" bench -m digits -j 1 -b 2,3 --warmup 0 --iters 3 --format jsonl --input "$DIGITS/d0_7.png"
records jsonl/one-object-per-configuration "$TMP/out" \
	'len(R) == 2 and [r["batch_size"] for r in R] == [2, 3] and all(r["input"].endswith("d0_7.png") and r["model"] == "digits" for r in R)'
records jsonl/nested-fields-merged "$TMP/out" \
	'all(r["time_ms"]["load"] > 0 and r["time_ms"]["first_inference"] > 0 and r["ram_bytes"]["after_load"] <= r["ram_bytes"]["peak"] for r in R)'
xpect bench-md 0 "$T" bench -m digits -j 1 -b 1 --iters 3 --format md
grep_in md/table "$TMP/out" '^\| 1 \| [0-9.]+ \| [0-9.]+ \|'
if grep -q 'points' "$TMP/out"; then fail md/no-knob-columns "a classifier's table has segment columns"; else pass md/no-knob-columns; fi

# the gate: generous tolerance against its own earlier result (this machine is
# shared and noisy), and a failure against a doctored, much better baseline
xpect baseline-pass 0 "$T" bench -m digits -j 1 -b 1,4 --warmup 1 --iters 7 --baseline "$TMP/base.json" --tolerance 100000
# doctor NAME EXPR: $TMP/NAME.json is base.json with EXPR (Python over r, the
# result, and scale(figure, factor), which scales a figure everywhere) applied
doctor() { # (written by Python's json, which has e-notation: the scan below skips them)
	echo "$TMP/$1.json" >>"$TMP/doctored"
	"$PY" - "$TMP/base.json" "$TMP/$1.json" "$2" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
def scale(key, f):
    for x in r["results"]:
        fig = x["figures"][key]
        for k in ("median", "mad", "min", "max"):
            fig[k] = type(fig[k])(fig[k] * f)
        fig["values"] = [type(v)(v * f) for v in fig["values"]]
        if key == "p50_ms":
            x["latency_ms"]["p50"] = fig["median"]
        elif key == "items_per_s":
            x["items_per_s"] = fig["median"]
        elif key == "peak_rss_bytes":
            x["ram_bytes"]["peak"] = fig["median"]
exec(sys.argv[3])
json.dump(r, open(sys.argv[2], "w"))
PYEOF
}
doctor better 'scale("p50_ms", 1 / 1000); scale("items_per_s", 1000)'
xpect baseline-fail 1 "$T" bench -m digits -j 1 -b 1,4 --warmup 1 --iters 7 --baseline "$TMP/better.json"
grep_in baseline-fail/differences "$TMP/err" 'regression at batch 4: p50 latency [0-9.]+ ms, baseline [0-9.]+ ms'
xpect baseline-unrelated 1 "$T" bench -m digits -j 1 -b 2 --iters 2 --baseline "$TMP/base.json" --allow-missing
grep_in baseline-unrelated/message "$TMP/err" 'no configuration in common'

# --results gates an earlier result without running: exact, so exact cases
# (tolerance 0, 2x, half the memory) are tested without timing noise
"$PY" -c "
import json, sys
r = json.load(open('$TMP/base.json'))
res = r.pop('results')
with open('$TMP/jsonl-base', 'w') as f:
    for x in res:
        f.write(json.dumps({**r, **x}) + '\\n')"
xpect self-tolerance-0 0 "$T" bench --results "$TMP/base.json" --baseline "$TMP/base.json" --tolerance 0
if grep -q regression "$TMP/err"; then fail self-tolerance-0/no-flag "$(cat "$TMP/err")"; else pass self-tolerance-0/no-flag; fi
"$PY" - "$TMP/out" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
vs = [v for x in r["results"] for v in x["vs_baseline"].values()]
ok = len(vs) == 6 and all(v["verdict"] == "ok" and v["delta_pct"] == 0 and v["delta"] == 0 for v in vs) and \
    r["baseline"]["pass"] is True and r["baseline"]["regressions"] == 0 and r["baseline"]["missing"] == []
print("PASS self-tolerance-0/json" if ok else f"FAIL self-tolerance-0/json: {r['baseline']}, {vs}")
PYEOF
xpect self-jsonl 0 "$T" bench --results "$TMP/jsonl-base" --baseline "$TMP/base.json" --tolerance 0
records self-jsonl/compared "$TMP/out" 'R[0]["baseline"]["pass"] and R[0]["results"][0]["vs_baseline"]["p50_ms"]["verdict"] == "ok" and "latency_ms" not in R[0]'
doctor twice 'scale("items_per_s", 2)'
xpect twice-throughput 1 "$T" bench --results "$TMP/base.json" --baseline "$TMP/twice.json"
grep_in twice-throughput/message "$TMP/err" '^tinfer: regression at batch 1: items/s [0-9.]+, baseline [0-9.]+ \(-50\.0%, tolerance 10%\)$'
records twice-throughput/json "$TMP/out" 'R[0]["results"][0]["vs_baseline"]["items_per_s"]["verdict"] == "regression" and R[0]["baseline"]["pass"] is False'
doctor halfram 'scale("peak_rss_bytes", 0.5)'
xpect half-rss 1 "$T" bench --results "$TMP/base.json" --baseline "$TMP/halfram.json" --tolerance 100000 --memory-tolerance 10
grep_in half-rss/message "$TMP/err" 'regression at batch 4: peak RSS [0-9.]+ MiB, baseline [0-9.]+ MiB \(\+100\.0%, tolerance 10%\)'
xpect half-rss-tolerated 0 "$T" bench --results "$TMP/base.json" --baseline "$TMP/halfram.json" --memory-tolerance 150
# memory is stable enough to gate a real run against it; time is left loose
xpect half-rss-run 1 "$T" bench -m digits -j 1 -b 1,4 --warmup 1 --iters 3 --baseline "$TMP/halfram.json" \
	--tolerance 100000 --memory-tolerance 10
grep_in half-rss-run/message "$TMP/err" 'regression at batch 1: peak RSS'
# beyond the tolerance but inside the spread of the repeats: noise, not a regression
"$PY" - "$TMP/base.json" "$TMP/noisy.json" "$TMP/noisybase.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
b = json.loads(json.dumps(r))
for x, y in zip(r["results"], b["results"]):
    m = x["figures"]["p50_ms"]["median"]
    x["figures"]["p50_ms"].update(median=m * 1.5, min=m * 0.9, max=m * 2)
    y["figures"]["p50_ms"].update(median=m, min=m * 0.8, max=m * 1.2)
json.dump(r, open(sys.argv[2], "w"))
json.dump(b, open(sys.argv[3], "w"))
PYEOF
xpect within-noise 0 "$T" bench --results "$TMP/noisy.json" --baseline "$TMP/noisybase.json"
grep_in within-noise/message "$TMP/err" 'p50 latency .*\(\+50\.0%\): within the noise'

# refuse what cannot be compared: exit 2 naming the field and both values, before measuring
xpect faces-base 0 "$T" bench -m faces -b 1 --warmup 0 --iters 1 -j 1
cp "$TMP/out" "$TMP/faces.json"
xpect faces-vs-digits 2 "$T" bench -m digits -j 1 -b 1 --iters 2 --baseline "$TMP/faces.json"
grep_in faces-vs-digits/message "$TMP/err" "sha256 of the model \(baseline 'faces', this run 'digits'\) [0-9a-f]{64} \(baseline\) vs [0-9a-f]{64} \(this run\)"
grep_in faces-vs-digits/task "$TMP/err" 'task detect \(baseline\) vs classify \(this run\)'
empty faces-vs-digits/nothing-measured "$TMP/out"
doctor fp16 'r["dtype"] = "fp16"'
xpect other-dtype 2 "$T" bench -m digits -j 1 -b 1,4 --iters 2 --baseline "$TMP/fp16.json"
grep_in other-dtype/message "$TMP/err" "^tinfer: --baseline '.*fp16.json' is not comparable with this run: dtype fp16 \(baseline\) vs fp32 \(this run\) \(--compare-any compares anyway\)$"
doctor threads 'r["threads"] = 64'
xpect other-threads 2 "$T" bench --results "$TMP/base.json" --baseline "$TMP/threads.json"
grep_in other-threads/message "$TMP/err" 'threads 64 \(baseline\) vs [0-9]+ \(this run\)'
doctor libtorch 'r["libtorch"] = "0.4.1"; r["autocast"] = True; r["device"] = "cuda:0"'
xpect other-libtorch 2 "$T" bench --results "$TMP/base.json" --baseline "$TMP/libtorch.json"
grep_in other-libtorch/message "$TMP/err" 'device cuda:0 \(baseline\) vs cpu \(this run\); autocast true \(baseline\) vs false \(this run\); libtorch 0.4.1 \(baseline\) vs [0-9.]+ \(this run\)'
xpect compare-any 0 "$T" bench --results "$TMP/base.json" --baseline "$TMP/threads.json" --compare-any
grep_in compare-any/said "$TMP/err" '^tinfer: warning: --compare-any: comparing with a baseline measured on something else: threads 64'
records compare-any/json "$TMP/out" 'R[0]["baseline"]["compare_any"] is True and [d["field"] for d in R[0]["baseline"]["differences"]] == ["threads"] and R[0]["baseline"]["differences"][0]["baseline"] == 64'
xpect compare-any-run 0 "$T" bench -m digits -j 1 -b 1,4 --iters 2 --baseline "$TMP/fp16.json" --compare-any --tolerance 100000
records compare-any-run/json "$TMP/out" '[d["field"] for d in R[0]["baseline"]["differences"]] == ["dtype"]'
echo '{"not": "a bench result"}' >"$TMP/junk.json"
xpect junk-baseline 2 "$T" bench -m digits -j 1 --iters 1 --baseline "$TMP/junk.json"
grep_in junk-baseline/message "$TMP/err" 'no bench results in it'
xpect results-needs-baseline 2 "$T" bench --results "$TMP/base.json"

# configurations of the baseline the run lacks: listed, and the gate fails unless allowed
doctor three 'import copy; x = copy.deepcopy(r["results"][1]); x["batch_size"] = 32; r["results"].append(x)'
xpect missing 1 "$T" bench --results "$TMP/base.json" --baseline "$TMP/three.json"
grep_in missing/listed "$TMP/err" '^tinfer: --baseline has batch 32, which this run did not measure'
records missing/json "$TMP/out" 'R[0]["baseline"]["missing"] == [{"batch_size": 32}] and R[0]["baseline"]["pass"] is False'
xpect missing-allowed 0 "$T" bench --results "$TMP/base.json" --baseline "$TMP/three.json" --allow-missing
records missing-allowed/json "$TMP/out" 'R[0]["baseline"]["missing"] == [{"batch_size": 32}] and R[0]["baseline"]["pass"] is True'
xpect missing-run 1 "$T" bench -m digits -j 1 -b 1,4 --iters 2 --baseline "$TMP/three.json" --tolerance 100000
grep_in missing-run/listed "$TMP/err" 'batch 32, which this run did not measure'
xpect missing-run-allowed 0 "$T" bench -m digits -j 1 -b 1,4 --iters 2 --baseline "$TMP/three.json" --tolerance 100000 --allow-missing

# Markdown with a baseline: its value and the change per figure, and the verdict
xpect md-baseline 1 "$T" bench --results "$TMP/base.json" --baseline "$TMP/twice.json" --format md
grep_in md-baseline/columns "$TMP/out" '\| base p50 ms \| Δ p50 \| base items/s \| Δ items/s \| base RSS MiB \| Δ RSS \| gate \|'
grep_in md-baseline/row "$TMP/out" '^\| 1 \| .* \| -50\.0% \| .* \*\*regression\*\*: items/s \|$'
grep_in md-baseline/verdict "$TMP/out" '^baseline .*twice.json: \*\*FAIL\*\*; tolerance 10%, memory 10%$'

# --repeat: each figure's median and spread over the repeats; bounded, parsed strictly
xpect repeat 0 "$T" bench -m digits -j 1 -b 1 --warmup 0 --iters 3 --repeat 3 --format jsonl
records repeat/figures "$TMP/out" 'all(len(f["values"]) == 3 and f["min"] <= f["median"] <= f["max"] and sorted(f["values"])[1] == f["median"] and f["mad"] >= 0 for f in (R[0]["figures"][k] for k in ("p50_ms", "items_per_s", "peak_rss_bytes")))'
records repeat/integers "$TMP/out" 'all(isinstance(v, int) for v in R[0]["figures"]["peak_rss_bytes"]["values"]) and R[0]["figures"]["peak_vram_bytes"] is None'
records repeat/headline-is-median "$TMP/out" 'R[0]["latency_ms"]["p50"] == R[0]["figures"]["p50_ms"]["median"] and R[0]["items_per_s"] == R[0]["figures"]["items_per_s"]["median"] and len(R[0]["samples_ms"]) == 9 and R[0]["repeat"] == 3'
xpect repeat-0 2 "$T" bench -m digits -j 1 --repeat 0
xpect repeat-junk 2 "$T" bench -m digits -j 1 --repeat 3x
xpect repeat-huge 2 "$T" bench -m digits -j 1 --repeat 1001

# provenance: when, where, what, and the command line
"$PY" - "$TMP/base.json" <<'PYEOF'
import json, re, sys, datetime, socket, os
r = json.load(open(sys.argv[1]))
ok = re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", r["when"]) is not None
when = datetime.datetime.strptime(r["when"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
ok = ok and abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds()) < 3600
print("PASS provenance/when" if ok else f"FAIL provenance/when: {r['when']}")
ok = r["host"] == socket.gethostname() and r["cores"] == os.cpu_count() and r["cpu"] and r["cpu"] != "unknown"
print("PASS provenance/host-cpu" if ok else f"FAIL provenance/host-cpu: {r['host']} {r['cores']} {r['cpu']}")
ok = r["command"][1:] == ["bench", "-m", "digits", "-j", "1", "-b", "1,4", "--warmup", "1", "--iters", "7"] and r["command"][0].endswith("tinfer")
print("PASS provenance/command" if ok else f"FAIL provenance/command: {r['command']}")
ok = r["version"] and len(r["sha256"]) == 64 and r["file_bytes"] == os.path.getsize(r["file"]) and r["libtorch"]
print("PASS provenance/model" if ok else f"FAIL provenance/model: {r}")
PYEOF

# --input: any numeric dtype and shape `run` takes, batched along a new first axis
"$PY" tests/cli/make_models.py "$TMP" || fail make-models "could not build the test models"
"$PY" -c "import numpy as np; np.save('$TMP/f64.npy', np.arange(6, dtype=np.float64).reshape(2, 3)); np.save('$TMP/u16.npy', np.zeros(3, np.uint16))"
xpect input-int64 0 "$T" bench -m "$TMP/ints.pt" --task embed --input "$TMP/ids0.npy" -b 1,3 --warmup 0 --iters 2 --format jsonl
records input-int64/json "$TMP/out" '[r["batch_size"] for r in R] == [1, 3] and all(r["input_dtype"] == "int64" and r["items_per_s"] > 0 for r in R)'
xpect input-float64 0 "$T" bench -m "$TMP/raw.pt" --input "$TMP/f64.npy" -b 2 --warmup 0 --iters 2
records input-float64/json "$TMP/out" 'R[0]["input_dtype"] == "float64" and R[0]["results"][0]["batch_size"] == 2'
xpect input-uint16 2 "$T" bench -m "$TMP/raw.pt" --input "$TMP/u16.npy" --iters 1
grep_in input-uint16/message "$TMP/err" "--input '.*u16.npy': unsupported tensor dtype uint16"

# a failed write is a failed run
if [ -w /dev/full ]; then
	"$T" bench -m digits -j 1 -b 1 --iters 1 --warmup 0 >/dev/full 2>"$TMP/err"
	rc=$?
	if [ $rc -eq 5 ]; then pass write-error/full; else fail write-error/full "exit $rc: $(cat "$TMP/err")"; fi
fi

# numbers written plainly everywhere: no e-notation (printf's and jansson's
# 1.7e+08, 1e-05) in any stdout, stderr or JSON file tinfer wrote in this test
if grep -Eo '.{0,20}[0-9][eE][+-][0-9]+.{0,5}' "$TMP"/all-output \
	$(for f in "$TMP"/*.json; do grep -qxF "$f" "$TMP/doctored" || echo "$f"; done) >"$TMP/enotation"; then
	fail plain-numbers "$(head -3 "$TMP/enotation")"
else
	pass plain-numbers
fi

# segment models sweep points x prompt batch in one process
xpect bench-segment 0 "$T" bench -m parts --points 1000,2000 --prompt-batch 1,4 --prompts 8 --warmup 0 --iters 2 \
	--format jsonl
records segment/sweep "$TMP/out" \
	'[(r["points"], r["prompt_batch"]) for r in R] == [(1000, 1), (1000, 4), (2000, 1), (2000, 4)] and all(r["task_settings"]["prompts"] == 8 for r in R)'
xpect segment-no-batch 2 "$T" bench -m parts -b 4 --iters 1
xpect classify-no-points 2 "$T" bench -m digits -j 1 --points 100 --iters 1
xpect run-no-list 2 "$T" run -m digits -b 1,2 "$DIGITS/d0_7.png"
xpect tensor-model-needs-input 2 "$T" bench -m "$SAMPLES/models/parts.pt" --task raw --iters 1

# --memory-trace: its peak is the report's, and --plot draws well-formed SVG
xpect trace-run 0 "$T" run -m digits -b 4 --memory-trace "$TMP/t.csv" --plot "$TMP/t.svg" --report "$TMP/r.json" "$DIGITS"
"$PY" - "$TMP" <<'PYEOF'
import csv, json, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
rows = list(csv.DictReader(open(f"{d}/t.csv")))
peak = max(int(r["peak_rss_bytes"]) for r in rows)
rep = json.load(open(f"{d}/r.json"))["ram_bytes"]["peak"]
print("PASS trace/peak-matches-report" if abs(peak - rep) / rep < 0.05 else f"FAIL trace/peak-matches-report: {peak} vs {rep}")
phases = [r["phase"] for r in rows]
ok = all(p in phases for p in ("start", "load", "first batch", "steady")) and \
    phases.index("load") < phases.index("first batch") < phases.index("steady")
print("PASS trace/phases-in-order" if ok else f"FAIL trace/phases-in-order: {sorted(set(phases))}")
t = [float(r["t_ms"]) for r in rows]
print("PASS trace/time-increases" if t == sorted(t) and len(t) > 3 else "FAIL trace/time-increases")
root = ET.parse(f"{d}/t.svg").getroot()
ok = root.tag.endswith("svg") and len(root.findall(".//{http://www.w3.org/2000/svg}polyline")) >= 2
print("PASS plot/well-formed-svg" if ok else "FAIL plot/well-formed-svg")
PYEOF
xpect trace-bench 0 "$T" bench -m digits -j 1 -b 8 --iters 3 --memory-trace "$TMP/b.csv"
grep_in trace-bench/csv "$TMP/b.csv" '^t_ms,rss_bytes,peak_rss_bytes,vram_allocated_bytes,vram_reserved_bytes,phase$'
xpect plot-needs-trace 2 "$T" run -m digits --plot "$TMP/x.svg" "$DIGITS/d0_7.png"

# plots: no two phase labels overlap, for a short run (start and load a
# fraction of a pixel apart) and for one with many configurations
xpect plot-bench-short 0 "$T" bench -m digits -j 1 -b 1 --warmup 1 --iters 1 --memory-trace "$TMP/p1.csv" --plot "$TMP/p1.svg"
xpect plot-bench-many 0 "$T" bench -m digits -j 1 -b 1,2,3,4,5,6,7,8 --warmup 1 --iters 2 --repeat 2 \
	--memory-trace "$TMP/p2.csv" --plot "$TMP/p2.svg"
"$PY" - "$TMP" <<'PYEOF'
import csv, sys
import xml.etree.ElementTree as ET
d = sys.argv[1]
for name, svg, trace in (("short", "p1.svg", "p1.csv"), ("many", "p2.svg", "p2.csv"), ("run", "t.svg", "t.csv")):
    root = ET.parse(f"{d}/{svg}").getroot()
    boxes = []
    for t in root.iter("{http://www.w3.org/2000/svg}text"):
        if t.get("class") != "phase":
            continue
        fs, x, y = float(t.get("font-size")), float(t.get("x")), float(t.get("y"))
        w = 0.6 * fs * len(t.text)  # a sans-serif face's average advance, digits and lower case
        a = {"start": x, "end": x - w, "middle": x - w / 2}[t.get("text-anchor", "start")]
        boxes.append((a, a + w, y - 0.95 * fs, y + 0.25 * fs, t.text))  # ascent, descent
    clash = [(p[4], q[4]) for i, p in enumerate(boxes) for q in boxes[i + 1:]
             if p[0] < q[1] and q[0] < p[1] and p[2] < q[3] and q[2] < p[3]]
    phases = []
    for r in csv.DictReader(open(f"{d}/{trace}")):
        if not phases or phases[-1] != r["phase"]:
            phases.append(r["phase"])
    labelled = [b[4] for b in boxes]
    ok = not clash and len(boxes) >= 2 and labelled[:2] == ["start", "load"] and set(labelled) <= set(phases)
    print(f"PASS plot/{name}/labels-apart" if ok else f"FAIL plot/{name}/labels-apart: {clash or labelled}")
PYEOF
