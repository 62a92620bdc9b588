#!/bin/bash
# Images from inside a job: a setuid-root binary kept by --allow-setuid
# gives no root; writing, deleting, whiting out or re-xattr'ing the image's
# files reaches only the job's tmpfs upper, never the store; the store is
# out of the job's and of host users' reach. (Hostile archives at import:
# tests/integration/test_image.sh.)
. "$(dirname "$0")/lib.sh"

export SBX_IMAGE_STORE="$T/store"
MK="python3 $SBX_SRC/tests/integration/mkimage.py"
mkdir -p "$T/l2/bin" "$T/l2/etc"
cp "$SBX_SECURITY/setuid" "$T/l2/bin/suid-probe"
chmod 4755 "$T/l2/bin/suid-probe"
echo original > "$T/l2/etc/target"
$MK docker "$T/img.tar" --name sec:1 "$SBX_ROOTFS" "$T/l2"
"$SBX" image import --allow-setuid "$T/img.tar" >/dev/null 2>&1
check "the setuid bit is in the store (--allow-setuid)" \
    "$(stat -c %a "$SBX_IMAGE_STORE"/layers/sha256/*/bin/suid-probe)" 4755
state() { (cd "$SBX_IMAGE_STORE" && find . -path ./lock -prune -o -printf '%p %m %u %s %T@\n' | sort | sha256sum); }
before=$(state)

for prof in default none; do
    sbx_run --image sec:1 --uid 1000 --gid 1000 --seccomp "$prof" "${ATTACK_LIMITS[@]}" -- /bin/suid-probe
    echo "$OUT" | sed 's/^/    | /'
    expect_blocked "a setuid-root binary of an image gives no root (--seccomp $prof)"
    host_unchanged "setuid in an image"
done

# Root inside goes after the image's files.
sbx_run --image sec:1 "${ATTACK_LIMITS[@]}" -- /bin/sh -c '
    echo changed > /etc/target; rm -rf /bin/suid-probe; mknod /etc/wh c 0 0 2>&1
    chmod 0777 /etc /bin/busybox; chown 1:1 /etc/target; touch /etc/new
    mount -t tmpfs x /etc 2>&1; cat /etc/target'
check_match "root inside may change its view of the image" "$OUT" changed
check_match "... but not make a whiteout device" "$OUT" 'mknod.*(Operation not permitted|Permission denied)'
check "the store is unchanged by the job" "$(state)" "$before"
check "the image's file is unchanged" "$(cat "$SBX_IMAGE_STORE"/layers/sha256/*/etc/target)" original
sbx_run --image sec:1 -- /bin/sh -c 'cat /etc/target; ls /bin/suid-probe'
check "the next job sees the image as imported" "$(echo $OUT)" "original /bin/suid-probe"
host_unchanged "writes to an image"

check "the store is root's alone" "$(stat -c '%a %u' "$SBX_IMAGE_STORE")" "700 0"
out=$(setpriv --reuid=65534 --regid=65534 --clear-groups ls "$SBX_IMAGE_STORE/layers" 2>&1)
check_match "a host user cannot reach the layers (control: root can)" "$out" 'Permission denied'
check_cmp "... while root can" "$(ls "$SBX_IMAGE_STORE/layers/sha256" | wc -l)" -ge 2
finish
