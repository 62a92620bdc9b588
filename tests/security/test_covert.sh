#!/bin/bash
# Covert channels between two jobs running at the same time: job A plants a
# token through one channel and waits; job B, started while A runs, looks
# for it. The lock channels use one host file bound read-only into both.
#
# Advisory locks (flock, POSIX and OFD fcntl locks) and inotify on a file
# that both jobs can open would be shared on the file's inode. A read-only
# directory bind reaches each job through a read-only overlay of its own
# (executor/mounts.c), so each job opens its own inode and these channels
# close, under every profile. A read-write bind is shared by the operator's
# choice: there the channel stays, and the strict profile still closes the
# lock and inotify calls. This test asserts exactly that, so a change either
# way shows up.
. "$(dirname "$0")/lib.sh"

mkdir -p "$T/shared"; echo shared > "$T/shared/file"; chmod 0644 "$T/shared/file"
SHARED=(--bind "$T/shared:/shared")

# covert PROFILE CHANNEL : sets GOT to LEAK or BLOCKED (job B's verdict).
covert() {
    local prof=$1 ch=$2 a
    "$SBX" run --seccomp "$prof" --wall-time-limit 20 "${SEC[@]}" "${SHARED[@]}" -- /sec/covert send "$ch" >"$T/a.out" 2>&1 &
    a=$!
    for _ in $(seq 100); do grep -q READY "$T/a.out" && break; kill -0 $a 2>/dev/null || break; sleep 0.05; done
    sbx_run --seccomp "$prof" --wall-time-limit 20 "${SEC[@]}" "${SHARED[@]}" -- /sec/covert recv "$ch"
    kill -TERM $a 2>/dev/null; wait $a 2>/dev/null
    echo "    A: $(grep SENT "$T/a.out") | B: $OUT $(field status) $(field syscall)"
    if grep -q '^LEAK' <<<"$OUT"; then GOT=LEAK; else GOT=BLOCKED; fi
}

for ch in keyring vsock io_uring shm tmp abstract sysv filenr; do
    for prof in default none; do
        covert $prof $ch
        check "$ch: no channel between concurrent jobs (--seccomp $prof)" "$GOT" BLOCKED
    done
done
# Locks and inotify on a shared read-only bind: closed by the private views.
for ch in flock posix ofd inotify; do
    for prof in default none; do
        covert $prof $ch
        check "$ch on a shared read-only bind: no channel (--seccomp $prof)" "$GOT" BLOCKED
    done
done
# On a shared read-write bind the operator shares the inode on purpose: the
# channel is there under default, and strict closes it.
chmod 0777 "$T/shared"; chmod 0666 "$T/shared/file"
SHARED=(--bind-rw "$T/shared:/shared")
for ch in flock posix ofd inotify; do
    covert default $ch
    check "$ch on a shared read-write bind: a known channel under default (see SECURITY.md)" "$GOT" LEAK
    covert strict $ch
    check "$ch on a shared read-write bind: closed under --seccomp strict" "$GOT" BLOCKED
done
# What a job learns of the host: host-wide facts masked (empty), the rest
# written down in SECURITY.md as residual channels.
sbx_run -- /bin/sh -c 'for f in /proc/sys/fs/file-nr /proc/sys/kernel/random/boot_id /proc/cmdline /proc/config.gz; do
    printf "%s=%s;" "$f" "$(head -c 64 $f 2>/dev/null | tr -d "\n")"; done'
check "file-nr, boot_id, the kernel command line and config are empty in a job" "$OUT" \
    "/proc/sys/fs/file-nr=;/proc/sys/kernel/random/boot_id=;/proc/cmdline=;/proc/config.gz=;"
check_match "control: the host's are not" "$(cat /proc/sys/kernel/random/boot_id)" '^[0-9a-f-]{36}$'
host_unchanged "covert channels"
finish
