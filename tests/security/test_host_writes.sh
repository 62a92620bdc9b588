#!/bin/bash
# What the launcher writes or opens on the host for a job: the result JSON
# and the policy's stdio files. A job that can write the directory they lie
# in (a --bind-rw) plants a symlink to a host file there, or a FIFO, while it
# runs: the launcher (root) must never follow the one nor block on the other.
. "$(dirname "$0")/lib.sh"

RW=$T/rw; mkdir -p "$RW"; chmod 1777 "$RW"
VICTIM=$T/victim
reset_victim() { echo host-secret >"$VICTIM"; chmod 0600 "$VICTIM"; }
reset_victim
victim_sum=$(sum "$VICTIM")
BIND=(--bind-rw "$RW:/rw" "${ATTACK_LIMITS[@]}")

# --result-json in the job's directory; the job replaces it with a symlink
# to a root-owned 0600 file while it runs.
out=$("$SBX" run --result-json "$RW/r.json" "${BIND[@]}" -- /bin/sh -c \
    "ln -s '$VICTIM' /rw/r.json && echo planted" 2>&1)
check "the job planted a symlink at the result path" "$out" planted
check "--result-json through a planted symlink: the host file is unchanged" "$(sum "$VICTIM")" "$victim_sum"
check "the result replaced the symlink: a regular file" "$(stat -c %F "$RW/r.json")" "regular file"
check_match "and it is the job's result" "$(cat "$RW/r.json")" '"status":"EXITED"'
reset_victim

# A FIFO planted at the result path: sbx must not hang after the job.
timeout 30 "$SBX" run --result-json "$RW/f.json" "${BIND[@]}" -- /bin/sh -c 'mkfifo /rw/f.json' 2>&1
check "--result-json on a FIFO the job planted: sbx does not hang" "$?" 0
check "the FIFO was replaced by the result" "$(stat -c %F "$RW/f.json")" "regular file"

# A path that is already not a regular file when sbx starts: an error
# naming the flag, at once.
rm -f "$RW/p.json"; mkfifo "$RW/p.json"
err=$(timeout 30 "$SBX" run --result-json "$RW/p.json" -- /bin/true 2>&1); rc=$?
check "--result-json on an existing FIFO: refused with 125" "$rc" 125
check_match "naming the flag and the reason" "$err" '^sbx: --result-json: .*/p.json is a FIFO, not a regular file$'

# stdio.stdout_file / stderr_file / stdin_file: a symlink or FIFO left by an
# earlier job in a directory it could write.
policy() { printf 'command: "/bin/sh"\nargs: "-c"\nargs: "cat"\nstdio { %s: "%s" }\n' "$1" "$2" >"$T/p.pbtxt"; }
for f in stdout_file stderr_file stdin_file; do
    rm -f "$RW/s"
    "$SBX" run "${BIND[@]}" -- /bin/ln -s "$VICTIM" /rw/s
    policy "$f" "$RW/s"
    err=$(timeout 30 "$SBX" run --policy "$T/p.pbtxt" </dev/null 2>&1); rc=$?
    check "stdio.$f through a planted symlink: refused with 125" "$rc" 125
    check_match "stdio.$f: the error names the field" "$err" "stdio.$f: .*/rw/s is a symlink"
    check "stdio.$f: the host file is unchanged" "$(sum "$VICTIM")" "$victim_sum"
    rm -f "$RW/s"
    "$SBX" run "${BIND[@]}" -- /bin/sh -c 'mkfifo /rw/s'
    err=$(timeout 30 "$SBX" run --policy "$T/p.pbtxt" </dev/null 2>&1); rc=$?
    check "stdio.$f on a planted FIFO: refused at once with 125" "$rc" 125
    check_match "stdio.$f: FIFO named" "$err" "stdio.$f: .*/rw/s is a FIFO, not a regular file"
done
# A seccomp profile path that is a FIFO: refused, not waited on.
rm -f "$RW/prof"; mkfifo "$RW/prof"
err=$(timeout 30 "$SBX" run --seccomp "$RW/prof" -- /bin/true 2>&1); rc=$?
check "a seccomp profile that is a FIFO: refused with 125, no hang" "$rc" 125
check_match "naming it" "$err" 'seccomp profile .*/rw/prof: not a regular file'
# Control: a regular file is still used, and truncated for output.
echo old-content-that-is-long >"$T/o"
policy stdout_file "$T/o"
echo hi | "$SBX" run --policy "$T/p.pbtxt"
check "control: stdout_file on a regular file gets the output" "$(cat "$T/o")" hi

# Binds, read-only or not, are nosuid and nodev inside the job, so that a
# setuid file or device node in them gives the job nothing.
"$SBX" run --result-json "$T/m.json" "${BIND[@]}" --bind "$T:/ro" -- /bin/sh -c \
    'grep -E " /(rw|ro|tmp|dev/shm) " /proc/self/mountinfo' >"$T/mi" 2>&1
check "the binds, /tmp and /dev/shm listed" "$(wc -l <"$T/mi")" 4
check "every bind is nosuid,nodev" "$(grep -vc 'nosuid,nodev' "$T/mi")" 0
finish
