#!/bin/bash
# The root filesystem: layers stacked read-only, writes in a size-limited
# tmpfs that vanishes with the job, bind mounts read-only by default, and
# destinations that go through a symlink refused.
. "$(dirname "$0")/lib.sh"

sbx_run -- /bin/sh -c 'echo hello > /etc/motd; echo x > /newfile; cat /etc/motd'
check "writes to the root work" "$OUT" hello
sbx_run -- /bin/sh -c 'cat /etc/motd /newfile 2>&1 | head -c 200'
check_match "writes vanish after the job" "$OUT" 'No such file'
[ -e "$SBX_ROOTFS/etc/motd" ] && fail "the write reached the host layer" || ok "host layer untouched"

# --rootfs-size bounds the writes.
sbx_run --rootfs-size 2M -- /bin/sh -c 'dd if=/dev/zero of=/big bs=64k count=100 2>&1; echo rc=$?'
check_match "--rootfs-size fills to ENOSPC" "$OUT" 'No space left on device'

# /tmp is a tmpfs of its own.
sbx_run -- /bin/sh -c 'grep " /tmp " /proc/mounts | cut -d" " -f3'
check "/tmp is tmpfs" "$OUT" tmpfs

# Layers stack: a later layer overrides an earlier one.
mkdir -p "$T/layer/etc" "$T/layer/extra"
echo from-layer > "$T/layer/etc/hostname"
echo extra > "$T/layer/extra/file"
sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/layer" -- /bin/sh -c 'cat /etc/hostname /extra/file; ls /bin/sh'
check "upper layer wins, lower still visible" "$(echo $OUT)" "from-layer extra /bin/sh"

# Bind mounts: read-only by default, nosuid and nodev.
mkdir "$T/data" && echo secret > "$T/data/f" && chmod -R a+rwX "$T/data"
sbx_run --bind "$T/data:/data" -- /bin/sh -c 'exec 2>&1; cat /data/f; echo y > /data/g; grep " /data " /proc/mounts'
check_match "ro bind readable" "$OUT" secret
check_match "ro bind refuses writes" "$OUT" 'Read-only file system'
check_match "bind is ro,nosuid,nodev" "$(echo "$OUT" | grep ' /data ')" 'ro,nosuid,nodev'
[ -e "$T/data/g" ] && fail "write reached the host through a ro bind" || ok "no write through the ro bind"
sbx_run --bind-rw "$T/data:/data" -- /bin/sh -c 'echo y > /data/g && echo wrote'
check "rw bind writes" "$OUT" wrote
check "the write is on the host" "$(cat "$T/data/g")" y

# --tmpfs adds a size-limited tmpfs.
sbx_run --tmpfs /scratch:1M -- /bin/sh -c 'dd if=/dev/zero of=/scratch/f bs=64k count=40 2>&1; grep " /scratch " /proc/mounts | cut -d" " -f3'
check_match "--tmpfs is bounded" "$OUT" 'No space left on device'

# A symlink planted in a layer must not redirect a bind mount outside the root.
mkdir -p "$T/evil"
ln -s /etc "$T/evil/escape"
ln -s ../../../../../../tmp "$T/evil/rel"
sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/evil" --bind "$T/data:/escape/x" -- /bin/true
check "bind through an absolute symlink is refused" "$RC" 125
check_match "the error names the mount" "$ERR" 'mounts\[0\]'
sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/evil" --tmpfs /rel/x -- /bin/true
check "tmpfs through a relative symlink is refused" "$RC" 125
ls /etc/x /tmp/x >/dev/null 2>&1 && fail "a mount point was created on the host" || ok "nothing created on the host"

# A layer whose /proc is a symlink to the host's cannot redirect /proc.
mkdir -p "$T/evil2"
ln -s /proc "$T/evil2/dev"
sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/evil2" -- /bin/true
check "layer with a symlinked /dev is refused" "$RC" 125

# /sys is not mounted.
sbx_run -- /bin/sh -c 'ls /sys | wc -l'
check "/sys is empty" "$OUT" 0
finish
