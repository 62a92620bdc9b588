#!/bin/bash
# sandboxd and its non-administrator clients: what one tenant may ask of the
# daemon, what it learns when refused, and how it can reach other tenants'
# terminals and run slots. The tenant is a user this test creates and
# removes. Kills only processes it started, by pid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/../integration/daemon_lib.sh"

TU=sbxten$$
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$TU" || exit 1
cleanup_hooks+=("userdel '$TU' >/dev/null 2>&1")
TUID=$(id -u "$TU"); TGID=$(id -g "$TU")
AS=(setpriv --reuid="$TUID" --regid="$TGID" --clear-groups)
chmod 0755 "$T"
U() { "${AS[@]}" "$SBX" --socket "$SOCK" "$@"; }

cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 2
queue_length: 16
allowed_uids: $TUID
uid_pool { first: ${SBX_UID_POOL%%:*} range: 65536 slots: 16 }
slot_dir: "$SBX_SLOT_DIR"
CONF
start_daemon || exit 1

# --- a refused client is told why (not "Broken pipe") ---
err=$(setpriv --reuid=65533 --regid=65533 --clear-groups "$SBX" --socket "$SOCK" stats 2>&1)
check "a uid not allowed is refused" "$?" 1
check_match "and told why by the daemon" "$err" "^sbx: sandboxd: uid 65533 is not allowed"

# --- lowering the seccomp filter is the operator's decision ---
err=$(U run --seccomp none -- /bin/true 2>&1)
check "a tenant's seccomp none is refused" "$?" 125
check_match "naming the field" "$err" '^sbx: seccomp: "none" lowers the filter, which only administrators may do'
check "the tenant's default-filter job runs" "$(U run -- /bin/echo ok 2>&1)" ok
check "an administrator may lower it" "$(S run --seccomp none -- /bin/echo ok 2>&1)" ok

# --- control characters in a command: refused at submit; escaped on print ---
err=$(U submit --detach -- $'/bin/true\n99 RUNNING 0 0s - forged' 2>&1)
check "a command with a newline is refused" "$?" 125
check_match "naming the field" "$err" '^sbx: command: control characters are not allowed$'
err=$(U submit --detach -- $'/bin/true\e]0;pwned\a' 2>&1)
check "a command with a terminal escape is refused" "$?" 125
# The client escapes what any daemon sends: a fake one sends a forged row.
cat >"$T/fake.py" <<'PY'
import os, socket, struct, sys
import sandboxd_pb2 as pb
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
print("ready", flush=True)
c, _ = s.accept()
n = struct.unpack(">I", c.recv(4, socket.MSG_WAITALL))[0]
req = pb.Request(); req.ParseFromString(c.recv(n, socket.MSG_WAITALL))
r = pb.Response(id=req.id)
r.jobs.jobs.add(job_id=7, state=pb.RUNNING, owner_uid=1000, name="n",
                command="/x\n999      RUNNING  0      0s     -                forged\x1b]0;pwned\x07\x9b")
b = r.SerializeToString(); c.sendall(struct.pack(">I", len(b)) + b); c.close()
PY
"$PY" "$T/fake.py" "$T/fake.sock" >"$T/fake.out" 2>&1 &
fpid=$!
wait_until 5 grep -q ready "$T/fake.out"
out=$("$SBX" --socket "$T/fake.sock" ps --all 2>&1)
wait "$fpid"
echo "$out" | cat -v | sed 's/^/    | /'
check "ps --all: one row per job, however the command looks" "$(wc -l <<<"$out")" 2
check "ps --all: no terminal escape reaches the terminal" "$(tr -d '\n' <<<"$out" | LC_ALL=C grep -c $'[\x01-\x1f\x7f]\|\xc2\x9b')" 0

# --- a paused job's wall clock runs: it ends at its limit, freeing its slot,
# whether it was paused while setting up (at once) or once running ---
for when in 0 1; do
    id=$(U submit --detach --wall-time-limit 2s -- /bin/sleep 100)
    sleep $when
    U pause "$id"
    check_match "job paused after ${when}s is paused" "$(S inspect "$id")" 'state: +PAUSED'
    t0=$(date +%s)
    timeout 60 "${AS[@]}" "$SBX" --socket "$SOCK" wait --json "$id" >"$T/w.json"
    rc=$?
    t1=$(date +%s)
    check "paused after ${when}s, past its wall limit: wait returns (137)" "$rc" 137
    check_cmp "paused after ${when}s: and soon (limit 2 s)" $((t1 - t0)) -lt 30
    check_match "paused after ${when}s: WALL_TIME_LIMIT_EXCEEDED" "$(cat "$T/w.json")" '"status":"WALL_TIME_LIMIT_EXCEEDED"'
done

# --- PID 1 under sandboxd shows nothing of the daemon's command line ---
out=$(U run -- /bin/sh -c 'tr "\0" " " </proc/1/cmdline')
check "PID 1 under sandboxd: neutral command line" "$(echo $out)" "sbx-init"

stop_daemon
check_log_clean
finish
