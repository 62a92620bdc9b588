#!/bin/sh
# build-images.sh DIR [LAYER...] - builds image layers from Debian packages
# into DIR, each a directory tree that stacks on the one before it:
#
#   DIR/judge  Debian bookworm (minbase) with gcc, g++ and python3: a whole
#              root, so it also works as the only layer
#   DIR/ci     on top of judge: build-essential, make, git (only what they
#              add; DIR/judge must stay below it)
#
#     sbx run --rootfs DIR/judge -- g++ --version
#     sbx run --rootfs DIR/judge --rootfs DIR/ci -- make --version
#
# LAYER defaults to "judge ci". A layer already built (DIR/.LAYER.done) is
# kept, so a second run costs nothing; remove DIR to rebuild. Needs root,
# debootstrap and Debian's archive (SBX_DEBIAN_MIRROR, default
# http://deb.debian.org/debian); nothing else from the network. About a
# minute and 750 MB for both.
#
# A layer is just a directory: an image from anywhere else (an unpacked OCI
# image, another debootstrap) is used the same way, with --rootfs.
set -eu
DIR=${1:?usage: build-images.sh DIR [judge|ci...]}
shift
LAYERS=${*:-judge ci}
MIRROR=${SBX_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm

die() { echo "build-images.sh: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "needs root (debootstrap, chroot)"
command -v debootstrap >/dev/null || die "debootstrap not found: apt-get install debootstrap (or run scripts/install-deps)"
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

# One build at a time per DIR (two tests may ask at once).
exec 9>"$DIR/.lock"
flock 9

# Files of the host that debootstrap and apt copy in, which a layer must not
# carry: the jobs' own /etc/hostname and /etc/resolv.conf are sbx's.
scrub() {
    rm -rf "$1/var/cache/apt/archives/"*.deb "$1/var/lib/apt/lists/"* "$1/var/log/"*.log \
           "$1/var/cache/debconf/"*-old
    echo sandbox > "$1/etc/hostname"
    : > "$1/etc/resolv.conf"
}

build_judge() {
    tmp=$DIR/judge.tmp
    rm -rf "$tmp"
    # debootstrap mounts /proc and /sys in the new tree: in a mount namespace
    # of its own, nothing of it shows in the host's mount table (which the
    # security tests compare, maybe while this runs) or outlives the build.
    unshare --mount --propagation private \
        debootstrap --variant=minbase --include=gcc,g++,python3 "$SUITE" "$tmp" "$MIRROR" \
        >"$DIR/judge.log" 2>&1 || { tail -20 "$DIR/judge.log" >&2; die "debootstrap failed (log: $DIR/judge.log)"; }
    scrub "$tmp"
    rm -rf "$DIR/judge"
    mv "$tmp" "$DIR/judge"
}

# The CI layer is what apt-get writes when it installs the CI packages into
# an overlay of the judge layer: the overlay's upper directory is the layer
# (with overlayfs' whiteouts for anything removed), so it holds only the
# difference. All of it happens in a mount namespace of its own, so no mount
# outlives the build, whatever happens.
build_ci() {
    [ -f "$DIR/.judge.done" ] || die "the ci layer stacks on judge: build judge first"
    rm -rf "$DIR/ci.tmp" "$DIR/ci.work" "$DIR/ci.mnt"
    mkdir -p "$DIR/ci.tmp" "$DIR/ci.work" "$DIR/ci.mnt"
    # shellcheck disable=SC2016
    unshare --mount --propagation private sh -eu -c '
        D=$1
        M=$D/ci.mnt
        mount -t overlay overlay -o "lowerdir=$D/judge,upperdir=$D/ci.tmp,workdir=$D/ci.work" "$M"
        mount -t proc proc "$M/proc"
        mount --rbind /dev "$M/dev"
        cp /etc/resolv.conf "$M/etc/resolv.conf"
        export DEBIAN_FRONTEND=noninteractive LC_ALL=C
        chroot "$M" apt-get update -qq
        chroot "$M" apt-get install -y -qq --no-install-recommends build-essential make git python3
        chroot "$M" apt-get clean
    ' build-ci "$DIR" >"$DIR/ci.log" 2>&1 || { tail -20 "$DIR/ci.log" >&2; die "apt-get in the ci layer failed (log: $DIR/ci.log)"; }
    rm -rf "$DIR/ci.work" "$DIR/ci.mnt"
    scrub "$DIR/ci.tmp"
    # The same files as the judge layer's: no copy needed in this one.
    rm -f "$DIR/ci.tmp/etc/hostname" "$DIR/ci.tmp/etc/resolv.conf"
    rm -rf "$DIR/ci"
    mv "$DIR/ci.tmp" "$DIR/ci"
}

for l in $LAYERS; do
    case $l in judge|ci) ;; *) die "unknown layer \"$l\" (judge or ci)" ;; esac
    [ -f "$DIR/.$l.done" ] && continue
    rm -f "$DIR/.ci.done"   # ci stacks on judge: a new judge means a new ci
    start=$(date +%s)
    "build_$l"
    touch "$DIR/.$l.done"
    echo "build-images.sh: $DIR/$l built in $(($(date +%s) - start)) s"
done
