#!/bin/bash
# Verdicts come from what the supervisor saw, never from the signal a job
# chose; the output limit holds on stdout and stderr whatever they are
# (pipe, file, terminal, sandboxd's passed fds); errors that say what is
# wrong (memory too small for setup, an offline CPU, a missing loader).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

MIB=1048576

# --- 1. a job does not choose its verdict ---
# raise SIG [LIMIT FLAGS...]: the first process kills itself with SIG.
raise() {
    local sig=$1
    shift
    sbx_run "$@" -- /bin/sh -c "kill -$sig \$\$"
}
for case in "XCPU 24" "XFSZ 25" "SYS 31" "KILL 9"; do
    set -- $case
    raise "$1"
    check "raise SIG$1, no limit: SIGNALED" "$(field status)" SIGNALED
    check "raise SIG$1, no limit: signal" "$(field signal)" "$2"
    check "raise SIG$1, no limit: exit status" "$RC" $((128 + $2))
done
raise XCPU --time-limit 5
check "raise SIGXCPU under --time-limit: SIGNALED" "$(field status)" SIGNALED
raise XFSZ --output-limit 1M
check "raise SIGXFSZ under --output-limit: SIGNALED" "$(field status)" SIGNALED
raise SYS --seccomp default
check "raise SIGSYS under the seccomp filter: SIGNALED" "$(field status)" SIGNALED
check "raise SIGSYS: no syscall named" "$(field syscall)" ""
raise KILL --memory 64M --time-limit 5 --wall-time-limit 10 --output-limit 1M
check "raise SIGKILL under every limit: SIGNALED" "$(field status)" SIGNALED
check "raise SIGKILL under every limit: signal 9" "$(field signal)" 9
# A child raising them is no different: its parent reports what it likes.
sbx_run --output-limit 1M -- /bin/sh -c '/bin/sh -c "kill -XFSZ \$\$"; exit 3'
check "a child's SIGXFSZ under --output-limit: EXITED" "$(field status)" EXITED
check "  with the parent's exit code" "$(field exit_code)" 3
# The limits the supervisor does see still give their status.
sbx_run --time-limit 0.3 "${PROBES[@]}" -- /probes/hog spin 1 5
check "CPU limit reached: TIME_LIMIT_EXCEEDED" "$(field status)" TIME_LIMIT_EXCEEDED
check "  exit status 137" "$RC" 137
sbx_run --seccomp strict -- /bin/sh -c 'exec /bin/mount -t tmpfs x /mnt'
check "a call the filter stops: SECCOMP_VIOLATION" "$(field status)" SECCOMP_VIOLATION
check_match "  naming the call" "$(field syscall)" '.+'

# --- 2. the output limit on every stream ---
# (sbx runs directly below: their result is $T/r.json)
RESULT=$T/r.json
# A pipe: 10 MiB written, 1 MiB passed on, then the job is killed.
n=$("$SBX" run --result-json "$T/r.json" --output-limit 1M -- \
    /bin/sh -c 'yes | head -c 10485760' 2>"$T/err" | wc -c)
RESULT=$T/r.json
check "pipe: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "pipe: killed with SIGKILL" "$(field signal)" 9
check "pipe: exactly the limit passed on" "$n" $MIB
# A file on the host, written by a child of the shell.
"$SBX" run --result-json "$T/r.json" --output-limit 1M -- /bin/sh -c 'yes | head -c 10485760' >"$T/out"
rc=$?
check "file: OUTPUT_LIMIT_EXCEEDED (a child wrote)" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "file: exit status 137" "$rc" 137
check "file: holds the limit" "$(stat -c %s "$T/out")" $MIB
# stderr counts on its own.
"$SBX" run --result-json "$T/r.json" --output-limit 64K -- /bin/sh -c 'echo out; yes >&2' \
    >"$T/out" 2>"$T/err"
check "stderr: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "stderr: 64K passed on" "$(stat -c %s "$T/err")" 65536
check "stderr: stdout untouched" "$(cat "$T/out")" out
# Under and at the limit nothing changes, byte for byte.
head -c 1048576 /dev/urandom >"$T/data"
"$SBX" run --result-json "$T/r.json" --bind "$T/data:/data" --output-limit 1M -- /bin/cat /data | cmp - "$T/data"
check "at the limit: every byte, in order" "$?" 0
check "at the limit: EXITED" "$(field status)" EXITED
# The job's end waits for its last bytes to reach a slow reader.
n=$("$SBX" run --output-limit 4M -- /bin/sh -c 'head -c 3000000 /dev/zero' | (sleep 0.5; wc -c))
check "a slow reader gets everything" "$n" 3000000
# A reader that goes away: the job gets SIGPIPE, sbx does not.
timeout 20 "$SBX" run --result-json "$T/r.json" --output-limit 1G -- /bin/sh -c 'exec yes' | head -c 10 >/dev/null
rcs=("${PIPESTATUS[@]}")
check "reader gone: sbx ends (no hang)" "$([ "${rcs[0]}" != 124 ] && echo yes)" yes
check "reader gone: the job's SIGPIPE" "$(field signal)" 13
# The policy's stdout_file goes through the supervisor as well.
printf 'command: "/bin/sh"\nargs: ["-c", "yes"]\nstdio { stdout_file: "%s" }\nlimits { output: "128K" }\n' \
    "$T/pol.out" >"$T/pol.pbtxt"
sbx_run --policy "$T/pol.pbtxt"
check "stdout_file: exit status 137" "$RC" 137
check "stdout_file: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "stdout_file: holds the limit" "$(stat -c %s "$T/pol.out")" 131072
# Files inside the job: RLIMIT_FSIZE stops the write; PID 1 finds the file
# at the limit, whichever process wrote it.
sbx_run --output-limit 1M -- /bin/sh -c 'yes > /tmp/f; exit 0'
check "a child fills a file in /tmp: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "  the first process's own exit code stays" "$(field exit_code)" 0
sbx_run --output-limit 1M -- /bin/sh -c 'mkdir -p /a/b && yes > /a/b/f; exit 4'
check "a file in the root's writable layer: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "  exit code 4" "$RC" 4
sbx_run --output-limit 1M --tmpfs /out:8M -- /bin/sh -c 'yes > /out/f; exit 0'
check "a file in a --tmpfs: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
sbx_run --output-limit 1M -- /bin/sh -c 'head -c 1000 /dev/zero > /tmp/f; kill -XFSZ $$'
check "a small file and a raised SIGXFSZ: SIGNALED" "$(field status)" SIGNALED
sbx_run --output-limit 1M -- /bin/sh -c 'head -c 1048575 /dev/zero > /tmp/f'
check "a file just under the limit: EXITED" "$(field status)" EXITED
mkdir -p "$T/rw" && chmod 0777 "$T/rw"
sbx_run --output-limit 1M --bind-rw "$T/rw:/rw" -- /bin/sh -c 'yes > /rw/f; exit 0'
check "a file under --bind-rw is not looked at (documented): EXITED" "$(field status)" EXITED
check "  but the kernel still stopped it at the limit" "$(stat -c %s "$T/rw/f")" $MIB

# Without a limit nothing is forwarded: the job writes to the caller's fd.
sbx_run -- /bin/sh -c 'ls -l /proc/self/fd/1' >/dev/null
check_match "no limit: stdout is the caller's own" "$OUT" '/dev/null|pipe'
# A terminal keeps working.
script -qec "$SBX run --result-json $T/tty.json --output-limit 1M -- /bin/echo tty-ok" /dev/null >"$T/tty.out"
check_match "tty: output shows" "$(cat "$T/tty.out")" 'tty-ok'
RESULT=$T/tty.json
check "tty: EXITED" "$(field status)" EXITED
script -qec "$SBX run --result-json $T/tty.json --output-limit 64K -- /bin/sh -c 'yes'" /dev/null >"$T/tty.out"
check "tty: a runaway printer is stopped" "$(field status)" OUTPUT_LIMIT_EXCEEDED

# --- 2b. the same through sandboxd (passed fds, pipes, captured output) ---
cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 2
queue_length: 16
CONF
start_daemon || exit 1
n=$(S run --result-json "$T/r.json" --output-limit 1M -- /bin/sh -c 'yes | head -c 10485760' | wc -c)
RESULT=$T/r.json
check "sandboxd pipe: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "sandboxd pipe: exactly the limit passed on" "$n" $MIB
S run --result-json "$T/r.json" --output-limit 1M -- /bin/sh -c 'yes | head -c 10485760' >"$T/dout"
check "sandboxd file: exit status 137" "$?" 137
check "sandboxd file: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "sandboxd file: holds the limit" "$(stat -c %s "$T/dout")" $MIB
S run --result-json "$T/r.json" --bind "$T/data:/data" --output-limit 1M -- /bin/cat /data | cmp - "$T/data"
check "sandboxd at the limit: every byte" "$?" 0
check "sandboxd at the limit: EXITED" "$(field status)" EXITED
n=$(S run --output-limit 4M -- /bin/sh -c 'head -c 3000000 /dev/zero' | (sleep 0.5; wc -c))
check "sandboxd: a slow reader gets everything" "$n" 3000000
S run --result-json "$T/r.json" --output-limit 1M -- /bin/sh -c 'kill -XFSZ $$'
check "sandboxd raise SIGXFSZ: SIGNALED" "$(field status)" SIGNALED
S run --result-json "$T/r.json" --output-limit 1M -- /bin/sh -c 'yes > /tmp/f; exit 0'
check "sandboxd file inside the job: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
printf 'command: "/bin/sh"\nargs: ["-c", "yes"]\nstdio { capture: true }\nlimits { output: "64K" }\n' >"$T/cap.pbtxt"
S run --result-json "$T/r.json" --policy "$T/cap.pbtxt" >"$T/cap.out"
check "sandboxd captured: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "sandboxd captured: truncated" "$(field stdout_truncated)" true
# A reader that never reads holds the job's last output; a client that goes
# away ends the job all the same (nothing is left running in the daemon).
mkfifo "$T/fifo"
exec 7<>"$T/fifo"
"$SBX" --socket "$SOCK" run --output-limit 8M -- /bin/sh -c 'head -c 4000000 /dev/zero' >"$T/fifo" &
cpid=$!
running() { S stats --json | grep -q "\"jobs_running\":$1,"; }
wait_until 10 running 1
sleep 0.5
kill -KILL "$cpid"
wait "$cpid" 2>/dev/null
if wait_until 10 running 0; then ok "a stalled reader's job ends with its client"; else fail "a stalled reader's job still runs"; S stats --json; tail -5 "$DLOG"; fi
exec 7>&-
stop_daemon

# --- 3. errors that say what is wrong ---
for m in 64 100K; do
    sbx_run --memory $m -- /bin/true
    check "--memory $m: refused" "$RC" 125
    check_match "--memory $m: names the field and the minimum" "$ERR" 'limits.memory \(--memory\): .* is below 2M'
done
ncpu=$(getconf _NPROCESSORS_ONLN)
sbx_run --cpuset $((ncpu + 3)) -- /bin/true
check "--cpuset offline: refused" "$RC" 125
check_match "--cpuset offline: says which and what is online" "$ERR" \
    "--cpuset\\): CPU $((ncpu + 3)) is not online here \\(online: [0-9,-]+\\)"
check_match "--cpuset offline: no cgroup path" "$ERR" '^[^/]*$'
if [ -e /usr/bin/ls ] && [ ! -e "$SBX_BUILD/rootfs/lib64/ld-linux-x86-64.so.2" ]; then
    sbx_run --bind /usr/bin/ls:/opt/ls -- /opt/ls
    check "missing loader: 126 (there but cannot run)" "$RC" 126
    check_match "missing loader: named" "$ERR" 'interpreter /lib64/ld-linux-x86-64.so.2 is missing'
fi
mkdir -p "$T/scr"
printf '#!/usr/bin/nosuch-python\nprint(1)\n' >"$T/scr/s"
chmod 0755 "$T/scr/s"
sbx_run --bind "$T/scr:/w" --env PATH=/w -- s
check_match "missing #! interpreter: named" "$ERR" 'interpreter /usr/bin/nosuch-python is missing'
sbx_run -- /no/such/cmd
check "a missing command stays 127" "$RC" 127
finish
