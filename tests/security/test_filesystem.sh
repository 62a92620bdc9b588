#!/bin/bash
# Filesystem escapes: symlinks planted in a layer pointing at host paths,
# /proc and /sys levers, device nodes, the shocker open_by_handle_at, chroot
# in chroot, setuid-root binaries in a layer, and filling the host's disk.
. "$(dirname "$0")/lib.sh"

# --- Symlinks in a layer that point at host paths (absolute and relative).
echo "HOST-SECRET-$$" > "$T/secret"; chmod 0644 "$T/secret"
mkdir -p "$T/hostdir" "$T/evil/etc" "$T/data"; chmod 0777 "$T/hostdir" "$T/data"
ln -s "$T/secret" "$T/evil/abs"
ln -s "../../../../../../../../$T/secret" "$T/evil/rel"
ln -s "$T/hostdir" "$T/evil/dirlink"
ln -s /proc/1/root "$T/evil/p1root"
secret_sum=$(sum "$T/secret")
attack --rootfs "$SBX_ROOTFS" --rootfs "$T/evil" -- symlink "HOST-SECRET-$$" /abs /rel /dirlink /p1root/$T/secret
expect_blocked "symlinks planted in a layer resolve inside the job's root"
check "no file created through a link to a host dir" "$(ls -A "$T/hostdir")" ""
check "the host secret is unchanged" "$(sum "$T/secret")" "$secret_sum"
host_unchanged "layer symlinks"
# Mount destinations through those links are refused (fail closed).
sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/evil" --bind "$T/data:/dirlink/x" -- /bin/true
check "a bind destination through a layer symlink is refused" "$RC" 125
sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/evil" --tmpfs /dirlink/t -- /bin/true
check "a tmpfs destination through a layer symlink is refused" "$RC" 125
sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/evil" --bind "$T/data:/abs" -- /bin/true
check "a bind onto a symlink itself is refused" "$RC" 125
check "nothing was created in the link's host target" "$(ls -A "$T/hostdir")" ""
host_unchanged "bind destinations through symlinks"
# A race: while jobs start, the host flips /race in a layer between a
# directory and a symlink to a host directory. Each job must either fail
# setup or mount inside its root; the host directory must stay empty and
# unmounted. (Not deterministic: it shows no window was hit in 40 tries; the
# argument is that every component is opened with RESOLVE_NO_SYMLINKS and
# the mount is made on that fd.)
mkdir -p "$T/racer" "$T/racetarget"; chmod 0777 "$T/racetarget"
( for _ in $(seq 4000); do
      rm -rf "$T/racer/race"; mkdir "$T/racer/race" 2>/dev/null
      rm -rf "$T/racer/race"; ln -s "$T/racetarget" "$T/racer/race" 2>/dev/null
  done ) & flipper=$!
cleanup_hooks+=("kill $flipper 2>/dev/null")
raced_ok=0 raced_refused=0 raced_other=0
for _ in $(seq 40); do
    sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/racer" --bind "$T/data:/race/x" -- /bin/sh -c 'touch /race/x/../planted 2>/dev/null; true'
    case $RC in 0) raced_ok=$((raced_ok + 1)) ;; 125) raced_refused=$((raced_refused + 1)) ;; *) raced_other=$((raced_other + 1)) ;; esac
done
kill $flipper 2>/dev/null; wait $flipper 2>/dev/null
echo "    race: $raced_ok jobs mounted inside, $raced_refused refused, $raced_other other"
check "racing a layer dir against a symlink: the host target stays empty" "$(ls -A "$T/racetarget")" ""
check "racing: no job ended otherwise than ran or refused" "$raced_other" 0
host_unchanged "layer symlink race"

# A layer whose /proc, /dev or /tmp is a symlink to the host's.
for d in proc dev tmp; do
    rm -rf "$T/evil2"; mkdir -p "$T/evil2"; ln -s "/$d" "$T/evil2/$d"
    sbx_run --rootfs "$SBX_ROOTFS" --rootfs "$T/evil2" -- /bin/true
    check "a layer with /$d -> host /$d is refused" "$RC" 125
done
host_unchanged "symlinked system directories"

# Host-side paths (layers, bind sources) are the operator's and are resolved
# as given, symlinks included, once: open_tree returns the fd that is
# mounted, so nothing can be swapped between a check and the mount.
ln -s "$SBX_ROOTFS" "$T/rootfs-link"
sbx_run --rootfs "$T/rootfs-link" -- /bin/true
check "a layer path that is a symlink is resolved on the host (decision: operator paths)" "$RC" 0

# --- /proc and /sys writes and reads. Without seccomp, the other layers
# (no capabilities, read-only /proc/sys, masks, no /sys) still hold.
core=$(cat /proc/sys/kernel/core_pattern); crf=$(cat /proc/sys/kernel/sched_child_runs_first)
host=$(cat /proc/sys/kernel/hostname); modp=$(cat /proc/sys/kernel/modprobe)
for prof in default none; do
    attack --seccomp $prof -- procsys
    expect_blocked "/proc and /sys levers (--seccomp $prof)"
    expect_line "kcore is masked (--seccomp $prof)" '^BLOCKED read /proc/kcore: (empty|open)'
    expect_line "kallsyms is masked (--seccomp $prof)" '^BLOCKED read /proc/kallsyms: (empty|open)'
    host_unchanged "/proc and /sys (--seccomp $prof)"
done
check "host core_pattern unchanged" "$(cat /proc/sys/kernel/core_pattern)" "$core"
check "host sched_child_runs_first unchanged" "$(cat /proc/sys/kernel/sched_child_runs_first)" "$crf"
check "host hostname unchanged" "$(cat /proc/sys/kernel/hostname)" "$host"
check "host modprobe unchanged" "$(cat /proc/sys/kernel/modprobe)" "$modp"

# --- Device nodes.
for prof in default none; do
    attack --seccomp $prof -- devices
    expect_blocked "mknod and device nodes (--seccomp $prof)"
    host_unchanged "devices (--seccomp $prof)"
done

# --- open_by_handle_at with a forged handle to the filesystem's root inode.
for prof in default none; do
    attack --seccomp $prof -- shocker etc
    expect_blocked "shocker: open_by_handle_at (--seccomp $prof)"
done
expect_line "without seccomp, no CAP_DAC_READ_SEARCH stops it" 'BLOCKED open_by_handle_at\(inode 2, via /\): EPERM'

# --- chroot in chroot.
for prof in default none; do
    attack --seccomp $prof -- chroot_escape "$T/secret"
    expect_blocked "chroot-in-chroot and pivot_root (--seccomp $prof)"
    host_unchanged "chroot (--seccomp $prof)"
done

# --- A setuid-root copy of a program in a layer, run by uid 1000 inside.
mkdir -p "$T/suid/bin"
cp "$SBX_SECURITY/setuid" "$T/suid/bin/suid-probe"
chown 0:0 "$T/suid/bin/suid-probe"; chmod 4755 "$T/suid/bin/suid-probe"
for prof in default none; do
    sbx_run --seccomp $prof --uid 1000 --gid 1000 --rootfs "$SBX_ROOTFS" --rootfs "$T/suid" -- /bin/suid-probe
    echo "$OUT" | sed 's/^/    | /'
    expect_blocked "a setuid-root binary in a layer gives no root (--seccomp $prof)"
    expect_line "it ran as uid 1000 with no_new_privs" 'ruid=1000 euid=1000 suid=1000 no_new_privs=1'
done
# The same file through a read-only bind: nosuid there too.
sbx_run --uid 1000 --gid 1000 --bind "$T/suid/bin:/suid" -- /suid/suid-probe
expect_blocked "a setuid-root binary on a bind gives no root"
check "the setuid file on the host is unchanged" "$(stat -c %a:%u "$T/suid/bin/suid-probe")" "4755:0"

# --- Disk: the rootfs and /tmp are bounded tmpfs; a --bind-rw dir is the
# operator's disk, bounded per file by --output-limit (RLIMIT_FSIZE).
attack --rootfs-size 8M -- disk_fill /big 64
expect_line "the rootfs is bounded by --rootfs-size" '^BLOCKED fill /big .*ENOSPC'
attack --rootfs-size 8M -- disk_fill /tmp/big 64
expect_line "/tmp is bounded" '^BLOCKED fill /tmp/big .*ENOSPC'
# One budget for the root's writes, /tmp and /dev/shm (they used to get
# --rootfs-size each: a job without --memory held 3x the size in RAM).
sbx_run --rootfs-size 16M -- /bin/sh -c 'for f in /tmp/a /dev/shm/b /c; do
    dd if=/dev/zero of=$f bs=1M count=12 2>/dev/null; done; du -sk /tmp/a /dev/shm/b /c | awk "{s += \$1} END {print s}"'
check_cmp "the root, /tmp and /dev/shm share --rootfs-size (KiB written)" "${OUT:-99999}" -le 16384
attack --tmpfs /scratch:4M -- disk_fill /scratch/big 64
expect_line "--tmpfs is bounded" '^BLOCKED fill /scratch/big .*ENOSPC'
attack --output-limit 4M --bind-rw "$T/data:/out" -- disk_fill /out/big 64
expect_line "a --bind-rw file is bounded by --output-limit" '^BLOCKED fill /out/big .*EFBIG'
check_cmp "the file on the host stopped at the limit" "$(stat -c %s "$T/data/big")" -le $((4 << 20))
# The tmpfs fills used memory, not the host's disk: all the jobs left on the
# host is the one bind-rw file. (df would be too noisy to compare on a
# machine that builds while testing.)
check "the only file the jobs left on the host is the bind-rw one" "$(cd "$T/data" && ls)" "big"
check_cmp "the test's host directory holds less than 5 MiB" "$(du -sk "$T" | cut -f1)" -lt 5120
host_unchanged "disk"
finish
