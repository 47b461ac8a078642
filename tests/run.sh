#!/bin/sh
# tests/run.sh BUILD — the whole suite.  Every test prints "PASS name" or
# "FAIL name: why" lines; a program that dies without saying FAIL counts as
# one failure, and so does one that asserts nothing.  Each test file's line
# gives its time; the ten slowest are listed before the last line, which is
# "N passed, N failed".
#
#   unit tests     BUILD/tests/test_*          (C, pure parts)
#   sanitizers     BUILD/asan/tests/test_*     (same, under ASan + UBSan)
#   CLI tests      tests/cli/*.sh              (the real binary)
#   parity tests   tests/parity/*.py           ($PYTHON, with torch)
#
# PYTHON is the interpreter that has torch: by default the first of
# python3 on PATH and /usr/bin/python3 that imports it (Debian's
# python3-torch lives in /usr/bin/python3; a virtualenv's elsewhere).
# TESTS=pattern limits the run to the tests whose file name matches.
BUILD=${1:-build}
export BUILD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
export TINFER="$ROOT/$BUILD/tinfer"
if [ ! -x "$TINFER" ]; then
	echo "tests/run.sh: no $BUILD/tinfer: build first (make check does); TESTS=pattern picks tests" >&2
	exit 2
fi
if [ -z "${PYTHON:-}" ]; then
	for p in python3 /usr/bin/python3; do
		if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' >/dev/null 2>&1; then
			PYTHON=$(command -v "$p")
			break
		fi
	done
fi
export PYTHON=${PYTHON:-/usr/bin/python3}
LOG=$(mktemp)
TIMES=$(mktemp)
trap 'rm -f "$LOG" "$TIMES"' EXIT INT TERM
passed=0
failed=0

now() { date +%s.%N; }

run_one() { # name command...
	name=$1; shift
	case "$name" in *${TESTS:-}*) ;; *) return ;; esac
	t0=$(now)
	"$@" >"$LOG" 2>&1
	rc=$?
	secs=$(awk -v a="$t0" -v b="$(now)" 'BEGIN { print b - a }')
	p=$(grep -c '^PASS ' "$LOG")
	f=$(grep -c '^FAIL ' "$LOG")
	grep '^FAIL ' "$LOG" | sed "s|^|$name: |"
	grep '^SKIP ' "$LOG" | sed "s|^|$name: |"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: FAIL exited with status $rc"; tail -n 5 "$LOG" | sed "s|^|$name:   |"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && ! grep -q '^SKIP ' "$LOG"; then
		echo "$name: FAIL asserted nothing"; f=1
	fi
	printf '%s: %d passed, %d failed (%.1f s)\n' "$name" "$p" "$f" "$secs"
	printf '%.1f %s\n' "$secs" "$name" >>"$TIMES"
	passed=$((passed + p))
	failed=$((failed + f))
}

cd "$ROOT" || exit 2
echo "tests: $TINFER; PYTHON=$PYTHON ($("$PYTHON" -c 'import torch; print("torch", torch.__version__)' 2>/dev/null || echo "no torch"))"
for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && run_one "unit/$(basename "$t")" "$t"
done
if [ -z "${NO_ASAN:-}" ] && make --no-print-directory -s BUILD="$BUILD" asan >"$LOG" 2>&1; then
	for t in "$BUILD"/asan/tests/test_*; do
		[ -x "$t" ] && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
			run_one "asan/$(basename "$t")" "$t"
	done
elif [ -z "${NO_ASAN:-}" ]; then
	echo "asan: FAIL could not build the sanitizer tests"; tail -n 20 "$LOG"; failed=$((failed + 1))
fi
for t in tests/cli/test_*.sh; do
	[ -f "$t" ] && run_one "cli/$(basename "$t" .sh)" sh "$t"
done
for t in tests/parity/test_*.py; do
	[ -f "$t" ] && run_one "parity/$(basename "$t" .py)" "$PYTHON" "$t"
done
echo "slowest:"
sort -rn "$TIMES" | head -n 10 | sed 's/^/  /'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
