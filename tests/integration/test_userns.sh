#!/bin/bash
# Root inside maps to an unprivileged host range: never host uid 0, never the
# launcher's uid, a distinct range for each concurrent job.
. "$(dirname "$0")/lib.sh"

sbx_run -- /bin/sh -c 'id -u; id -g; cat /proc/self/uid_map /proc/self/gid_map'
check "job exits 0" "$RC" 0
check "uid 0 inside" "$(echo "$OUT" | sed -n 1p)" 0
read -r in host count <<<"$(echo "$OUT" | sed -n 3p)"
check "uid_map starts at 0 inside" "$in" 0
check_cmp "host uid is unprivileged" "$host" -ge 65536
check "uid_map covers 65536 ids" "$count" 65536
check "result host_uid matches uid_map" "$(field host_uid)" "$host"
check_cmp "launcher uid not inside the range" "$(id -u)" -lt "$host"

# A file written to a --bind-rw dir is owned on the host by that uid.
mkdir "$T/rw"
chmod 0777 "$T/rw"
sbx_run --bind-rw "$T/rw:/out" -- /bin/sh -c 'echo data > /out/f; mkdir /out/d'
check "bind-rw write ok" "$RC" 0
check "file owned by the mapped host uid" "$(stat -c %u "$T/rw/f")" "$(field host_uid)"
check "file group is the mapped host gid" "$(stat -c %g "$T/rw/f")" "$(field host_gid)"

# The image's files appear owned by root (idmapped layers), so root inside can
# edit them; the writes land in the tmpfs upper layer only.
sbx_run -- /bin/sh -c 'stat -c %u:%g /etc/passwd; echo x:x:1:1::/:/bin/sh >> /etc/passwd && echo appended'
check "image files owned by root inside" "$(echo "$OUT" | sed -n 1p)" 0:0
check "root inside can append to /etc/passwd" "$(echo "$OUT" | sed -n 2p)" appended
if grep -q '^x:x:1:1' "$SBX_ROOTFS/etc/passwd"; then fail "the host layer changed"; else ok "the host layer is unchanged"; fi

# Supplementary groups of the launcher never reach the job.
sbx_run -- /bin/sh -c 'grep ^Groups: /proc/self/status'
check_match "no supplementary groups" "$OUT" '^Groups:[[:space:]]*$'

# Two concurrent jobs never share a host uid.
"$SBX" run --result-json "$T/a.json" -- /bin/sleep 1 &
pa=$!
"$SBX" run --result-json "$T/b.json" -- /bin/sleep 1 &
pb=$!
wait $pa $pb
ua=$(RESULT=$T/a.json field host_uid)
ub=$(RESULT=$T/b.json field host_uid)
if [ -n "$ua" ] && [ "$ua" != "$ub" ]; then ok "concurrent jobs: host uids $ua and $ub differ"; else fail "concurrent jobs share host uid [$ua] [$ub]"; fi

# A job running as another user inside.
sbx_run --uid 1000 --gid 1000 -- /bin/sh -c 'id -u; id -g'
check "--uid/--gid inside" "$(echo $OUT)" "1000 1000"
finish
