#!/bin/bash
# Cgroup quotas through real jobs on this host's cgroups: pids, memory (with
# OOM reporting), CPU time and bandwidth, accounting, and cleanup.
. "$(dirname "$0")/lib.sh"

own() { awk -F: -v c="$1" '{n=split($2,a,","); for(i=1;i<=n;i++) if (a[i]==c) print $3} $2=="" && c=="unified" {print $3}' /proc/self/cgroup | head -1; }

# A fork bomb under --pids 32 is contained, and the host keeps working.
sbx_run --pids 32 --wall-time-limit 10 "${PROBES[@]}" -- /probes/hog fork 1000
forked=$(echo "$OUT" | awk '{print $2}')
check_cmp "fork bomb contained (forked $forked)" "${forked:-999}" -le 31
check "host still forks" "$(sh -c 'echo alive')" alive

sbx_run --pids 32 --wall-time-limit 5 -- /bin/sh -c 'b() { b | b & }; b; sleep 2; echo survived'
check_match "shell fork bomb: the job ended" "$(field status)" 'EXITED|SIGNALED|WALL_TIME_LIMIT_EXCEEDED'

# A memory bomb under --memory 64M is OOM_KILLED with exit 137.
sbx_run --memory 64M "${PROBES[@]}" -- /probes/hog mem 200
check "memory bomb: OOM_KILLED" "$(field status)" OOM_KILLED
check "memory bomb: exit 137" "$RC" 137
check "memory bomb: signal 9" "$(field signal)" 9

# A child OOM-killed while the first process exits 0 is still OOM_KILLED.
sbx_run --memory 64M "${PROBES[@]}" -- /bin/sh -c '/probes/hog mem 200; exit 0'
check "child OOM: OOM_KILLED" "$(field status)" OOM_KILLED
check "child OOM: the first process's exit code" "$(field exit_code)" 0
check "child OOM: exit status 0" "$RC" 0

# Peak memory: a job touching 100 MiB reports at least that.
sbx_run --memory 512M "${PROBES[@]}" -- /probes/hog mem 100
peak=$(field memory_peak_bytes)
check_cmp "memory_peak_bytes >= 100 MiB ($peak)" "$peak" -ge $((100 << 20))
check "within its limit: EXITED" "$(field status)" EXITED

# CPU time limit on the whole job: spin with --time-limit 1.
sbx_run --time-limit 1 --wall-time-limit 20 -- /bin/sh -c 'while :; do :; done'
check "CPU spin: TIME_LIMIT_EXCEEDED" "$(field status)" TIME_LIMIT_EXCEEDED
check "CPU spin: exit 137" "$RC" 137
cpu=$(field cpu_time_ms)
check_cmp "cpu time >= 900 ms ($cpu)" "$cpu" -ge 900
check_cmp "cpu time <= 1500 ms ($cpu)" "$cpu" -le 1500

# ... summed over processes: two spinning processes cross it together.
sbx_run --time-limit 1 --wall-time-limit 20 -- /bin/sh -c 'sh -c "while :; do :; done" & while :; do :; done'
check "two processes: TIME_LIMIT_EXCEEDED" "$(field status)" TIME_LIMIT_EXCEEDED
cpu=$(field cpu_time_ms)
check_cmp "the limit is on the sum, not per process ($cpu ms)" "$cpu" -le 1500

# --cpus 0.5: two threads spinning for 2 s of wall time get at most about
# 1 s of CPU. Only the upper side is the limit's: a loaded host (other jobs,
# other users) may give the job less, so the lower side asks only that it
# ran, and the rate is judged against the job's own wall time.
sbx_run --cpus 0.5 "${PROBES[@]}" -- /probes/hog spin 2 2
cpu=$(field cpu_time_ms)
wall=$(field wall_time_ms)
check_cmp "--cpus 0.5: it ran ($cpu ms of CPU)" "$cpu" -ge 50
check_cmp "--cpus 0.5: cpu time <= 1400 ms ($cpu)" "$cpu" -le 1400
check_cmp "--cpus 0.5: at most ~0.5 cores over its wall time ($cpu ms in $wall ms)" "$((cpu * 100))" -le "$((wall * 70))"

# user + sys are reported and add up to cpu_time; a spinning job is user time.
u=$(field user_time_ms); s=$(field sys_time_ms)
check "user + sys == cpu_time" "$((u + s))" "$cpu"
check_cmp "a spin is mostly user time ($u of $cpu)" "$u" -ge $((cpu / 2))

# After 100 jobs no job cgroup of theirs remains (named job-<pidns>-<pid>-...
# after the launcher that made it; other tests' jobs may come and go).
launchers=()
for i in $(seq 100); do
    "$SBX" run --memory 32M --pids 16 -- /bin/true &
    launchers+=($!)
    wait $! || fail "job $i failed"
done
left=0
for c in memory pids cpu cpuacct freezer unified; do
    d=/sys/fs/cgroup/$c$(own $c)/sbx
    [ -d "$d" ] || continue
    for p in "${launchers[@]}"; do
        left=$((left + $(find "$d" -maxdepth 1 -type d -name "job-*-$p-*" | wc -l)))
    done
done
check "no job cgroup remains after 100 jobs" "$left" 0
finish
