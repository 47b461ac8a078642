# make gpu-bundle (issue 17, item 5): a tarball whose front end links libpng,
# TurboJPEG, jansson and zlib statically and runs here (with this build's
# shim), and which carries what build-shim.sh needs to build only src/tch/.
# (Building the shim from the bundle was checked by hand against Debian's
# python3-torch as a stand-in for a wheel: a minute and a half of compiling.)
# Without the static libraries (no -dev packages): SKIP.
. tests/cli/lib.sh
BUILD=${BUILD:-build}
for a in libpng16.a libturbojpeg.a libjansson.a libz.a; do
	if [ -z "$(find /usr/lib /usr/lib64 /usr/local/lib -name "$a" 2>/dev/null | head -n 1)" ]; then
		echo "SKIP gpu-bundle: no $a (the -dev packages)"
		exit 0
	fi
done
make -s BUILD="$BUILD" gpu-bundle >"$TMP/make.out" 2>&1
st=$?
# Built where glibc is newer (the libtorch 2.6 suite's trixie root: 2.41),
# the front end wants symbols the accelerator's glibc may lack: the bundle
# is refused, saying so, and is to be made on bookworm.
if [ $st -eq 2 ] && grep -q 'needs glibc' "$TMP/make.out"; then
	pass gpu-bundle/refuses-a-newer-glibc
	echo "SKIP gpu-bundle: this glibc is newer than the bundle's 2.34 ($(grep -m 1 "needs glibc" "$TMP/make.out"))"
	exit 0
fi
[ $st -eq 0 ] && pass gpu-bundle/made || fail gpu-bundle/made "exit $st: $(tail -n 3 "$TMP/make.out")"
V=$(sed -n 's/^VERSION *:= *//p' Makefile)
tar -C "$TMP" -xzf "$BUILD/tinfer-gpu-$V.tar.gz" || fail gpu-bundle/untar "no $BUILD/tinfer-gpu-$V.tar.gz"
B=$TMP/tinfer-gpu-$V
for f in bin/tinfer src/tch/tch.cpp src/tch/tch.h mk/libtorch.mk Makefile build-shim.sh man/tinfer.1 \
	share/tinfer/samples/models.json; do
	[ -f "$B/$f" ] && pass "gpu-bundle/has/$f" || fail "gpu-bundle/has/$f" "missing"
done
ldd "$B/bin/tinfer" >"$TMP/ldd" 2>&1
if grep -Eq 'libpng|libturbojpeg|libjansson|libz\.' "$TMP/ldd"; then
	fail gpu-bundle/static "$(grep -E 'libpng|libturbojpeg|libjansson|libz\.' "$TMP/ldd" | tr '\n' ' ')"
else
	pass gpu-bundle/static
fi
expect gpu-bundle/runs 0 env TINFER_TCH_LIB="$ROOT/$BUILD/libtinfer_tch.so" "$B/bin/tinfer" run -m digits "$DIGITS/d0_7.png"
records gpu-bundle/runs/record "$TMP/out" 'R[0]["ok"] and R[0]["top"][0]["label"] == "7"'
expect gpu-bundle/samples-found 0 "$B/bin/tinfer" models
grep_in gpu-bundle/samples-found/digits "$TMP/out" 'digits'
