# Lazy by construction: libtorch is never mapped for --help, --version,
# models, info, usage errors, or inputs that fail before the first forward
# pass; it is mapped once a forward pass is needed.
. tests/cli/lib.sh

maps_torch() { # NAME WANT(0|1) ARGS... — does the process open libtorch?
	_n=$1 _w=$2
	shift 2
	strace -f -qq -e trace=openat -o "$TMP/trace" "$T" "$@" >/dev/null 2>&1 </dev/null
	if grep -q 'libtorch_cpu\|libtorch\.so' "$TMP/trace"; then _got=1; else _got=0; fi
	if [ "$_got" -eq "$_w" ]; then pass "$_n"; else
		fail "$_n" "libtorch mapped: $_got, wanted $_w"; fi
}
if ! command -v strace >/dev/null 2>&1; then
	fail strace-installed "strace is needed (tools/deps.sh installs it)"
	exit 0
fi
maps_torch help 0 --help
maps_torch version 0 --version
maps_torch models 0 models
maps_torch models-json 0 models --json
maps_torch info 0 info -m digits
maps_torch usage-error 0 run -m digits -b 0 x.png
maps_torch unknown-model 0 run -m no-such-model x.png
maps_torch missing-inputs 0 run -m digits "$TMP/missing.png" "$TMP/also-missing.jpg"
printf 'hello' >"$TMP/text.png"
maps_torch undecodable-inputs 0 run -m digits "$TMP/text.png"
maps_torch a-real-run 1 run -m digits "$DIGITS/d0_7.png"

# and the records are still there without libtorch
"$T" run -m digits "$TMP/missing.png" "$TMP/text.png" >"$TMP/out" 2>/dev/null
records early-errors-have-records "$TMP/out" 'len(R) == 2 and not R[0]["ok"] and not R[1]["ok"]'

# run and bench start again once with glibc's huge-page tunable when the
# kernel gives huge pages on request, and keep a tunable the user set
# (with env: one exec of env, one of tinfer, none more)
execs() { # NAME WANT ARGS... — how many times the program is executed
	_n=$1 _w=$2
	shift 2
	strace -f -qq -v -s 4096 -e trace=execve -o "$TMP/trace" "$@" >/dev/null 2>&1 </dev/null
	_got=$(grep -c 'execve(' "$TMP/trace")
	if [ "$_got" -eq "$_w" ]; then pass "$_n"; else fail "$_n" "$_got execs, wanted $_w"; fi
}
if grep -q '\[madvise\]' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null; then
	execs thp/run-reexecs 2 "$T" run -m digits "$DIGITS/d0_7.png"
	grep -q 'glibc.malloc.hugetlb=1' "$TMP/trace" && pass thp/tunable-set || fail thp/tunable-set "$(cat "$TMP/trace")"
	execs thp/user-tunable-kept 2 env GLIBC_TUNABLES=glibc.malloc.hugetlb=0 "$T" run -m digits "$DIGITS/d0_7.png"
	execs thp/help-does-not 1 "$T" --help
else
	echo "cli/test_lazy: SKIP thp: the kernel's transparent huge pages are not in madvise mode"
fi
