#!/bin/bash
# rlimits above the launcher's hard limit: raised by the launcher where it
# holds CAP_SYS_RESOURCE, else refused before setup with one line naming the
# field, the value and the hard limit. The launcher's hard limit is lowered
# with prlimit first, so the test means the same on any host.
. "$(dirname "$0")/lib.sh"

cap_eff=$(awk '/^CapEff:/ {print $2}' /proc/self/status)
has_sys_resource=$(( (0x$cap_eff >> 24) & 1 ))

printf 'limits { open_files: 4096 }\n' > "$T/of.pb.txt"
OUT=$(prlimit --nofile=1024:2048 -- "$SBX" run --policy "$T/of.pb.txt" -- /bin/sh -c 'ulimit -n' 2>"$T/err")
RC=$?
ERR=$(cat "$T/err")
if [ "$has_sys_resource" = 1 ]; then
    check "raised above the launcher's hard limit (CAP_SYS_RESOURCE)" "$RC:$OUT" "0:4096"
else
    check "refused above the launcher's hard limit (no CAP_SYS_RESOURCE)" "$RC" 125
    check_match "the refusal names field, value and hard limit" "$ERR" \
        '^sbx: limits\.open_files: 4096 is above the launcher.s hard limit of 2048 .*at most 2048$'
    check "one line" "$(printf '%s\n' "$ERR" | wc -l)" 1
fi

# At or below the hard limit: set as asked, soft = hard.
OUT=$(prlimit --nofile=1024:2048 -- "$SBX" run --policy "$T/of.pb.txt" --time-limit 3 -- \
      /bin/sh -c 'echo $(ulimit -n) $(ulimit -Hn)' 2>&1)
if [ "$has_sys_resource" = 1 ]; then
    check "open_files at the asked value" "$OUT" "4096 4096"
fi
printf 'limits { open_files: 2048 }\n' > "$T/of2.pb.txt"
OUT=$(prlimit --nofile=1024:2048 -- "$SBX" run --policy "$T/of2.pb.txt" -- /bin/sh -c 'echo $(ulimit -n) $(ulimit -Hn)' 2>&1)
check "open_files equal to the hard limit runs" "$OUT" "2048 2048"

finish
