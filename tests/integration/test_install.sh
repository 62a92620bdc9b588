#!/bin/bash
# make install's layout, into a DESTDIR: the installed sbx and sandboxd run
# jobs with the installed rootfs and find the installed profiles by name,
# not the build tree's.
. "$(dirname "$0")/lib.sh"

D=$T/dest
P=/usr/local
DESTDIR=$D cmake --install "$SBX_BUILD" --prefix "$P" >"$T/install.log" 2>&1
check "cmake --install into a DESTDIR" "$?" 0
for f in bin/sbx bin/sbx-oci sbin/sandboxd lib/sbx/rootfs/bin/busybox lib/sbx/profiles/python.profile \
         lib/sbx/examples/fuzzing.pb.txt lib/systemd/system/sandboxd.service share/doc/sbx/README.md; do
    [ -e "$D$P/$f" ] && ok "installed $f" || fail "missing $D$P/$f"
done
check "the rootfs keeps /tmp's mode" "$(stat -c %a "$D$P/lib/sbx/rootfs/tmp")" 1777
check "the unit starts the installed sandboxd" \
    "$(grep -c "^ExecStart=$P/sbin/sandboxd " "$D$P/lib/systemd/system/sandboxd.service")" 1

# A mark only the installed rootfs has: the installed sbx must use it.
echo installed > "$D$P/lib/sbx/rootfs/etc/sbx-installed"
OUT=$(env -u SBX_DEFAULT_ROOTFS "$D$P/bin/sbx" run -- /bin/cat /etc/sbx-installed 2>&1)
check "the installed sbx runs a job in the installed rootfs" "$OUT" installed
OUT=$(cd "$T" && env -u SBX_DEFAULT_ROOTFS "$D$P/bin/sbx" run --seccomp python -- /bin/echo ok 2>&1)
check "a shipped profile by name" "$OUT" ok
rm "$D$P/lib/sbx/profiles/python.profile"
OUT=$(cd "$T" && "$D$P/bin/sbx" run --seccomp python -- /bin/echo ok 2>&1)
check_match "... from the installed profiles, not the source tree's" "$OUT" 'cannot open'

# The installed sandboxd serves a job from the same rootfs.
SOCK=$T/s.sock
"$D$P/sbin/sandboxd" --socket "$SOCK" 2>"$T/d.err" &
DPID=$!
cleanup_hooks+=("kill $DPID 2>/dev/null; wait $DPID 2>/dev/null")
for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
OUT=$("$D$P/bin/sbx" --socket "$SOCK" run -- /bin/cat /etc/sbx-installed 2>&1)
check "the installed sandboxd runs a job in the installed rootfs" "$OUT" installed
kill "$DPID"; wait "$DPID"
check "sandboxd stops on SIGTERM" "$?" 0
finish
