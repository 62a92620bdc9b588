#!/bin/bash
# sandboxd's sessions through sbx: one sandbox, many runs. A run answers as
# `sbx --socket run` does (exit status, result JSON, signal forwarding);
# the root filesystem persists from run to run; each run has its own
# accounting and limits, within the session's; a run killed for a limit
# leaves the session usable; session rm, the idle timeout, ps, inspect and
# kill. (What a run must not see of the one before:
# tests/security/test_warm_isolation.sh.) Kills only processes it started,
# by pid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 4
queue_length: 64
sessions { idle_timeout: "5m" max_lifetime: "1h" }
CONF
start_daemon || exit 1
# Should the daemon die, its warm sandboxes die with it (PDEATHSIG) but
# their cgroups stay: the checks at the end report them, this removes them.
D0=$DPID
cleanup_hooks+=('find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -depth -type d -path "*/job-*-$D0-*" -exec rmdir {} + 2>/dev/null')

jf() { "$PY" -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2], ""); print(str(v).lower() if isinstance(v, bool) else v)' "$1" "$2"; }
R() { S session run "$@"; }

# --- create prints the id alone ---
sid=$(S session create --name judge1 --memory 128M --pids 32 --bind "$SBX_PROBES:/probes" 2>"$T/err")
check "session create: exit 0" "$?" 0
check_match "and prints the id alone on stdout" "$sid" '^[0-9]+$'
check "nothing on stderr" "$(cat "$T/err")" ""

# --- a run answers as sbx --socket run does ---
same_as_run() {
    local desc=$1
    shift
    local so src ro rrc f
    so=$(R "$sid" --result-json "$T/s.json" "$@" 2>"$T/s.err"); src=$?
    ro=$(S run --memory 128M --pids 32 --bind "$SBX_PROBES:/probes" --result-json "$T/r.json" "$@" 2>"$T/r.err"); rrc=$?
    check "$desc: exit status" "$src" "$rrc"
    check "$desc: stdout" "$so" "$ro"
    check "$desc: stderr" "$(cat "$T/s.err")" "$(cat "$T/r.err")"
    for f in status exit_code signal syscall error; do
        check "$desc: result $f" "$(jf "$T/s.json" $f)" "$(jf "$T/r.json" $f)"
    done
}
same_as_run "exit 42" -- /bin/sh -c 'echo out; echo err >&2; exit 42'
same_as_run "SIGSEGV" -- /bin/sh -c 'kill -SEGV $$'
same_as_run "missing command" -- /nonexistent/cmd
same_as_run "not executable" -- /etc/passwd
same_as_run "wall-time limit" --wall-time-limit 0.3 -- /bin/sleep 5
same_as_run "time limit" --time-limit 0.2 -- /bin/sh -c 'while :; do :; done'
same_as_run "per-run fields" --env A=b --cwd /tmp --arg x -- /bin/sh -c 'echo $A $(pwd) "$@"' sh
same_as_run "bad flag value" --memory banana -- /bin/true
echo piped | R "$sid" -- /bin/cat > "$T/cat.out"
check "stdin is the caller's" "$(cat "$T/cat.out")" piped

# SIGTERM to sbx reaches the run's first process, as for sbx run.
rm -f "$T/trap"
"$SBX" --socket "$SOCK" session run "$sid" -- /bin/sh -c 'trap "exit 9" TERM; echo set; sleep 5 & wait' >"$T/trap" &
p=$!
wait_until 10 grep -qs set "$T/trap"
kill -TERM "$p"
wait "$p"
check "SIGTERM forwarded to the run" "$?" 9

# --- the root filesystem persists from run to run ---
R "$sid" -- /bin/sh -c 'echo compiled > /tmp/a.out; mkdir -p /work; echo case1 > /work/in'
check "run 1 writes" "$?" 0
check "run 2 reads what run 1 wrote" "$(R "$sid" -- /bin/cat /tmp/a.out /work/in)" "compiled
case1"

# --- each run's own accounting and limits ---
R "$sid" --result-json "$T/busy.json" -- /probes/hog spin 1 0.4 >/dev/null
R "$sid" --result-json "$T/idle.json" -- /bin/true
busy=$(jf "$T/busy.json" cpu_time_ms); idle=$(jf "$T/idle.json" cpu_time_ms)
check_cmp "a busy run's cpu_time_ms ($busy) is well above the next, idle run's ($idle)" "$((idle * 4))" -lt "$busy"
R "$sid" --result-json "$T/big.json" -- /probes/hog mem 40 >/dev/null
R "$sid" --result-json "$T/small.json" -- /bin/true
big=$(jf "$T/big.json" memory_peak_bytes); small=$(jf "$T/small.json" memory_peak_bytes)
check_cmp "memory_peak_bytes is the run's own: 40 MiB run ($big) above the next ($small)" "$((small * 2))" -lt "$big"
R "$sid" --memory 32M --result-json "$T/oom.json" -- /probes/hog mem 100 >/dev/null 2>&1
check "a run over its --memory: 137" "$?" 137
check "OOM_KILLED" "$(jf "$T/oom.json" status)" OOM_KILLED
check_cmp "oom_kills counted" "$(jf "$T/oom.json" oom_kills)" -ge 1
R "$sid" --result-json "$T/after.json" -- /bin/cat /tmp/a.out >/dev/null
check "the next run still works" "$?" 0
check "and has no OOM kill of its own" "$(jf "$T/after.json" oom_kills)" 0
check "and sees the session's files" "$(R "$sid" -- /bin/cat /tmp/a.out)" compiled
out=$(R "$sid" --pids 4 -- /probes/hog fork 20 2>&1)
check_cmp "--pids per run: 4 ($out)" "$(echo "$out" | awk '{print $2}')" -le 3
out=$(R "$sid" -- /probes/hog fork 20 2>&1)
check "the next run has the session's pids again ($out)" "$(echo "$out" | awk '{print $2}')" 20
R "$sid" --time-limit 0.2 --result-json "$T/tle.json" -- /bin/sh -c 'while :; do :; done'
check "a run killed for --time-limit: 137" "$?" 137
check "TIME_LIMIT_EXCEEDED" "$(jf "$T/tle.json" status)" TIME_LIMIT_EXCEEDED
check "the session is still usable after it" "$(R "$sid" -- /bin/cat /tmp/a.out)" compiled

# --- runs are serialised: a run asked for while another runs waits for it ---
rm -f "$T/first"
"$SBX" --socket "$SOCK" session run "$sid" -- /bin/sh -c 'echo started; sleep 1; echo first > /tmp/order' >"$T/first" &
fp=$!
wait_until 10 grep -qs started "$T/first"
check "a run asked for meanwhile runs after the first ended" "$(R "$sid" -- /bin/cat /tmp/order 2>&1)" first
wait "$fp"
check "and the first run ended well" "$?" 0

# --- a run's limits cannot exceed the session's; session flags are refused ---
R "$sid" --memory 256M --result-json "$T/r.json" -- /bin/true 2>"$T/err"
check "memory above the session's: 125" "$?" 125
check_match "naming the field" "$(cat "$T/err")" 'limits.memory'
check "a SETUP_FAILED result" "$(jf "$T/r.json" status)" SETUP_FAILED
R "$sid" --pids 64 -- /bin/true 2>"$T/err"
check "pids above the session's: 125" "$?" 125
check_match "naming the field" "$(cat "$T/err")" 'limits.pids'
R "$sid" --hostname x --result-json "$T/r.json" -- /bin/true 2>"$T/err"
check "a session's flag on a run: 125" "$?" 125
check_match "naming the flag" "$(cat "$T/err")" '^sbx: --hostname: not a per-run flag'
check "a SETUP_FAILED result for it too" "$(jf "$T/r.json" status)" SETUP_FAILED
S session create /bin/sh 2>"$T/err"
check "session create with a COMMAND: 2" "$?" 2
check_match "says so" "$(cat "$T/err")" 'takes no COMMAND'
S session create --memory 1M 2>"$T/err"
check "session create with an invalid value: refused" "$?" 1
check_match "naming the field" "$(cat "$T/err")" 'limits.memory'

# --- ps, inspect, stats know sessions ---
check_match "ps lists the session with its runs" "$(S ps)" "$sid +RUNNING .* judge1 +\[session, [0-9]+ runs\]"
check_match "ps --json marks it" "$(S ps --json)" "\"job_id\": *\"?$sid\"?,.*\"session\": *true"
"$SBX" --socket "$SOCK" session run "$sid" -- /bin/sh -c 'echo started; exec sleep 30' >"$T/bg" &
bgp=$!
wait_until 10 grep -qs started "$T/bg"
check_match "ps shows the run and its session" "$(S ps)" "RUNNING .*/bin/sh \[session $sid\]"
rid=$(S ps | awk -v m="[session $sid]" 'index($0, m) {print $1}')
check_match "inspect of the run names its session" "$(S inspect "$rid" 2>&1)" "run of: +session $sid"
check_match "inspect: a session with a run in progress" "$(S inspect "$sid")" \
    'session: +[0-9]+ runs, a run in progress, at the latest at [0-9T:-]+Z \(in [0-9]+ s\)'
check_match "inspect --json has the new fields" "$(S inspect "$sid" --json)" '"session": *true.*"runs": *[0-9]+.*"idle_deadline_unix_ms"'
check_match "stats counts it" "$(S stats)" 'sessions: +1 alive'
# kill with another signal goes to the current run's first process.
S kill "$sid" --signal TERM
wait "$bgp"
check "kill ID --signal TERM: the current run got it" "$?" 143
check "and the session lives on" "$(R "$sid" -- /bin/cat /tmp/a.out)" compiled
check_match "inspect: an idle session, its runs and deadlines" "$(S inspect "$sid")" \
    'session: +[0-9]+ runs, removed when idle at [0-9T:-]+Z \(in [0-9]+ s\), at the latest at [0-9T:-]+Z'

# --- a second session does not share the first's files ---
sid2=$(S session create --idle-timeout 1s)
check_match "a second session" "$sid2" '^[0-9]+$'
R "$sid2" -- /bin/cat /tmp/a.out >/dev/null 2>&1
check "it has its own root" "$?" 1

# --- the idle timeout removes a session ---
wait_until 15 sh -c "! '$SBX' --socket '$SOCK' ps | grep -q '^$sid2 '"
check "the idle session is gone from ps" "$(S ps | grep -c "^$sid2 ")" 0
R "$sid2" --result-json "$T/r.json" -- /bin/true 2>"$T/err"
check "a run on it: 125" "$?" 125
check "SETUP_FAILED" "$(jf "$T/r.json" status)" SETUP_FAILED

# --- the maximum lifetime ends a session, running or not; the daemon's caps ---
S session create --idle-timeout 10m 2>"$T/err"
check "an idle timeout above the daemon's: refused" "$?" 1
check_match "naming both" "$(cat "$T/err")" 'idle_timeout.*sessions.idle_timeout'
sid4=$(S session create --max-lifetime 1s)
R "$sid4" --result-json "$T/r.json" -- /bin/sleep 30
check "a run when the session's max_lifetime passes is killed: 137" "$?" 137
check "SIGNALED" "$(jf "$T/r.json" status)" SIGNALED
check "and the session is gone" "$(S ps | grep -c "^$sid4 ")" 0

# --- session rm, then kill ID (9) ---
S session rm "$sid"
check "session rm: 0" "$?" 0
R "$sid" -- /bin/true 2>"$T/err"
check "a run on a removed session: 125" "$?" 125
check_match "not found" "$(cat "$T/err")" "no session $sid"
S session rm "$sid" 2>/dev/null
check "session rm again: 1" "$?" 1
sid3=$(S session create)
S kill "$sid3"
check "kill ID of a session: 0" "$?" 0
wait_until 10 sh -c "! '$SBX' --socket '$SOCK' ps | grep -q '^$sid3 '"
check "kill tore it down" "$(S ps | grep -c "^$sid3 ")" 0
check "stats: no session left" "$(S stats --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin).get("sessions", 0))')" 0

# --- usage ---
check_match "sbx session --help" "$(S session --help)" 'create .*run ID .*rm ID'
check_match "sbx session run --help" "$(S session run --help)" '--time-limit.*--result-json'
check_match "sbx session create --help" "$(S session create --help)" '--idle-timeout'
S session frob 2>/dev/null
check "an unknown session command: 2" "$?" 2

# --- nothing left behind ---
dpid=$DPID
stop_daemon
check "no cgroup of its sessions left" \
    "$(find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -name "*-$dpid-*" 2>/dev/null | wc -l)" 0
check "no uid slot held for it" "$(flocks "$dpid")" 0
check_log_clean
finish
