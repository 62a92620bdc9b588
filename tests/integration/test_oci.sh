#!/bin/bash
# sbx-oci: the runc command line driven directly (lifecycle, exit codes, pid
# file, errors, refusals, sbx's guarantees inside the container), then by a
# real engine, podman, as conmon drives it. Exits 77 (skip) only when podman
# is not installed (scripts/install-deps installs it).
#
# All of it runs in a mount namespace of its own: what the engines mount
# (and the network namespace bound for a pod) never shows in the host's
# mount table, which other tests compare while this one runs, and goes away
# with the test whatever happens.
if [ -z "${SBX_OCI_PRIVATE:-}" ]; then
    SBX_OCI_PRIVATE=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"
: "${SBX_OCI:?run through ctest}" "${SBX_ROOTFS:?}"

OCI=("$SBX_OCI" --root "$T/state")
# A failing check must not leave containers behind.
oci_cleanup() {
    local id
    for id in $("${OCI[@]}" list -q 2>/dev/null); do "${OCI[@]}" delete --force "$id"; done
}
cleanup_hooks+=(oci_cleanup)
mkdir -p "$T/b"
ln -s "$SBX_ROOTFS" "$T/b/rootfs"

# bundle ARGS_JSON [PYTHON] : config.json from `sbx-oci spec`, with
# process.args set and PYTHON (acting on c) applied.
bundle() {
    rm -f "$T/b/config.json"
    (cd "$T/b" && "$SBX_OCI" spec) || fail "spec"
    python3 - "$T/b/config.json" "$1" "${2:-}" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["args"] = json.loads(sys.argv[2])
exec(sys.argv[3])
json.dump(c, open(sys.argv[1], "w"))
PY
}
status_of() { "${OCI[@]}" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])'; }
wait_status() { # ID STATUS
    for _ in $(seq 100); do [ "$(status_of "$1")" == "$2" ] && return 0; sleep 0.05; done
    return 1
}

# --- the command line itself ---
"$SBX_OCI" --version | grep -q "sbx-oci version" && ok "--version" || fail "--version"
for c in create start state kill delete list features spec pause resume ps run exec update; do
    "$SBX_OCI" $c --help >/dev/null && ok "$c --help" || fail "$c --help"
done
"$SBX_OCI" --help | grep -q "Global options" && ok "--help" || fail "--help"
"$SBX_OCI" features | python3 -c 'import json,sys; json.load(sys.stdin)' && ok "features is JSON" || fail "features"
ERR=$("$SBX_OCI" --root="$T/state" --log="$T/log" --log-format=json state nosuch 2>&1); RC=$?
check "state of a missing container fails" "$RC" 1
check "runc's wording" "$ERR" "sbx-oci: container does not exist"
check_match "--log gets one JSON error line" "$(cat "$T/log")" '^\{"level": ?"error", ?"msg": ?"container does not exist", ?"time": ?"[0-9T:-]+Z"\}$'
ERR=$("$SBX_OCI" --root "$T/state" checkpoint x 2>&1); RC=$?
check "checkpoint is refused clearly" "$RC:$ERR" "1:sbx-oci: checkpoint: checkpoint/restore is refused by sbx-oci"
ERR=$("${OCI[@]}" create --bundle "$T/b" ../x 2>&1)
check_match "an id with / is refused" "$ERR" "invalid container id"

# --- lifecycle, with a subreaper standing in for conmon: create's PID 1
# must become its child, and its exit status must reach it ---
bundle '["sh", "-c", "echo out-$(id -u); touch /written-by-oci; cat /proc/self/uid_map; grep -E \"NoNewPrivs|Seccomp:\" /proc/self/status; cat /proc/net/dev | wc -l; read x < /dev/null; sleep 0.3; exit 3"]'
cat > "$T/reaper.py" <<'PY'
import ctypes, json, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
t = sys.argv[1]
oci = sys.argv[2:]
def state():
    return json.loads(subprocess.run(oci + ["state", "c1"], capture_output=True, text=True).stdout)
# Files, not pipes, as conmon: PID 1 keeps create's stdio for the command.
out, err = open(t + "/c1.out", "w"), open(t + "/c1.err", "w")
r = subprocess.run(oci + ["create", "--bundle", t + "/b", "--pid-file", t + "/c1.pid", "c1"],
                   stdout=out, stderr=err, timeout=60)
print("create", r.returncode)
pid = int(open(t + "/c1.pid").read())
st = state()
print("created", st["status"], st["pid"] == pid)
time.sleep(0.3)
print("still-created", state()["status"])
r = subprocess.run(oci + ["start", "c1"], capture_output=True, text=True, timeout=60)
print("start", r.returncode, r.stderr.strip())
_, status = os.waitpid(pid, 0)
print("reaped", os.WEXITSTATUS(status) if os.WIFEXITED(status) else -1)
PY
REAP=$(timeout 120 python3 "$T/reaper.py" "$T" "${OCI[@]}" 2>&1)
echo "$REAP" | sed 's/^/# /'
check_match "create succeeds" "$REAP" "create 0"
check_match "state says created, pid as the pid file" "$REAP" "created created True"
check_match "the process waits for start" "$REAP" "still-created created"
check_match "start succeeds" "$REAP" "start 0 "
check_match "the subreaper reaps the container with its exit status" "$REAP" "reaped 3"
PIDTXT=$(cat "$T/c1.pid")
check_match "pid file: decimal, no newline" "$PIDTXT" '^[0-9]+$'
check "pid file has no newline" "$(wc -l < "$T/c1.pid")" 0
OUT=$(cat "$T/c1.out")
check_match "container root is uid 0 inside" "$OUT" "out-0"
HOSTID=$(echo "$OUT" | awk '$1 == 0 && NF == 3 {print $2}')
check_cmp "root inside maps to an unprivileged host id" "${HOSTID:-0}" -gt 65535
check_match "no_new_privs" "$OUT" "NoNewPrivs:[[:space:]]+1"
check_match "seccomp filter on" "$OUT" "Seccomp:[[:space:]]+2"
check_match "only lo in the network namespace (2 header lines + lo)" "$OUT" "(^|[^0-9])3$"
[ ! -e "$SBX_ROOTFS/written-by-oci" ] && ok "writes never reach the bundle's rootfs" \
    || { fail "a write reached the rootfs"; rm -f "$SBX_ROOTFS/written-by-oci"; }
check "stopped after exit" "$(status_of c1)" stopped
ERR=$("${OCI[@]}" start c1 2>&1); RC=$?
check "start of a stopped container" "$RC:$ERR" "1:sbx-oci: cannot start a container that has stopped"
ERR=$("${OCI[@]}" kill c1 TERM 2>&1); RC=$?
check "kill of a stopped container" "$RC:$ERR" "1:sbx-oci: container not running"
CG=$(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["cgroups"]))' "$T/state/c1/state.json")
"${OCI[@]}" delete c1; check "delete of a stopped container" "$?" 0
LEFT=0; for d in $CG; do [ -e "$d" ] && LEFT=1; done
check "delete removes the container's cgroups" "$LEFT" 0
[ ! -e "$T/state/c1" ] && ok "delete removes the state" || fail "state left behind"
ERR=$("${OCI[@]}" state c1 2>&1); check "state after delete" "$ERR" "sbx-oci: container does not exist"

# --- update: new limits in the container's own cgroup ---
bundle '["sleep", "100"]' 'c["linux"]["resources"] = {"memory": {"limit": 67108864}, "cpu": {"cpus": "0", "shares": 512}}'
"${OCI[@]}" create --bundle "$T/b" u1 >/dev/null && "${OCI[@]}" start u1
# cg_file FILE... : the first of these files that u1's cgroups have (v1 name, v2 name).
cg_file() {
    local d f
    for f in "$@"; do
        for d in $(python3 -c 'import json,sys; print(" ".join(json.load(open(sys.argv[1]))["cgroups"]))' "$T/state/u1/state.json"); do
            [ -e "$d/$f" ] && { cat "$d/$f"; return; }
        done
    done
    echo "none of $*"
}
echo '{"memory": {"limit": 134217728, "swap": 268435456}, "pids": {"limit": 50}, "cpu": {"quota": 50000, "period": 100000, "cpus": "0"}, "devices": [{"allow": false, "access": "rwm"}]}' \
    | "${OCI[@]}" update --resources - u1
check "update --resources - (containerd's shim's way)" "$?" 0
check "update raises the memory limit" "$(cg_file memory.limit_in_bytes memory.max)" 134217728
check "update sets pids" "$(cg_file pids.max)" 50
check_match "update sets the CPU quota" "$(cg_file cpu.cfs_quota_us cpu.max)" "^50000( 100000)?$"
check_match "cpu.shares at create: v1 gets the shares asked for (v2 systemd's weight)" "$(cg_file cpu.shares cpu.weight)" "^(512|50)$"
"${OCI[@]}" update --memory 33554432 --pids-limit 60 --cpu-share 1024 u1; check "update with runc's flags" "$?" 0
check_match "update --cpu-share 1024: the default weight, not less" "$(cg_file cpu.shares cpu.weight)" "^(1024|100)$"
check "update lowers the memory limit" "$(cg_file memory.limit_in_bytes memory.max)" 33554432
check "update --pids-limit" "$(cg_file pids.max)" 60
OUT=$("${OCI[@]}" exec u1 sh -c 'echo still-here' 2>&1)
check "the container runs on after updates" "$OUT" "still-here"
ERR=$("${OCI[@]}" update --memory -1 u1 2>&1); RC=$?
check "update: removing a limit is refused" "$RC:$ERR" "1:sbx-oci: memory.limit: removing the memory limit is not supported by sbx-oci"
ERR=$(echo '{"blockIO": {"weight": 100}}' | "${OCI[@]}" update --resources - u1 2>&1); RC=$?
check "update: a resource sbx does not apply is refused" "$RC:$ERR" "1:sbx-oci: blockIO: not supported by sbx-oci update"
"${OCI[@]}" delete --force u1
ERR=$("${OCI[@]}" update --memory 1000000 u1 2>&1); RC=$?
check "update of a missing container" "$RC:$ERR" "1:sbx-oci: container does not exist"

# --- linux.cgroupsPath: the name of the container's cgroup, which stays
# below sbx's parent in the caller's own cgroup; nothing is made where the
# path points ---
# memcg FILE : the memory cgroup in a /proc/PID/cgroup (v1, else v2); names may hold ':'.
memcg() {
    local m u
    m=$(grep -E '^[0-9]+:memory:' "$1" | cut -d: -f3-)
    u=$(grep -E '^0::' "$1" | cut -d: -f3-)
    echo "${m:-$u}"
}
bundle '["sleep", "100"]' 'c["linux"]["cgroupsPath"] = "/oci-test-'$$'/pod1/c1"'
"${OCI[@]}" create --bundle "$T/b" g1 >/dev/null && "${OCI[@]}" start g1
GP=$("${OCI[@]}" state g1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
OWN=$(memcg /proc/self/cgroup)
check "cgroupsPath (cgroupfs): named after the path, below the caller's own cgroup" "$(memcg /proc/$GP/cgroup)" "${OWN%/}/sbx/kept-oci-test-$$:pod1:c1"
LEFT=$(ls -d /sys/fs/cgroup/oci-test-$$ /sys/fs/cgroup/*/oci-test-$$ 2>/dev/null)
check "cgroupsPath: nothing is made where the path points" "$LEFT" ""
ERR=$("${OCI[@]}" create --bundle "$T/b" g2 2>&1); RC=$?
check_match "cgroupsPath: a second container with the same path is refused" "$RC:$ERR" "^1:sbx-oci: linux.cgroupsPath: in use by another container"
check "cgroupsPath: the first container is untouched" "$(status_of g1)" running
"${OCI[@]}" delete --force g1
bundle '["true"]' 'c["linux"]["cgroupsPath"] = "machine.slice:sbx-test:c'$$'"'
"${OCI[@]}" create --bundle "$T/b" g3 >/dev/null; check "cgroupsPath (systemd's slice:prefix:name) is mapped" "$?" 0
check_match "cgroupsPath (systemd): the scope's name below sbx's parent" "$(cat "$T/state/g3/state.json")" "/sbx/kept-machine.slice:sbx-test-c$$.scope\""
"${OCI[@]}" delete --force g3
refused_now "a cgroupsPath with .." 'c["linux"]["cgroupsPath"] = "/a/../b"' '^sbx-oci: linux.cgroupsPath: /a/../b: ".." is not a usable cgroup name'

# --- a terminal: the pty master comes over --console-socket (SCM_RIGHTS,
# its name as data), as conmon and containerd's shim receive it ---
cat > "$T/console.py" <<'PY'
import array, os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(1); s.settimeout(60)
open(sys.argv[1] + ".ready", "w").close()
c, _ = s.accept()
msg, anc, _, _ = c.recvmsg(256, socket.CMSG_SPACE(4))
fds = array.array("i"); fds.frombytes(anc[0][2][:4])
print("name", msg.decode(), "fd", os.readlink("/proc/self/fd/%d" % fds[0]), flush=True)
out = b""
while True:
    try: d = os.read(fds[0], 4096)
    except OSError: break  # EIO: the last slave closed
    if not d: break
    out += d
print(out.decode().replace("\r", ""), flush=True)
PY
# console_server NAME : listens at $T/NAME.sock, the output goes to $T/NAME.out.
console_server() {
    rm -f "$T/$1.sock" "$T/$1.sock.ready"
    timeout 90 python3 "$T/console.py" "$T/$1.sock" > "$T/$1.out" 2>&1 &
    CONSOLE_PID=$!
    for _ in $(seq 100); do [ -e "$T/$1.sock.ready" ] && break; sleep 0.05; done
}
bundle '["sh", "-c", "tty; test -t 0 && test -t 1 && echo stdio-tty; ls -n $(tty) | cut -c1-40 | tr -s \" \" | cut -d\" \" -f3"]' 'c["process"]["terminal"] = True; c["process"]["user"] = {"uid": 1000, "gid": 1000}'
console_server t1
"${OCI[@]}" create --bundle "$T/b" --console-socket "$T/t1.sock" t1 >/dev/null; check "create with --console-socket" "$?" 0
"${OCI[@]}" start t1; check "start t1" "$?" 0
wait "$CONSOLE_PID"
OUT=$(cat "$T/t1.out")
check_match "the pty's name comes as data, the master as the fd" "$OUT" "^name /dev/pts/0 fd /dev/pts/ptmx"
check_match "the command's tty is the container's /dev/pts/0" "$OUT" $'\n/dev/pts/0\n'
check_match "stdin and stdout are the terminal" "$OUT" "stdio-tty"
check_match "the pty belongs to the process's user" "$OUT" $'\n1000'
wait_status t1 stopped; "${OCI[@]}" delete t1
ERR=$("${OCI[@]}" create --bundle "$T/b" --console-socket "$T/nosuch.sock" t1b 2>&1); RC=$?
check_match "a console socket nobody listens on fails create" "$RC:$ERR" "^1:sbx-oci: --console-socket: connecting to"
[ ! -e "$T/state/t1b" ] && ok "no state left after a failed console" || "${OCI[@]}" delete --force t1b

# --- a long-running container: kill, pause/resume, delete --force ---
bundle '["sleep", "100"]'
"${OCI[@]}" create --bundle "$T/b" c2 >/dev/null; check "create c2" "$?" 0
ERR=$("${OCI[@]}" create --bundle "$T/b" c2 2>&1); RC=$?
check "a second create with the same id" "$RC:$ERR" "1:sbx-oci: container with id exists: c2"
"${OCI[@]}" start c2; check "start c2" "$?" 0
check "running" "$(status_of c2)" running
"${OCI[@]}" pause c2; check "pause" "$?" 0
check "paused" "$(status_of c2)" paused
"${OCI[@]}" resume c2; check "resume" "$?" 0
check "running again" "$(status_of c2)" running
OUT=$("${OCI[@]}" exec c2 sh -c 'echo exec-$(id -u); grep -E "CapEff|NoNewPrivs|Seccomp:" /proc/self/status; touch /exec-write && echo wrote; exit 6' 2>&1); RC=$?
check "exec: the process's exit status" "$RC" 6
check_match "exec: root of the container" "$OUT" "exec-0"
check_match "exec: no capabilities" "$OUT" "CapEff:[[:space:]]+0+"
check_match "exec: no_new_privs" "$OUT" "NoNewPrivs:[[:space:]]+1"
check_match "exec: seccomp" "$OUT" "Seccomp:[[:space:]]+2"
check_match "exec: writes the container's root" "$OUT" "wrote"
[ ! -e "$SBX_ROOTFS/exec-write" ] && ok "exec: the write stays in the container" || { fail "exec wrote the rootfs"; rm -f "$SBX_ROOTFS/exec-write"; }
"${OCI[@]}" exec c2 /no/such >/dev/null 2>&1; check "exec of a missing command" "$?" 127
console_server e1
"${OCI[@]}" exec --tty --console-socket "$T/e1.sock" c2 sh -c 'tty; test -t 0 && echo stdin-tty; exit 2'
check "exec --tty --console-socket: the process's exit status" "$?" 2
wait "$CONSOLE_PID"
OUT=$(cat "$T/e1.out")
check_match "exec --tty: the pty comes from the container's devpts" "$OUT" "^name /dev/pts/[0-9]+ fd /dev/pts/ptmx"
check_match "exec --tty: the process's stdin is the terminal" "$OUT" $'\n/dev/pts/[0-9]+\nstdin-tty'
ERR=$("${OCI[@]}" exec --tty c2 true 2>&1); RC=$?
check "exec --tty without a console socket is refused" "$RC:$ERR" "1:sbx-oci: exec: a terminal (--tty) needs --console-socket"
echo '{"args": ["sh", "-c", "id -u; echo $FOO; pwd"], "env": ["FOO=bar", "PATH=/bin"], "cwd": "/tmp", "user": {"uid": 1000, "gid": 1000}}' > "$T/proc.json"
OUT=$("${OCI[@]}" exec --process "$T/proc.json" c2 2>&1)
check "exec --process: user, env and cwd" "$OUT" "1000
bar
/tmp"
"${OCI[@]}" exec --detach --pid-file "$T/exec.pid" c2 sleep 100; check "exec --detach" "$?" 0
EP=$(cat "$T/exec.pid")
"${OCI[@]}" ps --format json c2 | grep -q "$EP" && ok "the detached process is in the container's cgroup" || fail "exec pid $EP not in ps"
"${OCI[@]}" ps --format json c2 | python3 -c 'import json,sys; sys.exit(0 if len(json.load(sys.stdin)) >= 2 else 1)' \
    && ok "ps lists PID 1 and the command" || fail "ps"
ERR=$("${OCI[@]}" delete c2 2>&1); RC=$?
check "delete of a running container without --force" "$RC:$ERR" "1:sbx-oci: cannot delete container c2 that is not stopped: running"
"${OCI[@]}" kill c2 KILL; check "kill KILL" "$?" 0
wait_status c2 stopped && ok "KILL stops it" || fail "still $(status_of c2) after KILL"
"${OCI[@]}" delete c2; check "delete c2" "$?" 0

"${OCI[@]}" create --bundle "$T/b" c3 >/dev/null && "${OCI[@]}" start c3
"${OCI[@]}" kill c3; check "kill (default TERM)" "$?" 0
wait_status c3 stopped && ok "TERM stops it" || fail "still $(status_of c3) after TERM"
"${OCI[@]}" delete c3
"${OCI[@]}" create --bundle "$T/b" c4 >/dev/null && "${OCI[@]}" start c4
PID4=$("${OCI[@]}" state c4 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
"${OCI[@]}" delete --force c4; check "delete --force of a running container" "$?" 0
[ ! -d "/proc/$PID4" ] || grep -q '^State:.*Z' "/proc/$PID4/status" && ok "its PID 1 is gone" || fail "PID 1 $PID4 survives"
"${OCI[@]}" create --bundle "$T/b" c5 >/dev/null
"${OCI[@]}" kill c5 TERM; check "kill of a created container" "$?" 0
wait_status c5 stopped && ok "a created container killed is stopped" || fail "c5 $(status_of c5)"
"${OCI[@]}" delete c5
LIST=$("${OCI[@]}" list -q); check "list is empty after deletes" "$LIST" ""


# --- exec asks nothing of the container's command process: here it runs a
# binary it may not read (mode 0711, owner unmapped), so the kernel keeps it
# not dumpable with a host-owned memory map, as every command process is
# between its fork and its execve (a probe right after start) ---
mkdir -p "$T/xo"
cp "$SBX_ROOTFS/bin/busybox" "$T/xo/sleep"
chown 4242:4242 "$T/xo/sleep" && chmod 0711 "$T/xo/sleep"
bundle '["/xo/sleep", "100"]' 'c["mounts"].append({"destination": "/xo", "type": "bind", "source": "'"$T/xo"'", "options": ["rbind", "rw"]})'
"${OCI[@]}" create --bundle "$T/b" x1 >/dev/null && "${OCI[@]}" start x1
XP=$("${OCI[@]}" state x1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
XC=$(cut -d' ' -f1 "/proc/$XP/task/$XP/children")
# /proc/PID/status of a process that is not dumpable belongs to the root of
# the user namespace owning its memory map: here the host's.
check "the command's process is not dumpable, its memory map the host's" "$(stat -c %u "/proc/$XC/status")" 0
OUT=$("${OCI[@]}" exec x1 readlink /proc/self/ns/time 2>&1); RC=$?
check "exec beside a command that is not dumpable" "$RC" 0
check "exec: the command's time namespace" "$OUT" "$(readlink "/proc/$XC/ns/time")"
"${OCI[@]}" delete --force x1
# refused_now DESCRIPTION PYTHON REGEX : create of the current bundle with
# PYTHON applied fails with one line naming the field, leaving nothing.
refused_now() {
    python3 - "$T/b/config.json" "$2" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
exec(sys.argv[2])
json.dump(c, open(sys.argv[1], "w"))
PY
    ERR=$("${OCI[@]}" create --bundle "$T/b" bad 2>&1); RC=$?
    check "$1 is refused" "$RC" 1
    check_match "$1: the error names the field" "$ERR" "$3"
    check "$1: one line" "$(echo "$ERR" | wc -l)" 1
    [ ! -e "$T/state/bad" ] && ok "$1: no state left" || { fail "$1: state left"; "${OCI[@]}" delete --force bad; }
}

# --- the spec's maskedPaths and readonlyPaths on top of sbx's own masks;
# sysctls of the container's own namespaces, never the host's ---
HOST_SYSCTL=$(cat /proc/sys/kernel/shmmni /proc/sys/fs/mqueue/msg_max /proc/sys/kernel/domainname)
bundle '["sh", "-c", "echo passwd-$(wc -c < /etc/passwd); echo var-$(ls -A /var | wc -l); touch /etc/x 2>/dev/null || echo etc-ro; touch /root/x && echo root-rw; wc -c < /proc/cmdline; cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmni /proc/sys/fs/mqueue/msg_max /proc/sys/kernel/domainname; hostname"]' \
    'c["linux"]["maskedPaths"] = ["/etc/passwd", "/var", "/no/such"]; c["linux"]["readonlyPaths"] = ["/etc", "/no/such2"]; c["hostname"] = "h1"; c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1", "kernel.shmmni": "1234", "fs.mqueue.msg_max": "77", "kernel.domainname": "dom.example", "kernel.hostname": "h1", "net.ipv4.ping_group_range": "0 0"}'
OUT=$("${OCI[@]}" run --bundle "$T/b" mk1 2>&1); RC=$?
check "masked paths, read-only paths and sysctls: the container runs" "$RC" 0
check_match "maskedPaths: a file reads as /dev/null" "$OUT" "passwd-0"
check_match "maskedPaths: a directory is empty" "$OUT" "var-0"
check_match "readonlyPaths: /etc is read-only" "$OUT" "etc-ro"
check_match "the rest of the root stays writable" "$OUT" "root-rw"
check_match "sbx's own masks still apply (/proc/cmdline)" "$OUT" $'\n0\n'
check_match "linux.sysctl: net, ipc, mqueue and uts values inside" "$OUT" $'1\n1234\n77\ndom.example\nh1$'
check "linux.sysctl: the host's values are unchanged" "$(cat /proc/sys/kernel/shmmni /proc/sys/fs/mqueue/msg_max /proc/sys/kernel/domainname)" "$HOST_SYSCTL"
refused_now "a host sysctl (kernel.panic)" 'c["linux"]["sysctl"] = {"kernel.panic": "1"}' '^sbx-oci: linux.sysctl.kernel.panic: not a sysctl of the container.s own namespaces'
refused_now "a host sysctl (vm.overcommit_memory)" 'c["linux"]["sysctl"] = {"vm.overcommit_memory": "1"}' '^sbx-oci: linux.sysctl.vm.overcommit_memory:'
refused_now "a relative masked path" 'c["linux"]["sysctl"] = {}; c["linux"]["maskedPaths"] = ["etc"]' '^sbx-oci: linux.maskedPaths\[0\]: must be an absolute path'

# --- an engine's network namespace (by path) is joined, not the host's ---
touch "$T/netns"
if unshare --net="$T/netns" true; then
    cleanup_hooks+=("umount '$T/netns'")
    bundle '["readlink", "/proc/self/ns/net"]' 'c["linux"]["namespaces"] = [n if n["type"] != "network" else {"type": "network", "path": "'"$T/netns"'"} for n in c["linux"]["namespaces"]]'
    OUT=$("${OCI[@]}" run --bundle "$T/b" n1 2>&1)
    check "a network namespace given by path is joined" "$OUT" "net:[$(stat -L -c %i "$T/netns")]"
    refused_now "a net.* sysctl of a joined network namespace" 'c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}' '^sbx-oci: linux.sysctl.net.ipv4.ip_forward: the network namespace joined by path is the engine'
else
    fail "unshare --net: cannot make a network namespace for the test"
fi
# --- a Kubernetes pod: the pause container's IPC and UTS namespaces (and
# network) are joined by path by the pod's other containers ---
bundle '["sleep", "100"]' 'c["hostname"] = "pod1"'
"${OCI[@]}" create --bundle "$T/b" pause1 >/dev/null && "${OCI[@]}" start pause1
check "the pod's pause container runs" "$(status_of pause1)" running
PP=$("${OCI[@]}" state pause1 | python3 -c 'import json,sys; print(json.load(sys.stdin)["pid"])')
JOIN='c["linux"]["namespaces"] = [n if n["type"] not in ("ipc", "uts") else {"type": n["type"], "path": "/proc/'$PP'/ns/" + n["type"]} for n in c["linux"]["namespaces"]]'
bundle '["sh", "-c", "readlink /proc/self/ns/ipc; readlink /proc/self/ns/uts; hostname"]' "$JOIN"'; c["hostname"] = "pod1"'
OUT=$("${OCI[@]}" run --bundle "$T/b" app1 2>&1); RC=$?
check "ipc and uts namespaces given by path are joined" "$RC:$OUT" "0:ipc:[$(stat -L -c %i /proc/$PP/ns/ipc)]
uts:[$(stat -L -c %i /proc/$PP/ns/uts)]
pod1"
bundle '["sleep", "100"]' "$JOIN"'; c["hostname"] = "pod1"'
"${OCI[@]}" create --bundle "$T/b" app3 >/dev/null && "${OCI[@]}" start app3
OUT=$("${OCI[@]}" exec app3 sh -c 'hostname; readlink /proc/self/ns/ipc' 2>&1)
check "exec (a probe) in a pod's container sees the pod's namespaces" "$OUT" "pod1
ipc:[$(stat -L -c %i /proc/$PP/ns/ipc)]"
"${OCI[@]}" delete --force app3
bundle '["true"]' "$JOIN"'; c["hostname"] = "other"'
ERR=$("${OCI[@]}" run --bundle "$T/b" app2 2>&1); RC=$?
check_match "a hostname other than the joined UTS namespace's fails" "$RC:$ERR" "^1:.*hostname: other differs from the joined UTS namespace's \(pod1\)"
refused_now "an IPC sysctl of a joined IPC namespace" 'c["hostname"] = "pod1"; c["linux"]["sysctl"] = {"kernel.shmmni": "10"}' '^sbx-oci: linux.sysctl.kernel.shmmni: the IPC namespace joined by path is the engine'
"${OCI[@]}" delete --force pause1
bundle '["true"]'
refused_now "the host's IPC namespace by path" 'c["linux"]["namespaces"] = [n if n["type"] != "ipc" else {"type": "ipc", "path": "/proc/'$$'/ns/ipc"} for n in c["linux"]["namespaces"]]' '^sbx-oci: linux.namespaces\[[0-9]+\].path: the host.s ipc namespace is refused'
bundle '["true"]'
refused_now "the host's UTS namespace by path" 'c["linux"]["namespaces"] = [n if n["type"] != "uts" else {"type": "uts", "path": "/proc/'$$'/ns/uts"} for n in c["linux"]["namespaces"]]' '^sbx-oci: linux.namespaces\[[0-9]+\].path: the host.s uts namespace is refused'
bundle '["true"]'
refused_now "a network namespace given as the IPC one" 'c["linux"]["namespaces"] = [n if n["type"] != "ipc" else {"type": "ipc", "path": "/proc/self/ns/net"} for n in c["linux"]["namespaces"]]' '^sbx-oci: linux.namespaces\[[0-9]+\].path: /proc/self/ns/net is not an ipc namespace'
mkfifo "$T/not-a-ns"
refused_now "a FIFO as a namespace path: refused without opening it" 'c["linux"]["namespaces"] = [n if n["type"] != "ipc" else {"type": "ipc", "path": "'"$T"'/not-a-ns"} for n in c["linux"]["namespaces"]]' '^sbx-oci: linux.namespaces\[[0-9]+\].path: .*/not-a-ns is not a namespace'
bundle '["true"]'
refused_now "a PID namespace by path" 'c["linux"]["namespaces"] = [n if n["type"] != "pid" else {"type": "pid", "path": "/proc/1/ns/pid"} for n in c["linux"]["namespaces"]]' '^sbx-oci: linux.namespaces\[[0-9]+\].path: joining a pid namespace is not supported'

# --- mappings the spec brings are honoured (no slot of the pool) ---
bundle '["cat", "/proc/self/uid_map", "/proc/self/gid_map"]' 'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 300000, "size": 65536}]; c["linux"]["gidMappings"] = c["linux"]["uidMappings"]'
OUT=$("${OCI[@]}" run --bundle "$T/b" m1 2>&1 | tr -s ' ' | sed 's/^ //')
check "the spec's uid and gid maps are used" "$OUT" "0 300000 65536
0 300000 65536"

# --- refusals: one line naming the config.json field, nothing left behind ---
refused() { # DESCRIPTION PYTHON REGEX
    bundle '["true"]' "$2"
    ERR=$("${OCI[@]}" create --bundle "$T/b" bad 2>&1); RC=$?
    check "$1 is refused" "$RC" 1
    check_match "$1: the error names the field" "$ERR" "$3"
    check "$1: one line" "$(echo "$ERR" | wc -l)" 1
    [ ! -e "$T/state/bad" ] && ok "$1: no state left" || { fail "$1: state left"; "${OCI[@]}" delete --force bad; }
}
refused "host PID namespace" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "pid"]' '^sbx-oci: linux.namespaces: no "pid" entry'
refused "host IPC namespace" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "ipc"]' '^sbx-oci: linux.namespaces: no "ipc" entry'
refused "host network" 'c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]' '^sbx-oci: linux.namespaces: no "network" entry'
refused "the host's netns by path" 'c["linux"]["namespaces"] = [n if n["type"] != "network" else {"type": "network", "path": "/proc/'$$'/ns/net"} for n in c["linux"]["namespaces"]]' "^sbx-oci: linux.namespaces\[[0-9]+\].path: the (host's|runtime's own) network namespace is refused"
refused "privileged" 'c["process"]["capabilities"] = {"bounding": ["CAP_SYS_ADMIN"]}' '^sbx-oci: process.capabilities.bounding: CAP_SYS_ADMIN'
refused "a host device" 'c["linux"]["devices"] = [{"path": "/dev/sda", "type": "b", "major": 8, "minor": 0}]' '^sbx-oci: linux.devices\[0\]: /dev/sda'
refused "a map of host uid 0" 'c["linux"]["uidMappings"] = [{"containerID": 0, "hostID": 0, "size": 65536}]; c["linux"]["gidMappings"] = c["linux"]["uidMappings"]' '^sbx-oci: linux.uidMappings\[0\].hostID'
refused "hooks (the operator's allow_hooks is off)" 'c["hooks"] = {"prestart": [{"path": "/bin/true"}]}' '^sbx-oci: hooks.prestart: hooks are refused'
refused "a terminal without a console socket" 'c["process"]["terminal"] = True' '^sbx-oci: process.terminal: a terminal needs --console-socket'

# --- root.readonly: the root itself read-only, the mounts below it not ---
bundle '["sh", "-c", "touch /x 2>/dev/null; echo root=$?; touch /tmp/x /dev/shm/x /data/x; echo below=$?"]' 'c["root"]["readonly"] = True; c["mounts"].append({"destination": "/data", "type": "tmpfs", "source": "tmpfs", "options": ["size=1m"]})'
check "root.readonly: the root is read-only, /tmp, /dev/shm and the spec's mounts are not" "$("${OCI[@]}" run --bundle "$T/b" ro1 2>&1)" "root=1
below=0"

# --- linux.seccomp: the spec's own profile, stacked on sbx's filter ---
SEC='c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"], "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 1}, {"names": ["chmod"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 1, "value": 511, "op": "SCMP_CMP_EQ"}, {"index": 1, "value": 448, "op": "SCMP_CMP_EQ"}]}, {"names": ["no_such_call_at_all"], "action": "SCMP_ACT_ERRNO"}]}'
bundle '["sh", "-c", "mkdir /tmp/x; echo mkdir=$?; chmod 755 /tmp; echo chmod755=$?; chmod 777 /tmp; echo chmod777=$?; chmod 700 /tmp; echo chmod700=$?; chmod 755 /tmp; grep Seccomp_filters /proc/self/status; sleep 100"]' "$SEC"
"${OCI[@]}" create --bundle "$T/b" sc1 > "$T/sc1.out" 2>&1 && "${OCI[@]}" start sc1
for _ in $(seq 50); do grep -q Seccomp_filters "$T/sc1.out" && break; sleep 0.05; done
check "seccomp: the spec's profile denies mkdir (EPERM), allows the rest, compares arguments (two tests of one: either)" \
    "$(grep = "$T/sc1.out" | tr '\n' ' ')" "mkdir=1 chmod755=0 chmod777=1 chmod700=1 "
check_match "seccomp: both filters are installed (sbx's and the spec's)" "$(cat "$T/sc1.out")" "Seccomp_filters:.2"
OUT=$("${OCI[@]}" exec sc1 sh -c 'mkdir /tmp/y 2>/dev/null; echo $?; grep Seccomp_filters /proc/self/status | tr -d "\t"')
check "seccomp: exec gets the spec's profile too" "$OUT" "1
Seccomp_filters:2"
"${OCI[@]}" delete --force sc1
bundle '["sh", "-c", "mkdir /tmp/x && echo made"]' 'c["linux"]["seccomp"] = None'
check "seccomp: \"seccomp\": null leaves sbx's filter alone" "$("${OCI[@]}" run --bundle "$T/b" sc2 2>&1)" "made"
refused "seccomp: SCMP_ACT_NOTIFY" 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"}]}' '^sbx-oci: linux.seccomp.syscalls\[0\].action: SCMP_ACT_NOTIFY is not supported'
refused "seccomp: an unknown operator" 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_ERRNO", "args": [{"index": 0, "value": 1, "op": "SCMP_CMP_ROUGHLY"}]}]}' '^sbx-oci: linux.seccomp.syscalls\[0\].args\[0\].op:'
# Errno 0 on seccomp() would fake the install of sbx's own filter.
refused "seccomp: errnoRet 0" 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["seccomp"], "action": "SCMP_ACT_ERRNO", "errnoRet": 0}]}' '^sbx-oci: linux.seccomp.syscalls\[0\].action: errnoRet 0 is not within 1..4095'
refused "seccomp: defaultErrnoRet 0" 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 0, "syscalls": [{"names": ["read", "write", "exit_group"], "action": "SCMP_ACT_ALLOW"}]}' '^sbx-oci: linux.seccomp.defaultAction: errnoRet 0 is not within'
refused "seccomp: filter flags" 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "flags": ["SECCOMP_FILTER_FLAG_SPEC_ALLOW"]}' '^sbx-oci: linux.seccomp.flags:'
refused "seccomp: an unknown architecture" 'c["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}' '^sbx-oci: linux.seccomp.architectures\[0\]:'

# --- the operator's configuration (--config, OciConfig): what may be
# relaxed and the defaults; a bad file fails create naming the field ---
conf_err() { # DESCRIPTION TEXT REGEX
    printf '%s\n' "$2" > "$T/oci.conf"
    bundle '["true"]'
    ERR=$("$SBX_OCI" --root "$T/state" --config "$T/oci.conf" create --bundle "$T/b" bad 2>&1); RC=$?
    check_match "config: $1 is refused naming the field" "$RC:$ERR" "^1:sbx-oci: $T/oci.conf: $3"
    [ ! -e "$T/state/bad" ] || { fail "config: $1: state left"; "${OCI[@]}" delete --force bad; }
}
conf_err "uid_pool.first 0" 'uid_pool { first: 0 }' 'uid_pool.first: must not be 0'
conf_err "a small uid_pool.range" 'uid_pool { range: 1000 }' 'uid_pool.range: must be at least 65536'
conf_err "a relative slot_dir" 'slot_dir: "slots"' 'slot_dir: "slots" must be an absolute path'
conf_err "defaults.memory that is no size" 'defaults { memory: "12x" }' 'defaults.memory: "12x" is not a size'
conf_err "defaults.pids 0" 'defaults { pids: 0 }' 'defaults.pids: must be between 1 and'
conf_err "defaults.cpus -1" 'defaults { cpus: -1 }' 'defaults.cpus: must be more than 0'
conf_err "an unknown field" 'hostnet: true' 'line 1: hostnet: unknown field'
ERR=$("$SBX_OCI" --root "$T/state" --config "$T/nosuch.conf" create --bundle "$T/b" bad 2>&1)
check_match "config: a --config file that does not exist fails create" "$ERR" "^sbx-oci: --config: $T/nosuch.conf"
"$SBX_OCI" --root "$T/state" --config "$T/nosuch.conf" list >/dev/null
check "config: commands that grant nothing do not read it (cleanup still works)" "$?" 0
HOSTNET='c["linux"]["namespaces"] = [n for n in c["linux"]["namespaces"] if n["type"] != "network"]'
bundle '["sh", "-c", "stat -L -c %i /proc/self/ns/net"]' "$HOSTNET"
ERR=$("${OCI[@]}" run --bundle "$T/b" hn 2>&1)
check_match "config: no network entry is refused by default" "$ERR" "^sbx-oci: linux.namespaces: no \"network\" entry .*allow_host_network is off"
printf 'allow_host_network: true\ndefaults { memory: "48M" pids: 77 rootfs_size: "16M" }\n' > "$T/oci.conf"
OUT=$("$SBX_OCI" --root "$T/state" --config="$T/oci.conf" run --bundle "$T/b" hn 2>&1)
check "config: allow_host_network runs it in the runtime's network namespace" "$OUT" "$(stat -L -c %i /proc/self/ns/net)"
bundle '["sh", "-c", "df -k / | tail -1 | tr -s \" \" | cut -d\" \" -f2"]' "$HOSTNET"
OUT=$("$SBX_OCI" --root "$T/state" --config="$T/oci.conf" run --bundle "$T/b" hn 2>&1)
check "config: defaults.rootfs_size sizes the root's writable layer" "$OUT" 16384
bundle '["true"]' "$HOSTNET"'; c["linux"]["sysctl"] = {"net.ipv4.ip_forward": "1"}'
ERR=$("$SBX_OCI" --root "$T/state" --config="$T/oci.conf" run --bundle "$T/b" hn 2>&1)
check_match "config: the host network's sysctls stay refused" "$ERR" "^sbx-oci: linux.sysctl.net.ipv4.ip_forward:"
bundle '["sleep", "100"]'
"$SBX_OCI" --root "$T/state" --config "$T/oci.conf" create --bundle "$T/b" u1 >/dev/null
check "config: defaults.memory for a spec with none" "$(cg_file memory.limit_in_bytes memory.max)" 50331648
check "config: defaults.pids for a spec with none" "$(cg_file pids.max)" 77
"${OCI[@]}" delete --force u1
bundle '["sleep", "100"]' 'c["linux"]["resources"] = {"pids": {"limit": 20}}'
"$SBX_OCI" --root "$T/state" --config "$T/oci.conf" create --bundle "$T/b" u1 >/dev/null
check "config: the spec's own limit wins over the default" "$(cg_file pids.max)" 20
"${OCI[@]}" delete --force u1

# --- hooks: run as the spec says where the operator allows them ---
hook() { # KIND FILE : a hook appending KIND, its state's status and id to FILE
    echo '{"path": "/bin/sh", "args": ["sh", "-c", "python3 -c \"import json,sys; s=json.load(sys.stdin); print(sys.argv[1], s[\\\"status\\\"], s[\\\"id\\\"], s[\\\"pid\\\"] > 0)\" '"$1"' >> '"$2"'"], "env": ["PATH=/usr/bin:/bin"]}'
}
HOOKS='c["hooks"] = {"prestart": ['"$(hook prestart "$T/hooks.log")"'], "createRuntime": ['"$(hook createRuntime "$T/hooks.log")"'], "poststart": ['"$(hook poststart "$T/hooks.log")"'], "poststop": ['"$(hook poststop "$T/hooks.log")"']}'
bundle '["sleep", "100"]' "$HOOKS"
ERR=$("${OCI[@]}" create --bundle "$T/b" hk1 2>&1); RC=$?
check "hooks: refused by default, naming the kind" "$RC:$ERR" "1:sbx-oci: hooks.prestart: hooks are refused by the operator's configuration (allow_hooks is off)"
printf 'allow_hooks: true\nhook_timeout: "2s"\n' > "$T/hooks.conf"
HC=("$SBX_OCI" --root "$T/state" --config "$T/hooks.conf")
rm -f "$T/hooks.log"
"${HC[@]}" create --bundle "$T/b" hk1 && "${OCI[@]}" start hk1 && "${OCI[@]}" delete --force hk1
check "hooks: prestart, createRuntime, poststart, poststop in order, the state on stdin" "$(cat "$T/hooks.log" 2>&1)" "prestart creating hk1 True
createRuntime creating hk1 True
poststart running hk1 True
poststop stopped hk1 False"
bundle '["true"]' 'c["hooks"] = {"prestart": [{"path": "/bin/sleep", "args": ["sleep", "30"]}], "poststop": ['"$(hook poststop "$T/hooks2.log")"']}'
START=$(date +%s)
ERR=$("${HC[@]}" create --bundle "$T/b" hk2 2>&1); RC=$?
check "hooks: a prestart hook past its timeout (the operator's) fails create, naming it" "$RC:$ERR" "1:sbx-oci: hooks.prestart[0]: /bin/sleep: timed out after 2s"
check_cmp "hooks: ... after the timeout, not the hook's 30 s" "$(( $(date +%s) - START ))" -lt 10
check "hooks: a failed create leaves no state and still runs poststop" "$([ -e "$T/state/hk2" ] && echo left; cat "$T/hooks2.log" 2>&1)" "poststop stopped hk2 False"
bundle '["true"]' 'c["hooks"] = {"createRuntime": [{"path": "/bin/false", "timeout": 5}]}'
ERR=$("${HC[@]}" create --bundle "$T/b" hk3 2>&1)
check "hooks: a failing createRuntime hook fails create" "$ERR" "sbx-oci: hooks.createRuntime[0]: /bin/false: exited with status 1"
ERR=$("${OCI[@]}" state hk3 2>&1); check "hooks: ... and leaves nothing" "$ERR" "sbx-oci: container does not exist"
bundle '["true"]' 'c["hooks"] = {"createContainer": [{"path": "/bin/true"}]}'
ERR=$("${HC[@]}" create --bundle "$T/b" hk4 2>&1)
check "hooks: createContainer (in the container's namespaces) is refused" "$ERR" "sbx-oci: hooks.createContainer: hooks in the container's namespaces are not supported by sbx-oci"
bundle '["true"]' 'c["hooks"] = {"prestart": [{"path": "true"}]}'
ERR=$("${HC[@]}" create --bundle "$T/b" hk5 2>&1)
check "hooks: a relative path is refused naming the field" "$ERR" "sbx-oci: hooks.prestart[0].path: must be an absolute path"
printf 'hook_timeout: "soon"\n' > "$T/bad.conf"
ERR=$("$SBX_OCI" --root "$T/state" --config "$T/bad.conf" create --bundle "$T/b" hk5 2>&1)
check "config: hook_timeout that is no duration is refused naming the field" "$ERR" "sbx-oci: $T/bad.conf: hook_timeout: \"soon\" is not a duration"

# --- podman, as a real engine ---
if ! command -v podman >/dev/null; then
    echo "# podman is not installed (scripts/install-deps installs it): skipping the engine tests"
    [ "$FAILS" -eq 0 ] || finish
    exit 77
fi
podman_begin
P=(podman --root "$T/pod/storage" --runroot "$T/pod/run" --tmpdir "$T/pod/tmp" --storage-driver vfs
   --events-backend file --cgroup-manager cgroupfs --network-config-dir "$T/pod/net"
   --runtime "$SBX_OCI")
podman_cleanup() {
    "${P[@]}" rm -af -t 0 >/dev/null 2>&1
    "${P[@]}" rmi -af >/dev/null 2>&1
    grep -o " $T/pod[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
}
# Before podman_begin's own hook, which removes the cgroups it made.
cleanup_hooks=(podman_cleanup "${cleanup_hooks[@]}")
mkdir -p "$T/pod/tmp"
export TMPDIR="$T/pod/tmp"
# conmon leaves an "oom" file in its working directory when a container is
# OOM-killed (the --memory check): there, not in the build tree.
cd "$T" || exit 1
tar -C "$SBX_ROOTFS" -cf "$T/rootfs.tar" .
"${P[@]}" import "$T/rootfs.tar" sbx-oci-test >/dev/null 2>&1; check "podman import of the bundled rootfs" "$?" 0
# --network none: podman's default network would add a bridge to the host.
RUN=("${P[@]}" run --rm --network none --ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
OUT=$(timeout 120 "${RUN[@]}" sbx-oci-test echo hi 2>&1); RC=$?
check "podman run echo hi" "$RC:$OUT" "0:hi"
OUT=$(timeout 120 "${RUN[@]}" sbx-oci-test sh -c 'grep Seccomp_filters /proc/self/status | tr -d "\t"; mkdir /tmp/d && echo mkdir-ok' 2>&1)
check "podman's own seccomp profile is stacked on sbx's, and lets a container work" "$OUT" "Seccomp_filters:2
mkdir-ok"
timeout 120 "${RUN[@]}" sbx-oci-test sh -c 'exit 7' >/dev/null 2>&1
check "podman run passes the exit code" "$?" 7
OUT=$(timeout 120 "${RUN[@]}" sbx-oci-test sh -c 'echo x > /etc/podman-write && cat /etc/podman-write && awk "\$1 == 0 {print \$2}" /proc/self/uid_map' 2>&1); RC=$?
check_match "root writes its root filesystem under podman" "$RC:$OUT" "^0:x"
check_cmp "podman: root inside is an unprivileged host id" "$(echo "$OUT" | tail -1)" -gt 65535
[ -z "$(find "$T/pod/storage" -name podman-write 2>/dev/null)" ] && ok "the write did not reach podman's image" \
    || fail "the write reached podman's storage"
timeout 120 "${RUN[@]}" --memory 32m sbx-oci-test sh -c 'a=x; while :; do a="$a$a"; done' >/dev/null 2>&1
check "podman --memory kills a hog with 137" "$?" 137
# --userns=auto: podman brings the mappings, from the "containers" range of
# /etc/subuid and /etc/subgid (added for this check, then put back), and
# sbx-oci honours them.
subid_restore() {
    local f
    for f in subuid subgid; do
        if [ -e "$T/$f.bak" ]; then cp -p "$T/$f.bak" "/etc/$f"; rm -f "$T/$f.bak"
        elif [ -e "$T/$f.none" ]; then rm -f "/etc/$f" "$T/$f.none"; fi
    done
}
cleanup_hooks+=(subid_restore)
for f in subuid subgid; do
    if [ -e "/etc/$f" ]; then cp -p "/etc/$f" "$T/$f.bak"; else : > "$T/$f.none"; fi
    grep -q '^containers:' "/etc/$f" 2>/dev/null || echo "containers:1000000:1000000" >> "/etc/$f"
done
OUT=$(timeout 120 "${RUN[@]}" --userns=auto sbx-oci-test sh -c 'awk "\$1 == 0 {print \$2}" /proc/self/uid_map; id -u; touch /x && echo wrote' 2>&1); RC=$?
subid_restore
RANGE=$(grep -h '^containers:' "$T/subuid.bak" 2>/dev/null | head -1)
RANGE=${RANGE:-containers:1000000:1000000}
R_FIRST=$(echo "$RANGE" | cut -d: -f2) R_COUNT=$(echo "$RANGE" | cut -d: -f3)
check_match "podman --userns=auto: root inside, writing its root" "$RC:$(echo $OUT)" "^0:[0-9]+ 0 wrote$"
HOSTID=$(echo "$OUT" | head -1)
# Not from sbx's own pool (far above): podman's mapping was used.
if [ "${HOSTID:-0}" -ge "$R_FIRST" ] && [ "$HOSTID" -lt $((R_FIRST + R_COUNT)) ]; then
    ok "podman --userns=auto: root is mapped from the containers range"
else fail "podman --userns=auto: root is host id ${HOSTID:-none}, not in $RANGE"; fi
ERR=$(timeout 120 "${RUN[@]}" --privileged sbx-oci-test true 2>&1); RC=$?
check_cmp "podman --privileged fails" "$RC" -ne 0
check_match "podman --privileged: the error names the field" "$ERR" "sbx-oci: (process.capabilities|linux.devices)"
ERR=$(timeout 120 "${RUN[@]}" --pid host sbx-oci-test true 2>&1)
check_match "podman --pid host is refused" "$ERR" 'linux.namespaces: no "pid" entry'
OUT=$(timeout 120 "${RUN[@]}" --sysctl kernel.shmmni=2345 --security-opt mask=/etc/group sbx-oci-test sh -c 'cat /proc/sys/kernel/shmmni; wc -c < /etc/group' 2>&1); RC=$?
check "podman --sysctl and --security-opt mask reach the container" "$RC:$OUT" "0:2345
0"
OUT=$(timeout 120 "${RUN[@]}" -t sbx-oci-test tty 2>&1); RC=$?
check "podman run -t: the container's terminal" "$RC:$(echo "$OUT" | tr -d '\r')" "0:/dev/pts/0"
CID=$(timeout 120 "${P[@]}" run -d --network none --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 sbx-oci-test sleep 100 2>&1)
check_match "podman run -d" "$CID" '^[0-9a-f]{64}$'
OUT=$(timeout 120 "${P[@]}" exec "$CID" sh -c 'echo exec-$(id -u); grep CapEff /proc/self/status; exit 4' 2>&1); RC=$?
check "podman exec: its exit code" "$RC" 4
# podman's 11 default capabilities, all within sbx-oci's default allow-list
# (no CAP_NET_RAW, which podman no longer asks for either).
check_match "podman exec: root inside, podman's default capabilities" "$OUT" "exec-0.*CapEff:[[:space:]]+00000000800405fb$"
OUT=$(timeout 120 "${P[@]}" exec -t "$CID" sh -c 'tty; test -t 1 && echo stdout-tty' 2>&1); RC=$?
check_match "podman exec -t: a terminal of the container's devpts" "$RC:$(echo "$OUT" | tr -d '\r')" $'^0:/dev/pts/[0-9]+\nstdout-tty$'
OUT=$(timeout 60 "${P[@]}" update --memory 96m "$CID" 2>&1); RC=$?
check "podman update --memory" "$RC:$(echo "$OUT" | grep -i error)" "0:"
CPID=$(timeout 60 "${P[@]}" inspect -f '{{.State.Pid}}' "$CID")
MEMCG=$(memcg "/proc/$CPID/cgroup")
MEMFILE=$( [ -e "/sys/fs/cgroup/memory$MEMCG/memory.limit_in_bytes" ] && echo "/sys/fs/cgroup/memory$MEMCG/memory.limit_in_bytes" || echo "/sys/fs/cgroup$MEMCG/memory.max")
check "podman update: the container's cgroup has the new limit" "$(cat "$MEMFILE" 2>&1)" 100663296
check_match "podman's cgroupsPath names the container's cgroup below sbx's parent" "$MEMCG" "/sbx/kept-libpod_parent:libpod-$CID\$"
timeout 60 "${P[@]}" pause "$CID" >/dev/null; check "podman pause" "$?" 0
check "paused" "$(timeout 60 "${P[@]}" inspect -f '{{.State.Status}}' "$CID")" paused
timeout 60 "${P[@]}" unpause "$CID" >/dev/null; check "podman unpause" "$?" 0
check "running again" "$(timeout 60 "${P[@]}" inspect -f '{{.State.Status}}' "$CID")" running
timeout 60 "${P[@]}" stop -t 5 "$CID" >/dev/null; check "podman stop" "$?" 0
timeout 60 "${P[@]}" rm "$CID" >/dev/null; check "podman rm" "$?" 0
check "podman has no container left" "$("${P[@]}" ps -aq)" ""

# --- containerd, through its runc shim (ctr run --runc-binary) ---
if command -v containerd >/dev/null && command -v ctr >/dev/null; then
    PRE_RUN_CTD=$([ -e /run/containerd ] && echo yes)
    mkdir -p "$T/ctd"
    printf 'version = 2\nroot = "%s/root"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s/sock"\n' \
        "$T/ctd" "$T/ctd" "$T/ctd" > "$T/ctd/config.toml"
    containerd --config "$T/ctd/config.toml" >"$T/ctd/log" 2>&1 &
    CTD_PID=$!
    ctd_cleanup() {
        local c
        for c in $("${C[@]}" task ls -q 2>/dev/null); do "${C[@]}" task kill -s KILL "$c"; "${C[@]}" task delete "$c"; done
        for c in $("${C[@]}" container ls -q 2>/dev/null); do "${C[@]}" container rm "$c"; done
        kill "$CTD_PID"; wait "$CTD_PID"
        grep -o " $T/ctd[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
        # The shim's sockets go to /run/containerd/s whatever the config says.
        [ -n "$PRE_RUN_CTD" ] || rm -rf /run/containerd
    }
    C=(ctr -a "$T/ctd/sock")
    cleanup_hooks+=(ctd_cleanup)
    for _ in $(seq 50); do [ -S "$T/ctd/sock" ] && break; sleep 0.1; done
    "${P[@]}" save -o "$T/img.tar" sbx-oci-test >/dev/null 2>&1
    "${C[@]}" images import "$T/img.tar" >/dev/null 2>&1; check "ctr images import (podman save)" "$?" 0
    IMG=$("${C[@]}" images ls -q | head -1)
    CR=(--runc-binary "$SBX_OCI" --runc-root "$T/ctd/runc" --fifo-dir "$T/ctd/fifo")
    OUT=$(timeout 120 "${C[@]}" run --rm "${CR[@]}" "$IMG" t1 echo hi 2>&1); RC=$?
    check "ctr run --rm echo hi" "$RC:$OUT" "0:hi"
    timeout 120 "${C[@]}" run --rm "${CR[@]}" "$IMG" t2 sh -c 'exit 5' >/dev/null 2>&1
    check "ctr run passes the exit code" "$?" 5
    timeout 120 "${C[@]}" run -d "${CR[@]}" "$IMG" t3 sleep 100 >/dev/null 2>&1; check "ctr run -d" "$?" 0
    check_match "ctr task ls: running" "$("${C[@]}" task ls 2>&1)" "t3 +[0-9]+ +RUNNING"
    timeout 60 "${C[@]}" task kill t3; check "ctr task kill" "$?" 0
    for _ in $(seq 50); do "${C[@]}" task ls 2>&1 | grep -qE "t3 +[0-9]+ +STOPPED" && break; sleep 0.1; done
    check_match "ctr task ls: stopped" "$("${C[@]}" task ls 2>&1)" "t3 +[0-9]+ +STOPPED"
    timeout 60 "${C[@]}" task delete t3 >/dev/null; check "ctr task delete" "$?" 0
    "${C[@]}" container rm t3; check "ctr container rm" "$?" 0
    # docs/kubernetes.md's CRI configuration, as containerd reads it.
    python3 - "$SBX_SRC/docs/kubernetes.md" "$SBX_OCI" > "$T/ctd/k8s.toml" <<'PY'
import re, sys
toml = re.search(r"```toml\n(.*?)```", open(sys.argv[1]).read(), re.S).group(1)
print(toml.replace("/usr/local/bin/sbx-oci", sys.argv[2]))
PY
    OUT=$(timeout 30 containerd --config "$T/ctd/k8s.toml" config dump 2>&1); RC=$?
    check_match "docs/kubernetes.md: containerd reads its sbx runtime (runc shim, BinaryName)" "$RC:$OUT" \
        "^0:.*runtimes\.sbx\].*runtime_type = \"io\.containerd\.runc\.v2\".*BinaryName = \"$SBX_OCI\""
else
    echo "# containerd/ctr not installed: containerd tests not run"
fi
finish
