# Helpers for the security suite, on top of the integration tests' lib.sh:
# run an attack program in a job, check that every attempt failed, and
# check that the host saw nothing (no new mount in the host's mount table,
# no process left with the job's host uid, files' checksums unchanged).
. "$(dirname "${BASH_SOURCE[0]}")/../integration/lib.sh"
: "${SBX_SECURITY:?run through ctest}"

# Each security test takes its jobs' host uids from a pool range of its own
# (below sbx's default pool), so that "no process left with the job's host
# uid" can never see a job of another test that ran at the same time and
# got the slot this job had just freed.
case $TEST_NAME in
    test_covert) slot=0 ;; test_exhaustion) slot=1 ;; test_filesystem) slot=2 ;;
    test_host_reach) slot=3 ;; test_kernel_surface) slot=4 ;; test_launcher) slot=5 ;;
    test_seccomp_table) slot=6 ;; test_job_stdio) slot=12 ;; test_daemon_caps) slot=13 ;;
    test_uid_slots) slot=14 ;; test_host_writes) slot=16 ;; test_daemon_tenants) slot=17 ;;
    test_warm_isolation) slot=20 ;;
    *) slot=7 ;;
esac
export SBX_UID_POOL="$((0x60000000 + slot * 16 * 65536)):65536:16"
export SBX_SLOT_DIR="/run/sbx/test-slots-$slot"
cleanup_hooks+=("rm -rf '$SBX_SLOT_DIR'")
SEC=(--bind "$SBX_SECURITY:/sec")
# Every attack job is bounded in time: a hung attack fails its check instead
# of the whole test timing out.
ATTACK_LIMITS=(--wall-time-limit 60)

host_mounts() { awk '{print $5}' /proc/self/mountinfo | sort; }
HOST_MOUNTS_BEFORE=$(host_mounts)

# attack [SBX-OPTIONS...] -- PROGRAM ARGS... : runs /sec/PROGRAM in a job.
attack() {
    local opts=()
    while [ "$1" != "--" ]; do opts+=("$1"); shift; done
    shift
    local prog=$1
    shift
    sbx_run "${SEC[@]}" "${ATTACK_LIMITS[@]}" "${opts[@]}" -- "/sec/$prog" "$@"
    echo "$OUT" | sed 's/^/    | /'
    [ -n "$ERR" ] && echo "$ERR" | sed 's/^/    ! /'
    return 0
}

# expect_blocked DESCRIPTION : the last attack ran, tried something, and no
# attempt worked.
expect_blocked() {
    local tried escaped
    tried=$(grep -c '^BLOCKED' <<<"$OUT")
    escaped=$(grep '^ESCAPED' <<<"$OUT" | tr '\n' ';')
    if [ "$RC" -eq 0 ] && [ "$tried" -gt 0 ] && [ -z "$escaped" ]; then
        ok "$1 ($tried attempts blocked)"
    else
        fail "$1: rc=$RC, $tried blocked, escaped: [$escaped] $ERR"
    fi
}

# expect_line DESCRIPTION REGEX : a line of the last attack's output matches.
expect_line() {
    if grep -Eq -- "$2" <<<"$OUT"; then ok "$1"; else fail "$1: no line matches /$2/"; fi
}

# host_unchanged DESCRIPTION : the host's mount table is as it was when the
# test began, and no process runs with the last job's host uid.
host_unchanged() {
    local now uid procs
    now=$(host_mounts)
    if [ "$now" == "$HOST_MOUNTS_BEFORE" ]; then ok "$1: host mounts unchanged"; else
        fail "$1: host mounts changed: $(diff <(echo "$HOST_MOUNTS_BEFORE") <(echo "$now") | tr '\n' ' ')"
    fi
    uid=$(field host_uid 2>/dev/null)
    if [ -n "$uid" ] && [ "$uid" != 0 ]; then
        procs=$(awk -v u="$uid" '/^Uid:/ && ($2 == u || $3 == u) {print FILENAME}' /proc/[0-9]*/status 2>/dev/null)
        check "$1: no process left with the job's host uid $uid" "$procs" ""
    fi
}

sum() { sha256sum "$1" | cut -d' ' -f1; }
