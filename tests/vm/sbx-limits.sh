#!/bin/sh
# The cgroup limit tests of tests/integration/test_cgroups.sh, through real
# `sbx run` jobs, in busybox sh so that they run inside the cgroup2-only VM
# (tests/vm/cgroup2-vm.sh). CMake copies this next to the sbx binary.
# Exit status: the number of failed checks.
B=$(cd "$(dirname "$0")/.." && pwd)
SBX=$B/sbx
P=$B/probes
R=/tmp/sbx-vm-result.json
fails=0

# What an operator does for a launcher that shares its cgroup with others
# (here: this shell) on cgroup v2: move the others into a leaf, hand the
# controllers down, and point sbx at a parent for its jobs.
if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
    own=$(sed -n 's/^0:://p' /proc/self/cgroup)
    cg=/sys/fs/cgroup$own
    mkdir -p "$cg/shell" "$cg/jobs"
    echo $$ > "$cg/shell/cgroup.procs"
    echo "+memory +pids +cpu" > "$cg/cgroup.subtree_control"
    echo "+memory +pids +cpu" > "$cg/jobs/cgroup.subtree_control"
    export SBX_CGROUP_PARENT="$own/jobs"
fi
ok()   { echo "ok   - $*"; }
bad()  { echo "FAIL - $*"; fails=$((fails + 1)); }
field() { sed -n "s/.*\"$1\":\"\{0,1\}\([^,\"]*\).*/\1/p" "$R"; }
run() { rm -f "$R"; "$SBX" run --result-json "$R" --bind "$P:/probes" "$@" >/tmp/sbx-vm-out 2>&1; rc=$?; }
expect() { # DESC ACTUAL WANT
    if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got [$2] want [$3]"; cat /tmp/sbx-vm-out; fi
}

run -- /bin/sh -c 'cat /proc/self/cgroup'
expect "a job runs on cgroup v2" "$rc" 0
expect "the job sees its cgroup as the root" "$(cat /tmp/sbx-vm-out)" "0::/"

run --pids 32 --wall-time-limit 20 -- /probes/hog fork 1000
n=$(awk '{print $2}' /tmp/sbx-vm-out)
[ "${n:-999}" -le 31 ] && ok "fork bomb contained ($n)" || bad "fork bomb: forked [$n]"

run --memory 64M -- /probes/hog mem 200
expect "memory bomb: OOM_KILLED" "$(field status)" OOM_KILLED
expect "memory bomb: exit 137" "$rc" 137

run --memory 64M -- /bin/sh -c '/probes/hog mem 200; exit 0'
expect "child OOM (group kill): OOM_KILLED" "$(field status)" OOM_KILLED

run --memory 256M -- /probes/hog mem 100
peak=$(field memory_peak_bytes)
[ "${peak:-0}" -ge $((100 << 20)) ] && ok "memory_peak_bytes >= 100 MiB ($peak)" || bad "memory peak [$peak]"

run --time-limit 1 --wall-time-limit 60 -- /bin/sh -c 'while :; do :; done'
expect "CPU spin: TIME_LIMIT_EXCEEDED" "$(field status)" TIME_LIMIT_EXCEEDED
cpu=$(field cpu_time_ms)
[ "${cpu:-0}" -ge 900 ] && [ "${cpu:-0}" -le 2000 ] && ok "cpu time near 1 s ($cpu)" || bad "cpu time [$cpu]"

# Under TCG a quota is enforced loosely (about 2x): check only that it bites.
run --cpus 0.25 -- /probes/hog spin 2 2
cpu=$(field cpu_time_ms)
[ "${cpu:-9999}" -le 3000 ] && ok "--cpus 0.25 throttles ($cpu ms of 4000 possible)" || bad "--cpus [$cpu]"

# Kernel memory: v2 charges socket buffers to the job's memory cgroup, so
# loopback TCP buffers stay within a small multiple of --memory (on v1 sbx
# sets memory.kmem.tcp.limit_in_bytes; tests/security/test_exhaustion.sh).
# (v2 counts them in memory.current: the job may be OOM-killed instead.)
run --memory 32M --bind "$B/security:/sec" -- /sec/tcp_mem 256 32
cat /tmp/sbx-vm-out
if [ "$rc" = 0 ] || [ "$(field status)" = OOM_KILLED ]; then
    ok "TCP buffers under --memory 32M: bounded (rc $rc, $(field status))"
else
    bad "TCP buffers under --memory 32M: rc $rc, status $(field status)"
fi

if [ -n "${cg:-}" ]; then
    left=$(find "$cg/jobs" -mindepth 1 -type d | wc -l)
    expect "no job cgroup left behind" "$left" 0
fi

echo "# sbx-limits: $fails failed"
exit $fails
