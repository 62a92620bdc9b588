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
allowed_uids: 65534
keep_stopped: 2
idle_timeout: "2s"
client_caps { rootfs_size: "32M" tmpfs_size: "8M" open_files: 512 }
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

# --- tmpfs sizes and open files are capped for tenants (client_caps) ---
err=$(U run --rootfs-size 64M -- /bin/true 2>&1)
check "rootfs.size over the cap: 125" "$?" 125
check_match "naming the field and the cap" "$err" 'rootfs.size: 67108864 bytes is over .*client_caps.rootfs_size'
err=$(U run --tmpfs /s:16M -- /bin/true 2>&1)
check "a tmpfs over the cap: 125" "$?" 125
check_match "naming the mount and the cap" "$err" 'mounts\[0\].size: .*client_caps.tmpfs_size'
printf 'command: "/bin/true"\nlimits { open_files: 4096 }\n' >"$T/nofile.pbtxt"
err=$(U run --policy "$T/nofile.pbtxt" 2>&1)
check_match "open_files over the cap: refused" "$err" 'limits.open_files: 4096 is over .*client_caps.open_files'
out=$(U run --tmpfs /s -- /bin/sh -c 'ulimit -n; df -k /tmp /s | awk "NR>1 {print \$2}"' 2>&1)
check "unset, they get the caps" "$(echo $out)" "512 32768 8192"

# --- control characters in a command: refused at submit; escaped on print ---
err=$(U submit --detach -- $'/bin/true\n99 RUNNING 0 0s - forged' 2>&1)
check "a command with a newline is refused" "$?" 125
check_match "naming the field" "$err" '^sbx: command: control characters are not allowed$'
err=$(U submit --detach -- $'/bin/true\e]0;pwned\a' 2>&1)
check "a command with a terminal escape is refused" "$?" 125
# The client escapes what any daemon sends: a fake one sends a forged row.
cat >"$T/fake.py" <<'PY'
import os, socket, struct, sys
from sbx_client import sandboxd_pb2 as pb
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

# --- stopped jobs are kept per owner: others' submits do not evict them ---
tid=$(U submit --detach -- /bin/sh -c 'exit 7')
U wait "$tid" >/dev/null
for i in 1 2 3; do rid=$(S submit --detach -- /bin/true); S wait "$rid" >/dev/null; done
U wait "$tid" >/dev/null 2>"$T/err"
check "the tenant's stopped job outlives 3 of root's (keep_stopped 2)" "$?" 7
check "its wait does not answer 'no job'" "$(cat "$T/err")" ""
# ... and its own submits do evict its own oldest.
for i in 1 2; do x=$(U submit --detach -- /bin/true); U wait "$x" >/dev/null; done
U wait "$tid" >/dev/null 2>"$T/err"
check_match "the tenant's own third stopped job evicts its oldest" "$(cat "$T/err")" "no job $tid"

# --- a stopped job drops its stdin_data ---
printf 'command: "/bin/cat"\nstdio { stdin_data: "%s" }\n' "$(head -c 3000 /dev/zero | tr '\0' x)" >"$T/stdin.pbtxt"
sid=$(U submit --detach --policy "$T/stdin.pbtxt")
U wait "$sid" >/dev/null
check "a stopped job's policy no longer holds its stdin bytes" \
    "$(U inspect "$sid" --json | grep -c 'eHh4eHh4')" 0

# --- a flood from one uid: 300 connections, 20,000 wait frames ---
# (RESOURCE_EXHAUSTED past max_connections_per_uid; the waits past 64 on
# one connection are refused; everyone else is still served.)
fid=$(U submit --detach -- /bin/sleep 60)
cat >"$T/flood.py" <<'PY'
import socket, struct, sys, time
from sbx_client import sandboxd_pb2 as pb
path, job, nconn, nwait = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def frame(req):
    b = req.SerializeToString(); return struct.pack(">I", len(b)) + b
conns, refused = [], 0
for i in range(nconn):
    s = socket.socket(socket.AF_UNIX); s.connect(path); conns.append(s)
time.sleep(0.5)
for s in conns:  # a refused one has its error and EOF waiting
    s.setblocking(False)
    try:
        d = s.recv(4096)
        if d and b"max_connections_per_uid" in d: refused += 1
    except BlockingIOError:
        pass
print("refused", refused, flush=True)
c = conns[0]; c.setblocking(True)
buf = b"".join(frame(pb.Request(id=i + 1, wait=pb.WaitRequest(job_id=job))) for i in range(nwait))
c.sendall(buf)
errs = 0; got = 0; data = b""
c.settimeout(20)
while got < nwait - 64:
    chunk = c.recv(1 << 20)
    if not chunk: break
    data += chunk
    while len(data) >= 4:
        n = struct.unpack(">I", data[:4])[0]
        if len(data) < 4 + n: break
        r = pb.Response(); r.ParseFromString(data[4:4 + n]); data = data[4 + n:]
        got += 1
        if r.HasField("error") and "waits on 64" in r.error.message: errs += 1
print("answered", got, "refused-waits", errs, flush=True)
print("ready", flush=True)
time.sleep(float(sys.argv[5]))
PY
"${AS[@]}" "$PY" "$T/flood.py" "$SOCK" "$fid" 300 20000 8 >"$T/flood.out" 2>&1 &
flpid=$!
wait_until 60 grep -q ready "$T/flood.out"
sed 's/^/    | /' "$T/flood.out"
check_match "the flood's extra connections were refused, saying why" "$(cat "$T/flood.out")" "refused 2(6[89]|[7-9][0-9])"
check "the flood's waits past 64 were refused" "$(grep -o 'refused-waits [0-9]*' "$T/flood.out")" "refused-waits 19936"
check "root is still served" "$(S run -- /bin/echo root-ok 2>&1)" root-ok
check "another tenant is still served" \
    "$(setpriv --reuid=65534 --regid=65534 --clear-groups "$SBX" --socket "$SOCK" run -- /bin/echo other-ok 2>&1)" other-ok
rss=$(awk '/^VmRSS:/ {print $2}' /proc/$DPID/status)
echo "    sandboxd VmRSS ${rss} kB under the flood"
check_cmp "sandboxd's RSS under the flood stays below 64 MiB" "$rss" -lt 65536
wait "$flpid"
S kill "$fid" >/dev/null

# --- idle connections are closed after idle_timeout (2 s here) ---
cat >"$T/idle.py" <<'PY'
import socket, sys, time
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); t = time.time()
s.settimeout(30)
d = b""
while True:
    c = s.recv(4096)
    if not c: break
    d += c
print("closed after %d s" % (time.time() - t), b"idle_timeout" in d)
PY
out=$("${AS[@]}" "$PY" "$T/idle.py" "$SOCK" 2>&1)
check_match "an idle connection is closed, saying why" "$out" '^closed after [2-9] s True$'

# --- --result-json of a run through sandboxd: pinned before the job too ---
mkdir -p "$T/rw"; chmod 1777 "$T/rw"; echo secret >"$T/victim"; chmod 0600 "$T/victim"
S run --result-json "$T/rw/r.json" --bind-rw "$T/rw:/rw" -- /bin/ln -s "$T/victim" /rw/r.json
check "through sandboxd: the host file behind a planted symlink is unchanged" "$(cat "$T/victim")" secret
check_match "and the result replaced the symlink" "$(stat -c %F "$T/rw/r.json"): $(cat "$T/rw/r.json")" '^regular file: .*"status":"EXITED"'

# --- PID 1 under sandboxd shows nothing of the daemon's command line ---
out=$(U run -- /bin/sh -c 'tr "\0" " " </proc/1/cmdline')
check "PID 1 under sandboxd: neutral command line" "$(echo $out)" "sbx-init"

stop_daemon
check_log_clean
finish
