# Shared helpers for the integration tests: each test is a bash script run by
# ctest as root, with SBX (the sbx binary), SBX_PROBES (static probe
# programs), SBX_BUILD and SBX_SRC in the environment.
set -u
: "${SBX:?run through ctest}" "${SBX_PROBES:?}" "${SBX_BUILD:?}"

TEST_NAME=$(basename "$0" .sh)
T=$(mktemp -d "/tmp/sbx-$TEST_NAME.XXXXXX")
chmod 0755 "$T"
FAILS=0
CHECKS=0
cleanup_hooks=()
on_exit() {
    local h
    for h in "${cleanup_hooks[@]}"; do eval "$h" || true; done
    rm -rf "$T"
}
trap on_exit EXIT

# podman (cgroupfs manager) makes libpod_parent cgroups at the root of each
# v1 hierarchy, shared by all its containers. A test that runs containers
# with podman calls podman_begin first: it waits for any other such test
# (the ASan suite runs its own copy of each at the same time), notes the
# libpod_parent cgroups that exist already, and at its end removes those it
# made (after the test's own hooks have removed its containers).
podman_begin() {
    exec 8<"$SBX_SRC/tests/integration"
    flock 8
    PODMAN_PRE_CG=$(ls -d /sys/fs/cgroup/*/libpod_parent 2>/dev/null)
    cleanup_hooks+=(podman_cgroups_remove)
}
podman_cgroups_remove() {
    local d i
    # A container's last processes (conmon, sbx's PID 1) may still be on
    # their way out of these cgroups: a few tries, 0.1 s apart, rather than
    # leaving the tree behind (it happened once, under the ASan suite's load).
    for i in $(seq 50); do
        for d in /sys/fs/cgroup/*/libpod_parent; do
            [ -d "$d" ] || continue
            echo "$PODMAN_PRE_CG" | grep -qx "$d" && continue
            find "$d" -mindepth 1 -depth -type d -exec rmdir {} + 2>/dev/null
            rmdir "$d" 2>/dev/null
        done
        for d in /sys/fs/cgroup/*/libpod_parent; do
            [ -d "$d" ] && ! echo "$PODMAN_PRE_CG" | grep -qx "$d" && break
        done
        [ -d "$d" ] && ! echo "$PODMAN_PRE_CG" | grep -qx "$d" || return 0
        sleep 0.1
    done
}

ok()   { CHECKS=$((CHECKS + 1)); echo "ok   - $*"; }
fail() { CHECKS=$((CHECKS + 1)); FAILS=$((FAILS + 1)); echo "FAIL - $*"; }

# check DESCRIPTION ACTUAL EXPECTED
check() {
    if [ "$2" == "$3" ]; then ok "$1"; else fail "$1: got [$2], want [$3]"; fi
}
# check_match DESCRIPTION ACTUAL REGEX
check_match() {
    if [[ "$2" =~ $3 ]]; then ok "$1"; else fail "$1: [$2] does not match /$3/"; fi
}
# check_cmp DESCRIPTION A OP B (numeric: -lt -le -gt -ge -eq -ne)
check_cmp() {
    if [ "$2" "$3" "$4" ]; then ok "$1"; else fail "$1: $2 $3 $4 is false"; fi
}

# sbx_run ARGS... : runs sbx run with a result file; sets OUT, ERR, RC and RESULT.
sbx_run() {
    RESULT="$T/result.json"
    rm -f "$RESULT"
    OUT=$("$SBX" run --result-json "$RESULT" "$@" 2>"$T/stderr")
    RC=$?
    ERR=$(cat "$T/stderr")
}

# field NAME : a field of the last result JSON.
field() {
    python3 -c 'import json,sys
r=json.load(open(sys.argv[1])); v=r.get(sys.argv[2], "")
print(str(v).lower() if isinstance(v, bool) else v)' "$RESULT" "$1"
}

# Bind the probes into the job at /probes.
PROBES=(--bind "$SBX_PROBES:/probes")

finish() {
    echo "# $TEST_NAME: $CHECKS checks, $FAILS failed"
    [ "$FAILS" -eq 0 ] && [ "$CHECKS" -gt 0 ]
    exit $?
}
