#!/bin/sh
# bench/gate-noise.sh — does `tinfer bench --baseline` cry wolf, and does it
# still bite?  Records a baseline with --repeat 5, gates RUNS fresh runs of
# the same build on the same machine against it and counts the false alarms
# (exit 1); then gates one run against the baseline doctored to twice the
# throughput, and one against half the peak RSS, which must both exit 1.
# Not a test of `make check`: it measures time on whatever else the machine
# is doing, which is the point.
#
#   bench/gate-noise.sh [MODEL [BATCHES [RUNS]]]     default: digits 1,8,32 5
#   TINFER=path/to/tinfer bench/gate-noise.sh        another build
#   REPEAT=1 bench/gate-noise.sh                     without repeats (the noise goes unseen)
#
# Prints one line per run and a summary; exits 0 when there was no false
# alarm and both doctored baselines failed, 1 otherwise.
set -u
T=${TINFER:-build/tinfer}
PY=${PYTHON:-/usr/bin/python3}
MODEL=${1:-digits}
BATCHES=${2:-1,8,32}
RUNS=${3:-5}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/gate-noise.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
set -- bench -m "$MODEL" -b "$BATCHES" -j 1 --warmup 5 --iters 50 --repeat "${REPEAT:-5}"

"$T" "$@" >"$tmp/base.json" || { echo "gate-noise: recording the baseline failed" >&2; exit 1; }
echo "baseline: tinfer $* ($(date -u +%FT%TZ))"
alarms=0
i=1
while [ "$i" -le "$RUNS" ]; do
	"$T" "$@" --baseline "$tmp/base.json" --format md >"$tmp/run.md" 2>"$tmp/run.err"
	rc=$?
	case $rc in
	0) echo "run $i: pass" ;;
	1) alarms=$((alarms + 1)); echo "run $i: FALSE ALARM"; grep -E 'regression|did not measure' "$tmp/run.err" ;;
	*) echo "gate-noise: run $i exited $rc" >&2; cat "$tmp/run.err" >&2; exit 1 ;;
	esac
	i=$((i + 1))
done

# doctor KEY FACTOR OUT: the baseline with one figure scaled in every configuration
doctor() {
	"$PY" - "$tmp/base.json" "$1" "$2" "$3" <<'PYEOF'
import json, sys
src, key, f, out = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
r = json.load(open(src))
for x in r["results"]:
    fig = x["figures"][key]
    for k in ("median", "mad", "min", "max"):
        fig[k] = type(fig[k])(fig[k] * f)
    fig["values"] = [type(v)(v * f) for v in fig["values"]]
json.dump(r, open(out, "w"))
PYEOF
}
bites=0
doctor items_per_s 2 "$tmp/fast.json"
doctor peak_rss_bytes 0.5 "$tmp/lean.json"
for b in fast lean; do
	"$T" "$@" --baseline "$tmp/$b.json" >/dev/null 2>"$tmp/run.err"
	rc=$?
	if [ $rc -eq 1 ]; then
		bites=$((bites + 1))
		echo "doctored ($b): exit 1, $(grep -c '^tinfer: regression' "$tmp/run.err") regressions flagged"
	else
		echo "doctored ($b): exit $rc: NOT CAUGHT"
	fi
done
echo "gate-noise: $alarms false alarms in $RUNS runs; $bites of 2 doctored baselines caught"
[ "$alarms" -eq 0 ] && [ "$bites" -eq 2 ]
