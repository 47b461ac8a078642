# tinfer bench: configurations, percentiles consistent with the samples,
# formats, the --baseline gate, and --memory-trace / --plot (bench and run).
. tests/cli/lib.sh

expect bench-json 0 "$T" bench -m digits -b 1,4 --warmup 1 --iters 7
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

expect bench-jsonl 0 "$T" bench -m digits -b 2,3 --warmup 0 --iters 3 --format jsonl --input "$DIGITS/d0_7.png"
records jsonl/one-object-per-configuration "$TMP/out" \
	'len(R) == 2 and [r["batch_size"] for r in R] == [2, 3] and all(r["input"].endswith("d0_7.png") and r["model"] == "digits" for r in R)'
records jsonl/nested-fields-merged "$TMP/out" \
	'all(r["time_ms"]["load"] > 0 and r["time_ms"]["first_inference"] > 0 and r["ram_bytes"]["after_load"] <= r["ram_bytes"]["peak"] for r in R)'
expect bench-md 0 "$T" bench -m digits -b 1 --iters 3 --format md
grep_in md/table "$TMP/out" '^\| 1 \| [0-9.]+ \| [0-9.]+ \|'
if grep -q 'points' "$TMP/out"; then fail md/no-knob-columns "a classifier's table has segment columns"; else pass md/no-knob-columns; fi

# the gate: generous tolerance against its own earlier result (this machine is
# shared and noisy), and a failure against a doctored, much better baseline
expect baseline-pass 0 "$T" bench -m digits -b 1,4 --warmup 1 --iters 7 --baseline "$TMP/base.json" --tolerance 100000
"$PY" - "$TMP/base.json" "$TMP/better.json" <<'PYEOF'
import json, sys
r = json.load(open(sys.argv[1]))
for x in r["results"]:
    x["latency_ms"]["p50"] /= 50
    x["items_per_s"] *= 50
json.dump(r, open(sys.argv[2], "w"))
PYEOF
expect baseline-fail 1 "$T" bench -m digits -b 1,4 --warmup 1 --iters 7 --baseline "$TMP/better.json"
grep_in baseline-fail/differences "$TMP/err" 'regression at batch 4: p50 latency .*baseline'
expect baseline-unrelated 1 "$T" bench -m digits -b 2 --iters 2 --baseline "$TMP/base.json"
grep_in baseline-unrelated/message "$TMP/err" 'no configuration in common'

# segment models sweep points x prompt batch in one process
expect bench-segment 0 "$T" bench -m parts --points 1000,2000 --prompt-batch 1,4 --prompts 8 --warmup 0 --iters 2 \
	--format jsonl
records segment/sweep "$TMP/out" \
	'[(r["points"], r["prompt_batch"]) for r in R] == [(1000, 1), (1000, 4), (2000, 1), (2000, 4)] and all(r["task_settings"]["prompts"] == 8 for r in R)'
expect segment-no-batch 2 "$T" bench -m parts -b 4 --iters 1
expect classify-no-points 2 "$T" bench -m digits --points 100 --iters 1
expect run-no-list 2 "$T" run -m digits -b 1,2 "$DIGITS/d0_7.png"
expect tensor-model-needs-input 2 "$T" bench -m "$SAMPLES/models/parts.pt" --task raw --iters 1

# --memory-trace: its peak is the report's, and --plot draws well-formed SVG
expect trace-run 0 "$T" run -m digits -b 4 --memory-trace "$TMP/t.csv" --plot "$TMP/t.svg" --report "$TMP/r.json" "$DIGITS"
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
expect trace-bench 0 "$T" bench -m digits -b 8 --iters 3 --memory-trace "$TMP/b.csv"
grep_in trace-bench/csv "$TMP/b.csv" '^t_ms,rss_bytes,peak_rss_bytes,vram_allocated_bytes,vram_reserved_bytes,phase$'
expect plot-needs-trace 2 "$T" run -m digits --plot "$TMP/x.svg" "$DIGITS/d0_7.png"
