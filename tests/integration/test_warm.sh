#!/bin/bash
# sandboxd's warm pools through sbx (sessions: test_sessions.sh): `run --pool` answers exactly as a cold
# run of the same policy does (exit status, stdout, stderr, result JSON);
# what may differ per job is taken, anything else that differs from the
# pool's policy is refused naming the field; an unknown pool is refused; an
# empty pool falls back to a cold start and stats counts both. (The
# isolation between a pool's jobs: tests/security/test_warm_isolation.sh.)
# Kills only processes it started, by pid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 4
queue_length: 64
warm_pool { name: "judge" size: 2 policy { hostname: "warm" limits { memory: "128M" pids: 32 } } }
warm_pool { name: "one" size: 1 policy { } }
CONF
start_daemon || exit 1
# Should the daemon die, its warm sandboxes die with it (PDEATHSIG) but
# their cgroups stay: the checks at the end report them, this removes them.
D0=$DPID
cleanup_hooks+=('find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -depth -type d -path "*/job-*-$D0-*" -exec rmdir {} + 2>/dev/null')
POOL_ARGS=(--hostname warm --memory 128M --pids 32)   # the same job, cold

jf() { "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2], ""); print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"; }
pool_stat() {   # pool_stat POOL FIELD: a PoolStats counter (0 when unset)
    S stats --json | "$PY" -c 'import json,sys
h=json.load(sys.stdin)
print(next((p.get(sys.argv[2], 0) for p in h.get("pools", []) if p.get("name") == sys.argv[1]), "none"))' "$1" "$2"
}

pool_has() { test "$(pool_stat "$1" ready)" = "$2"; }   # pool_has POOL N: N ready now

# --- every pool is built ahead of demand ---
wait_until 20 pool_has judge 2
check "pool judge: 2 sandboxes ready" "$(pool_stat judge ready)" 2
check "pool judge: its configured size" "$(pool_stat judge size)" 2
check_match "stats prints the pool" "$(S stats)" 'pool judge: 2 ready of 2, 0 building; 0 taken, 0 cold starts'

# --- run --pool answers as a cold run of the same policy ---
same_as_cold() {
    local desc=$1
    shift
    local wo wrc co crc f
    wo=$(S run --pool judge --result-json "$T/warm.json" "$@" 2>"$T/warm.err"); wrc=$?
    co=$(S run "${POOL_ARGS[@]}" --result-json "$T/cold.json" "$@" 2>"$T/cold.err"); crc=$?
    check "$desc: exit status" "$wrc" "$crc"
    check "$desc: stdout" "$wo" "$co"
    check "$desc: stderr" "$(cat "$T/warm.err")" "$(cat "$T/cold.err")"
    for f in status exit_code signal syscall error; do
        check "$desc: result $f" "$(jf "$T/warm.json" $f)" "$(jf "$T/cold.json" $f)"
    done
}
same_as_cold "exit 42" -- /bin/sh -c 'echo out; echo err >&2; exit 42'
same_as_cold "SIGSEGV" -- /bin/sh -c 'kill -SEGV $$'
same_as_cold "missing command" -- /nonexistent/cmd
same_as_cold "wall-time limit" --wall-time-limit 0.3 -- /bin/sleep 5
same_as_cold "per-job fields" --env A=b --cwd /tmp --arg x -- /bin/sh -c 'echo $(hostname) $A $(pwd) "$@"' sh
same_as_cold "a limit that narrows" --memory 64M --pids 8 -- /bin/echo ok
same_as_cold "the pool's own value repeated" --hostname warm -- /bin/hostname
echo piped | S run --pool judge -- /bin/cat > "$T/cat.out"
check "stdin is the caller's" "$(cat "$T/cat.out")" piped
check_match "the result has the job's own accounting" "$(jf "$T/warm.json" memory_peak_bytes)" '^[0-9]+$'

# SIGTERM to sbx reaches the pooled job's first process.
rm -f "$T/trap"
"$SBX" --socket "$SOCK" run --pool judge -- /bin/sh -c 'trap "exit 9" TERM; echo set; sleep 5 & wait' >"$T/trap" &
p=$!
wait_until 10 grep -qs set "$T/trap"
kill -TERM "$p"
wait "$p"
check "SIGTERM forwarded to a pooled job" "$?" 9

# Without --socket, --pool goes to $SBX_SOCKET (the daemon commands' default).
check "run --pool without --socket uses \$SBX_SOCKET" \
    "$(SBX_SOCKET="$SOCK" "$SBX" run --pool judge -- /bin/hostname 2>&1)" warm
SBX_SOCKET="$T/nothing.sock" "$SBX" run --pool judge --result-json "$T/r.json" -- /bin/true 2>"$T/err"
check "run --pool with no daemon there: 125" "$?" 125
check_match "naming the socket" "$(cat "$T/err")" 'nothing.sock'
check "and a SETUP_FAILED result" "$(jf "$T/r.json" status)" SETUP_FAILED

# --- what is refused, naming the field ---
refused() {   # refused DESC REGEX ARGS...: 125, one line naming it, SETUP_FAILED
    local desc=$1 re=$2
    shift 2
    S run --result-json "$T/r.json" "$@" >/dev/null 2>"$T/err"
    check "$desc: 125" "$?" 125
    check_match "$desc: the error names it" "$(cat "$T/err")" "$re"
    check "$desc: SETUP_FAILED result" "$(jf "$T/r.json" status)" SETUP_FAILED
}
refused "a hostname other than the pool's" 'hostname' --pool judge --hostname x -- /bin/true
mkdir -p "$T/layer"
refused "another rootfs" 'rootfs' --pool judge --rootfs "$T/layer" -- /bin/true
refused "a bind mount the pool has not" 'mounts' --pool judge --bind /etc:/hostetc -- /bin/true
refused "memory above the pool's" 'limits.memory' --pool judge --memory 256M -- /bin/true
refused "pids above the pool's" 'limits.pids' --pool judge --pids 64 -- /bin/true
refused "an unknown pool" 'pool.*nosuch|nosuch.*pool' --pool nosuch -- /bin/true
S run --pool 'bad/name' -- /bin/true 2>"$T/err"
check "a pool name that cannot exist: 125" "$?" 125
check_match "naming pool" "$(cat "$T/err")" 'pool'

# --- counters: taken; an empty pool falls back to a cold start ---
taken=$(pool_stat judge taken)
check_cmp "taken counts the pooled jobs so far (taken $taken)" "$taken" -ge 10
# Four submits in one write: the daemon reads them together, so the pool of
# one is empty for at least three of them however fast it rebuilds.
cat > "$T/burst.py" <<'PY'
import sys
from sbx_client import Client, make_policy
from sbx_client import sandboxd_pb2 as pb
with Client(sys.argv[1]) as c:
    ids = []
    frames = b""
    for i in range(4):
        jr = pb.JobRequest(policy=make_policy(["/bin/sh", "-c", "exit %d" % i]), pool="one")
        ids.append(c.send(pb.Request(submit=jr)))
    jobs = {}
    while len(jobs) < 4:
        r = c.recv()
        if r.HasField("error"):
            print("error", r.error.message)
            sys.exit(1)
        jobs[r.id] = r.job.job_id
    out = []
    for rid in ids:
        info = c.wait(jobs[rid], remove=True)
        out.append("%d:%s:%s" % (info.exit_status, info.pool, "warm" if info.warm else "cold"))
    print(" ".join(out))
PY
out=$("$PY" "$T/burst.py" "$SOCK" 2>&1)
check_match "a burst on a pool of one: every job runs, with its own exit status" "$out" \
    '^0:one:(warm|cold) 1:one:(warm|cold) 2:one:(warm|cold) 3:one:(warm|cold)$'
check_match "and at least one of them was a cold start" "$out" 'cold'
check_cmp "stats: cold_starts counts them" "$(pool_stat one cold_starts)" -ge 1
wait_until 20 pool_has one 1
check "the pool of one is rebuilt" "$(pool_stat one ready)" 1
check_cmp "stats: built counts the rebuilds" "$(pool_stat one built)" -ge 2
check "stats: no build failed" "$(pool_stat judge build_failed)" 0
check_match "stats: the pool's memory per sandbox" "$(pool_stat judge memory_per_sandbox_bytes)" '^[0-9]+$'

# --- ps, inspect and wait name a pooled job's pool ---
id=$(S submit --detach --pool judge -- /bin/sleep 30)
check_match "ps marks a pooled job" "$(S ps)" "$id +RUNNING .*/bin/sleep \[pool judge\]"
check_match "inspect names its pool" "$(S inspect "$id")" 'pool: +judge \(a ready sandbox\)'
check_match "inspect --json has pool and warm" "$(S inspect "$id" --json)" '"pool": *"judge".*"warm": *true'
S kill "$id" >/dev/null
S wait "$id" >/dev/null
S rm "$id" >/dev/null

# --- nothing left behind ---
dpid=$DPID
stop_daemon
check "sandboxd exited" "$(kill -0 "$dpid" 2>/dev/null; echo $?)" 1
check "no cgroup of its jobs or warm sandboxes left" \
    "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -name "*-$dpid-*" 2>/dev/null | wc -l)" 0
check "no uid slot held for it" "$(flocks "$dpid")" 0

# --- a service's usual soft open-files limit does not cap the pools: each
# ready sandbox holds a few dozen fds (at 1024, 48 of them did not fit) ---
cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 2
warm_pool { name: "many" size: 10 policy { } }
CONF
(ulimit -Sn 200 && exec "$SANDBOXD" --socket "$SOCK" --config "$T/sandboxd.conf" >>"$DLOG" 2>&1) &
DPID=$!
D1=$DPID
cleanup_hooks+=('find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -depth -type d -path "*/job-*-$D1-*" -exec rmdir {} + 2>/dev/null')
wait_until 30 pool_has many 10
check "10 ready sandboxes, started with a soft limit of 200 open files" "$(pool_stat many ready)" 10
check "sandboxd raised its soft limit to the hard one" \
    "$(awk '/^Max open files/ {print ($4 == $5)}' "/proc/$DPID/limits")" 1
check "a cold job runs beside them" "$(S run -- /bin/echo ok 2>&1)" ok
dpid=$DPID
stop_daemon
check "no cgroup of its sandboxes left" \
    "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -name "*-$dpid-*" 2>/dev/null | wc -l)" 0
# A hard limit that cannot hold what the configuration may keep is said.
(ulimit -n 300 && exec "$SANDBOXD" --socket "$SOCK" --config "$T/sandboxd.conf" >>"$DLOG" 2>&1) &
DPID=$!
D2=$DPID
cleanup_hooks+=('find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -depth -type d -path "*/job-*-$D2-*" -exec rmdir {} + 2>/dev/null')
wait_until 10 S stats
check_match "a hard open-files limit of 300 is warned about" "$(cat "$DLOG")" \
    'warning: open files: the limit \(300\) is below the ~[0-9]+ that 74 ready sandboxes and sessions and 2 jobs could hold at most'
stop_daemon
check "no cgroup of that daemon's sandboxes left" \
    "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -name "*-$D2-*" 2>/dev/null | wc -l)" 0
check_log_clean
finish
