#!/bin/bash
# Seccomp profiles through real jobs: `default` returns EPERM for the
# dangerous calls and lets ordinary programs run; `strict` kills anything
# off its list and the result names the call; `none` only when named.
. "$(dirname "$0")/lib.sh"

DENIED="keyctl bpf perf_event_open userfaultfd unshare-user unshare-ns mount umount-proc clock_settime io_uring_setup setns tiocsti tiocsti-hi open_by_handle_at kexec_load init_module reboot swapon acct iopl"
sbx_run "${PROBES[@]}" -- /probes/sysprobe $DENIED getpid fork socket-inet
check "default: the job runs" "$RC" 0
for op in $DENIED; do
    got=$(echo "$OUT" | awk -v o="$op:" '$1==o {print $2}')
    if [ "$got" = EPERM ] || [ "$got" = ENOSYS ]; then ok "default denies $op ($got)"; else fail "default: $op gave [$got]"; fi
done
check "default allows getpid" "$(echo "$OUT" | grep '^getpid:')" "getpid: ok"
check "default allows fork" "$(echo "$OUT" | grep '^fork:')" "fork: ok"
check "default allows an inet socket" "$(echo "$OUT" | grep '^socket-inet:')" "socket-inet: ok"
check "no SECCOMP_VIOLATION under default" "$(field status)" EXITED

# Raw and packet sockets: refused (no CAP_NET_RAW), whatever the profile.
sbx_run --seccomp none "${PROBES[@]}" -- /probes/sysprobe socket-raw socket-packet
check_match "raw socket refused" "$(echo "$OUT" | grep socket-raw)" 'EPERM|EACCES'
check_match "packet socket refused" "$(echo "$OUT" | grep socket-packet)" 'EPERM|EACCES'

# Without a filter the other layers still hold: no capabilities, no mount.
sbx_run --seccomp none "${PROBES[@]}" -- /probes/sysprobe mount
check "--seccomp none: mount inside still refused (no capabilities)" "$(echo "$OUT")" "mount: EPERM"

# strict: allowed work runs; the first call off the list kills the job.
sbx_run --seccomp strict "${PROBES[@]}" -- /probes/sysprobe getpid write socket-inet getpid
check "strict: allowed calls run first" "$(echo "$OUT" | head -2 | tr '\n' ' ')" "getpid: ok write: ok "
check "strict: SECCOMP_VIOLATION" "$(field status)" SECCOMP_VIOLATION
check "strict: the call is named" "$(field syscall)" socket
check "strict: killed by SIGSYS" "$(field signal)" 31
check "strict: exit status 159" "$RC" 159

# 32-bit entry (int 0x80) is killed under default.
sbx_run "${PROBES[@]}" -- /probes/abi32
check "i386 syscall: SECCOMP_VIOLATION" "$(field status)" SECCOMP_VIOLATION
check_match "i386 syscall named with its ABI" "$(field syscall)" 'i386'

# A profile file.
cat > "$T/p.profile" <<'P'
include default
errno EACCES getppid
P
chmod 0644 "$T/p.profile"
sbx_run --seccomp "$T/p.profile" -- /bin/sh -c 'echo $PPID'
check "profile file: runs" "$RC" 0
sbx_run --seccomp /nonexistent.profile -- /bin/true
check "missing profile file -> 125" "$RC" 125
check_match "error names the profile" "$ERR" 'nonexistent.profile'
finish
