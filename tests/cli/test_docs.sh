#!/bin/sh
# tests/cli/test_docs.sh — the man page and the shell completions cover the
# interface that `tinfer --help` prints (the option table of src/cli/opts.c):
# every long and short option, every command, the SYNOPSIS, and the man
# page renders without warnings.  Adding an option to src/cli/opts.c without
# documenting it makes this fail.
#
# Run from the repository root with $TINFER set (tests/run.sh does both).
TINFER=${TINFER:-build/tinfer}
MAN=man/tinfer.1
BASH_C=completions/tinfer.bash
ZSH_C=completions/_tinfer
FISH_C=completions/tinfer.fish

TMP=$(mktemp -d) || exit 2
trap 'rm -rf "$TMP"' EXIT INT TERM

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
check() { # name why command...: PASS when the command succeeds
	_name=$1; _why=$2; shift 2
	if "$@"; then pass "$_name"; else fail "$_name" "$_why"; fi
}

# The help text, with an empty TINFER_DEVICE so that a bad one in the
# environment cannot make --help fail.
if ! TINFER_DEVICE= "$TINFER" --help >"$TMP/help" 2>"$TMP/help.err"; then
	fail help "'$TINFER --help' failed: $(head -n 1 "$TMP/help.err")"
	exit 1
fi

# Option lines start with two spaces and a dash: "  -m, --model NAME|PATH  ..."
# or "      --models FILE  ...".  Only the option itself is taken, never the
# words of its description.
grep -E '^  +-' "$TMP/help" | sed -E 's/^ +//' >"$TMP/optlines"
sed -nE 's/^(-[A-Za-z0-9], )?(--[a-z0-9-]+).*/\2/p' "$TMP/optlines" >"$TMP/long"
sed -nE 's/^(-[A-Za-z0-9]),.*/\1/p' "$TMP/optlines" >"$TMP/short"
# Commands and usage lines: "usage: tinfer run ..." and the lines under it.
sed -nE 's/^(usage:)? +(tinfer .*)/\2/p' "$TMP/help" >"$TMP/usage"
sed -nE 's/^tinfer ([a-z]+).*/\1/p' "$TMP/usage" >"$TMP/cmds"

n_long=$(wc -l <"$TMP/long")
n_short=$(wc -l <"$TMP/short")
n_cmds=$(wc -l <"$TMP/cmds")
check help:long-options "no long options found in --help" [ "$n_long" -gt 0 ]
check help:short-options "no short options found in --help" [ "$n_short" -gt 0 ]
check help:commands "no commands found in the usage lines of --help" [ "$n_cmds" -gt 0 ]

for f in "$MAN" "$BASH_C" "$ZSH_C" "$FISH_C"; do
	check "exists:$f" "missing" [ -s "$f" ]
done

# The man page with its escaped hyphens made plain and its font escapes
# dropped, and its OPTIONS and COMMANDS sections on their own.
sed 's/\\-/-/g; s/\\(hy/-/g; s/\\f[BIRP]//g; s/\\f\[[A-Z]*\]//g' "$MAN" >"$TMP/man" 2>/dev/null
section() { # NAME: the lines between ".SH NAME" and the next .SH
	awk -v s="$1" '/^\.SH/ { on = ($0 == ".SH " s || $0 == ".SH \"" s "\"") ; next } on' "$TMP/man"
}
section OPTIONS >"$TMP/man.options"
section COMMANDS >"$TMP/man.commands"

# has FILE OPT: OPT appears in FILE as a whole option, not as the start of a
# longer one (--model must not be satisfied by --models).
has() {
	grep -Eq -e "(^|[^A-Za-z0-9-])$2([^A-Za-z0-9-]|\$)" "$1"
}

while read -r opt; do
	name=${opt#--}
	check "man:$opt" "not in the OPTIONS section of $MAN" has "$TMP/man.options" "$opt"
	check "bash:$opt" "not in $BASH_C" has "$BASH_C" "$opt"
	check "zsh:$opt" "not in $ZSH_C" has "$ZSH_C" "$opt"
	check "fish:$opt" "no '-l $name' in $FISH_C" has "$FISH_C" "-l $name"
done <"$TMP/long"

while read -r opt; do
	letter=${opt#-}
	check "man:$opt" "not in the OPTIONS section of $MAN" has "$TMP/man.options" "$opt"
	check "bash:$opt" "not in $BASH_C" has "$BASH_C" "$opt"
	check "zsh:$opt" "not in $ZSH_C" has "$ZSH_C" "$opt"
	check "fish:$opt" "no '-s $letter' in $FISH_C" has "$FISH_C" "-s $letter"
done <"$TMP/short"

while read -r cmd; do
	check "man:command:$cmd" "no '.B $cmd' in the COMMANDS section of $MAN" \
		grep -qx "\\.B $cmd" "$TMP/man.commands"
	check "bash:command:$cmd" "not among the words completed in $BASH_C" \
		grep -Eq "compgen -W \"([^\"]* )?$cmd( [^\"]*)?\"" "$BASH_C"
	check "zsh:command:$cmd" "no '$cmd\\:' in $ZSH_C" grep -q "$cmd\\\\:" "$ZSH_C"
	check "fish:command:$cmd" "no '-a $cmd' in $FISH_C" has "$FISH_C" "-a $cmd"
done <"$TMP/cmds"

# Rendering: no groff warnings; the SYNOPSIS says what the usage says.
if command -v groff >/dev/null 2>&1; then
	groff -man -Tutf8 -ww "$MAN" 2>"$TMP/groff.err" >/dev/null
	check man:render "groff warns: $(head -n 1 "$TMP/groff.err")" [ ! -s "$TMP/groff.err" ]
	groff -man -Tascii -P-c -P-b -P-u "$MAN" 2>/dev/null |
		sed -E 's/^ +//; s/ +$//' >"$TMP/man.txt"
	while IFS= read -r line; do
		check "man:synopsis:$line" "usage line not in the rendered man page" grep -qxF "$line" "$TMP/man.txt"
	done <"$TMP/usage"
else
	check man:render "no .TH or .Dt line" grep -Eq '^\.(TH|Dt) ' "$MAN"
fi
if command -v mandoc >/dev/null 2>&1; then
	mandoc -T lint -W warning "$MAN" >"$TMP/mandoc.err" 2>&1
	check man:lint "mandoc: $(head -n 1 "$TMP/mandoc.err")" [ ! -s "$TMP/mandoc.err" ]
fi

# The completion scripts parse.
for sh in bash zsh; do
	command -v "$sh" >/dev/null 2>&1 || continue
	[ "$sh" = bash ] && f=$BASH_C || f=$ZSH_C
	check "syntax:$f" "$sh -n fails" "$sh" -n "$f"
done
if command -v fish >/dev/null 2>&1; then
	check "syntax:$FISH_C" "fish -n fails" fish -n "$FISH_C"
fi

# completions/ is what the option table generates (make completions)
for sh in bash zsh fish; do
	case $sh in bash) f=$BASH_C ;; zsh) f=$ZSH_C ;; fish) f=$FISH_C ;; esac
	"$TINFER" completions $sh >"$TMP/comp" 2>/dev/null
	check "generated:$f" "out of date: run 'make completions'" cmp -s "$TMP/comp" "$f"
done
