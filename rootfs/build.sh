#!/bin/sh
# build.sh DIR - builds the bundled minimal rootfs into DIR from Debian's
# busybox-static: /bin/busybox, a symlink per applet at its usual path, the
# empty mount points the sandbox needs, and minimal identity files.
# The tree is rebuilt from scratch in a temporary directory and renamed into
# place, so an interrupted build never leaves a half rootfs behind.
set -eu
DIR=${1:?usage: build.sh DIR}
BB=${BUSYBOX:-/bin/busybox}

if [ ! -x "$BB" ]; then
    echo "rootfs/build.sh: $BB not found: apt-get install busybox-static (or run scripts/install-deps)" >&2
    exit 1
fi
if ldd "$BB" >/dev/null 2>&1; then
    echo "rootfs/build.sh: $BB is dynamically linked: apt-get install busybox-static" >&2
    exit 1
fi

TMP="$DIR.tmp.$$"
rm -rf "$TMP"
trap 'rm -rf "$TMP"' EXIT
umask 022
mkdir -p "$TMP"
for d in bin sbin usr/bin usr/sbin etc root home tmp proc dev sys run var/tmp work; do
    mkdir -p "$TMP/$d"
done
chmod 1777 "$TMP/tmp" "$TMP/var/tmp"
chmod 0700 "$TMP/root"
cp "$BB" "$TMP/bin/busybox"
chmod 0755 "$TMP/bin/busybox"

# One symlink per applet, at the path busybox itself names for it.
"$BB" --list-full | while read -r path; do
    case "$path" in bin/busybox|"") continue ;; esac
    dir=$(dirname "$path")
    rel=$(echo "$dir" | sed 's#[^/][^/]*#..#g')
    [ -e "$TMP/$path" ] || ln -s "$rel/bin/busybox" "$TMP/$path"
done

cat > "$TMP/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PW
cat > "$TMP/etc/group" <<'GR'
root:x:0:
nogroup:x:65534:
GR
echo sandbox > "$TMP/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\tlocalhost\n' > "$TMP/etc/hosts"
: > "$TMP/etc/resolv.conf"
printf 'sbx minimal rootfs (busybox %s)\n' "$("$BB" 2>&1 | head -n1 | awk '{print $2}')" > "$TMP/etc/sbx-release"

rm -rf "$DIR"
mv "$TMP" "$DIR"
trap - EXIT
