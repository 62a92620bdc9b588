#!/bin/bash
# uid slots: a job's host ids are its own only if every launcher agrees on
# the slots. The slot directory must be the launcher's own (whoever can
# write it can recreate a held lock and share a running job's ids); pools
# that overlap with slots that do not line up (one launcher's lock would not
# cover another's range) are refused; a pool over a host user's ids is
# warned about by sandboxd and sbx doctor.
. "$(dirname "$0")/lib.sh"
. "$SBX_SRC/tests/integration/daemon_lib.sh"

base=$((0x60000000 + 15 * 16 * 65536))
run_with() { # DIR POOL: a trivial job with this slot directory and pool
    OUT=$(SBX_SLOT_DIR=$1 SBX_UID_POOL=$2 "$SBX" run -- /bin/echo ran 2>"$T/stderr"); RC=$?
    ERR=$(cat "$T/stderr")
}

# --- the slot directory ---
mkdir -m 0777 "$T/open"
run_with "$T/open" "$base:65536:4"
check "a world-writable slot directory: setup fails (125)" "$RC" 125
check_match "and the error names the setting" "$ERR" \
    "uid pool: the slot directory $T/open is owned by uid 0 with mode 0777; .*\(SBX_SLOT_DIR, sandboxd.s slot_dir\)"
mkdir -m 0700 "$T/theirs"; chown 65534 "$T/theirs"
run_with "$T/theirs" "$base:65536:4"
check "a slot directory of another user: setup fails (125)" "$RC" 125
check_match "and the error says whose it is" "$ERR" "slot directory $T/theirs is owned by uid 65534"
check "no lock file was made in it" "$(ls "$T/theirs")" ""

# --- pools sharing a slot directory ---
d="$T/slots"
run_with "$d" "$base:65536:4"
check "the first pool runs" "$OUT" ran
check "and records itself" "$(cat "$d/pool")" "$base:65536:4"
run_with "$d" "$((base + 32768)):65536:4"
check "an overlapping pool whose slots do not line up: setup fails (125)" "$RC" 125
check_match "and the error names both pools" "$ERR" \
    "uid pool: $((base + 32768)):65536:4 overlaps the pool $base:65536:4 already using $d with slots that do not line up"
run_with "$d" "$base:32768:8"
check "the same ids cut into smaller slots: refused too" "$RC" 125
run_with "$d" "$base:65536:8"
check "more slots of the same size run" "$OUT" ran
run_with "$d" "$((base + 4 * 65536)):65536:2"
check "slots aligned with the recorded ones run" "$OUT" ran

# --- a pool over host users' ids ---
out=$(SBX_SLOT_DIR="$T/doctor" SBX_UID_POOL=60000:65536:1 "$SBX" doctor 2>&1)
check_match "sbx doctor warns about a pool over a host user" "$out" \
    'uid pool +overlaps uid 65534 \(nobody\) of /etc/passwd'
cat >"$T/sandboxd.conf" <<CONF
uid_pool { first: 60000 range: 65536 slots: 1 }
slot_dir: "$T/dslots"
max_concurrent: 1
CONF
start_daemon || exit 1
check_match "sandboxd warns about it at start" "$(cat "$DLOG")" \
    'warning: uid_pool 60000:65536:1 overlaps uid 65534 \(nobody\) of /etc/passwd'
stop_daemon
# sandboxd refuses to start on a pool that clashes with its slot directory's.
cat >"$T/sandboxd.conf" <<CONF
uid_pool { first: $((base + 32768)) range: 65536 slots: 4 }
slot_dir: "$d"
CONF
timeout 20 "$SANDBOXD" --socket "$SOCK" --config "$T/sandboxd.conf" >"$T/d.out" 2>&1
check "sandboxd does not start on a clashing pool" "$?" 1
check_match "and says why" "$(cat "$T/d.out")" "sandboxd: uid pool: .* overlaps the pool $base:65536:4"
finish
