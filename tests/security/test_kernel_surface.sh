#!/bin/bash
# Kernel attack surface an unprivileged job has no use for: nested user
# namespaces and setns, ptrace of PID 1, 32-bit and x32 entry, keyrings,
# bpf, perf_event_open, userfaultfd, io_uring, raw and packet sockets.
# Under --seccomp none each is run again to name the layer that still holds
# (or to show that seccomp is the only one, where the kernel allows it).
. "$(dirname "$0")/lib.sh"

# --- Nested user namespaces and setns.
attack -- userns_setns
expect_blocked "nested namespaces and setns (default)"
host_unchanged "namespaces (default)"
attack --seccomp none -- userns_setns
expect_line "without seccomp a nested user namespace can be made: seccomp is the only layer" '^ESCAPED unshare\(CLONE_NEWuser\)'
expect_line "without seccomp setns into PID 1's namespaces still fails" '^BLOCKED setns\(/proc/1/ns/mnt\)'
host_unchanged "namespaces (none)"

# --- ptrace of PID 1 (a copy of the launcher), its memory and fds.
for prof in default none; do
    attack --seccomp $prof -- ptrace_init
    expect_blocked "ptrace, /proc/1/mem and pidfd_getfd of PID 1 (--seccomp $prof)"
    host_unchanged "ptrace (--seccomp $prof)"
done

# --- 32-bit and x32 entry: killed, and the result names the call.
for prof in default strict; do
    attack --seccomp $prof -- compat_abi i386 20
    check "i386 getpid is killed (--seccomp $prof)" "$(field status)" SECCOMP_VIOLATION
    check_match "the result names it (--seccomp $prof)" "$(field syscall)" 'i386'
    attack --seccomp $prof -- compat_abi x32 39
    check "x32 getpid is killed (--seccomp $prof)" "$(field status)" SECCOMP_VIOLATION
    check_match "the result names it (--seccomp $prof)" "$(field syscall)" 'x32'
done
# Control: without a filter the i386 entry works (so the check above can fail).
attack --seccomp none -- compat_abi i386 20
expect_line "control: without seccomp i386 getpid returns" '^ESCAPED i386: call 20 returned [0-9]'

# --- Keyrings, bpf, perf, userfaultfd, io_uring: EPERM from seccomp.
for prog in keyring bpf perf_event userfaultfd io_uring; do
    attack -- $prog
    expect_blocked "$prog (default)"
    if grep '^BLOCKED' <<<"$OUT" | grep -v '^BLOCKED open(' | grep -vq 'EPERM'; then fail "$prog: every attempt must be EPERM from seccomp"; else ok "$prog: seccomp's EPERM"; fi
    host_unchanged "$prog"
done
# Without seccomp: which layer holds, or that none does.
attack --seccomp none -- bpf
expect_blocked "bpf without seccomp: kernel.unprivileged_bpf_disabled holds"
attack --seccomp none -- perf_event
expect_line "perf without seccomp: perf_event_paranoid stops system-wide events" '^BLOCKED perf_event_open\(all processes'
attack --seccomp none -- userfaultfd
expect_line "userfaultfd without seccomp: user-mode faults are open (seccomp is the only layer)" 'userfaultfd\(UFFD_USER_MODE_ONLY\)'
attack --seccomp none -- keyring
expect_line "keyrings without seccomp: add_key works (seccomp is the only layer; keys are per host uid)" 'add_key'
attack --seccomp none -- io_uring
expect_line "io_uring without seccomp: reached unless kernel.io_uring_disabled (seccomp is the only layer)" 'io_uring_setup'

# --- Raw and packet sockets, vsock.
for prof in default none; do
    attack --seccomp $prof -- raw_socket
    if [ $prof = none ]; then
        # vsock is not network-namespaced; without seccomp only the missing
        # transport (no vsock module on this host) stops it: report it.
        grep -q '^ESCAPED socket(AF_VSOCK' <<<"$OUT" && echo "    note: AF_VSOCK sockets open without seccomp"
        OUT=$(grep -v 'AF_VSOCK' <<<"$OUT"); RC=0
    fi
    expect_blocked "raw and packet sockets (--seccomp $prof)"
    host_unchanged "sockets (--seccomp $prof)"
done
finish
