#!/bin/bash
# Every job gets new user, PID, network, mount, UTS, IPC, cgroup and time
# namespaces: compared from inside against the host's.
. "$(dirname "$0")/lib.sh"

sbx_run -- /bin/sh -c 'for n in user pid net mnt uts ipc cgroup time; do echo "$n $(readlink /proc/self/ns/$n)"; done'
check "job exits 0" "$RC" 0
for n in user pid net mnt uts ipc cgroup time; do
    inside=$(echo "$OUT" | awk -v n="$n" '$1==n {print $2}')
    host=$(readlink /proc/self/ns/$n)
    if [ -n "$inside" ] && [ "$inside" != "$host" ]; then ok "$n namespace differs ($inside)"; else fail "$n namespace: inside [$inside] host [$host]"; fi
done

sbx_run -- /bin/sh -c 'echo $$; ps -o pid,comm | wc -l'
check "the job's first process is pid 2 under our PID 1" "$(echo "$OUT" | head -1)" 2

sbx_run -- /bin/cat /proc/self/cgroup
check_match "the job sees its cgroup as the root" "$OUT" '^0::/$|:/$'

sbx_run --hostname judge-42 -- /bin/hostname
check "hostname is set" "$OUT" judge-42
sbx_run -- /bin/hostname
check "default hostname" "$OUT" sandbox

# IPC: a SysV segment made on the host is invisible inside.
if command -v ipcmk >/dev/null; then
    id=$(ipcmk -M 4096 | awk '{print $NF}')
    cleanup_hooks+=("ipcrm -m $id")
    sbx_run -- /bin/sh -c 'cat /proc/sysvipc/shm | wc -l'
    check "host SysV shm is invisible" "$OUT" 1
fi
finish
