#!/bin/bash
# PID 1 reaps orphans, forwards signals, and when the first process ends every
# process left in the job is killed: nothing outlives the job.
. "$(dirname "$0")/lib.sh"

# Orphans are reaped: a child whose parent exits becomes PID 1's and must not
# stay a zombie.
sbx_run -- /bin/sh -c '(sh -c "sleep 0.2 &" ); sleep 0.6; ps -o stat,comm | grep -c "^Z"'
check "orphans are reaped (no zombies)" "$OUT" 0

# A double-forked daemon does not outlive the job.
mkdir "$T/rw" && chmod 0777 "$T/rw"
sbx_run --bind-rw "$T/rw:/rw" -- /bin/sh -c 'setsid sh -c "i=0; while :; do i=\$((i+1)); echo \$i > /rw/beat; sleep 0.05; done" </dev/null >/dev/null 2>&1 & sleep 0.3'
uid=$(field host_uid)
check "job exited 0" "$RC" 0
sleep 0.3
a=$(cat "$T/rw/beat"); sleep 0.3; b=$(cat "$T/rw/beat")
check "the daemon stopped with the job" "$a" "$b"
left=$(ps -eo uid= | awk -v u="$uid" '$1==u' | wc -l)
check "no process of the job's uid remains" "$left" 0

# SIGTERM to sbx reaches the job (which may trap it).
"$SBX" run --result-json "$T/r.json" -- /bin/sh -c 'trap "echo got-term; exit 3" TERM; echo set; sleep 10 & wait' >"$T/out" 2>&1 &
p=$!
# Signal once the job says its trap is set (a slow start must not race it).
for _ in $(seq 200); do grep -q set "$T/out" && break; sleep 0.05; done
kill -TERM $p
wait $p
rc=$?
check "SIGTERM is forwarded to the job" "$(echo $(cat "$T/out"))" "set got-term"
check "exit status is the job's" "$rc" 3

# SIGKILL of the launcher takes the job with it.
"$SBX" run --bind-rw "$T/rw:/rw" -- /bin/sh -c 'i=0; while :; do i=$((i+1)); echo $i > /rw/beat2; sleep 0.05; done' >"$T/bg.out" 2>&1 &
p=$!
sleep 0.5
kill -KILL $p
wait $p 2>/dev/null
sleep 0.3
a=$(cat "$T/rw/beat2" 2>/dev/null); sleep 0.3; b=$(cat "$T/rw/beat2" 2>/dev/null)
check "the job dies with a killed launcher" "$a" "$b"
finish
