#!/bin/sh
# bench/corpus.sh — peak RSS and wall time of `tinfer run -T LIST` over
# 10k, 100k and 1M listed paths that do not exist (every input gets its
# error record; libtorch is never loaded, so what is measured is the input
# plumbing, the records and --resume), printed as a Markdown table:
#
#   plain        tinfer run -m digits -q -T LIST -o OUT
#   resume       the same with --resume over OUT of the plain run (all its
#                records are errors: dropped, every input runs again)
#   resume-done  --resume over an output with an ok record for every
#                listed path: nothing runs, the set of done inputs is held
#
# and the memory --resume holds per done input (resume-done's peak minus
# plain's, over N).  SPEC target: peak RSS at 1M <= 1.1 x that at 10k + a
# few MiB for plain and resume.
#
#   sh bench/corpus.sh [SIZES]      # default "10000 100000 1000000"
#
# Uses build/tinfer and build/bench/measure (made here when missing); the
# lists live in a temporary folder, removed at the end.
set -eu
ROOT=$(cd "$(dirname "$0")/.." && pwd)
TINFER=${TINFER:-$ROOT/build/tinfer}
MEASURE=$ROOT/build/bench/measure
SIZES=${1:-10000 100000 1000000}
make -s -C "$ROOT/bench" "$MEASURE" >&2
[ -x "$TINFER" ] || { echo "corpus.sh: build tinfer first (make)" >&2; exit 2; }
W=$(mktemp -d "${TMPDIR:-/tmp}/tinfer-corpus.XXXXXX")
trap 'rm -rf "$W"' EXIT INT TERM

# measure NAME CMD... — runs CMD; sets rc, ms (wall), kib (peak RSS), cpu (ms)
measure() {
	_name=$1
	shift
	"$MEASURE" "$W/m" -c -e "$W/err" -- "$@"
	read -r rc ms kib cpu <"$W/m"
	if [ "$rc" -gt 1 ]; then
		echo "corpus.sh: $_name exited $rc: $(head -c 300 "$W/err")" >&2
		exit 1
	fi
}

row() { # N RUN
	awk -v n="$1" -v run="$2" -v ms="$ms" -v kib="$kib" -v cpu="$cpu" \
		'BEGIN { printf "| %d | %s | %.1f | %.2f | %.2f | %.1f |\n", n, run, kib / 1024, ms / 1000, cpu / 1000, cpu * 1000 / n }'
}

echo "$("$TINFER" --version 2>/dev/null | head -n 1), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%Y-%m-%d)"
echo
echo "| inputs | run | peak RSS (MiB) | wall (s) | CPU (s) | CPU µs per input |"
echo "|---:|---|---:|---:|---:|---:|"
for n in $SIZES; do
	awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "/nonexistent/corpus/%08d.png\n", i }' >"$W/list"
	rm -f "$W/out.jsonl"
	measure plain "$TINFER" run -m digits -q -T "$W/list" -o "$W/out.jsonl"
	row "$n" plain
	eval "plain_$n=$kib"
	measure resume "$TINFER" run -m digits -q -T "$W/list" -o "$W/out.jsonl" --resume
	row "$n" resume
	eval "resume_$n=$kib"
	awk '{ printf "{\"input\":\"%s\",\"ok\":true,\"task\":\"classify\"}\n", $0 }' "$W/list" >"$W/done.jsonl"
	measure resume-done "$TINFER" run -m digits -q -T "$W/list" -o "$W/done.jsonl" --resume
	row "$n" resume-done
	eval "done_$n=$kib"
done
echo
first=${SIZES%% *}
last=${SIZES##* }
eval "p0=\$plain_$first p1=\$plain_$last r0=\$resume_$first r1=\$resume_$last d1=\$done_$last"
awk -v a="$first" -v b="$last" -v p0="$p0" -v p1="$p1" -v r0="$r0" -v r1="$r1" -v d1="$d1" 'BEGIN {
	printf "Peak RSS at %d inputs / at %d: %.2f (plain), %.2f (--resume); target <= 1.1 + a few MiB.\n",
		b, a, p1 / p0, r1 / r0
	printf "--resume holds %.1f bytes per done input at its peak (%d done: %.1f MiB over the plain run).\n",
		(d1 - p1) * 1024 / b, b, (d1 - p1) / 1024
}'
