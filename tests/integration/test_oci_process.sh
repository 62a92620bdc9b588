#!/bin/bash
# sbx-oci: what a spec's process gets beyond sbx's defaults. Capabilities
# the spec asks for, within the operator's allow-list (and never beyond the
# container's user namespace, tried from inside), additionalGids, every
# rlimit, oomScoreAdj, for the first process and for exec; and what is
# refused, naming the field. Runs in a mount namespace of its own, as
# test_oci.sh.
if [ -z "${SBX_OCI_PRIVATE:-}" ]; then
    SBX_OCI_PRIVATE=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
: "${SBX_OCI:?run through ctest}" "${SBX_ROOTFS:?}"

OCI=("$SBX_OCI" --root "$T/state")
oci_cleanup() {
    local id
    for id in $("${OCI[@]}" list -q 2>/dev/null); do "${OCI[@]}" delete --force "$id"; done
}
cleanup_hooks+=(oci_cleanup)
mkdir -p "$T/b" "$T/host"
ln -s "$SBX_ROOTFS" "$T/b/rootfs"
# A host directory bound into the container, with a file of host root's.
echo secret > "$T/host/root-file"
chmod 0600 "$T/host/root-file"
chmod 0777 "$T/host"

# bundle SCRIPT [PYTHON]: sh -c SCRIPT, with PYTHON (acting on c) applied.
bundle() {
    rm -f "$T/b/config.json"
    (cd "$T/b" && "$SBX_OCI" spec) || fail "spec"
    python3 - "$T/b/config.json" "$1" "${2:-}" "$T/host" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = ["sh", "-c", sys.argv[2]]
c["mounts"].append({"destination": "/host", "type": "bind", "source": sys.argv[4],
                    "options": ["rbind", "rw"]})
def caps(*names):
    c["process"]["capabilities"] = {k: list(names) for k in
        ["bounding", "effective", "permitted", "inheritable", "ambient"]}
exec(sys.argv[3])
json.dump(c, open(sys.argv[1], "w"))
PY
}
run() { "${OCI[@]}" "$@" run --bundle "$T/b" p1 2>&1; }
# The bit of a capability in /proc/self/status's hex masks.
has_cap() { # HEXMASK BIT
    [ $(( (0x$1 >> $2) & 1 )) -eq 1 ]
}
capline() { echo "$1" | sed -n "s/^$2:[[:space:]]*//p"; }

# --- capabilities ---
STATUS='grep -E "^Cap(Inh|Prm|Eff|Bnd|Amb)" /proc/self/status'
bundle "$STATUS" 'caps("CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW", "CAP_SYS_MODULE")'
OUT=$(run)
for set in CapEff CapPrm CapInh CapBnd CapAmb; do
    M=$(capline "$OUT" $set)
    has_cap "$M" 0 && ok "CAP_CHOWN asked: in $set" || fail "CAP_CHOWN not in $set: $OUT"
    has_cap "$M" 5 && ok "CAP_KILL asked: in $set" || fail "CAP_KILL not in $set"
    has_cap "$M" 13 && fail "CAP_NET_RAW (not in the default allow-list) in $set" || ok "CAP_NET_RAW dropped from $set"
    has_cap "$M" 16 && fail "CAP_SYS_MODULE in $set" || ok "CAP_SYS_MODULE dropped from $set"
done
check "exactly what was asked and allowed" "$(capline "$OUT" CapEff)" "0000000000000021"

bundle "$STATUS"
check "no capabilities asked: none" "$(capline "$(run)" CapEff)" "0000000000000000"

# A user other than root gets its ambient ones across the exec.
bundle "id -u; $STATUS" 'caps("CAP_CHOWN"); c["process"]["user"] = {"uid": 10, "gid": 10}'
OUT=$(run)
check_match "uid 10" "$OUT" "^10"
check "uid 10 keeps CAP_CHOWN (ambient)" "$(capline "$OUT" CapEff)" "0000000000000001"

# The operator's allow-list.
printf 'allowed_capabilities: "CAP_CHOWN"\nallowed_capabilities: "CAP_NET_RAW"\n' > "$T/raw.conf"
bundle "$STATUS" 'caps("CAP_CHOWN", "CAP_KILL", "CAP_NET_RAW")'
check "allow-list with CAP_NET_RAW: granted, CAP_KILL no longer" \
    "$(capline "$("${OCI[@]}" --config "$T/raw.conf" run --bundle "$T/b" p1 2>&1)" CapEff)" "0000000000002001"
echo 'allowed_capabilities: "none"' > "$T/none.conf"
check "allow-list \"none\": nothing" \
    "$(capline "$("${OCI[@]}" --config "$T/none.conf" run --bundle "$T/b" p1 2>&1)" CapEff)" "0000000000000000"
bad_conf() { # DESCRIPTION CONFIG REGEX
    printf '%s\n' "$2" > "$T/bad.conf"
    ERR=$("${OCI[@]}" --config "$T/bad.conf" create --bundle "$T/b" bad 2>&1); RC=$?
    check "$1 is refused" "$RC" 1
    check_match "$1: the error names the field" "$ERR" "$3"
}
bad_conf "an unknown capability in the allow-list" 'allowed_capabilities: "CAP_FLY"' \
    "^sbx-oci: $T/bad.conf: allowed_capabilities: \"CAP_FLY\" is not a capability"
bad_conf "CAP_SYS_ADMIN in the allow-list" 'allowed_capabilities: "CAP_SYS_ADMIN"' \
    "^sbx-oci: $T/bad.conf: allowed_capabilities: CAP_SYS_ADMIN .* is refused"
bad_conf "\"none\" with others" $'allowed_capabilities: "none"\nallowed_capabilities: "CAP_KILL"' \
    "allowed_capabilities: \"none\" must be alone"

# A granted capability acts inside the container's user namespace only.
# Root's own file (in the container's root) may be given away with
# CAP_CHOWN, not without it; host root's file (bound in) may not be
# chowned or read, CAP_CHOWN and CAP_DAC_OVERRIDE notwithstanding; no
# device node with CAP_MKNOD.
TRY='touch /mine; chown 1000 /mine && echo own-chown-ok; chown 0 /host/root-file && echo host-chown-ok; cat /host/root-file && echo host-read-ok; mknod /tmp/mem c 1 1 && echo mknod-ok; true'
bundle "$TRY" 'caps("CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_MKNOD")'
OUT=$(run)
check_match "CAP_CHOWN works on the container's own file" "$OUT" "own-chown-ok"
case "$OUT" in *host-chown-ok*) fail "chowned host root's file: $OUT" ;; *) ok "host root's file cannot be chowned" ;; esac
case "$OUT" in *host-read-ok*|*secret*) fail "read host root's 0600 file: $OUT" ;; *) ok "host root's 0600 file cannot be read" ;; esac
case "$OUT" in *mknod-ok*) fail "made a device node: $OUT" ;; *) ok "no device node with CAP_MKNOD" ;; esac
[ "$(stat -c %u:%a "$T/host/root-file")" == "0:600" ] && ok "host file unchanged" || fail "host file changed"
bundle "$TRY"
case "$(run)" in *own-chown-ok*) fail "chown without CAP_CHOWN" ;; *) ok "without CAP_CHOWN, no chown" ;; esac

# Refusals at create, naming the field.
refused() { # DESCRIPTION PYTHON REGEX
    bundle true "$2"
    ERR=$("${OCI[@]}" create --bundle "$T/b" bad 2>&1); RC=$?
    check "$1 is refused" "$RC" 1
    check_match "$1: the error names the field" "$ERR" "$3"
    check "$1: one line" "$(echo "$ERR" | wc -l)" 1
    [ ! -e "$T/state/bad" ] && ok "$1: no state left" || { fail "$1: state left"; "${OCI[@]}" delete --force bad; }
}
refused "an unknown capability" 'caps("CAP_CHOWN", "CAP_TEST")' \
    '^sbx-oci: process.capabilities.bounding\[1\]: CAP_TEST is not a capability'
refused "CAP_SYS_ADMIN" 'caps("CAP_SYS_ADMIN")' '^sbx-oci: process.capabilities.bounding: CAP_SYS_ADMIN'
refused "an effective capability not permitted" \
    'caps("CAP_CHOWN"); c["process"]["capabilities"]["permitted"] = []' \
    '^sbx-oci: process.capabilities.effective: CAP_CHOWN is not permitted'
refused "an invalid ociVersion" 'c["ociVersion"] = "invalid"' '^sbx-oci: ociVersion: invalid is not'
bundle true 'c["ociVersion"] = "1.0.2-dev"'
"${OCI[@]}" run --bundle "$T/b" p1 && ok "ociVersion 1.0.2-dev" || fail "ociVersion 1.0.2-dev refused"

# --- additionalGids ---
bundle 'id; grep Groups /proc/self/status' 'c["process"]["user"] = {"uid": 10, "gid": 10, "additionalGids": [5, 7]}'
OUT=$(run)
check_match "additionalGids applied" "$OUT" "Groups:[[:space:]]+5 7"
check_match "uid and gid" "$OUT" "uid=10 gid=10"
refused "a gid outside the container's ids" 'c["process"]["user"]["additionalGids"] = [70000]' \
    "^sbx-oci: process.user.additionalGids\[0\]: 70000 is outside the container's mapped ids"

# --- rlimits ---
bundle 'ulimit -Sc; ulimit -Hc; ulimit -Sn; ulimit -Hn; ulimit -Ss; ulimit -Hs; ulimit -St; ulimit -Ht' \
    'c["process"]["rlimits"] = [{"type": "RLIMIT_CORE", "soft": 1024000, "hard": 2048000},
        {"type": "RLIMIT_NOFILE", "soft": 300, "hard": 400},
        {"type": "RLIMIT_STACK", "soft": 9663676416, "hard": 10737418240},
        {"type": "RLIMIT_CPU", "soft": 60, "hard": 120}]'
check "every rlimit, soft and hard (core in 512-byte blocks)" "$(run | tr '\n' ' ')" "2000 4000 300 400 9437184 10485760 60 120 "
HARD=$(ulimit -Hn)
if [ "$HARD" != unlimited ] && ! (ulimit -Hn $((HARD + 1))) 2>/dev/null; then
    refused "an rlimit above the launcher's hard limit" \
        'c["process"]["rlimits"] = [{"type": "RLIMIT_CORE", "soft": 0, "hard": 0}, {"type": "RLIMIT_NOFILE", "soft": 10, "hard": '$((HARD + 1))'}]' \
        "^sbx-oci: process.rlimits\[1\]: RLIMIT_NOFILE hard limit $((HARD + 1)) is above the launcher's hard limit of $HARD"
else
    ok "(the launcher may raise its nofile limit: no refusal to check)"
fi
refused "soft above hard" 'c["process"]["rlimits"] = [{"type": "RLIMIT_NOFILE", "soft": 20, "hard": 10}]' \
    '^sbx-oci: process.rlimits\[0\]: RLIMIT_NOFILE soft limit 20 is above its hard limit 10'
refused "an unknown rlimit" 'c["process"]["rlimits"] = [{"type": "RLIMIT_FLY", "soft": 1, "hard": 1}]' \
    '^sbx-oci: process.rlimits\[0\].type: RLIMIT_FLY is not an rlimit'

# --- oomScoreAdj ---
bundle 'cat /proc/self/oom_score_adj' 'c["process"]["oomScoreAdj"] = 500'
check "oomScoreAdj applied" "$(run)" "500"
if ! (echo -500 > /proc/self/oom_score_adj) 2>/dev/null; then
    refused "an oomScoreAdj below what the runtime may set" 'c["process"]["oomScoreAdj"] = -500' \
        '^sbx-oci: process.oomScoreAdj: -500 is below the lowest value this runtime may set'
else
    ok "(the runtime may lower oom_score_adj: no refusal to check)"
fi

# --- /dev/mqueue and /sys, when the spec mounts them (as runc's default) ---
MQSYS='c["mounts"] += [{"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue"},
    {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["ro"]}]'
bundle 'awk '"'"'$5 ~ /^\/(dev\/mqueue|sys|sys\/firmware)$/ {print $5, $6, $9}'"'"' /proc/self/mountinfo; ls /sys/class/net; ls -A /sys/firmware | wc -l; touch /sys/x 2>/dev/null || echo sys-ro; touch /dev/mqueue/x 2>/dev/null && echo mq-rw' "$MQSYS"
OUT=$(run)
check_match "/dev/mqueue: an mqueue mount" "$OUT" "/dev/mqueue rw,nosuid,nodev,noexec,[a-z]+ mqueue"
check_match "/sys: a read-only sysfs" "$OUT" "/sys ro,nosuid,nodev,noexec,[a-z]+ sysfs"
check_match "/sys/firmware masked (sbx's own mask)" "$OUT" "/sys/firmware ro,[a-z,]+ tmpfs"
check_match "/sys: the container's own network devices only" "$OUT" $'
lo
0
'
check_match "/sys cannot be written" "$OUT" "sys-ro"
check_match "/dev/mqueue: the container's own, writable" "$OUT" "mq-rw"
bundle 'awk '"'"'$5 ~ /^\/(dev\/mqueue|sys)$/'"'"' /proc/self/mountinfo | wc -l'
check "no /dev/mqueue nor /sys unless the spec mounts them" "$(run)" "0"

# --- exec: the same for the exec'd process, within the allow-list create kept ---
bundle 'sleep 30' 'caps("CAP_CHOWN")'
"${OCI[@]}" create --bundle "$T/b" x1 && "${OCI[@]}" start x1 || fail "create x1"
cat > "$T/proc.json" <<'JSON'
{"args": ["sh", "-c", "grep -E '^(CapEff|Groups)' /proc/self/status; ulimit -Hn; cat /proc/self/oom_score_adj"],
 "cwd": "/", "env": ["PATH=/bin:/usr/bin"], "user": {"uid": 0, "gid": 0, "additionalGids": [3]},
 "capabilities": {"bounding": ["CAP_KILL", "CAP_NET_RAW"], "effective": ["CAP_KILL", "CAP_NET_RAW"],
                  "permitted": ["CAP_KILL", "CAP_NET_RAW"]},
 "rlimits": [{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}], "oomScoreAdj": 300}
JSON
OUT=$("${OCI[@]}" exec --process "$T/proc.json" x1 2>&1)
check "exec: its capabilities within the allow-list, groups, rlimits, oomScoreAdj" \
    "$(echo "$OUT" | tr -s '\t\n' '  ')" "Groups: 3 CapEff: 0000000000000020 200 300 "
OUT=$("${OCI[@]}" exec x1 grep CapEff /proc/self/status 2>&1)
check_match "exec without --process: no capabilities" "$OUT" "CapEff:[[:space:]]+0+$"
"${OCI[@]}" delete --force x1

finish
