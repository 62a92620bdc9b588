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

# While a job holds every inotify instance and queued signal it may have,
# root on the host can still make both: the job's user namespace is owned
# by its slot uid, so the kernel charges these per-user counts to that uid
# (on a job namespace owned by root, root's own inotify_init1 got EMFILE and
# timer_create EAGAIN).
mkdir -p "$T/sync"
"$SBX" run "${SEC[@]}" "${ATTACK_LIMITS[@]}" --pids 16 --memory 64M --bind-rw "$T/sync:/sync" \
    -- /sec/exhaust hold >"$T/hold.out" 2>"$T/hold.err" &
holder=$!
for _ in $(seq 300); do grep -q HOLDING "$T/hold.out" && break; sleep 0.1; done
sed 's/^/    | /' "$T/hold.out"
expect_held() { if grep -Eq -- "$2" "$T/hold.out"; then ok "$1"; else fail "$1: $(tr '\n' ' ' <"$T/hold.out") $(cat "$T/hold.err")"; fi; }
expect_held "the job holds its inotify instances" '^BLOCKED inotify instances held: [0-9]+, then EMFILE'
# limits.pending_signals defaults to 1024 (RLIMIT_SIGPENDING).
expect_held "the job's queued signals stop at its own RLIMIT_SIGPENDING" '^BLOCKED signals queued: 1024, then EAGAIN'
if host=$(python3 - <<'PY' 2>&1
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
fd = libc.inotify_init1(0)
assert fd >= 0, "inotify_init1: " + os.strerror(ctypes.get_errno())
tid = ctypes.c_void_p()
assert libc.timer_create(1, None, ctypes.byref(tid)) == 0, "timer_create: " + os.strerror(ctypes.get_errno())
PY
); then ok "while the job holds them, root still makes inotify instances and timers"
else fail "while the job holds them, root lost: $host"; fi
touch "$T/sync/done"
wait "$holder"
check "the holding job ended well" "$?" 0

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
