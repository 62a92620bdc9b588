#!/bin/bash
# Resource exhaustion aimed at the host: fork and thread bombs, memory,
# file descriptors, inotify instances and watches. Each must stop at the
# job's own limit, and the host must still be able to do the same thing.
. "$(dirname "$0")/lib.sh"

attack --pids 64 -- exhaust fork
expect_line "fork bomb stops at --pids" '^BLOCKED fork bomb: (6[0-4]|[1-5][0-9]) processes'
host_unchanged "fork bomb"
attack --pids 64 -- exhaust threads
expect_line "thread bomb stops at --pids" '^BLOCKED thread bomb: (6[0-4]|[1-5][0-9]) threads'
host_unchanged "thread bomb"
attack --memory 64M -- exhaust memory
check "memory bomb: OOM_KILLED at --memory" "$(field status)" OOM_KILLED
host_unchanged "memory bomb"
attack -- exhaust fds
expect_line "fd exhaustion stops at RLIMIT_NOFILE" '^BLOCKED fd exhaustion: [0-9]+ fds, then EMFILE'
host_unchanged "fds"
attack -- exhaust inotify
expect_line "inotify instances stop at the per-uid limit" '^BLOCKED inotify instances: [0-9]+, then EMFILE'
expect_line "inotify watches stop at the per-uid limit" '^BLOCKED inotify watches: [0-9]+, then ENOSPC'
host_unchanged "inotify"
# The limits were the job's own: the host (root) can still make all of it.
if python3 - <<'PY'
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fds = [libc.inotify_init1(0) for _ in range(8)]
assert all(fd >= 0 for fd in fds), fds
assert libc.inotify_add_watch(fds[0], b"/", 2) >= 0
pid = os.fork()
if pid == 0:
    os._exit(0)
os.waitpid(pid, 0)
PY
then ok "the host still forks and makes inotify instances and watches"; else fail "the host lost inotify or fork"; fi
# Kernel memory outside the memory limit: loopback TCP buffers. Charged to
# the job's memory cgroup (v1: memory.kmem.tcp.limit_in_bytes at the job's
# limit; v2 always, tests/vm/sbx-limits.sh), the host's TCP memory
# (/proc/net/sockstat, shared by every socket on the host) grows by at most
# a small multiple of the limit.
if [ -e /sys/fs/cgroup/memory/memory.kmem.tcp.limit_in_bytes ] || [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    attack --memory 32M -- tcp_mem 512 32
    expect_blocked "TCP buffers under --memory 32M stay within 4x the limit"
    # Control: without a memory limit the same job does hold them.
    attack -- tcp_mem 160 16
    expect_line "control: without a memory limit the TCP buffers grow the host's TCP memory" '^ESCAPED tcp buffers'
else
    ok "this kernel has no v1 TCP memory accounting (memory.kmem.tcp.*): documented in SECURITY.md"
fi
finish
