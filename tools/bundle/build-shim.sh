#!/bin/sh
# build-shim.sh — builds bin/libtinfer_tch.so against the torch of the first
# Python that imports it: $PYTHON, /opt/torch/.venv/bin/python, python3.
# Extra arguments go to make (e.g. CXX=g++-12).
set -eu
cd "$(dirname "$0")"
for p in "${PYTHON:-}" /opt/torch/.venv/bin/python python3; do
	[ -n "$p" ] || continue
	if dir=$("$p" -c 'import torch, os; print(os.path.dirname(torch.__file__))' 2>/dev/null); then
		echo "build-shim: torch $("$p" -c 'import torch; print(torch.__version__)') at $dir" >&2
		exec make LIBTORCH="$dir" PYTHON="$p" "$@"
	fi
done
echo "build-shim: no Python imports torch (set PYTHON)" >&2
exit 1
