# Helpers for the sandboxd tests (sourced after lib.sh): start and stop a
# daemon of our own in $T, and the generated Python protocol code.
SANDBOXD="$SBX_BUILD/sandboxd"
PY=/usr/bin/python3   # Debian's, with python3-protobuf
SOCK="$T/sandboxd.sock"
DLOG="$T/sandboxd.log"
DPID=

# The Python client package, as the build lays it out (client/python plus
# the message modules generated from the .proto files).
PYPKG="$SBX_BUILD/python"
[ -f "$PYPKG/sbx_client/sandboxd_pb2.py" ] || { echo "no $PYPKG/sbx_client (protoc missing at build time?)"; exit 1; }
export PYTHONPATH="$PYPKG"
PYCLIENT=("$PY" -m sbx_client --socket "$SOCK")

# start_daemon [EXTRA ARGS]: starts sandboxd with $T/sandboxd.conf, waits
# until it answers.
start_daemon() {
    "$SANDBOXD" --socket "$SOCK" --config "$T/sandboxd.conf" "$@" >>"$DLOG" 2>&1 &
    DPID=$!
    local i
    for i in $(seq 100); do
        "$SBX" --socket "$SOCK" stats >/dev/null 2>&1 && return 0
        sleep 0.05
    done
    echo "sandboxd did not start:"; cat "$DLOG"
    return 1
}

# stop_daemon: SIGTERM, wait for it to drain and exit.
stop_daemon() {
    [ -n "$DPID" ] || return 0
    kill -TERM "$DPID" 2>/dev/null
    wait "$DPID" 2>/dev/null
    DPID=
}
cleanup_hooks+=('[ -n "$DPID" ] && kill -KILL "$DPID" 2>/dev/null; wait 2>/dev/null')

S() { "$SBX" --socket "$SOCK" "$@"; }

# job_cgroups PID: job cgroup directories created by the daemon with this pid.
job_cgroups() {
    find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -type d -name "job-*-$1-*" 2>/dev/null | wc -l
}

# flocks PID: uid-slot locks (flock) held on behalf of this daemon's jobs.
flocks() {
    awk -v p="$1" '$2 == "FLOCK" && $5 == p' /proc/locks | wc -l
}

# wait_until SECONDS COMMAND...: polls until COMMAND succeeds.
wait_until() {
    local t=$1 i
    shift
    for i in $(seq $((t * 20))); do
        "$@" && return 0
        sleep 0.05
    done
    return 1
}

# check_log_clean: the daemon's log has no sanitizer report.
check_log_clean() {
    check "sandboxd's log has no sanitizer report" \
        "$(grep -cE 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$DLOG")" 0
}
