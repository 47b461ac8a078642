#!/bin/sh
# tools/demo.sh BUILD — what `make demo` shows: the bundled manifest, one
# model's metadata (no libtorch loaded), and a run over the sample digits
# with its report.
B=${1:-build}
T="$B/tinfer"
set -e
say() { printf '\n\033[1m$ %s\033[0m\n' "$*" >&2; }
say tinfer models
"$T" models
say tinfer info -m digits
"$T" info -m digits
say "tinfer run -m digits -b 4 samples/inputs/digits --report -"
"$T" run -m digits -b 4 samples/inputs/digits --report - |
	sed -E 's/"top":\[(\{[^}]*\}).*\]\}$/"top":[\1, ...]}/'
say "printf 'hello' > /tmp/not-an-image.png; tinfer run -m digits /tmp/not-an-image.png samples/inputs/digits/d0_7.png"
printf 'hello' >"${TMPDIR:-/tmp}/not-an-image.png"
"$T" run -m digits "${TMPDIR:-/tmp}/not-an-image.png" samples/inputs/digits/d0_7.png |
	sed -E 's/"top":\[(\{[^}]*\}).*\]\}$/"top":[\1, ...]}/' || echo "(exit status $? : one input failed, as it should)" >&2
rm -f "${TMPDIR:-/tmp}/not-an-image.png"
say "tinfer run -m faces --draw /tmp/tinfer-demo samples/inputs/photos"
"$T" run -m faces --draw "${TMPDIR:-/tmp}/tinfer-demo" samples/inputs/photos
echo "(pictures with the boxes drawn: ${TMPDIR:-/tmp}/tinfer-demo/)" >&2
say "tinfer run -m parts --save-dir /tmp/tinfer-demo samples/inputs/clouds/scene.ply"
"$T" run -m parts --save-dir "${TMPDIR:-/tmp}/tinfer-demo" samples/inputs/clouds/scene.ply
echo "(open ${TMPDIR:-/tmp}/tinfer-demo/000000_scene.parts.ply in a mesh viewer: one colour per part)" >&2
