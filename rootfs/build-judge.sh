#!/bin/sh
# build-judge.sh DIR - builds a judge layer from the host's own programs.
#
# A layer to stack on top of the bundled rootfs, holding the host's python3,
# gcc and (when installed) g++ with their library closure (seconds, no
# network; what tests/integration/test_judge.sh uses):
#     sbx run --rootfs build/rootfs --rootfs DIR -- python3 -c 'print(1)'
# The same layer from Debian packages instead of the host's files, and a CI
# layer on top of it: rootfs/build-images.sh (make images).
set -eu
DIR=${1:?usage: build-judge.sh DIR}
if [ $# -gt 1 ]; then
    echo "build-judge.sh: a judge layer from Debian packages is built by rootfs/build-images.sh DIR judge" >&2
    exit 2
fi

# Debian's own programs, not whatever a user's PATH finds first (pyenv, ...).
for p in python3 gcc cpp as ld; do
    [ -x "/usr/bin/$p" ] || { echo "build-judge.sh: /usr/bin/$p not found (apt-get install python3 gcc)" >&2; exit 1; }
done
TMP="$DIR.tmp.$$"
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP"

# copy PATH...: files and directories as they are on the host (symlinks
# kept), each in its directory's canonical place: Debian merged /lib into
# /usr/lib, and the layer gets the same links at the end.
copy() {
    for f in "$@"; do
        [ -e "$f" ] || continue
        d=$(readlink -f "$(dirname "$f")")
        mkdir -p "$TMP$d"
        cp -a "$f" "$TMP$d/"
    done
}
# chain PATH: a file and every symlink on the way to it (gcc -> gcc-12 -> ...).
chain() {
    f=$1
    while [ -L "$f" ]; do
        copy "$f"
        t=$(readlink "$f")
        case $t in /*) f=$t ;; *) f=$(dirname "$f")/$t ;; esac
    done
    copy "$f"
}
# closure BIN...: a binary plus every shared library ldd names for it.
closure() {
    for b in "$@"; do
        chain "$b"
        ldd "$b" 2>/dev/null | awk '/=>/ {print $3} /^\t\// {print $1}' | while read -r lib; do
            [ -n "$lib" ] && chain "$lib"
        done
    done
    return 0
}

PY=$(readlink -f /usr/bin/python3)
PYVER=$(/usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
closure /usr/bin/python3 "$PY"
copy "/usr/lib/python$PYVER"
GCCVER=$(/usr/bin/gcc -dumpversion)
TRIPLE=$(/usr/bin/gcc -dumpmachine)
closure /usr/bin/gcc /usr/bin/cpp /usr/bin/as /usr/bin/ld \
        "/usr/lib/gcc/$TRIPLE/$GCCVER/cc1" "/usr/lib/gcc/$TRIPLE/$GCCVER/collect2" \
        "/usr/lib/gcc/$TRIPLE/$GCCVER/lto-wrapper" "$(readlink -f /usr/bin/ld)"
copy "/usr/lib/gcc/$TRIPLE/$GCCVER" /usr/include "/usr/lib/$TRIPLE/crt1.o" "/usr/lib/$TRIPLE/crti.o" \
     "/usr/lib/$TRIPLE/crtn.o" "/usr/lib/$TRIPLE/Scrt1.o" "/usr/lib/$TRIPLE/libc.so" \
     "/usr/lib/$TRIPLE/libc_nonshared.a" "/usr/lib/$TRIPLE/libm.so" "/usr/lib/$TRIPLE/libm.a" \
     "/usr/lib/$TRIPLE/libmvec.so" "/usr/lib/$TRIPLE/libc.a" "/usr/lib/$TRIPLE/libbfd-"*.so \
     "/usr/lib/$TRIPLE/libctf"*.so* "/usr/lib/$TRIPLE/libsframe"*.so* "/usr/lib/$TRIPLE/libopcodes"*.so* \
     "/usr/lib/$TRIPLE/libjansson.so"* "/usr/lib/$TRIPLE/libzstd.so"* "/usr/lib/$TRIPLE/libz.so"* \
     "/usr/lib/$TRIPLE/libisl.so"* "/usr/lib/$TRIPLE/libmpc.so"* "/usr/lib/$TRIPLE/libmpfr.so"* \
     "/usr/lib/$TRIPLE/libgmp.so"* "/usr/lib/$TRIPLE/libgcc_s.so"* "/usr/lib/$TRIPLE/libstdc++.so"* \
     "/usr/lib/$TRIPLE/libpthread"* "/usr/lib/$TRIPLE/libdl"* "/usr/lib/$TRIPLE/librt"* \
     "/usr/lib/$TRIPLE/libm.so"* "/usr/lib/$TRIPLE/libmvec.so"* "/usr/lib/$TRIPLE/crt"*.o "/usr/lib/$TRIPLE/Mcrt1.o" "/usr/lib/$TRIPLE/gcrt1.o"
# C++ when the host has it.
if [ -x /usr/bin/g++ ] && [ -x "/usr/lib/gcc/$TRIPLE/$GCCVER/cc1plus" ]; then
    closure /usr/bin/g++ "/usr/lib/gcc/$TRIPLE/$GCCVER/cc1plus"
fi
# The merged-/usr links for the loader's and libraries' usual paths. Not
# /bin: the bundled rootfs below has a real /bin, which a link would hide.
for l in lib lib64; do
    [ -e "$TMP/usr/$l" ] && [ ! -e "$TMP/$l" ] && ln -s "usr/$l" "$TMP/$l"
done
rm -rf "$DIR"
mv "$TMP" "$DIR"
trap - EXIT
echo "$DIR"
