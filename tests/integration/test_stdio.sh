#!/bin/bash
# The policy's stdio: stdin_data fed to the job, stdout/stderr captured into
# the result up to limits.output (passing it is OUTPUT_LIMIT_EXCEEDED), and
# host files as stdin/stdout/stderr.
. "$(dirname "$0")/lib.sh"

printf 'stdio { stdin_data: "3 4\\n" capture: true }\n' > "$T/cap.pbtxt"
sbx_run --policy "$T/cap.pbtxt" -- /bin/sh -c 'read a b; echo $((a + b)); echo oops >&2'
check "captured stdout is also printed" "$OUT" 7
check "captured stderr is also printed" "$ERR" oops
check "stdout in the result (base64)" "$(field stdout)" "$(printf '7\n' | base64)"
check "stderr in the result (base64)" "$(field stderr)" "$(printf 'oops\n' | base64)"
check "not truncated" "$(field stdout_truncated)" false
check "EXITED" "$(field status)" EXITED

printf 'stdio { capture: true }\nlimits { output: "1K" }\n' > "$T/cap2.pbtxt"
sbx_run --policy "$T/cap2.pbtxt" -- /bin/sh -c 'yes | head -c 1000000; echo done >&2'
check "output past the limit: OUTPUT_LIMIT_EXCEEDED" "$(field status)" OUTPUT_LIMIT_EXCEEDED
check "stdout_truncated" "$(field stdout_truncated)" true
n=$(python3 -c 'import base64,json,sys; print(len(base64.b64decode(json.load(open(sys.argv[1]))["stdout"])))' "$RESULT")
check "exactly the limit is kept" "$n" 1024

echo "from a file" > "$T/in.txt"
chmod 0644 "$T/in.txt"
printf 'stdio { stdin_file: "%s" stdout_file: "%s" }\n' "$T/in.txt" "$T/out.txt" > "$T/files.pbtxt"
sbx_run --policy "$T/files.pbtxt" -- /bin/cat
check "stdin_file -> stdout_file" "$(cat "$T/out.txt")" "from a file"
check "nothing on the caller's stdout" "$OUT" ""

# Without capture the job's stdio are the caller's.
OUT=$(echo piped | "$SBX" run -- /bin/cat)
check "the caller's stdin and stdout" "$OUT" piped
finish
