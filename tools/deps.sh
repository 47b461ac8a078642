#!/bin/sh
# tools/deps.sh — installs the Debian packages tinfer needs to build and to
# run its tests, when they are missing and we are root; otherwise says which
# are missing and how to install them.
set -u
BUILD_PKGS="gcc g++ make pkg-config libpng-dev libturbojpeg0-dev libjansson-dev zlib1g-dev libtorch-dev"
TEST_PKGS="python3-torch python3-numpy python3-pil python3-skimage parallel strace"
missing=""
for p in $BUILD_PKGS $TEST_PKGS; do
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
