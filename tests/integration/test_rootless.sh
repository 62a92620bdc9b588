#!/bin/bash
# Rootless mode: run by an unprivileged user, sbx maps that user to root
# inside, keeps the namespaces, the overlay root, no capabilities and
# seccomp, says so in the result, and refuses limits it cannot enforce.
. "$(dirname "$0")/lib.sh"

command -v setpriv >/dev/null || { echo "setpriv missing"; exit 1; }
U=65534
mkdir -m 0777 "$T/out"
as_user() { setpriv --reuid=$U --regid=$U --clear-groups "$@"; }
RESULT="$T/out/r.json"

OUT=$(as_user "$SBX" run --result-json "$RESULT" -- /bin/sh -c 'id -u; cat /proc/self/uid_map; grep -E "^(CapEff|NoNewPrivs|Seccomp):" /proc/self/status' 2>"$T/err")
RC=$?
check "rootless job runs" "$RC" 0
check "root inside" "$(echo "$OUT" | sed -n 1p)" 0
check "the caller's uid is root inside, one id mapped" "$(echo "$OUT" | sed -n 2p | awk '{print $1, $2, $3}')" "0 $U 1"
check "no capabilities" "$(echo "$OUT" | awk '$1=="CapEff:" {print $2}')" 0000000000000000
check "no_new_privs" "$(echo "$OUT" | awk '$1=="NoNewPrivs:" {print $2}')" 1
check "seccomp filter" "$(echo "$OUT" | awk '$1=="Seccomp:" {print $2}')" 2
check "the result says rootless" "$(field rootless)" true
check "host_uid is the caller" "$(field host_uid)" $U
check_match "one line on stderr says what rootless mode loses" "$(cat "$T/err")" \
    '^sbx: rootless mode \(not root\): .*without cgroup limits.*--quiet hides this\)$'
as_user "$SBX" run --quiet -- /bin/true 2>"$T/err"
check "--quiet: nothing on stderr" "$?:$(cat "$T/err")" "0:"

OUT=$(as_user "$SBX" run -- /bin/sh -c 'for n in user pid net mnt; do readlink /proc/self/ns/$n; done' 2>&1)
for n in user pid net mnt; do
    inside=$(echo "$OUT" | grep "^$n:")
    [ -n "$inside" ] && [ "$inside" != "$(readlink /proc/self/ns/$n)" ] && ok "rootless: new $n namespace" || fail "rootless: $n namespace [$inside]"
done

as_user "$SBX" run --memory 64M -- /bin/true 2>"$T/err"
check "a cgroup limit is refused, not dropped" "$?" 125
check_match "the error names the field" "$(cat "$T/err")" 'limits.memory'

as_user "$SBX" run -q -- /bin/sh -c 'echo x > /newfile && cat /newfile' >"$T/o" 2>&1
check "writes land in the upper layer" "$(cat "$T/o")" x
# sbx doctor tells the same user the same thing: jobs run (rootless), and
# what that mode lacks is a warning, not a failure.
OUT=$(cd "$T" && as_user "$SBX" doctor 2>&1)
check "doctor as a user: this host can run jobs" "$?" 0
check "doctor as a user: no FAIL" "$(echo "$OUT" | grep -c '^FAIL')" 0
check_match "doctor as a user: the overlay probe maps the user's own uid" "$OUT" 'ok +overlayfs in userns'
check_match "doctor as a user: says rootless" "$OUT" 'warn +privileges +running as uid 65534: jobs run rootless'
finish
