# tests/cli/lib.sh — sourced by every CLI test: a temp dir removed on exit,
# and assertions that print "PASS name" / "FAIL name: why" (tests/run.sh
# counts them).  $TINFER is the binary under test.
set -u
T=${TINFER:-build/tinfer}
ROOT=${ROOT:-$(pwd)}
PY=${PYTHON:-/usr/bin/python3}
TMP=$(mktemp -d "${TMPDIR:-/tmp}/tinfer-cli.XXXXXX")
trap 'rm -rf "$TMP"' EXIT INT TERM
SAMPLES="$ROOT/samples"
DIGITS="$SAMPLES/inputs/digits"

pass() { printf 'PASS %s\n' "$1"; }
fail() { printf 'FAIL %s: %s\n' "$1" "$2"; }

# expect NAME WANT_STATUS CMD... — runs CMD with stdout in $TMP/out, stderr in
# $TMP/err, and checks its exit status.
expect() {
	_name=$1 _want=$2
	shift 2
	"$@" >"$TMP/out" 2>"$TMP/err"
	_got=$?
	if [ "$_got" -eq "$_want" ]; then pass "$_name"; else
		fail "$_name" "exit $_got, wanted $_want; stderr: $(head -c 300 "$TMP/err")"
	fi
}

# grep_in NAME FILE PATTERN — FILE contains the extended regex PATTERN.
grep_in() {
	if grep -Eq -- "$3" "$2"; then pass "$1"; else fail "$1" "'$3' not in $2: $(head -c 300 "$2")"; fi
}

# empty NAME FILE — FILE is empty.
empty() {
	if [ ! -s "$2" ]; then pass "$1"; else fail "$1" "$2 is not empty: $(head -c 200 "$2")"; fi
}

# records NAME FILE EXPR — EXPR, a Python expression over R (the JSON
# records of FILE, one per line: each line must parse), is true.
records() {
	"$PY" - "$1" "$2" "$3" <<'PYEOF'
import json, sys
name, path, expr = sys.argv[1:]
try:
    R = [json.loads(l) for l in open(path) if l.strip()]
    ok = bool(eval(expr))
    why = expr
except Exception as e:
    ok, why = False, f"{expr}: {type(e).__name__}: {e}"
print(f"PASS {name}" if ok else f"FAIL {name}: {why}; got {open(path).read()[:400]!r}")
PYEOF
}

# has_cuda — true when the binary under test runs the digits sample on a CUDA
# device here (probed once, with -d cuda): tests that depend on the device
# ask this rather than assume the CPU.
has_cuda() {
	if [ -z "${_HAS_CUDA:-}" ]; then
		if "$T" run -q -m digits -d cuda -o /dev/null "$DIGITS/d0_7.png" >/dev/null 2>&1; then
			_HAS_CUDA=yes
		else
			_HAS_CUDA=no
		fi
	fi
	[ "$_HAS_CUDA" = yes ]
}

# min_vm CMD... — the smallest address-space limit (ulimit -v, in KiB, to
# 8 MiB) under which CMD exits 0 within 60 s, found by bisection between
# 256 MiB and 8 GiB; 0 when it fails even at 8 GiB.  Out-of-memory tests set their
# limits from it, since what libtorch, its BLAS and its threads map before
# the first input differs between machines and libtorch versions.
min_vm() {
	_lo=262144 _hi=8388608
	(ulimit -v $_hi; timeout -k 5 60 "$@" >/dev/null 2>&1) || { echo 0; return; }
	while [ $((_hi - _lo)) -gt 8192 ]; do
		_mid=$(((_lo + _hi) / 2))
		if (ulimit -v $_mid; timeout -k 5 60 "$@" >/dev/null 2>&1); then _hi=$_mid; else _lo=$_mid; fi
	done
	echo $_hi
}

# wait_lines FILE N — waits (up to 30 s) until FILE has N lines: for a run
# in the background that is to be killed, or watched, half-way.
wait_lines() {
	_i=0
	while [ "$(wc -l <"$1" 2>/dev/null || echo 0)" -lt "$2" ] && [ $_i -lt 600 ]; do
		sleep 0.05
		_i=$((_i + 1))
	done
}
