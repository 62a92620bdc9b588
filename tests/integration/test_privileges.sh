#!/bin/bash
# The job has no capabilities, no_new_privs, a seccomp filter, no fd of the
# launcher, its own session, and cwd inside its root.
. "$(dirname "$0")/lib.sh"

sbx_run -- /bin/sh -c 'grep -E "^(CapInh|CapPrm|CapEff|CapBnd|CapAmb|NoNewPrivs|Seccomp):" /proc/self/status'
check "job exits 0" "$RC" 0
for c in CapInh CapPrm CapEff CapBnd CapAmb; do
    check "$c is empty" "$(echo "$OUT" | awk -v c="$c:" '$1==c {print $2}')" 0000000000000000
done
check "no_new_privs is set" "$(echo "$OUT" | awk '$1=="NoNewPrivs:" {print $2}')" 1
check "seccomp filter mode" "$(echo "$OUT" | awk '$1=="Seccomp:" {print $2}')" 2

sbx_run --seccomp none -- /bin/sh -c 'grep ^Seccomp: /proc/self/status'
check "--seccomp none means no filter" "$(echo "$OUT" | awk '{print $2}')" 0

# No fd of the launcher survives: open an extra fd in the caller and look.
exec 7<"$SBX_ROOTFS/etc/passwd"
sbx_run -- /bin/sh -c 'ls /proc/self/fd | sort -n | tr "\n" " "'
exec 7<&-
check "only stdio fds (plus the one ls opens)" "$OUT" "0 1 2 3 "

sbx_run -- /bin/sh -c 'readlink /proc/self/cwd; readlink /proc/1/cwd 2>&1; echo; cat /proc/1/environ 2>&1 | head -c 40'
check_match "cwd is inside the root" "$(echo "$OUT" | sed -n 1p)" '^/$'

# Its own session: no controlling terminal, setsid() leader.
sbx_run -- /bin/sh -c 'cat /proc/self/stat | cut -d" " -f6,7'
read -r sid tty <<<"$OUT"
check "own session (sid = pid of the job)" "$sid" 2
check "no controlling tty" "$tty" 0

# The environment is built from the policy, never inherited.
export SBX_SECRET=leak
sbx_run --env A=1 -- env
unset SBX_SECRET
check "environment is exactly the policy's" "$(echo "$OUT" | sort | tr '\n' ' ')" "A=1 PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "

# setuid binaries cannot raise privileges: nosuid + no_new_privs.
sbx_run "${PROBES[@]}" -- /probes/sysprobe setuid0 mknod chroot sethostname
check "setuid(0) as root inside is a no-op" "$(echo "$OUT" | grep setuid0)" "setuid0: ok"
check "mknod is refused" "$(echo "$OUT" | grep mknod)" "mknod: EPERM"
check "chroot is refused" "$(echo "$OUT" | grep chroot)" "chroot: EPERM"
check "sethostname is refused" "$(echo "$OUT" | grep sethostname)" "sethostname: EPERM"

# PID 1 (our init) is out of reach.
sbx_run --seccomp none "${PROBES[@]}" -- /probes/sysprobe ptrace-init kill-init
check "ptrace of PID 1 is refused" "$(echo "$OUT" | grep ptrace-init)" "ptrace-init: EPERM"
check "job exits normally after kill(1, SIGKILL)" "$RC" 0

# Landlock confines the job to its root and, with ABI 6, scopes signals: the
# job cannot even make its PID 1 forward a SIGTERM to it.
sbx_run -- /bin/sh -c 'trap "echo got-term" TERM; sh -c "kill -TERM 1 2>&1"; sleep 0.3'
check "the result says Landlock confined the job" "$(field landlock)" true
check_match "a signal to PID 1 is refused" "$OUT" 'not permitted'
if echo "$OUT" | grep -q got-term; then fail "PID 1 forwarded the job's own SIGTERM"; else ok "no signal left the Landlock domain"; fi
finish
