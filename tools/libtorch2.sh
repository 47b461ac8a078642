#!/bin/sh
# tools/libtorch2.sh [BUILD [CMD...]] — `make check-libtorch2`: builds tinfer against a
# current libtorch (Debian trixie's libtorch-dev, 2.6) and runs the whole test
# suite on it, on a bookworm machine whose own libtorch is 1.13.  CI runs it
# after `make check`, so that both libtorch versions pass on every run.
#
# A minimal trixie root (debootstrap --variant=minbase, then apt with no
# recommends: the packages tools/deps.sh names, plus the few tools the tests
# use when present) is kept outside the source tree and reused while it is
# complete.  The source tree, a /proc, a /dev/pts and a /tmp of its own are
# mounted into it, always unmounted again, and tinfer is built in BUILD (default
# build-libtorch2: never the host's objects; a directory of the source root,
# as the uninstalled binary finds samples/ at ../samples) by trixie's gcc.
# With CMD, CMD is run there (in the source tree) instead of the suite: a
# failing test can be looked at on libtorch 2.
#
#   LIBTORCH2=skip         do nothing (exit 0); else not being root is an error
#   LIBTORCH2_ROOT=DIR     the trixie root (default /var/cache/tinfer/trixie)
#   LIBTORCH2_MIRROR=URL   the Debian archive (default: the one apt uses here)
#   LIBTORCH2_UNSHARE=no   mount in this mount namespace, not a private one
#   TESTS, NO_ASAN         passed to tests/run.sh
#
# Exit status: the suite's (0 all passed, 1 some failed); 2 cannot run here
# (not root, a tool missing); 3 the root could not be made; 4 tinfer did not
# build; 130/143 interrupted.
set -u
SUITE=trixie
R=${LIBTORCH2_ROOT:-/var/cache/tinfer/$SUITE}
R=${R%/}
SRC=$(cd "$(dirname "$0")/.." && pwd)
# Used by the tests when installed: script (a terminal for the progress-line
# tests; Essential, listed for clarity) and groff (renders the man page).
EXTRA_PKGS="bsdutils groff-base"
PATH_IN=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

say() { printf 'libtorch2: %s\n' "$*" >&2; }
die() { _rc=$1; shift; say "$*"; exit "$_rc"; }

[ "${LIBTORCH2:-}" = skip ] && { say "skipped (LIBTORCH2=skip)"; exit 0; }
[ "$(id -u)" -eq 0 ] ||
	die 2 "needs root (debootstrap, chroot, mounts): run it as root, or set LIBTORCH2=skip"
# As tools/deps.sh does for the build's packages: root installs what is missing.
if ! command -v debootstrap >/dev/null 2>&1 && command -v apt-get >/dev/null 2>&1; then
	say "installing debootstrap"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null 2>&1; }
fi
for c in debootstrap chroot flock setsid mountpoint mount umount; do
	command -v "$c" >/dev/null 2>&1 ||
		die 2 "needs $c (apt-get install debootstrap util-linux), or set LIBTORCH2=skip"
done

# The mounts live in a private mount namespace when one can be made: they then
# vanish with this process however it ends (even kill -9), and concurrent runs
# do not see each other's.  The EXIT trap below unmounts them in either case.
if [ -z "${_LIBTORCH2_NS:-}" ] && [ "${LIBTORCH2_UNSHARE:-}" != no ] &&
	unshare --mount --propagation private true 2>/dev/null; then
	export _LIBTORCH2_NS=1
	exec unshare --mount --propagation private -- sh "$0" "$@"
fi

BUILD=${1:-build-libtorch2}
[ $# -gt 0 ] && shift

# The packages: tools/deps.sh's lists are the one source of truth.
pkgs_of() { sed -n "s/^$1=\"\(.*\)\"$/\1/p" "$SRC/tools/deps.sh"; }
PKGS=$(printf '%s\n' $(pkgs_of BUILD_PKGS) $(pkgs_of RUN_PKGS) $(pkgs_of TEST_PKGS) $EXTRA_PKGS | sort -u)
echo "$PKGS" | grep -qx libtorch-dev || die 2 "cannot read BUILD_PKGS/TEST_PKGS from tools/deps.sh"

# The Debian archive this machine's apt uses for bookworm, asked for trixie.
mirror() {
	[ -n "${LIBTORCH2_MIRROR:-}" ] && { echo "$LIBTORCH2_MIRROR"; return; }
	{
		awk 'BEGIN { RS = "" } {
			uri = ""; ok = 0; n = split($0, l, "\n")
			for (i = 1; i <= n; i++) {
				if (l[i] ~ /^URIs:/) { split(l[i], w, /[ \t]+/); uri = w[2] }
				if (l[i] ~ /^Suites:.*[ \t]bookworm([ \t]|$)/) ok = 1
			}
			if (ok && uri != "") print uri
		}' /etc/apt/sources.list.d/*.sources
		sed -n 's/^deb \(\[[^]]*\] \)\?\([^ ]*\) bookworm .*/\2/p' /etc/apt/sources.list /etc/apt/sources.list.d/*.list
	} 2>/dev/null | head -n 1 | grep . || echo http://deb.debian.org/debian
}

# unmount_under DIR — unmounts everything mounted below DIR, deepest first;
# false if something is still mounted there.
mounts_under() { awk -v d="$1/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts; }
unmount_under() {
	mounts_under "$1" | sort -r | while read -r m; do
		umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
	done
	[ -z "$(mounts_under "$1")" ]
}

child=
cleanup() {
	trap - EXIT INT TERM HUP
	if [ -n "$child" ] && kill -TERM "-$child" 2>/dev/null; then
		# the suite's own traps remove its temporary files; then no mercy
		i=0
		while kill -0 "-$child" 2>/dev/null && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		kill -KILL "-$child" 2>/dev/null
	fi
	unmount_under "$R" || say "could not unmount: $(mounts_under "$R" | tr '\n' ' ')"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# spawn CMD... — CMD in a session of its own, so that the trap can end all of
# it, waited for so that a signal reaches the trap at once (a foreground
# command would delay it until the command ends).  An asynchronous command
# starts with SIGINT and SIGQUIT ignored: env gives them back their defaults,
# as the suite has them when run directly.
spawn() {
	setsid env --default-signal=INT,QUIT "$@" &
	child=$!
	wait "$child"
	_rc=$?
	child=
	return $_rc
}

# in_root CMD... — CMD in the root, with a clean environment.
in_root() {
	spawn chroot "$R" /usr/bin/env -i PATH=$PATH_IN HOME=/root LANG=C.UTF-8 TMPDIR=/tmp \
		DEBIAN_FRONTEND=noninteractive ${TESTS:+TESTS="$TESTS"} ${NO_ASAN:+NO_ASAN="$NO_ASAN"} "$@"
}

# A /proc, a /dev/pts instance of the root's own (the tests that need a
# terminal run under script(1)) and a /tmp that goes with the run.
mount_fs() {
	mountpoint -q "$R/proc" || mount -t proc proc "$R/proc" || return 1
	mountpoint -q "$R/dev/pts" ||
		mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5 devpts "$R/dev/pts" || return 1
	mountpoint -q "$R/tmp" || mount -t tmpfs -o mode=1777 tmpfs "$R/tmp" || return 1
	# the CUDA toolkit's headers, read-only, when this machine has them: the
	# CUDA shim is then compile-checked against libtorch 2.6 too
	# (tests/cli/test_cuda_build.sh)
	if [ -d /usr/local/cuda/include ]; then
		mkdir -p "$R/usr/local/cuda" &&
			{ mountpoint -q "$R/usr/local/cuda" || mount --bind -o ro /usr/local/cuda "$R/usr/local/cuda"; } ||
			say "could not mount /usr/local/cuda: the CUDA compile check skips"
	fi
}

# A root is complete when debootstrap finished (.tinfer-debootstrap) and the
# stamp (.tinfer-packages: every package apt installed, one a line, written
# after apt succeeded) holds each package asked for.
ready() {
	[ -f "$R/.tinfer-debootstrap" ] && [ -f "$R/.tinfer-packages" ] &&
		[ -z "$(echo "$PKGS" | grep -vxF -f "$R/.tinfer-packages")" ]
}

make_root() {
	t0=$(date +%s)
	if [ ! -f "$R/.tinfer-debootstrap" ]; then
		if [ -e "$R" ]; then
			say "$R is incomplete (an interrupted debootstrap?): making it again"
			unmount_under "$R" || die 3 "$R has mounts that would not go: $(mounts_under "$R" | tr '\n' ' ')"
			rm -rf --one-file-system "$R" || die 3 "cannot remove $R"
		fi
		M=$(mirror)
		say "debootstrap --variant=minbase $SUITE $R $M (log: $R.log)"
		spawn debootstrap --variant=minbase "$SUITE" "$R" "$M" >"$R.log" 2>&1 ||
			{ tail -n 5 "$R.log" >&2; die 3 "debootstrap failed (log: $R.log)"; }
		# No manuals or translations; no fsync per file; no recommends.
		cat >"$R/etc/dpkg/dpkg.cfg.d/tinfer" <<-EOF
			force-unsafe-io
			path-exclude=/usr/share/doc/*
			path-exclude=/usr/share/man/*
			path-exclude=/usr/share/info/*
			path-exclude=/usr/share/locale/*
		EOF
		cat >"$R/etc/apt/apt.conf.d/90tinfer" <<-EOF
			APT::Install-Recommends "false";
			APT::Install-Suggests "false";
			Acquire::Languages "none";
			Dpkg::Use-Pty "false";
		EOF
		# the /dev/pts mounted at each run is an instance of its own: its ptmx
		rm -f "$R/dev/ptmx" && ln -s pts/ptmx "$R/dev/ptmx"
		: >"$R/.tinfer-debootstrap"
	fi
	mount_fs || die 3 "cannot mount /proc, /dev/pts or /tmp in $R"
	say "apt-get install $(echo $PKGS) (log: $R.log)"
	{ in_root dpkg --configure -a && in_root apt-get -q update &&
		in_root apt-get -q -y --fix-broken install $PKGS && in_root apt-get clean; } >>"$R.log" 2>&1 ||
		{ tail -n 5 "$R.log" >&2; die 3 "apt-get failed in $R (log: $R.log)"; }
	{ cat "$R/.tinfer-packages" 2>/dev/null; echo "$PKGS"; } | sort -u >"$R/.tinfer-packages.new" &&
		mv "$R/.tinfer-packages.new" "$R/.tinfer-packages"
	say "$R made in $(($(date +%s) - t0)) s; $(du -shx "$R" | cut -f1) on disk"
}

# Locking: an exclusive lock to make or change the root, a shared one to run
# the suite in it.  Without a private namespace the mounts are shared too, so
# the lock stays exclusive.
lock() { # -s|-x
	flock -n "$1" 9 || { say "waiting for another run to finish with $R ($R.lock)"; flock "$1" 9; }
}
mkdir -p "$(dirname "$R")" || die 3 "cannot make $(dirname "$R")"
exec 9>"$R.lock"
if [ -n "${_LIBTORCH2_NS:-}" ]; then lock -s; else lock -x; fi
if ! ready; then
	lock -x
	ready || make_root
	[ -z "${_LIBTORCH2_NS:-}" ] || lock -s
fi

mount_fs || die 3 "cannot mount /proc, /dev/pts or /tmp in $R"
mkdir -p "$R$SRC" && mount --bind "$SRC" "$R$SRC" || die 3 "cannot mount $SRC in $R"

H=$R/usr/include/torch/csrc/api/include/torch/version.h
v() { sed -n "s/^#define TORCH_VERSION_$1 \([0-9]*\).*/\1/p" "$H"; }
echo "libtorch $(v MAJOR).$(v MINOR).$(v PATCH) ($SUITE: libtorch-dev $(in_root dpkg-query -W -f='${Version}' libtorch-dev), $(in_root gcc -dumpfullversion | sed 's/^/gcc /'))"

in_root sh -c 'cd "$1" && make -s -j"$(nproc)" BUILD="$2" all unit' sh "$SRC" "$BUILD" || die 4 "tinfer did not build against libtorch 2 (BUILD=$BUILD)"
if [ $# -gt 0 ]; then
	in_root sh -c 'cd "$1" && shift && exec "$@"' sh "$SRC" "$@"
else
	in_root sh "$SRC/tests/run.sh" "$BUILD"
fi
