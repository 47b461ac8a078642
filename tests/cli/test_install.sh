# make install PREFIX=...: the installed program finds its shim and the
# samples manifest relative to itself, from any working directory.
. tests/cli/lib.sh

make -s -C "$ROOT" BUILD="${BUILD:-build}" install PREFIX="$TMP/prefix" >"$TMP/log" 2>&1 &&
	pass install || fail install "$(tail -n 5 "$TMP/log")"
I="$TMP/prefix/bin/tinfer"
for f in bin/tinfer lib/tinfer/libtinfer_tch.so share/man/man1/tinfer.1 share/tinfer/samples/models.json \
	share/bash-completion/completions/tinfer share/zsh/site-functions/_tinfer \
	share/fish/vendor_completions.d/tinfer.fish; do
	[ -e "$TMP/prefix/$f" ] && pass "installed/$f" || fail "installed/$f" missing
done
cd "$TMP" || exit 1
expect installed-models 0 "$I" models
grep_in installed-models/samples "$TMP/out" '^digits '
expect installed-run 0 "$I" run -m digits "$TMP/prefix/share/tinfer/samples/inputs/digits/d0_7.png"
records installed-run/result "$TMP/out" 'R[0]["top"][0]["label"] == "7"'
make -s -C "$ROOT" BUILD="${BUILD:-build}" uninstall PREFIX="$TMP/prefix" >/dev/null 2>&1
[ ! -e "$I" ] && [ ! -e "$TMP/prefix/lib/tinfer" ] && pass uninstall || fail uninstall "files left behind"
