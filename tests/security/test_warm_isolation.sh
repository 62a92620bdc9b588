#!/bin/bash
# Warm pools and sessions move sandbox setup earlier; none of the isolation
# may move later or weaken:
#  - two jobs of one pool running at once have different host uid ranges,
#    and neither (nor the next job of the pool) sees the other's files in
#    /tmp and /dev/shm, processes, abstract UNIX sockets or SysV IPC;
#  - a session's run sees the files of the run before, and nothing else of
#    it: no process, no abstract socket, no SysV IPC object;
#  - a run's limits never exceed the session's (unset means the
#    session's), and a run killed for a limit leaves the session usable;
#  - a non-administrator's pooled jobs and sessions obey client_caps, a
#    pool's allowed_uids, max_sessions_per_uid, and other users' sessions
#    are not found.
# Each probe has a positive control in a single job, so that a probe that
# cannot see what it looks for fails the test instead of passing it.
# Kills only processes it started, by pid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/daemon_lib.sh"

POOL_FIRST=${SBX_UID_POOL%%:*}
cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 6
queue_length: 32
allowed_uids: 65534
client_caps { memory: "256M" pids: 64 }
uid_pool { first: $POOL_FIRST range: 65536 slots: 16 }
slot_dir: "$SBX_SLOT_DIR"
sessions { max_sessions_per_uid: 2 }
warm_pool { name: "iso" size: 2 policy {
  mounts { src: "$SBX_SECURITY" dst: "/sec" }
  mounts { src: "$SBX_PROBES" dst: "/probes" }
  limits { memory: "128M" pids: 32 } } }
warm_pool { name: "private" size: 1 allowed_uids: 1 policy { } }
CONF
start_daemon || exit 1
# Should the daemon die, its warm sandboxes die with it (PDEATHSIG) but
# their cgroups stay: the checks at the end report them, this removes them.
D0=$DPID
cleanup_hooks+=('find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -depth -type d -path "*/job-*-$D0-*" -exec rmdir {} + 2>/dev/null')
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
N() { "${NOBODY[@]}" "$SBX" --socket "$SOCK" "$@"; }
jf() { "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2], ""); print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"; }
kv() { sed -n "s/^$1=//p" <<<"$2"; }   # kv KEY OUTPUT: a key=value line's value

# What a job leaves behind (KEY names the objects): a file in /tmp and in
# /dev/shm, a listening abstract socket and a sleeping process (both in the
# background), SysV IPC objects of each kind.
leave() {
    echo "echo secret >/tmp/secret-$1; echo secret >/dev/shm/secret-$1;
/sec/abstract_unix listen sbx-warm-$1 60 >/tmp/listen-$1 2>&1 &
i=0; while ! grep -q LISTENING /tmp/listen-$1 && [ \$i -lt 250 ]; do usleep 20000; i=\$((i+1)); done
/bin/sleep 1000 </dev/null >/dev/null 2>&1 &
/sec/sysv_ipc create $2 >/dev/null"
}
# What a job sees of it: one key=value line each, 1 (files, procs) or 0
# (sock, ipc: every attempt blocked) meaning nothing seen.
look() {
    echo "echo uid=\$(awk 'NR==1 {print \$2}' /proc/self/uid_map)
test -e /tmp/secret-$1 || test -e /dev/shm/secret-$1; echo files=\$?
pidof sleep abstract_unix >/dev/null; echo procs=\$?
/sec/abstract_unix connect sbx-warm-$1 >/dev/null; echo sock=\$?
/sec/sysv_ipc find $2 >/dev/null; echo ipc=\$?"
}

# --- positive controls: within one job, each probe sees what it looks for ---
out=$(S run --bind "$SBX_SECURITY:/sec" -- /bin/sh -c "$(leave c 0x5b00); $(look c 0x5b00)" 2>&1)
check "control: a job sees its own files" "$(kv files "$out")" 0
check "control: its own processes" "$(kv procs "$out")" 0
check_cmp "control: its own abstract socket" "$(kv sock "$out")" -gt 0
check_cmp "control: its own SysV IPC objects" "$(kv ipc "$out")" -gt 0

# --- two jobs of one pool at once ---
wait_until 20 sh -c "'$SBX' --socket '$SOCK' stats | grep -q 'pool iso: 2 ready'"
taken0=$(S stats --json | "$PY" -c 'import json,sys; print(next((p.get("taken", 0) for p in json.load(sys.stdin).get("pools", []) if p["name"] == "iso"), 0))')
"$SBX" --socket "$SOCK" run --pool iso -- /bin/sh -c "$(leave a 0x5b01)
echo uid=\$(awk 'NR==1 {print \$2}' /proc/self/uid_map); echo ready; exec sleep 60" >"$T/a.out" 2>&1 &
apid=$!
wait_until 20 grep -qs ready "$T/a.out"
out=$(S run --pool iso --result-json "$T/b.json" -- /bin/sh -c "$(look a 0x5b01)" 2>&1)
check "job A is still running" "$(kill -0 "$apid" 2>/dev/null; echo $?)" 0
auid=$(kv uid "$(cat "$T/a.out")"); buid=$(kv uid "$out")
check_match "job A has a host uid range ($auid)" "$auid" '^[0-9]+$'
check_cmp "job B, at the same time, another one ($buid)" "${buid:-0}" -ne "${auid:-0}"
check "the result's host_uid is job B's own" "$(jf "$T/b.json" host_uid)" "$buid"
check_cmp "their ranges do not overlap" "$(( buid > auid ? buid - auid : auid - buid ))" -ge 65536
check "B does not see A's files in /tmp or /dev/shm" "$(kv files "$out")" 1
check "B does not see A's processes" "$(kv procs "$out")" 1
check "B cannot reach A's abstract socket" "$(kv sock "$out")" 0
check "B does not find A's SysV IPC objects" "$(kv ipc "$out")" 0
kill -TERM "$apid"; wait "$apid"
# The next job of the pool, after A ended (A left all of it behind).
out=$(S run --pool iso -- /bin/sh -c "$(look a 0x5b01)" 2>&1)
check "the next job: no files of A" "$(kv files "$out")" 1
check "the next job: no process of A" "$(kv procs "$out")" 1
check "the next job: no abstract socket of A" "$(kv sock "$out")" 0
check "the next job: no SysV IPC of A" "$(kv ipc "$out")" 0
S run --pool iso -- /bin/sh -c "$(leave d 0x5b02)" >/dev/null 2>&1
out=$(S run --pool iso -- /bin/sh -c "$(look d 0x5b02)" 2>&1)
check "a job after one that left everything behind sees none of it" \
    "$(kv files "$out") $(kv procs "$out") $(kv sock "$out") $(kv ipc "$out")" "1 1 0 0"
taken1=$(S stats --json | "$PY" -c 'import json,sys; print(next((p.get("taken", 0) for p in json.load(sys.stdin).get("pools", []) if p["name"] == "iso"), 0))')
check_cmp "these jobs were served by the pool (taken $taken0 -> $taken1)" "$taken1" -ge $((taken0 + 2))

# --- a session: run 2 sees run 1's files and nothing else of it ---
sid=$(S session create --bind "$SBX_SECURITY:/sec" --bind "$SBX_PROBES:/probes" --memory 64M --pids 16)
check_match "a session" "$sid" '^[0-9]+$'
S session run "$sid" -- /bin/sh -c "$(leave s 0x5b03)" >/dev/null 2>&1
check "run 1 left its things behind and ended" "$?" 0
out=$(S session run "$sid" -- /bin/sh -c "$(look s 0x5b03)" 2>&1)
check "run 2 sees run 1's files" "$(kv files "$out")" 0
check "run 2 sees no process of run 1" "$(kv procs "$out")" 1
check "run 2 cannot reach run 1's abstract socket" "$(kv sock "$out")" 0
check "run 2 finds no SysV IPC object of run 1" "$(kv ipc "$out")" 0
# Runs 3 and on join a network namespace the sandbox's PID 1 made ahead,
# while the run before was being made: each is still a fresh one of its own.
netns() { echo "echo net=\$(readlink /proc/self/ns/net); ip link show dev lo | grep -q ',UP'; echo lo=\$?"; }
out3=$(S session run "$sid" -- /bin/sh -c "$(leave t 0x5b04); $(netns)" 2>&1)
out=$(S session run "$sid" -- /bin/sh -c "$(look t 0x5b04); $(netns)" 2>&1)
check "run 4 cannot reach run 3's abstract socket" "$(kv sock "$out")" 0
check "run 4 sees no process of run 3" "$(kv procs "$out")" 1
check_match "run 3 has a network namespace" "$(kv net "$out3")" '^net:\[[0-9]+\]$'
check_cmp "run 4 has another one" "$(kv net "$out")" != "$(kv net "$out3")"
check "with lo up, as the session's policy asks (runs 3 and 4)" "$(kv lo "$out3") $(kv lo "$out")" "0 0"
# Limits: unset means the session's; more than the session's is refused.
S session run "$sid" --result-json "$T/r.json" -- /probes/hog mem 200 >/dev/null 2>&1
check "a run with no --memory has the session's: OOM_KILLED" "$(jf "$T/r.json" status)" OOM_KILLED
S session run "$sid" --memory 128M -- /bin/true 2>"$T/err"
check "a run asking more memory than the session: 125" "$?" 125
check_match "naming the field" "$(cat "$T/err")" 'limits.memory'
S session run "$sid" --pids 17 -- /bin/true 2>"$T/err"
check "a run asking more pids than the session: 125" "$?" 125
check_match "naming the field" "$(cat "$T/err")" 'limits.pids'
S session run "$sid" --wall-time-limit 0.3 --result-json "$T/r.json" -- /bin/sleep 10
check "a run killed for its wall-time limit: 137" "$?" 137
check "the session is usable after it" "$(S session run "$sid" -- /bin/cat /tmp/secret-s 2>&1)" secret

# --- a non-administrator ---
N session create --memory 512M 2>"$T/err"
check "nobody: a session over client_caps.memory is refused" "$?" 1
check_match "naming the cap" "$(cat "$T/err")" 'limits.memory.*client_caps.memory'
nsid=$(N session create 2>"$T/err")
check_match "nobody: a session within the caps" "$nsid" '^[0-9]+$'
check_match "it gets the caps as its limits" "$(N inspect "$nsid" --json)" '"memory": *"256M"'
N session run "$nsid" --memory 512M -- /bin/true 2>"$T/err"
check "nobody: a run over the cap is refused" "$?" 125
check "nobody: a run in it works" "$(N session run "$nsid" -- /bin/echo ok 2>&1)" ok
N session run "$sid" -- /bin/true 2>"$T/err"
check "nobody cannot run in root's session" "$?" 125
check_match "it is not found" "$(cat "$T/err")" "no session $sid"
N inspect "$sid" >/dev/null 2>&1
check "nobody cannot inspect root's session" "$?" 1
N kill "$sid" >/dev/null 2>&1
check "nobody cannot kill root's session" "$?" 1
N session rm "$sid" >/dev/null 2>&1
check "nobody cannot remove root's session" "$?" 1
check "nobody's ps does not list it" "$(N ps | grep -c "^$sid ")" 0
check_match "root's ps --all lists nobody's" "$(S ps --all)" "$nsid +RUNNING +65534 "
nsid2=$(N session create)
N session create 2>"$T/err"
check "nobody: a third session is over max_sessions_per_uid" "$?" 1
check_match "naming the limit" "$(cat "$T/err")" 'max_sessions_per_uid'
N run --pool iso -- /bin/echo pooled >"$T/out" 2>&1
check "nobody may take from a pool open to every client" "$(cat "$T/out")" pooled
N run --pool iso --memory 512M -- /bin/true 2>"$T/err"
check "nobody: a pooled job over the cap is refused" "$?" 125
N run --pool private -- /bin/true 2>"$T/err"
check "nobody: a pool whose allowed_uids lack it is refused" "$?" 125
check_match "saying so" "$(cat "$T/err")" 'private|allowed_uids|permission|PERMISSION'
N session rm "$nsid"; N session rm "$nsid2"

# A run that used every pid of the session: its processes are gone before
# the next run, which must neither be refused for the pids they held nor
# take the daemon down.
# (Last: a daemon that fails it would take the other checks down with it.)
S session rm "$sid"
sid=$(S session create --bind "$SBX_PROBES:/probes" --pids 16)
out=$(S session run "$sid" -- /probes/hog fork 100 2>&1)
check_cmp "a run with no --pids has the session's 16 ($out)" "$(awk '{print $2}' <<<"$out")" -le 15
for i in 1 2 3; do S session run "$sid" -- /probes/hog fork 100 >/dev/null 2>&1; done
check "after runs that used every pid of the session, the next run works" \
    "$(S session run "$sid" -- /bin/echo ok 2>&1)" ok
S session rm "$sid"

# --- nothing left behind ---
dpid=$DPID
stop_daemon
check "no cgroup of its jobs, pools or sessions left" \
    "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -name "*-$dpid-*" 2>/dev/null | wc -l)" 0
check "no uid slot held for it" "$(flocks "$dpid")" 0
last=$((POOL_FIRST + 16 * 65536))
procs=$(awk -v a="$POOL_FIRST" -v b="$last" '/^Uid:/ && $2 >= a && $2 < b {print FILENAME}' /proc/[0-9]*/status 2>/dev/null)
check "no process left with a host uid of the pool" "$procs" ""
check_log_clean
finish
