#!/bin/bash
# Soak: 2,000 short jobs through one sandboxd, from 8 clients at once. After
# them the daemon's open fds, its RSS, and the job cgroups, mounts and uid
# slot locks are back where they were before.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

JOBS=${SBX_SOAK_JOBS:-2000}
# Under AddressSanitizer freed memory sits in quarantine (RSS says nothing
# about leaks; LeakSanitizer checks them at exit) and jobs start slower.
ASAN=0
grep -q '^SBX_SANITIZE:STRING=.*address' "$SBX_BUILD/CMakeCache.txt" 2>/dev/null && ASAN=1
[ "$ASAN" = 1 ] && JOBS=${SBX_SOAK_JOBS:-400}
# Exactly as many uid slots as jobs may run (a range of its own, so that no
# other test holds one): a job's slot must be free again by the time the
# next queued job starts, even though its cgroups go only after its answer.
cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 4
queue_length: 64
uid_pool { first: $((0x61000000)) range: 65536 slots: 4 }
slot_dir: "$T/slots"
CONF
start_daemon || exit 1

cat > "$T/soak.py" <<'PY'
import sys, threading
sys.path.insert(0, sys.argv[3])
from sbx_client import Client, make_policy
sock, total = sys.argv[1], int(sys.argv[2])
errors = []
def worker(w, n):
    with Client(sock) as c:
        for i in range(n):
            # Alternate: captured output with stdin bytes, and plain exits.
            if i % 2:
                info = c.run(make_policy(["/bin/sh", "-c", "cat; exit %d" % (i % 5)],
                                         stdin=b"%d-%d" % (w, i), capture=True))
                ok = info.result.stdout == b"%d-%d" % (w, i) and info.exit_status == i % 5
            else:
                info = c.run(make_policy(["/bin/true"]))
                ok = info.exit_status == 0 and info.result.status == 1
            if not ok:
                errors.append("%d-%d: %s" % (w, i, info))
threads = [threading.Thread(target=worker, args=(w, total // 8)) for w in range(8)]
for t in threads: t.start()
for t in threads: t.join()
print(len(errors))
for e in errors[:3]: print(e, file=sys.stderr)
PY

fds() { ls /proc/"$DPID"/fd | wc -l; }
rss_kb() { awk '/^VmRSS/ { print $2 }' /proc/"$DPID"/status; }
mounts() { wc -l < /proc/"$DPID"/mountinfo; }

# Warm up: the first jobs open the cgroup hierarchies' directory fds (kept
# for the daemon's life) and grow the allocator's arenas.
"$PY" "$T/soak.py" "$SOCK" 64 "$PYPKG" >/dev/null
fd0=$(fds); rss0=$(rss_kb); m0=$(mounts); cg0=$(job_cgroups "$DPID"); fl0=$(flocks "$DPID")

start=$(date +%s)
errors=$("$PY" "$T/soak.py" "$SOCK" "$JOBS" "$PYPKG")
check "$JOBS jobs: every result right" "$errors" 0
echo "# $JOBS jobs in $(( $(date +%s) - start )) s"
finished=$(S stats --json | "$PY" -c 'import json,sys; print(json.load(sys.stdin)["finished"])')
check "$JOBS jobs: all went through the daemon" "$finished" $((JOBS + 64))

wait_until 5 sh -c "[ \$(ls /proc/$DPID/fd | wc -l) -le $fd0 ]"
check "open fds back to the start ($fd0)" "$(fds)" "$fd0"
rss1=$(rss_kb)
echo "# RSS ${rss0} kB -> ${rss1} kB"
if [ "$ASAN" = 1 ]; then
    ok "RSS not compared under AddressSanitizer (LeakSanitizer checks at exit)"
else
    check_cmp "RSS back near the start (+2 MiB at most)" "$rss1" -le $((rss0 + 2048))
fi
check "job cgroups back to $cg0" "$(job_cgroups "$DPID")" "$cg0"
check "mounts back to $m0" "$(mounts)" "$m0"
check "uid slot locks back to $fl0" "$(flocks "$DPID")" "$fl0"
check "no job left in the table" "$(S ps --json)" '{}'
kill -TERM "$DPID"; wait "$DPID"
check "the daemon exits 0 (and, under ASan, leak-free)" "$?" 0
DPID=
check_log_clean
finish
