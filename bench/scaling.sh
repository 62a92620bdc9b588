#!/bin/bash
# bench/scaling.sh - how sbx behaves as load grows.
#
#  1. latency (median, p99, max) and jobs/s of `/bin/true` jobs as the number
#     of concurrent clients grows 1 -> 32 (bench/loadgen, a C driver);
#  2. through sandboxd: its RSS as RSS_JOBS (10,000) jobs pass through it;
#  3. HELD (1,000) jobs sleeping at once: each started only once the previous
#     one runs, the start latency of each (as the count of held jobs grows),
#     and the memory per held job (MemAvailable before/after, so kernel memory
#     of namespaces, mounts and cgroups counts too), then their teardown.
#
# Through sandboxd when the build has it (sbx --socket S run), else sbx run.
# env: BUILD (./build)  SECS (5 per step)  CLIENTS ("1 2 4 8 16 32")  HELD (1000)
#      RSS_JOBS (10000; 0 skips)
#      MODE (auto|sbx|sbxd)  SANDBOXD_ARGS (extra daemon flags)  OUT (results dir)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$SRC/build}
SECS=${SECS:-5}
CLIENTS=${CLIENTS:-1 2 4 8 16 32}
HELD=${HELD:-1000}
RSS_JOBS=${RSS_JOBS:-10000}
MODE=${MODE:-auto}
WORK=${WORK:-/tmp/sbx-bench}
OUT=${OUT:-$WORK/scaling/$(date -u +%Y%m%dT%H%M%S)}
SBX=$BUILD/sbx
SANDBOXD=$BUILD/sandboxd
SOCK=$WORK/sandboxd-scaling.sock
[ "$(id -u)" = 0 ] || { echo "scaling.sh: run as root" >&2; exit 1; }
mkdir -p "$WORK" "$OUT"
[ -x "$SBX" ] || { cmake -S "$SRC" -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j"$(nproc)" >/dev/null; } || exit 1
cc -O2 -o "$WORK/loadgen" "$HERE/loadgen.c" || exit 1
# enough uid slots for every held job (and a margin), each a 65,536-id range
export SBX_UID_POOL=${SBX_UID_POOL:-1879048192:65536:$((HELD + 64))}

if [ "$MODE" = auto ]; then
    if [ -x "$SANDBOXD" ] && "$SBX" --help 2>/dev/null | grep -q -- '--socket'; then MODE=sbxd; else MODE=sbx; fi
fi
DPID=
if [ "$MODE" = sbxd ]; then
    rm -f "$SOCK"
    # room for every held job: uid slots, running jobs, connections, fds
    cat > "$OUT/sandboxd.conf" <<CONF
uid_pool { first: 1879048192 range: 65536 slots: $((HELD + 64)) }
max_concurrent: $((HELD + 32))
queue_length: 1024
max_connections: $((HELD + 64))
keep_stopped: 16
CONF
    prlimit --nofile="$(ulimit -Hn)" "$SANDBOXD" --socket "$SOCK" --config "$OUT/sandboxd.conf" \
        ${SANDBOXD_ARGS:-} >"$OUT/sandboxd.log" 2>&1 &
    DPID=$!
    for _ in $(seq 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
    CMD=("$SBX" --socket "$SOCK" run --memory 256M --pids 64 --cpus 1 --)
else
    CMD=("$SBX" run --memory 256M --pids 64 --cpus 1 --)
fi
trap '[ -n "$DPID" ] && kill -TERM "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null' EXIT

echo "scaling: $(date -u '+%Y-%m-%d %H:%M UTC'), $(uname -r), $(nproc) CPUs, mode $MODE"
echo
echo "| concurrent clients | jobs/s | median ms | p99 ms | max ms | failed |"
echo "|---|---|---|---|---|---|"
for c in $CLIENTS; do
    read -r _ n f tp med p99 mx < <("$WORK/loadgen" "$c" "$SECS" "${CMD[@]}" /bin/true)
    echo "| $c | $tp | $med | $p99 | $mx | $f |"
done | tee "$OUT/clients.md"

if [ -n "$DPID" ] && [ "$RSS_JOBS" -gt 0 ]; then
    echo
    echo "sandboxd RSS while $RSS_JOBS jobs pass through it (2 clients):"
    echo
    echo "| jobs done | VmRSS KiB | VmHWM KiB | fds open |"
    echo "|---|---|---|---|"
    done_jobs=0
    while [ "$done_jobs" -lt "$RSS_JOBS" ]; do
        read -r _ n _ < <("$WORK/loadgen" 2 5 "${CMD[@]}" /bin/true)
        done_jobs=$((done_jobs + n))
        echo "| $done_jobs | $(awk '/^VmRSS/ {print $2}' /proc/$DPID/status) | $(awk '/^VmHWM/ {print $2}' /proc/$DPID/status) | $(ls /proc/$DPID/fd | wc -l) |"
    done | tee "$OUT/daemon-rss.md"
fi

echo
python3 - "$HELD" "$OUT" "$DPID" "${CMD[@]}" <<'EOF'
import os, signal, statistics, subprocess, sys, time
held, out, dpid, cmd = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4:]
def avail_kb():
    for l in open("/proc/meminfo"):
        if l.startswith("MemAvailable:"):
            return int(l.split()[1])
def rss_kb(pid):
    try:
        for l in open("/proc/%d/status" % pid):
            if l.startswith("VmRSS:"):
                return int(l.split()[1])
    except OSError:
        pass
    return 0
base = avail_kb()
r, w = os.pipe()
rd = os.fdopen(r, "rb", buffering=0)
procs, lat, buf = [], [], b""
t_all = time.perf_counter()
for i in range(held):
    t = time.perf_counter()
    p = subprocess.Popen(cmd + ["/bin/sh", "-c", "echo %d; exec sleep 600" % i], stdout=w,
                         stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    procs.append(p)
    while b"\n" not in buf:
        chunk = rd.read(64)
        if not chunk:
            break
        buf += chunk
    line, _, buf = buf.partition(b"\n")
    lat.append((time.perf_counter() - t) * 1e3)
    if line.strip() != str(i).encode():
        print("job %d did not start (got %r); stopping at %d held" % (i, line, i))
        break
t_up = time.perf_counter() - t_all
time.sleep(1)
used = base - avail_kb()
n = len(lat)
launchers = sum(rss_kb(p.pid) for p in procs)
def pct(a, q):
    a = sorted(a); return a[min(len(a) - 1, int(len(a) * q))]
print("%d jobs held at once (each started after the previous one ran), %.1f s to start them all" % (n, t_up))
print()
print("| jobs already held | start median ms | p99 ms | max ms |")
print("|---|---|---|---|")
step = max(1, n // 5)
for a in range(0, n, step):
    s = lat[a:a + step]
    print("| %d-%d | %.2f | %.2f | %.2f |" % (a, a + len(s) - 1, statistics.median(s), pct(s, .99), max(s)))
print()
print("memory: %.0f KiB per held job in all (MemAvailable drop %.0f MiB), of which %.0f KiB RSS of the "
      "client/launcher process" % (used / max(n, 1), used / 1024, launchers / max(n, 1)))
if dpid:
    print("sandboxd RSS with %d jobs: %d KiB" % (n, rss_kb(int(dpid))))
t = time.perf_counter()
for p in procs:
    p.send_signal(signal.SIGTERM)
for p in procs:
    p.wait()
print("teardown of %d jobs (SIGTERM, wait): %.1f s" % (n, time.perf_counter() - t))
EOF
