# Usage: --help and --version on stdout with 0; misuse exits 2 with one
# line on stderr and nothing on stdout.
. tests/cli/lib.sh

expect help-exit 0 "$T" --help
grep_in help-on-stdout "$TMP/out" '^usage: tinfer run'
empty help-nothing-on-stderr "$TMP/err"
expect short-help 0 "$T" -h
expect version 0 "$T" --version
grep_in version-text "$TMP/out" '^tinfer [0-9]+\.[0-9]+\.[0-9]+$'

usage_error() { # NAME PATTERN ARGS...
	_n=$1 _p=$2
	shift 2
	expect "$_n" 2 "$T" "$@"
	grep_in "$_n/message" "$TMP/err" "^tinfer: .*$_p"
	empty "$_n/stdout-clean" "$TMP/out"
}
usage_error no-args 'no command' 
usage_error unknown-command "unknown command 'frobnicate'" frobnicate
usage_error unknown-option "unknown option '--frob'" run -m digits --frob
usage_error missing-model "needs a model" run x.png
usage_error batch-zero "batch-size: '0' is not a whole number" run -m digits -b 0 x.png
usage_error batch-text "batch-size: 'eight'" run -m digits -b eight x.png
usage_error batch-trailing "batch-size: '8x'" run -m digits --batch-size=8x x.png
usage_error threads-negative "threads: '-1'" run -m digits -j -1 x.png
usage_error bad-dtype "dtype: 'fp8'" run -m digits --dtype fp8 x.png
usage_error bad-device "device: 'tpu'" run -m digits -d tpu x.png
usage_error bad-task "task: 'dance'" run -m digits --task dance x.png
usage_error value-missing "needs a value" run -m digits -b
usage_error flag-with-value "takes no value" run -m digits --half=1 x.png
usage_error wrong-command-option "does not apply to 'models'" models --top-k 3
usage_error info-operands "takes no operands" info -m digits x.png
usage_error two-stdins "both want stdin" run -m digits -T - -
usage_error stdin-twice "only once" run -m digits - -

# the last one ran through env: check it the same way
TINFER_DEVICE=gpu "$T" run -m digits x.png >/dev/null 2>&1
[ $? -eq 2 ] && pass env-device-exit-2 || fail env-device-exit-2 "TINFER_DEVICE=gpu accepted"

# no inputs from a terminal is a usage error (script gives a pty)
if command -v script >/dev/null 2>&1; then
	script -qec "$T run -m digits" /dev/null </dev/null >"$TMP/pty" 2>&1
	grep_in no-inputs-from-tty "$TMP/pty" 'no inputs'
fi
# $TINFER_DEVICE only matters to run, and -d overrides it
TINFER_DEVICE=gpu "$T" --help >/dev/null 2>&1 && pass env-device-ignored-by-help || fail env-device-ignored-by-help "help failed"
TINFER_DEVICE=gpu "$T" models >/dev/null 2>&1 && pass env-device-ignored-by-models || fail env-device-ignored-by-models "models failed"
TINFER_DEVICE=gpu "$T" run -m digits -d cpu "$ROOT/samples/inputs/digits/d0_7.png" >/dev/null 2>&1 &&
	pass env-device-overridden || fail env-device-overridden "-d cpu did not override"
# a run that cannot start still writes the report a CI job asked for
"$T" run -m no-such-model --report "$TMP/rep.json" x.png >/dev/null 2>&1
records report-when-nothing-ran "$TMP/rep.json" 'R[0]["inputs"] == 0 and R[0]["libtorch"] is None'
