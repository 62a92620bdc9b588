#!/bin/bash
# bench/warm.sh - warm starts through sandboxd against cold ones and
# bubblewrap, in ONE run (README.md, "Performance"; issue 16's targets).
#
# usage: bench/warm.sh            measure and print the tables
#
# Latency rows (each /bin/true of the bundled busybox rootfs, hyperfine -N):
#   pool     sbx --socket S run --pool p0 -- /bin/true      (a ready sandbox)
#   session  sbx --socket S session run ID -- /bin/true     (one session)
#   cold     sbx --socket S run [the pool's limits] -- /bin/true
#   bwrap    bubblewrap, as bench/bench.sh runs it (1 uid, no time ns, no
#            cgroups, no seccomp)
#   libc     no sandbox: a static program that does nothing but start and
#            exit (glibc's start-up: on this VM, CPUID probes that trap)
#   nolibc   no sandbox: the same without libc (a process's bare cost)
# The pools and the session have the cold row's policy: 65,536 ids, every
# namespace, overlay root, v1 memory+pids+cpu cgroups (256M, 64, 1 CPU), the
# default seccomp filter. The rows take turns in ROUNDS interleaved rounds
# (the host's load drifts), RUNS/ROUNDS timed runs each, every run preceded
# by the same untimed pause (PAUSE seconds, hyperfine --prepare) in every
# row, so that a pool has rebuilt what the last run took: the pool row
# measures a job that finds a ready sandbox, and stats says how many did
# (taken vs cold_starts). The session, cold and bubblewrap rows are also
# measured back to back (-b2b): jobs spaced out and jobs in a burst do not
# cost a cold start the same (on v1 cgroups, a migration after a quiet spell
# waits for an RCU grace period; README.md, "Where the rest goes").
#
# Judge loop: one session, JUDGE_RUNS runs of a small static program (reads
# two numbers, prints their sum), each its own `sbx session run` with its own
# --result-json and verdict (status EXITED and the right answer), in runs/s;
# against the same loop with a fresh sandbox per run (`sbx --socket S run`,
# same policy). Sequential, one client, 3 rounds each, interleaved. The
# same loop again as a judge written in Python runs it, through the Python
# client (client/python): one process and one connection for the whole
# loop, each run one request answered with its result, the test case as
# stdin_data and the output captured; back to back, in a session and with
# a fresh sandbox per run.
#
# Memory: sandboxd's VmRSS (/proc) with 4 pools of 8 ready sandboxes (the
# pools of this run: p0 serves the pool row, p1-p3 only wait), and the
# memory per ready sandbox (PoolStats.memory_per_sandbox_bytes: their
# cgroups' usage).
#
# nsjail (not in Debian 12; set NSJAIL to a binary you built) runs the
# judge loop as a judge that uses it would: one fresh nsjail sandbox per
# test case, with v1 memory, pids and cpu cgroups (256M, 64, 1 CPU) made
# below this script's own cgroups and removed at its end, the program bound
# at /home (nsjail cannot make a mount point in a read-only root).
#
# env: BUILD (./build)  RUNS (200)  ROUNDS (5)  WARMUP (10)  PAUSE (0.02)
#      JUDGE_RUNS (100)  NSJAIL (path)  OUT (results; default /tmp/sbx-bench/warm-DATE)
# Must run as root. Leaves nothing behind but OUT: its own sandboxd is
# stopped by pid, its temporary directory removed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$SRC/build}
RUNS=${RUNS:-200}
ROUNDS=${ROUNDS:-5}
WARMUP=${WARMUP:-10}
PAUSE=${PAUSE:-0.02}
JUDGE_RUNS=${JUDGE_RUNS:-100}
NSJAIL=${NSJAIL:-$(command -v nsjail 2>/dev/null || true)}
SBX=$BUILD/sbx
SANDBOXD=$BUILD/sandboxd
R=$BUILD/rootfs
[ "$(id -u)" = 0 ] || { echo "warm.sh: run as root" >&2; exit 1; }
PY=/usr/bin/python3 # Debian's, with python3-protobuf (the Python client's)
for t in hyperfine bwrap cc python3 $PY; do
    command -v $t >/dev/null || { echo "warm.sh: $t missing (apt-get install hyperfine bubblewrap gcc python3 python3-protobuf)" >&2; exit 1; }
done
[ -x "$SBX" ] && [ -x "$SANDBOXD" ] && [ -x "$R/bin/busybox" ] || { echo "warm.sh: build first ($BUILD)" >&2; exit 1; }

J=$(mktemp -d /tmp/sbx-warm-bench.XXXXXX)
chmod 0755 "$J"
OUT=${OUT:-/tmp/sbx-bench/warm-$(date -u +%Y%m%dT%H%M%S)}
mkdir -p "$OUT"
SOCK=$J/sandboxd.sock
DPID=
stop_daemon() {
    [ -n "$DPID" ] || return 0
    kill -TERM "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
    DPID=
}
# nsjail's cgroup parents, below our own cgroup of each controller (a v1
# hierarchy may hold several: "cpu,cpuacct").
own_cg() { awk -F: -v c="$1" '{n = split($2, a, ","); for (i = 1; i <= n; i++) if (a[i] == c) print $3}' /proc/self/cgroup; }
NSJ_DIRS=()
NSJ_CG=()  # the parents as nsjail takes them: relative to each hierarchy
nsjail_cgroups() {
    local c d
    for c in memory pids cpu; do
        d=$(echo "/sys/fs/cgroup/$c/$(own_cg $c)/warm-bench-nsjail" | sed 's#//*#/#g')
        mkdir "$d" || return 1
        NSJ_DIRS+=("$d")
        NSJ_CG+=("${d#/sys/fs/cgroup/$c/}")
    done
}
nsjail_cleanup() {
    local d
    for d in "${NSJ_DIRS[@]}"; do rmdir "$d"/NSJAIL.* "$d" 2>/dev/null; done
}
trap 'stop_daemon; nsjail_cleanup; rm -rf "$J"' EXIT

LIMITS='limits { memory: "256M" pids: 64 cpus: 1 } seccomp: "default"'
COLD_FLAGS=(--memory 256M --pids 64 --cpus 1 --seccomp default)
{
    echo 'max_concurrent: 2'
    echo 'queue_length: 64'
    for p in p0 p1 p2 p3; do echo "warm_pool { name: \"$p\" size: 8 policy { $LIMITS } }"; done
} > "$J/sandboxd.conf"

# The judge's "solution": small, static, reads its test case on stdin.
mkdir -p "$J/sol"
cat > "$J/sol.c" <<'C'
#include <stdio.h>
int main(void)
{
    long a, b;
    if (scanf("%ld %ld", &a, &b) != 2)
        return 1;
    printf("%ld\n", a + b);
    return 0;
}
C
cc -O2 -static -o "$J/sol/a" "$J/sol.c" || exit 1
chmod -R a+rX "$J/sol"
# The floor rows: a process that only starts and exits, with and without
# glibc (x86-64 only; the row is skipped elsewhere).
echo 'int main(void) { return 0; }' > "$J/libc.c"
cc -O2 -static -o "$J/libc" "$J/libc.c" || exit 1
echo 'void _start(void) { __asm__ volatile("mov $231, %eax; xor %edi, %edi; syscall"); }' > "$J/nolibc.c"
cc -O2 -static -nostdlib -o "$J/nolibc" "$J/nolibc.c" 2>/dev/null || rm -f "$J/nolibc"

"$SANDBOXD" --socket "$SOCK" --config "$J/sandboxd.conf" >"$J/sandboxd.log" 2>&1 &
DPID=$!
S() { "$SBX" --socket "$SOCK" "$@"; }
stats_json() { S stats --json; }
pools_ready() {
    stats_json | python3 -c 'import json,sys
h=json.load(sys.stdin); ps=h.get("pools", [])
sys.exit(0 if len(ps) == 4 and all(p.get("ready", 0) == p.get("size") for p in ps) else 1)'
}
for _ in $(seq 600); do pools_ready 2>/dev/null && break; sleep 0.1; done
pools_ready || { echo "warm.sh: the pools did not fill in 60 s"; cat "$J/sandboxd.log"; exit 1; }
sleep 1
grep -E '^(VmRSS|VmHWM)' "/proc/$DPID/status" > "$OUT/rss.idle"
stats_json > "$OUT/stats.idle.json"

SID=$(S session create "${COLD_FLAGS[@]}" --bind "$J/sol:/sol") || { cat "$J/sandboxd.log"; exit 1; }
JSID=$(S session create "${COLD_FLAGS[@]}" --bind "$J/sol:/sol") || exit 1

row_cmd() {  # NAME -> array C (NAME-b2b: the same, back to back)
    case ${1%-b2b} in
    pool)    C=("$SBX" --socket "$SOCK" run --pool p0 -- /bin/true) ;;
    session) C=("$SBX" --socket "$SOCK" session run "$SID" -- /bin/true) ;;
    cold)    C=("$SBX" --socket "$SOCK" run "${COLD_FLAGS[@]}" -- /bin/true) ;;
    bwrap)   C=(bwrap --unshare-user --uid 0 --gid 0 --unshare-pid --unshare-net --unshare-uts
                --unshare-ipc --unshare-cgroup --ro-bind "$R" / --proc /proc --dev /dev --tmpfs /tmp /bin/true) ;;
    libc)    C=("$J/libc") ;;
    nolibc)  C=("$J/nolibc") ;;
    esac
}
ROWS="pool session cold bwrap libc session-b2b cold-b2b bwrap-b2b"
[ -x "$J/nolibc" ] && ROWS="$ROWS nolibc"
for n in $ROWS; do
    row_cmd $n
    "${C[@]}" >/dev/null 2>&1 || { echo "warm.sh: $n fails: ${C[*]}" >&2; exit 1; }
done

JUDGE_MODES="session cold"
if [ -n "$NSJAIL" ] && [ -x "$NSJAIL" ] && ! nsjail_cgroups; then
    echo "warm.sh: nsjail skipped: its rows here use v1 memory, pids and cpu hierarchies" >&2
    NSJAIL=
fi
if [ -n "$NSJAIL" ] && [ -x "$NSJAIL" ]; then
    NJ=("$NSJAIL" -Mo -Q --chroot "$R" -u 0:100000:65536 -g 0:100000:65536 -T /tmp
        --cgroup_mem_max 268435456 --cgroup_pids_max 64 --cgroup_cpu_ms_per_sec 1000
        --cgroup_mem_parent "${NSJ_CG[0]}" --cgroup_pids_parent "${NSJ_CG[1]}"
        --cgroup_cpu_parent "${NSJ_CG[2]}" -R "$J/sol:/home" -t 2 -- /home/a)
    [ "$("${NJ[@]}" <<<"1 2" 2>&1)" = 3 ] || { echo "warm.sh: nsjail fails: ${NJ[*]}" >&2; exit 1; }
    JUDGE_MODES="$JUDGE_MODES nsjail"
fi

# judge MODE ROUND: JUDGE_RUNS test cases, one verdict each; prints runs/s.
judge() {
    local mode=$1 i ok=0 t0 t1 out st
    t0=${EPOCHREALTIME/./}
    for i in $(seq "$JUDGE_RUNS"); do
        if [ "$mode" = nsjail ]; then
            # Its verdict: nsjail's exit status (the program's) and the answer.
            "${NJ[@]}" <<<"$i $((i * 2))" >"$J/out" 2>/dev/null && [ "$(<"$J/out")" = "$((i * 3))" ] &&
                ok=$((ok + 1))
            continue
        fi
        # Input and output through files (no subshell or pipe to fork).
        if [ "$mode" = session ]; then
            "$SBX" --socket "$SOCK" session run "$JSID" --time-limit 1 --result-json "$J/v.json" \
                -- /sol/a <<<"$i $((i * 2))" >"$J/out" 2>/dev/null
        else
            "$SBX" --socket "$SOCK" run "${COLD_FLAGS[@]}" --bind "$J/sol:/sol" --time-limit 1 \
                --result-json "$J/v.json" -- /sol/a <<<"$i $((i * 2))" >"$J/out" 2>/dev/null
        fi
        out=$(<"$J/out")
        # The verdict: the result's status (read without a fork) and the answer.
        st=$(<"$J/v.json")
        [[ $st == *'"status":"EXITED"'* ]] && [ "$out" = "$((i * 3))" ] && ok=$((ok + 1))
        rm -f "$J/v.json"
    done
    t1=${EPOCHREALTIME/./}
    echo "$ok $(( t1 - t0 ))"
}

# The same judge in Python (MODE: py-session or py-cold); prints "ok us".
pyjudge() {
    "$PY" - "$BUILD/python" "$SOCK" "$1" "$JSID" "$JUDGE_RUNS" "$J/sol" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[1])
from sbx_client.client import Client, make_policy
sock, mode, sid, n, sol = sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
limits = dict(memory="256M", pids=64, cpus=1.0)
ok = 0
with Client(sock) as c:
    t0 = time.perf_counter()
    for i in range(1, n + 1):
        case = b"%d %d\n" % (i, 2 * i)
        if mode == "py-session":
            info = c.session_run(sid, "/sol/a", stdin=case, capture=True, cpu_time="1s")
        else:
            p = make_policy(["/sol/a"], stdin=case, capture=True, cpu_time="1s", **limits)
            p.seccomp = "default"
            m = p.mounts.add()
            m.src, m.dst = sol, "/sol"
            info = c.run(p)
        r = info.result
        ok += r.status == r.EXITED and r.stdout == b"%d\n" % (3 * i)
    us = int((time.perf_counter() - t0) * 1e6)
print(ok, us)
PY
}

for r in $(seq "$ROUNDS"); do
    for n in $ROWS; do
        echo "== round $r: $n" >&2
        row_cmd $n
        pause=$PAUSE
        [ "${n%-b2b}" != "$n" ] && pause=0
        hyperfine -N --style none --warmup "$WARMUP" --runs $((RUNS / ROUNDS)) --prepare "sleep $pause" \
            --export-json "$OUT/$n.$r.json" -n "$n" -- "$(printf '%q ' "${C[@]}")" >/dev/null 2>"$OUT/$n.err" ||
            { echo "warm.sh: hyperfine $n failed: $(cat "$OUT/$n.err")" >&2; exit 1; }
    done
done
stats_json > "$OUT/stats.latency.json"
# The judge loop: each verdict reads the run's result file inside the timed
# loop, as a judge would, the same way in both modes.
for r in $(seq 3); do
    for m in $JUDGE_MODES; do
        echo "== judge round $r: $m" >&2
        judge $m > "$OUT/judge.$m.$r"
    done
    for m in py-session py-cold; do
        echo "== judge round $r: $m" >&2
        pyjudge $m > "$OUT/judge.$m.$r" || { echo "warm.sh: the Python judge failed" >&2; exit 1; }
    done
done
grep -E '^(VmRSS|VmHWM)' "/proc/$DPID/status" > "$OUT/rss.after"
stats_json > "$OUT/stats.after.json"
S session rm "$SID"; S session rm "$JSID"
stop_daemon

{
    echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "kernel: $(uname -r)"; echo "cpus: $(nproc)"
    echo "sbx: $(git -C "$SRC" describe --always --dirty 2>/dev/null)"
    echo "runs: $RUNS per row in $ROUNDS interleaved rounds, warmup $WARMUP, pause $PAUSE s before each run; judge: $JUDGE_RUNS runs x 3 rounds per mode"
} | tee "$OUT/env.txt"
echo
python3 - "$OUT" "$ROUNDS" "$JUDGE_RUNS" <<'PY'
import glob, json, os, statistics, sys
out, rounds, judge_runs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
labels = {
    "pool": "`sbx --socket S run --pool p0` (a ready sandbox)",
    "session": "`sbx --socket S session run ID`",
    "cold": "`sbx --socket S run`, a fresh sandbox, same policy",
    "bwrap": "bubblewrap (1 uid, no time ns, no cgroups, no seccomp)",
    "session-b2b": "`sbx --socket S session run ID`, back to back",
    "cold-b2b": "`sbx --socket S run`, back to back",
    "bwrap-b2b": "bubblewrap, back to back",
    "libc": "no sandbox: a static glibc program that only starts and exits",
    "nolibc": "no sandbox: the same without libc",
}
res = {}
for r in labels:
    t = []
    for f in glob.glob(os.path.join(out, "%s.*.json" % r)):
        t += json.load(open(f))["results"][0]["times"]
    if not t:
        continue
    t.sort()
    p99 = t[min(len(t) - 1, int(0.99 * len(t) + 0.5) - 1)]
    res[r] = (statistics.median(t) * 1e3, p99 * 1e3, len(t))
print("| row | median ms | p99 ms | runs | median / bwrap | p99 / bwrap |")
print("|---|---|---|---|---|---|")
for r, (med, p99, n) in res.items():
    b = res.get("bwrap-b2b" if r.endswith("-b2b") else "bwrap")
    print("| %s | %.2f | %.2f | %d | %s | %s |" % (labels[r], med, p99, n,
          "%.2fx" % (med / b[0]) if b else "-", "%.2fx" % (p99 / b[1]) if b else "-"))

def pool(name, f):
    h = json.load(open(os.path.join(out, f)))
    return next((p for p in h.get("pools", []) if p.get("name") == name), {})
p_idle, p_lat = pool("p0", "stats.idle.json"), pool("p0", "stats.latency.json")
taken = p_lat.get("taken", 0) - p_idle.get("taken", 0)
cold = p_lat.get("cold_starts", 0) - p_idle.get("cold_starts", 0)
print()
print("Ratios are against bubblewrap at the same pace: a pause before each run, or back to back.")
if "libc" in res and "nolibc" in res:
    print("glibc's start-up, per process (libc - nolibc): %.2f ms; a warm run has two (the sbx client and"
          " the command), bubblewrap's row two (bwrap and the command)." % (res["libc"][0] - res["nolibc"][0]))
print("Pool row: %d jobs found a ready sandbox, %d found the pool empty (cold starts)." % (taken, cold))

print()
print("| judge loop (1 client, %d runs, a verdict each) | runs/s (median of 3) | all verdicts right |" % judge_runs)
print("|---|---|---|")
jr = {}
names = {"session": "one session", "cold": "a fresh sandbox per run (sbx --socket S run)",
         "py-session": "Python client: one session", "py-cold": "Python client: a fresh sandbox per run",
         "nsjail": "nsjail with cgroups: a fresh sandbox per run"}
for m in ("session", "cold", "py-session", "py-cold", "nsjail"):
    v = []
    allok = True
    for f in sorted(glob.glob(os.path.join(out, "judge.%s.*" % m))):
        ok, us = map(int, open(f).read().split())
        v.append(ok and judge_runs / (us / 1e6))
        allok &= ok == judge_runs
    if v:
        jr[m] = statistics.median(v)
        print("| %s | %.0f | %s |" % (names[m], jr[m], "yes" if allok else "NO"))
print()
for a, b, what in (("session", "cold", "sbx CLI"), ("py-session", "py-cold", "Python client")):
    if a in jr and b in jr:
        print("%s: one session against a fresh sandbox per run: %.2fx the runs/s." % (what, jr[a] / jr[b]))
if "nsjail" in jr:
    for a, what in (("session", "sbx CLI"), ("py-session", "Python client")):
        if a in jr:
            print("%s: one session against nsjail with cgroups: %.2fx the runs/s." % (what, jr[a] / jr["nsjail"]))

def rss(f):
    d = {}
    for line in open(os.path.join(out, f)):
        k, v = line.split(":")
        d[k] = int(v.split()[0])
    return d
ri, ra = rss("rss.idle"), rss("rss.after")
idle = json.load(open(os.path.join(out, "stats.idle.json")))
per = [p.get("memory_per_sandbox_bytes", 0) for p in idle.get("pools", [])]
tot = sum(p.get("memory_bytes", 0) for p in idle.get("pools", []))
print()
print("sandboxd with 4 pools of 8 ready sandboxes: VmRSS %d KiB (%.1f MiB) with the pools full, %d KiB after the run (VmHWM %d KiB)."
      % (ri["VmRSS"], ri["VmRSS"] / 1024, ra["VmRSS"], ra["VmHWM"]))
if per:
    print("Memory per ready sandbox (its cgroups' usage, PoolStats): %s KiB; all 32: %.1f MiB." %
          (", ".join("%d" % (x / 1024) for x in per), tot / 1048576))
print("Setup CPU charged to the pools so far: %s ms." % ", ".join(str(p.get("setup_cpu_ms", 0)) for p in
      json.load(open(os.path.join(out, "stats.after.json"))).get("pools", [])))
PY
if [ -z "$NSJAIL" ] || [ ! -x "$NSJAIL" ]; then
    echo
    echo "nsjail: not in Debian 12 and not given (NSJAIL=/path/to/nsjail): its judge loop is not measured."
fi
