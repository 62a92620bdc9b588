#!/bin/bash
# sandboxd end to end: results equal local runs, 200 jobs from 8 clients,
# hostile frames, who sees what, disconnects, SIGHUP, SIGKILL then restart,
# SIGTERM draining. Kills only processes it started, by pid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 4
queue_length: 256
stall_timeout: "1s"
grace_period: "3s"
allowed_uids: 65534
client_caps { memory: "256M" pids: 64 wall_time: "20s" output: "1M" }
shared_paths: "$SBX_PROBES"
CONF
start_daemon || exit 1

# --- the same as a local run: exit status, stdout, result fields ---
same_as_local() {
    local desc=$1
    shift
    local lo lrc ro rrc
    lo=$("$SBX" run --result-json "$T/local.json" "$@" 2>"$T/local.err"); lrc=$?
    ro=$(S run --result-json "$T/remote.json" "$@" 2>"$T/remote.err"); rrc=$?
    check "$desc: exit status" "$rrc" "$lrc"
    check "$desc: stdout" "$ro" "$lo"
    check "$desc: stderr" "$(cat "$T/remote.err")" "$(cat "$T/local.err")"
    local f
    for f in status exit_code signal syscall error; do
        check "$desc: result $f" \
            "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/remote.json" $f)" \
            "$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$T/local.json" $f)"
    done
}
same_as_local "exit 42" -- /bin/sh -c 'echo out; echo err >&2; exit 42'
same_as_local "SIGSEGV" -- /bin/sh -c 'kill -SEGV $$'
same_as_local "missing command" -- /nonexistent/cmd
same_as_local "not executable" -- /etc/passwd
same_as_local "bad flag" --memory banana -- /bin/true
same_as_local "wall-time limit" --wall-time-limit 0.5 -- /bin/sleep 5
same_as_local "flags" --hostname judge --env A=b --cwd /tmp -- /bin/sh -c 'echo $(hostname) $A $(pwd) $(id -u)'
same_as_local "probes bind" "${PROBES[@]}" -- /probes/sysprobe uid
printf 'command: "/bin/true"\nlimits { memory: "banana" }\n' > "$T/invalid.pbtxt"
same_as_local "invalid policy" --policy "$T/invalid.pbtxt"
same_as_local "output limit" --output-limit 64K -- /bin/sh -c 'dd if=/dev/zero of=/tmp/f bs=64k count=4 2>/dev/null'
# SIGTERM to sbx reaches the job's first process, as locally.
# (The job says when its trap is set, so a slow start under load cannot
# race the signal.)
for mode in local remote; do
    rm -f "$T/trap.$mode"
    if [ $mode = local ]; then "$SBX" run -- /bin/sh -c 'trap "exit 9" TERM; echo set; sleep 5 & wait' >"$T/trap.$mode" &
    else "$SBX" --socket "$SOCK" run -- /bin/sh -c 'trap "exit 9" TERM; echo set; sleep 5 & wait' >"$T/trap.$mode" & fi
    p=$!
    wait_until 10 grep -q set "$T/trap.$mode"
    kill -TERM "$p"
    wait "$p"
    check "SIGTERM forwarded to the job ($mode)" "$?" 9
done
echo piped | S run -- /bin/cat > "$T/cat.out"
check "stdin is the caller's" "$(cat "$T/cat.out")" piped
check "stdin: local too" "$(echo piped | "$SBX" run -- /bin/cat)" piped

# A policy that brings stdin bytes and captures output works through sbx too.
printf 'stdio { stdin_data: "from policy\\n" capture: true }\n' > "$T/cap.pbtxt"
out=$(S run --policy "$T/cap.pbtxt" --result-json "$T/cap.json" -- /bin/sh -c 'cat; exit 2' </dev/null)
check "sbx: stdin_data and capture: exit status" "$?" 2
check "sbx: captured output shown" "$out" "from policy"
check_match "sbx: and in the result" "$(cat "$T/cap.json")" '"stdout":"ZnJvbSBwb2xpY3kK"'

# --- the Python client: stdin bytes in, output captured, truncation ---
out=$("${PYCLIENT[@]}" run --stdin-data 'hello judge' --capture -- /bin/sh -c 'cat; echo e >&2; exit 3')
rc=$?
check "python: exit status" "$rc" 3
pyfield() { "$PY" -c 'import json,sys,base64; r=json.loads(sys.argv[1]); v=r.get(sys.argv[2], "")
print(base64.b64decode(v).decode(), end="") if sys.argv[2] in ("stdout","stderr") else print(v)' "$1" "$2"; }
check "python: stdout captured" "$(pyfield "$out" stdout)" "hello judge"
check "python: stderr captured" "$(pyfield "$out" stderr)" "e"
check "python: status" "$(pyfield "$out" status)" EXITED
out=$("${PYCLIENT[@]}" run --capture --output 4K -- /bin/sh -c 'while :; do echo aaaaaaaaaaaaaaa; done')
check "python: capture limit -> OUTPUT_LIMIT_EXCEEDED" "$(pyfield "$out" status)" OUTPUT_LIMIT_EXCEEDED
check "python: truncation reported" "$(pyfield "$out" stdout_truncated)" True
check "python: kept exactly the limit" "$(pyfield "$out" stdout | wc -c)" 4096
out=$("${PYCLIENT[@]}" run --attach -- /bin/echo attached)
check_match "python: attached stdio" "$out" '^attached'
check_match "python: health" "$("${PYCLIENT[@]}" health)" '"max_concurrent": 4'

# The library's whole lifecycle: submit, inspect, pause, resume, kill, wait, remove.
cat > "$T/lifecycle.py" <<'PY'
import sys
sys.path.insert(0, sys.argv[2])
from sbx_client import Client, SandboxdError, make_policy
from sbx_client import sandboxd_pb2 as pb
with Client(sys.argv[1]) as c:
    jid = c.submit(make_policy(["/bin/sleep", "30"]), detached=True, name="py")
    seen = [pb.JobState.Name(c.inspect(jid).state)]
    seen.append(pb.JobState.Name(c.pause(jid).state))
    seen.append(pb.JobState.Name(c.resume(jid).state))
    seen.append(str([j.name for j in c.list() if j.job_id == jid]))
    c.kill(jid, signal=15)
    info = c.wait(jid)
    seen.append("%s %d" % (pb.JobState.Name(info.state), info.exit_status))
    seen.append(pb.JobState.Name(c.remove(jid).state))
    try:
        c.inspect(jid)
    except SandboxdError as e:
        seen.append(e.code)
    print(" ".join(seen))
PY
check "python: the whole lifecycle" "$("$PY" "$T/lifecycle.py" "$SOCK" "$PYPKG")" \
    "RUNNING PAUSED RUNNING ['py'] STOPPED 143 REMOVED NOT_FOUND"

# Limits hold through sandboxd, where on v1 the child moves itself into its
# cgroups (sbx run's launcher does it for the child): a fork bomb and a
# memory bomb, with the result saying so.
out=$(S run --result-json "$T/r.json" --pids 16 --wall-time-limit 10 --bind "$SBX_PROBES:/probes" \
    -- /probes/hog fork 1000 2>&1)
forked=$(echo "$out" | awk '{print $2}')
check_cmp "through sandboxd: fork bomb contained (forked $forked)" "${forked:-999}" -le 15
S run --result-json "$T/r.json" --memory 64M --bind "$SBX_PROBES:/probes" -- /probes/hog mem 200
check "through sandboxd: memory bomb exits 137" "$?" 137
check_match "through sandboxd: memory bomb is OOM_KILLED" "$(cat "$T/r.json")" '"status": *"OOM_KILLED"'

# Operations on a job whose sandbox is still being set up (sandboxd does not
# wait for a setup; 200 tmpfs mounts make it long enough to be caught):
# a signal is held until the command runs, SIGKILL ends it as a kill (not a
# setup failure), and a pause holds it until resumed.
cat > "$T/setup.py" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[2])
from sbx_client import Client, make_policy, sandbox_pb2
from sbx_client import sandboxd_pb2 as pb
def slow(argv):
    p = make_policy(argv)
    for i in range(200):
        p.mounts.add(type=sandbox_pb2.Mount.TMPFS, dst="/tmp/m%d" % i, size="1M")
    return p
out = []
with Client(sys.argv[1]) as c:
    caught = 0
    for sig, want in ((15, 143), (9, 137)):
        jid = c.submit(slow(["/bin/sleep", "30"]), detached=True)
        caught += c.inspect(jid).started_unix_ms == 0
        c.kill(jid, signal=sig)
        info = c.wait(jid, remove=True)
        out.append("%d:%d:%s" % (sig, info.exit_status, info.result.error or "-"))
    jid = c.submit(slow(["/bin/sh", "-c", "exit 7"]), detached=True)
    caught += c.inspect(jid).started_unix_ms == 0
    c.pause(jid)
    time.sleep(0.5)
    out.append(pb.JobState.Name(c.inspect(jid).state))
    c.resume(jid)
    info = c.wait(jid, remove=True)
    out.append("%d started:%s" % (info.exit_status, info.started_unix_ms > 0))
    out.append("caught in setup %d of 3" % caught)
print(" ".join(out))
PY
out=$("$PY" "$T/setup.py" "$SOCK" "$PYPKG" 2>&1)
check_match "during setup: a signal waits for the command, SIGKILL kills, pause holds" "$out" \
    '^15:143:- 9:137:- PAUSED 7 started:True caught in setup [1-3] of 3$'

# --- 200 jobs from 8 clients at once, at most 4 running ---
mkdir -p "$T/many"
clients=()
for c in $(seq 8); do
    (
        for i in $(seq 25); do
            o=$(S run -- /bin/sh -c "echo $c-$i; exit $((i % 7))")
            echo "$c $i $? $o"
        done > "$T/many/$c"
    ) &
    clients+=($!)
done
peak=0
alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
while alive "${clients[@]}"; do
    r=$(S stats --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["jobs_running"])')
    [ "${r:-0}" -gt "$peak" ] && peak=$r
    sleep 0.1
done
wait "${clients[@]}"
bad=$(cat "$T/many/"* | awk '{ if ($3 != $2 % 7 || $4 != $1 "-" $2) n++ } END { print n + 0 }')
check "200 jobs: all ran" "$(cat "$T/many/"* | wc -l)" 200
check "200 jobs: every output and exit status right" "$bad" 0
check_cmp "200 jobs: never more than max_concurrent running" "$peak" -le 4

# --- malformed and hostile frames; the daemon keeps serving ---
"$PY" "$SBX_SRC/tests/integration/daemon_hostile.py" "$SOCK" > "$T/hostile.out" 2>&1
h() { grep "^$1: " "$T/hostile.out" | cut -d' ' -f2-; }
check "oversize frame: error, then closed" "$(h oversize)" "PROTOCOL then EOF"
check "truncated frame: closed" "$(h truncated)" "EOF"
check "garbage: error, connection still served" "$(h garbage)" "PROTOCOL then health"
check "unknown operation" "$(h unknown_op)" "UNIMPLEMENTED"
check "unknown protocol version" "$(h bad_version)" "UNIMPLEMENTED"
check "stdio_fds without fds" "$(h missing_fds)" "INVALID_ARGUMENT names-field"
check "too many fds: error, closed" "$(h too_many_fds)" "PROTOCOL EOF"
check "a directory is not a stream" "$(h directory_fd)" "INVALID_ARGUMENT run.stdio_fds: stdin is a directory, not a stream"
check "someone else's or no job" "$(h missing_job)" "NOT_FOUND"
check "missing field is named" "$(h no_job_id)" "INVALID_ARGUMENT kill.job_id: missing"
check_match "half a frame and a stall: closed, others served" "$(h stall)" \
    '^other health; stalled PROTOCOL then EOF after [12]s$'
check "still serving after all that" "$(S run -- /bin/echo alive)" alive

# --- job lifecycle: submit, pause, resume, kill, wait, rm ---
id=$(S submit --detach -- /bin/sleep 30)
check_match "submit prints an id" "$id" '^[0-9]+$'
check_match "ps shows it running" "$(S ps)" "$id +RUNNING"
S pause "$id"
check_match "pause" "$(S inspect "$id")" 'state: +PAUSED'
S resume "$id"
check_match "resume" "$(S inspect "$id" --json)" '"state":"RUNNING"'
check_match "inspect has the policy and usage" "$(S inspect "$id" --json)" '"policy":.*"usage":'
S kill "$id"
S wait "$id" >/dev/null
check "wait exits as run would" "$?" 137
check_match "stopped job listed" "$(S ps --json)" "\"job_id\":$id,\"state\":\"STOPPED\""
S rm "$id"
check "rm forgets it" "$(S ps --json | grep -c "\"job_id\":$id,")" 0
S kill 999999 2>"$T/err"
check "kill of no job fails" "$?" 1
check_match "and says why" "$(cat "$T/err")" 'no job 999999'
id=$(S submit --detach --policy /dev/null -- /bin/sh -c 'kill -TERM $$; sleep 5')
check "detached job result via wait" "$(S wait "$id" >/dev/null; echo $?)" 143

# --- who may do what (as nobody, uid 65534, allowed but no admin) ---
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)
chmod 0755 "$T"
root_id=$(S submit --detach -- /bin/sleep 30)
check "nobody can run" "$("${NOBODY[@]}" "$SBX" --socket "$SOCK" run -- /bin/echo hi 2>&1)" hi
check "nobody does not see root's jobs" "$("${NOBODY[@]}" "$SBX" --socket "$SOCK" ps --json)" '{}'
"${NOBODY[@]}" "$SBX" --socket "$SOCK" kill "$root_id" 2>"$T/err"
check "nobody cannot kill root's job" "$?" 1
check_match "nobody: all users is for admins" \
    "$("${NOBODY[@]}" "$SBX" --socket "$SOCK" ps --all 2>&1)" 'list.all_users: only administrators'
"${NOBODY[@]}" "$SBX" --socket "$SOCK" run --memory 1G -- /bin/true 2>"$T/err"
check "over a cap -> 125" "$?" 125
check_match "over a cap names the field and the cap" "$(cat "$T/err")" \
    '^sbx: limits.memory: .* over this client.s cap of 268435456 bytes \(client_caps.memory\)$'
nid=$("${NOBODY[@]}" "$SBX" --socket "$SOCK" submit --detach -- /bin/true)
check_match "an unset capped limit gets the cap" \
    "$("${NOBODY[@]}" "$SBX" --socket "$SOCK" inspect "$nid" --json)" '"limits":\{"memory":"256M","pids":64,.*"wall_time":"20s","output":"1M"'
"${NOBODY[@]}" "$SBX" --socket "$SOCK" run --bind /etc:/mnt -- /bin/true 2>"$T/err"
check_match "host paths not shared are refused" "$(cat "$T/err")" 'mounts\[0\].src: "/etc" is not in the daemon.s shared_paths'
check "shared paths are allowed" \
    "$("${NOBODY[@]}" "$SBX" --socket "$SOCK" run "${PROBES[@]}" -- /bin/echo shared 2>&1)" shared
printf 'command: "/bin/true"\nstdio { stdout_file: "/etc/x" }\n' > "$T/file.pbtxt"
"${NOBODY[@]}" "$SBX" --socket "$SOCK" run --policy "$T/file.pbtxt" 2>"$T/err"
check_match "stdio files are refused" "$(cat "$T/err")" 'stdio.stdout_file: sandboxd never opens host files for a job'
setpriv --reuid=65533 --regid=65533 --clear-groups "$SBX" --socket "$SOCK" stats >/dev/null 2>&1
check "a uid not allowed cannot talk to the daemon" "$?" 1
S kill "$root_id"

# --- a client disconnect kills its job; a detached one survives ---
"$SBX" --socket "$SOCK" run -- /bin/sleep 61 &
cpid=$!
wait_until 5 sh -c "$SBX --socket $SOCK ps | grep -q 'RUNNING.*sleep'"
check "the run's job is running" "$?" 0
kill -KILL "$cpid"; wait "$cpid" 2>/dev/null
wait_until 5 sh -c "! $SBX --socket $SOCK ps | grep -q 'RUNNING.*sleep'"
check "client killed -> its job killed and removed" "$?" 0
check "no job process left" "$(pgrep -fc '^/bin/sleep 61$')" 0
did=$(S submit --detach -- /bin/sleep 62)
check_match "detached job survives its client" "$(S ps)" "$did +RUNNING"

# --- SIGHUP reloads the configuration ---
sed -i 's/^max_concurrent: 4/max_concurrent: 2/' "$T/sandboxd.conf"
kill -HUP "$DPID"
wait_until 5 sh -c "$SBX --socket $SOCK stats | grep -q 'max 2)'"
check "SIGHUP reloaded max_concurrent" "$?" 0
echo 'max_concurrent: banana' > "$T/bad.conf"; cp "$T/sandboxd.conf" "$T/good.conf"
cp "$T/bad.conf" "$T/sandboxd.conf"; kill -HUP "$DPID"; sleep 0.3
check_match "a bad config is refused, the old one kept" "$(S stats)" 'max 2\)'
cp "$T/good.conf" "$T/sandboxd.conf"

# --- SIGKILL of the daemon, then a restart: nothing left behind ---
"$SBX" --socket "$SOCK" run -- /bin/sleep 63 >/dev/null 2>&1 &
cpid=$!
wait_until 5 sh -c "[ \$(pgrep -fc '^/bin/sleep 6[23]$') -eq 2 ]"
check "two jobs running before the kill" "$?" 0
old=$DPID
kill -KILL "$DPID"; wait "$DPID" 2>/dev/null; DPID=
wait "$cpid" 2>/dev/null
wait_until 5 sh -c "[ \$(pgrep -fc '^/bin/sleep 6[23]$') -eq 0 ]"
check "the jobs died with the daemon" "$?" 0
# Its job cgroups are normally still there; any other launcher running at
# the same time (a parallel test) may already have removed them as stale,
# which is the same mechanism the restart relies on.
left=$(job_cgroups "$old")
if [ "$left" -gt 0 ]; then ok "the dead daemon left $left job cgroups behind"
else ok "the dead daemon's job cgroups were already removed by another launcher"; fi
start_daemon || exit 1
check "the restarted daemon removed the dead one's job cgroups" "$(job_cgroups "$old")" 0
check "no uid slot still locked for them" "$(flocks "$old")" 0
check "and serves" "$(S run -- /bin/echo again)" again

# --- a full queue refuses, naming the limits ---
sed -i -e 's/^max_concurrent: .*/max_concurrent: 1/' -e 's/^queue_length: .*/queue_length: 1/' "$T/sandboxd.conf"
kill -HUP "$DPID"
wait_until 5 sh -c "$SBX --socket $SOCK stats | grep -q 'queued (max 1)'"
q1=$(S submit --detach -- /bin/sleep 30)
q2=$(S submit --detach -- /bin/sleep 30)
S submit --detach -- /bin/sleep 30 2>"$T/err"
check "a submit beyond max_concurrent + queue_length is refused" "$?" 125
check_match "and says why" "$(cat "$T/err")" 'queue: full \(1 running, 1 queued; max_concurrent 1, queue_length 1\)'
check_match "the second one waits in the queue" "$(S ps)" "$q2 +CREATED"
S kill "$q2"; S kill "$q1"
check "a killed queued job never ran" "$(S wait "$q2" >/dev/null; echo $?)" 137
cp "$T/good.conf" "$T/sandboxd.conf"; kill -HUP "$DPID"
wait_until 5 sh -c "$SBX --socket $SOCK stats | grep -q 'max 2)'"

# --- SIGTERM drains: running jobs finish within the grace period ---
"$SBX" --socket "$SOCK" run -- /bin/sh -c 'sleep 1; echo drained' > "$T/drain.out" &
p1=$!
"$SBX" --socket "$SOCK" run -- /bin/sleep 30 > /dev/null 2>&1 &
p2=$!
wait_until 5 sh -c "$SBX --socket $SOCK stats | grep -q '2 running'"
kill -TERM "$DPID"
sleep 0.3
S stats >/dev/null 2>&1
check "draining: no new connections" "$?" 1
wait "$p1"; r1=$?
wait "$p2"; r2=$?
check "a job within the grace period finishes" "$r1 $(cat "$T/drain.out")" "0 drained"
check "a job past the grace period is killed" "$r2" 137
wait "$DPID"
check "the daemon exits 0 after draining" "$?" 0
DPID=
check "the socket file is removed" "$([ -e "$SOCK" ] && echo present || echo gone)" gone

# --- socket activation: the listening socket from systemd (LISTEN_FDS) ---
if command -v systemd-socket-activate >/dev/null; then
    systemd-socket-activate -l "$SOCK" "$SANDBOXD" --config "$T/sandboxd.conf" >>"$DLOG" 2>&1 &
    DPID=$!
    wait_until 5 test -S "$SOCK"
    check "socket activation: served" "$(S run -- /bin/echo activated)" activated
    check_match "socket activation: used the passed fd" "$(cat "$DLOG")" 'listening on the socket systemd passed'
    stop_daemon
else
    ok "socket activation not tested: no systemd-socket-activate"
fi
check_log_clean
finish
