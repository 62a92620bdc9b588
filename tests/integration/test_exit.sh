#!/bin/bash
# Exit statuses and the result JSON, exactly as the contract says.
. "$(dirname "$0")/lib.sh"

sbx_run -- /bin/sh -c 'exit 42'
check "exit code 42" "$RC" 42
check "status EXITED" "$(field status)" EXITED
check "exit_code 42" "$(field exit_code)" 42
check "signal 0" "$(field signal)" 0
for f in status exit_code signal wall_time_ms cpu_time_ms memory_peak_bytes syscall error; do
    python3 -c 'import json,sys; sys.exit(0 if sys.argv[2] in json.load(open(sys.argv[1])) else 1)' "$RESULT" "$f" \
        && ok "result has $f" || fail "result lacks $f"
done

sbx_run -- /bin/sh -c 'kill -SEGV $$'
check "signal 11 -> 139" "$RC" 139
check "status SIGNALED" "$(field status)" SIGNALED
check "signal 11" "$(field signal)" 11

sbx_run -- /nonexistent/cmd
check "missing command -> 127" "$RC" 127
check "missing command is SETUP_FAILED" "$(field status)" SETUP_FAILED
check_match "error says why" "$(field error)" 'No such file'
sbx_run -- no-such-command
check "missing command on PATH -> 127" "$RC" 127

sbx_run -- /etc/passwd
check "non-executable -> 126" "$RC" 126
check "non-executable is SETUP_FAILED" "$(field status)" SETUP_FAILED

sbx_run --memory banana -- /bin/true
check "bad flag -> 125" "$RC" 125
check "bad flag is SETUP_FAILED" "$(field status)" SETUP_FAILED
check_match "one line naming the flag" "$ERR" '^sbx: --memory: .*banana'
check "one line on stderr" "$(echo "$ERR" | wc -l)" 1

echo 'limits { pids: -1 }' > "$T/bad.pbtxt"
sbx_run --policy "$T/bad.pbtxt" -- /bin/true
check "bad policy -> 125" "$RC" 125
check_match "error names the field" "$ERR" 'limits.pids'

: > "$T/empty.pbtxt"
sbx_run --policy "$T/empty.pbtxt" -- /bin/echo fine
check "an empty policy is valid" "$OUT" fine

sbx_run --wall-time-limit 0.5 -- /bin/sleep 5
check "wall-time kill -> 137" "$RC" 137
check "status WALL_TIME_LIMIT_EXCEEDED" "$(field status)" WALL_TIME_LIMIT_EXCEEDED
check "signal 9" "$(field signal)" 9
wall=$(field wall_time_ms)
check_cmp "wall time near the limit" "$wall" -lt 3000

sbx_run --output-limit 1M -- /bin/sh -c 'dd if=/dev/zero of=/tmp/f bs=64k count=100'
check "output limit -> killed by SIGXFSZ" "$(field status)" OUTPUT_LIMIT_EXCEEDED

cmdline=$(printf 'command: "/bin/sh"\nargs: "-c"\nargs: "echo from-policy"\n')
echo "$cmdline" > "$T/p.pbtxt"
sbx_run --policy "$T/p.pbtxt"
check "the policy's command runs" "$OUT" from-policy
sbx_run --policy "$T/p.pbtxt" -- /bin/echo from-flags
check "COMMAND overrides the policy's" "$OUT" from-flags
finish
