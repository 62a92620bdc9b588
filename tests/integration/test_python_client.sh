#!/bin/bash
# The Python client is a package (client/python, pyproject.toml) that the
# build lays out complete in build/python, generated message modules
# included; Debian's python3 with python3-protobuf imports it as it is.
# (test_daemon.sh runs jobs through it.)
. "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
PKG=$SBX_BUILD/python
OUT=$(cd "$T" && PYTHONPATH=$PKG $PY -c 'import sbx_client as s; print(s.Client.__name__, s.sandboxd_pb2.Request.DESCRIPTOR.full_name, s.make_policy(["/bin/true"]).command)' 2>&1)
check "imports from build/python with Debian's python3-protobuf" "$OUT" "Client sbx.v1.Request /bin/true"
OUT=$(cd "$T" && PYTHONPATH=$PKG $PY -m sbx_client --help 2>&1)
check_match "python3 -m sbx_client" "$OUT" 'usage: .*--socket'
OUT=$($PY -c 'import sys, tomllib; p = tomllib.load(open(sys.argv[1], "rb")); print(p["project"]["name"], p["tool"]["setuptools"]["packages"])' "$PKG/pyproject.toml" 2>&1)
check "pyproject.toml names the package" "$OUT" "sbx-client ['sbx_client']"
# Without the protobuf module (no site-packages: -S), the error says what to install.
OUT=$(cd "$T" && PYTHONPATH=$PKG $PY -S -c 'import sbx_client' 2>&1)
check_match "a missing protobuf module is named with its Debian package" "$OUT" 'apt-get install python3-protobuf'

# --- warm pools and sessions through the library, on a daemon of its own ---
. "$(dirname "$0")/daemon_lib.sh"
cat > "$T/sandboxd.conf" <<CONF
max_concurrent: 2
warm_pool { name: "py" size: 1 policy { limits { memory: "64M" } } }
CONF
start_daemon || exit 1
D0=$DPID
cleanup_hooks+=('find /sys/fs/cgroup -mindepth 2 -maxdepth 12 -depth -type d -path "*/job-*-$D0-*" -exec rmdir {} + 2>/dev/null')
cat > "$T/warm.py" <<'PY'
import sys
from sbx_client import Client, SandboxdError, make_policy, sandbox_pb2
from sbx_client import sandboxd_pb2 as pb
out = []
with Client(sys.argv[1]) as c:
    info = c.run(make_policy(["/bin/sh", "-c", "echo hi; exit 3"], capture=True), pool="py")
    out.append("pool:%d:%s:%s" % (info.exit_status, info.result.stdout.decode().strip(),
                                 sandbox_pb2.JobResult.Status.Name(info.result.status)))
    try:
        c.run(make_policy(["/bin/true"]), pool="nosuch")
    except SandboxdError as e:
        out.append("nosuch:" + e.code)
    try:
        p = make_policy(["/bin/true"])
        p.hostname = "other"
        c.run(p, pool="py")
    except SandboxdError as e:
        out.append("hostname:%s" % ("hostname" in e.message))
    sid = c.session_create(name="pys", idle_timeout="30s", memory="64M")
    out.append("session:%s" % (sid > 0))
    r1 = c.session_run(sid, "/bin/sh", ["-c", "echo kept > /tmp/f"])
    r2 = c.session_run(sid, "/bin/cat", ["/tmp/f"], capture=True)
    out.append("runs:%d:%d:%s" % (r1.exit_status, r2.exit_status, r2.result.stdout.decode().strip()))
    r3 = c.session_run(sid, "/bin/sh", ["-c", "while :; do :; done"], cpu_time="0.2")
    out.append("tle:%d:%s" % (r3.exit_status, sandbox_pb2.JobResult.Status.Name(r3.result.status)))
    r4 = c.session_run(sid, "/bin/sh", ["-c", "echo $A $(pwd)"], env=["A=b"], cwd="/tmp",
                       stdin=b"", capture=True)
    out.append("after:%s" % r4.result.stdout.decode().strip())
    try:
        c.session_run(sid, "/bin/true", memory="128M")
    except SandboxdError as e:
        out.append("over:%s:%s" % (e.code, "limits.memory" in e.message))
    s = [j for j in c.list() if j.job_id == sid][0]
    out.append("listed:%s:%d" % (s.session, s.runs))
    c.session_remove(sid)
    try:
        c.session_run(sid, "/bin/true")
    except SandboxdError as e:
        out.append("removed:" + e.code)
print(" ".join(out))
PY
check "python: run(pool=), session_create, session_run, session_remove" "$("$PY" "$T/warm.py" "$SOCK" 2>&1)" \
    "pool:3:hi:EXITED nosuch:NOT_FOUND hostname:True session:True runs:0:0:kept tle:137:TIME_LIMIT_EXCEEDED after:b /tmp over:OVER_CAP:True listed:True:4 removed:NOT_FOUND"
check_match "python -m sbx_client run --pool" "$("${PYCLIENT[@]}" run --pool py --capture -- /bin/echo warm)" '"status": "EXITED"'
stop_daemon
finish
