#!/bin/bash
# The launcher's own doors: overwriting the runtime binary through
# /proc/self/exe or /proc/1/exe (runc CVE-2019-5736), a host fd or cwd
# leaking into the job (runc CVE-2024-21626), and TIOCSTI/TIOCLINUX into
# the caller's terminal (bubblewrap CVE-2017-5226, checked under a real pty).
. "$(dirname "$0")/lib.sh"

sbx_sum=$(sum "$SBX"); attack_sum=$(sum "$SBX_SECURITY/exe_overwrite")
for prof in default none; do
    attack --seccomp $prof -- exe_overwrite
    expect_blocked "CVE-2019-5736 (--seccomp $prof): no writable handle on /proc/self/exe or /proc/1/exe"
    host_unchanged "CVE-2019-5736 (--seccomp $prof)"
done
check "the sbx binary is unchanged" "$(sum "$SBX")" "$sbx_sum"
check "the attack binary is unchanged" "$(sum "$SBX_SECURITY/exe_overwrite")" "$attack_sum"

# A host directory fd (7), a host file fd (8) and a host cwd, on purpose.
mkdir -p "$T/hostdir" && echo host-marker > "$T/marker"
for prof in default none; do
    (cd "$T/hostdir" && exec 7<"$T/hostdir" 8<"$T/marker" &&
        "$SBX" run --result-json "$T/r.json" "${SEC[@]}" --seccomp $prof -- /sec/fd_leak "$T/marker" >"$T/out" 2>&1)
    RC=$?; OUT=$(cat "$T/out"); RESULT=$T/r.json; sed 's/^/    | /' "$T/out"
    expect_blocked "CVE-2024-21626 (--seccomp $prof): no fd beyond 0-2, cwd inside the root, .. never reaches the host"
    host_unchanged "CVE-2024-21626 (--seccomp $prof)"
done
# The check can fail: the same program run on the host finds the fds.
(cd "$T/hostdir" && exec 7<"$T/hostdir" && "$SBX_SECURITY/fd_leak" "$T/marker" >"$T/out" 2>&1)
check_match "control: on the host, fd_leak does find the leaked fd" "$(cat "$T/out")" 'ESCAPED inherited fd'

# A launcher started with its stdio closed must not hand the next file it
# opens (a uid slot's lock, the rootfs) to the job as fd 0: /dev/null takes
# the closed numbers before anything else is opened.
out=$("$SBX" run --result-json "$T/r.json" -- /bin/sh -c \
    'echo "fd0=$(readlink /proc/self/fd/0) $(stat -L -c %F /proc/self/fd/0)" >&2' <&- 2>&1)
check "stdin closed: the job's fd 0 is /dev/null, no host fd" "$out" "fd0=/dev/null character special file"
"$SBX" run --result-json "$T/r.json" -- /bin/sh -c 'exit 3' <&- >&- 2>&-
check "stdio all closed: the job still runs and its status comes back" "$?" 3

# The environment is built from the policy, never inherited.
SBX_HOST_SECRET=host-secret-$$ sbx_run --env A=b -- /bin/sh -c 'env | sort'
echo "$OUT" | sed 's/^/    | /'
check "the job's environment is the policy's only" "$(echo "$OUT" | grep -v '^PWD=' | tr '\n' ' ')" \
    "A=b PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin SHLVL=1 "
# Control: the variable was there to leak.
check "control: the launcher had it" "$(SBX_HOST_SECRET=x env | grep -c SBX_HOST_SECRET)" 1

# TIOCSTI under a real pty: the caller's shell reads whatever was injected.
# `script` gives sbx a pty as its controlling terminal and stdin; a line the
# job pushes into it would be read by `read` after sbx returns.
tty_run() { # COMMAND... : prints what `read` found after COMMAND, under a pty
    local cmd
    cmd=$(printf '%q ' "$@")
    # script(1) runs the line with $SHELL, which is dash (no `read -t`) where
    # the environment names no shell: pin bash so the check can fail for real.
    sleep 3 | SHELL=/bin/bash script -qfec "$cmd; read -t 1 line; echo \"AFTER[\$line]\"" /dev/null 2>&1 | tr -d '\r'
}
if command -v script >/dev/null; then
    for prof in default none; do
        out=$(tty_run "$SBX" run --result-json "$T/r.json" "${SEC[@]}" --seccomp $prof -- /sec/tty_inject)
        echo "$out" | sed 's/^/    | /'
        OUT=$out; RC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["exit_code"])' "$T/r.json"); RESULT=$T/r.json
        expect_blocked "CVE-2017-5226 (--seccomp $prof): TIOCSTI/TIOCLINUX refused"
        check_match "CVE-2017-5226 (--seccomp $prof): the job ran on the pty" "$out" 'isatty\(0\)=1'
        check "CVE-2017-5226 (--seccomp $prof): nothing reached the caller's shell" "$(grep -o 'AFTER\[.*\]' <<<"$out")" "AFTER[]"
    done
    # Control: the same program run directly in the pty session does inject.
    out=$(tty_run "$SBX_SECURITY/tty_inject")
    check_match "control: without sbx the injection reaches the shell" "$out" 'AFTER\[echo INJECTED\]'
else
    fail "script(1) is missing: install bsdutils"
fi
# PID 1 is a fork of the launcher: its command line and environment memory
# must not show the launcher's (host paths, every flag, its environment).
SBX_HOST_SECRET=host-secret-$$ sbx_run --env A=b --hostname marker-host-flag -- /bin/sh -c \
    'tr "\0" " " </proc/1/cmdline | sed "s/ *$//"; echo; cat /proc/1/comm'
echo "$OUT" | sed 's/^/    | /'
check "PID 1's command line is neutral" "$(echo "$OUT" | head -1)" "sbx-init"
check "PID 1's name is neutral" "$(echo "$OUT" | sed -n 2p)" "sbx-init"
check "no host path or flag of the launcher in it" "$(grep -c -e "$T" -e marker-host-flag -e result-json <<<"$OUT")" 0
finish
