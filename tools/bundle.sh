#!/bin/sh
# tools/bundle.sh BUILD VERSION — make gpu-bundle: BUILD/tinfer-gpu-VERSION.tar.gz,
# a front end linked statically against libpng, TurboJPEG, jansson and zlib
# (only glibc, libdl, libm and libpthread from the system, glibc 2.34 or
# later), the samples, the man page, and the shim's sources with a Makefile,
# so that a machine with a pip PyTorch and a C++ compiler but no -dev
# packages (an accelerator machine) builds only src/tch/ (build-shim.sh).
# Fails when the program needs a newer glibc than 2.34 or links any of the
# four dynamically.
set -eu
BUILD=$1 VERSION=$2
NAME=tinfer-gpu-$VERSION
D=$BUILD/$NAME
rm -rf "$D" "$D.tar.gz"
mkdir -p "$D/bin" "$D/share/tinfer" "$D/src" "$D/mk" "$D/man"
cp "$BUILD/tinfer-static" "$D/bin/tinfer"
if ldd "$D/bin/tinfer" | grep -Eq 'libpng|libturbojpeg|libjansson|libz\.'; then
	echo "gpu-bundle: bin/tinfer still links dynamically:" >&2
	ldd "$D/bin/tinfer" | grep -E 'libpng|libturbojpeg|libjansson|libz\.' >&2
	exit 1
fi
newest=$(objdump -T "$D/bin/tinfer" | sed -n 's/.*GLIBC_\([0-9][0-9.]*\).*/\1/p' | sort -t. -k1,1n -k2,2n | tail -n 1)
case $newest in
2.[0-9] | 2.[0-9].* | 2.[12][0-9] | 2.[12][0-9].* | 2.3[0-4] | 2.3[0-4].*) ;;
*) echo "gpu-bundle: bin/tinfer needs glibc $newest, more than 2.34" >&2; exit 1 ;;
esac
cp -R src/tch "$D/src/"
cp mk/libtorch.mk "$D/mk/"
cp tools/bundle/Makefile tools/bundle/build-shim.sh "$D/"
cp man/tinfer.1 "$D/man/"
cp -R samples "$D/share/tinfer/"
chmod +x "$D/build-shim.sh"
tar -C "$BUILD" -czf "$D.tar.gz" "$NAME"
echo "gpu-bundle: $D.tar.gz (front end needs glibc $newest; build the shim there with sh build-shim.sh)"
