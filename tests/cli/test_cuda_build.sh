# The CUDA path of the shim compiles (issue 17, item 1): src/tch/tch.cpp with
# -DTCH_CUDA, -fsyntax-only, against every libtorch's headers at hand (Debian's
# 1.13; the libtorch 2.6 headers when tools' torch-headers cached them in
# /var/cache/tinfer/torch26-headers; the wheel of $PYTHON's torch when it ships
# its headers) and the CUDA toolkit's headers ($CUDA_HOME, else /usr/local/cuda).
# Debian does not ship c10/cuda/impl/cuda_cmake_macros.h, a header CMake
# generates: a stand-in is written here.  No toolkit: SKIP.  The checks run
# side by side (each takes a minute of CPU on a busy machine).
. tests/cli/lib.sh

CUDA=${CUDA_HOME:-/usr/local/cuda}
CXX=${CXX:-c++}
if [ ! -f "$CUDA/include/cuda_runtime_api.h" ]; then
	echo "SKIP cuda-build: no CUDA toolkit headers at $CUDA/include"
	exit 0
fi
mkdir -p "$TMP/stub/c10/cuda/impl"
echo '#define C10_CUDA_BUILD_SHARED_LIBS' >"$TMP/stub/c10/cuda/impl/cuda_cmake_macros.h"

# name and -I flags, one set a line
: >"$TMP/sets"
[ -f /usr/include/torch/script.h ] &&
	echo "debian -isystem /usr/include/torch/csrc/api/include" >>"$TMP/sets"
H26=/var/cache/tinfer/torch26-headers
[ -f "$H26/usr/include/torch/script.h" ] &&
	echo "libtorch2.6 -isystem $H26/usr/include -isystem $H26/usr/include/torch/csrc/api/include" >>"$TMP/sets"
W=$("$PY" -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2>/dev/null)
# (Debian's python3-torch links its include/ to /usr/include: checked once)
[ -n "$W" ] && [ -f "$W/include/torch/script.h" ] &&
	[ "$(realpath "$W/include/torch/script.h")" != "$(realpath /usr/include/torch/script.h 2>/dev/null)" ] &&
	echo "wheel -isystem $W/include -isystem $W/include/torch/csrc/api/include" >>"$TMP/sets"
if [ ! -s "$TMP/sets" ]; then
	echo "SKIP cuda-build: no libtorch headers (Debian's libtorch-dev, a cached 2.6, or a wheel's)"
	exit 0
fi

while read -r name flags; do
	# shellcheck disable=SC2086 # flags are words
	( "$CXX" -std=c++17 -fsyntax-only -Wall -Wno-unused-parameter -DTCH_CUDA -I"$TMP/stub" $flags \
		-isystem "$CUDA/include" src/tch/tch.cpp >"$TMP/$name.log" 2>&1; echo $? >"$TMP/$name.rc" ) &
done <"$TMP/sets"
wait
while read -r name flags; do
	# libtorch's own headers warn on some compilers: only tch.cpp's warnings count
	if [ "$(cat "$TMP/$name.rc")" = 0 ] && ! grep -q '^src/tch/tch.cpp:[0-9:]* warning:' "$TMP/$name.log"; then
		pass "cuda-build/$name"
	else
		fail "cuda-build/$name" "$(grep -m 3 -E 'error|warning' "$TMP/$name.log" | tr '\n' ' ')"
	fi
done <"$TMP/sets"
grep -q 'CUDAGuard.h' src/tch/tch.cpp && pass cuda-build/includes-CUDAGuard ||
	fail cuda-build/includes-CUDAGuard "tch.cpp uses c10::cuda::CUDAGuard without its header"
