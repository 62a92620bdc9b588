#!/bin/bash
# Reaching host processes and objects: signals (kill -1, pid scans, a host
# pid by number), a host abstract UNIX socket, host SysV IPC objects, and
# the cgroup tree (cgroup.procs of a parent, release_agent).
. "$(dirname "$0")/lib.sh"

# --- Signals: a host process of ours must survive kill(-1) and pid scans.
sleep 300 & victim=$!
cleanup_hooks+=("kill $victim 2>/dev/null")
for prof in default none; do
    attack --seccomp $prof -- signals "$victim"
    expect_blocked "signals reach only the job's own processes (--seccomp $prof)"
    expect_line "kill(-1) hit the job's own child" 'killed by kill\(-1\)'
    if kill -0 "$victim" 2>/dev/null; then ok "the host process $victim survived (--seccomp $prof)"; else fail "the host process died"; fi
    host_unchanged "signals (--seccomp $prof)"
done

# --- A host abstract UNIX socket.
name="sbx-sec-$$-$RANDOM"
"$SBX_SECURITY/abstract_unix" listen "$name" 8 >"$T/listener" 2>&1 & listener=$!
cleanup_hooks+=("kill $listener 2>/dev/null")
for _ in $(seq 50); do grep -q LISTENING "$T/listener" && break; sleep 0.1; done
for prof in default none; do
    attack --seccomp $prof -- abstract_unix connect "$name"
    expect_blocked "the host's abstract socket is unreachable (--seccomp $prof)"
done
# Control: from the host the same connect works.
"$SBX_SECURITY/abstract_unix" connect "$name" >"$T/ctl" 2>&1
check_match "control: on the host the connect works" "$(cat "$T/ctl")" 'ESCAPED connect'
kill "$listener" 2>/dev/null; wait "$listener" 2>/dev/null
# Only the control's stream connect was accepted (dgram and seqpacket connects
# to a stream listener fail with EPROTOTYPE even on the host).
check "the listener saw only the control's connection" "$(grep -c CONNECTION "$T/listener")" 1

# --- Host SysV IPC: one object of each kind, mode 0666, under a known key.
key=$((0x5b5c0000 + $$ % 65536))
ids=$("$SBX_SECURITY/sysv_ipc" create $key)
cleanup_hooks+=("'$SBX_SECURITY/sysv_ipc' remove $key")
echo "    host objects (shm msg sem): $ids"
for prof in default none; do
    attack --seccomp $prof -- sysv_ipc find $key
    expect_blocked "host SysV IPC is invisible (--seccomp $prof)"
done
check_match "the host objects are still there" "$(ipcs -m | grep -ci "$(printf '0x%08x' $key)")" '^1$'

# --- Cgroups: the job's cgroup is its "/", nothing above it is reachable.
for prof in default none; do
    attack --seccomp $prof -- cgroup_escape
    expect_blocked "no cgroup escape (--seccomp $prof)"
    host_unchanged "cgroups (--seccomp $prof)"
done
finish
