#!/bin/sh
# tests/run.sh BUILD — the whole suite.  Every test prints "PASS name" or
# "FAIL name: why" lines; a program that dies without saying FAIL counts as
# one failure.  The last line is "N passed, N failed".
#
#   unit tests     BUILD/tests/test_*          (C, pure parts)
#   sanitizers     BUILD/asan/tests/test_*     (same, under ASan + UBSan)
#   CLI tests      tests/cli/*.sh              (the real binary)
#   parity tests   tests/parity/*.py           (/usr/bin/python3 with torch)
#
# TESTS=pattern limits the run to the tests whose file name matches.
BUILD=${1:-build}
export BUILD
ROOT=$(cd "$(dirname "$0")/.." && pwd)
export ROOT
export TINFER="$ROOT/$BUILD/tinfer"
LOG=$(mktemp)
trap 'rm -f "$LOG"' EXIT INT TERM
passed=0
failed=0

run_one() { # name command...
	name=$1; shift
	case "$name" in *${TESTS:-}*) ;; *) return ;; esac
	"$@" >"$LOG" 2>&1
	rc=$?
	p=$(grep -c '^PASS ' "$LOG")
	f=$(grep -c '^FAIL ' "$LOG")
	grep '^FAIL ' "$LOG" | sed "s|^|$name: |"
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: FAIL exited with status $rc"; tail -n 5 "$LOG" | sed "s|^|$name:   |"
		f=1
	fi
	if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
		echo "$name: FAIL asserted nothing"; f=1
	fi
	echo "$name: $p passed, $f failed"
	passed=$((passed + p))
	failed=$((failed + f))
}

cd "$ROOT" || exit 2
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
	[ -f "$t" ] && run_one "parity/$(basename "$t" .py)" /usr/bin/python3 "$t"
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
