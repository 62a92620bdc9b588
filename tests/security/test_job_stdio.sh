#!/bin/bash
# A job's stdio: only streams (regular files, pipes, sockets, ttys,
# /dev/null) may become a job's stdin, stdout or stderr, never a host
# directory (whose fd would let the job fstatat and readdir host paths,
# with only Landlock in the way) or a device; and PID 1 keeps none of what
# the caller handed the job, so a reader sees EOF as soon as the job's own
# processes close it.
. "$(dirname "$0")/lib.sh"
. "$SBX_SRC/tests/integration/daemon_lib.sh"

# --- directories and devices as stdio ---
printf 'command: "/bin/true"\nstdio { stdin_file: "/" }\n' >"$T/dir.pbtxt"
sbx_run --policy "$T/dir.pbtxt"
check "stdio.stdin_file naming a directory: setup fails (125)" "$RC" 125
check_match "and the error names the field" "$ERR" 'stdio.stdin_file: / is a directory'
OUT=$("$SBX" run -- /bin/true </ 2>"$T/stderr"); RC=$?; ERR=$(cat "$T/stderr")
check "the caller's own stdin a directory: setup fails (125)" "$RC" 125
check_match "and the error says which stream" "$ERR" "stdin: the job's stdin is a directory"
OUT=$("$SBX" run -- /bin/true </dev/kmsg 2>"$T/stderr"); RC=$?; ERR=$(cat "$T/stderr")
check "a host device (/dev/kmsg) as stdin: setup fails (125)" "$RC" 125
check_match "and the error says what it is" "$ERR" "stdin: the job's stdin is a character device"
# Control: what the job could do with such an fd, and the streams that
# still work.
OUT=$("$SBX" run -- /bin/sh -c 'cat; echo ok' </dev/null 2>&1)
check "/dev/null is still a fine stdin" "$OUT" ok
OUT=$(echo piped | "$SBX" run -- /bin/cat 2>&1)
check "a pipe is still a fine stdin" "$OUT" piped
echo file >"$T/in.txt"
OUT=$("$SBX" run -- /bin/cat <"$T/in.txt" 2>&1)
check "a regular file is still a fine stdin" "$OUT" file

cat >"$T/sandboxd.conf" <<CONF
max_concurrent: 2
CONF
start_daemon || exit 1
S run -- /bin/true </dev/kmsg 2>"$T/err"
check "sandboxd: a device sent as stdin is refused" "$?" 125
check_match "and the error names the stream" "$(cat "$T/err")" 'stdio_fds: stdin is a character device'
S run -- /bin/true </ 2>"$T/err"
check "sandboxd: a directory sent as stdin is refused" "$?" 125

# --- PID 1 keeps nothing of the caller's ---
# pid1_fds PARENT: the targets of the fds of PARENT's child (the job's PID 1).
pid1_fds() {
    local p1
    p1=$(pgrep -P "$1" | head -1)
    [ -n "$p1" ] && ls -l "/proc/$p1/fd/" 2>/dev/null | awk '{print $NF}'
}
# A local run with stdout_file: the launcher opens the file for the job.
printf 'command: "/bin/sh"\nargs: ["-c", "echo x; exec >&- 2>&-; sleep 3"]\nstdio { stdout_file: "%s" }\n' \
    "$T/out.txt" >"$T/file.pbtxt"
"$SBX" run --policy "$T/file.pbtxt" 2>/dev/null &
sbxpid=$!
wait_until 5 grep -q x "$T/out.txt"
sleep 0.2
fds=$(pid1_fds "$sbxpid")
check_cmp "PID 1 found (local)" "$(wc -l <<<"$fds")" -ge 1
check "PID 1 does not hold stdio.stdout_file" "$(grep -c "$T/out.txt" <<<"$fds")" 0
wait "$sbxpid"
# Through sandboxd: the client's stdout (a FIFO), attached to the job.
mkfifo "$T/fifo"
S run -- /bin/sh -c 'echo y; exec >&- 2>&-; sleep 3' >"$T/fifo" 2>/dev/null &
cpid=$!
exec 7<"$T/fifo"
read -r -t 5 line <&7
check "the job wrote through the client's stdout" "$line" y
sleep 0.2
fds=$(pid1_fds "$DPID")
check_cmp "PID 1 found (sandboxd)" "$(wc -l <<<"$fds")" -ge 1
check "PID 1 does not hold the client's stdout" "$(grep -c "$T/fifo" <<<"$fds")" 0
exec 7<&-
wait "$cpid"
stop_daemon
finish
