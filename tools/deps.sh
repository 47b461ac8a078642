#!/bin/sh
# tools/deps.sh [GROUP] — installs the Debian packages tinfer needs, when
# they are missing and we are root; otherwise says which are missing and
# how to install them.  GROUP: "all" (default: building, running and the
# test suite) or "fuzz" (clang and its fuzzer runtime, for make fuzz).
set -u
BUILD_PKGS="gcc g++ make pkg-config libpng-dev libturbojpeg0-dev libjansson-dev zlib1g-dev libtorch-dev"
# Debian's default libblas.so.3 is the reference BLAS: libtorch's matrix
# products run ~30x slower on it than on OpenBLAS (a ViT-B/16 forward pass).
RUN_PKGS="libopenblas0-pthread"
TEST_PKGS="python3-torch python3-numpy python3-pil python3-skimage parallel strace"
# The suite's peers, which the tests that need them skip without (and the
# libtorch 2.6 root does without): a private SLURM cluster (test_slurm),
# ffmpeg's image streams (test_corpus), rsvg-convert for the bench plot.
PEER_PKGS="slurmctld slurmd slurm-client munge ffmpeg librsvg2-bin"
FUZZ_PKGS="clang libclang-rt-14-dev"
case "${1:-all}" in
all) want="$BUILD_PKGS $RUN_PKGS $TEST_PKGS $PEER_PKGS" ;;
fuzz) want="$FUZZ_PKGS" ;;
*) echo "usage: tools/deps.sh [all|fuzz]" >&2; exit 2 ;;
esac
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
	echo "tinfer: missing Debian packages:$missing" >&2
	echo "tinfer: install them with: sudo apt-get install$missing" >&2
	exit 1
fi
echo "tinfer: installing:$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends $missing >/dev/null
