"""A sandboxd client in Python: the wire protocol of policy/sandboxd.proto,
with no code of its own for the messages (the sandbox_pb2 and sandboxd_pb2
modules beside this one are generated from the project's .proto files by
the CMake build, into build/python/sbx_client/).

As a program (from a build, or after pip install build/python):

    PYTHONPATH=build/python python3 -m sbx_client --socket S run -- /bin/echo hi

As a library:

    from sbx_client import Client, make_policy
    c = Client("/run/sbx/sandboxd.sock")
    info = c.run(make_policy(["/bin/cat"], stdin=b"hi", capture=True))
    info.result.stdout  # b"hi"

Warm pools and sessions (README.md, "Warm pools and sessions"):

    c.run(make_policy(["/bin/true"]), pool="judge")   # a ready sandbox of pool judge
    sid = c.session_create(memory="256M")              # one sandbox, many runs
    c.session_run(sid, "/bin/sh", ["-c", "cc -o /tmp/a a.c"]).exit_status
    c.session_run(sid, "/tmp/a", stdin=b"1 2", capture=True, cpu_time="1s").result
    c.session_remove(sid)
"""
import argparse
import json
import os
import socket
import struct
import sys

try:
    from google.protobuf import json_format
    from . import sandbox_pb2
    from . import sandboxd_pb2 as pb
except ImportError as e:  # say what is missing, not only where
    raise ImportError(
        "sbx_client needs the protobuf module (Debian: apt-get install python3-protobuf) and "
        "its generated sandbox_pb2/sandboxd_pb2 modules (built by CMake into build/python; "
        "use PYTHONPATH=build/python or pip install build/python): %s" % e) from e

PROTOCOL_VERSION = 1
MAX_RESPONSE = 1 << 30


class SandboxdError(Exception):
    """The daemon answered with an Error: code is its Error.Code name."""

    def __init__(self, code, message):
        super().__init__("%s: %s" % (code, message))
        self.code = code
        self.message = message


class Client:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self._next_id = 1

    def close(self):
        self.sock.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- framing: 4-byte big-endian length, then the message --
    def send(self, req, fds=()):
        req.id = self._next_id
        req.version = PROTOCOL_VERSION
        self._next_id += 1
        data = req.SerializeToString()
        frame = struct.pack(">I", len(data)) + data
        sent = 0
        if fds:
            # The fds ride on the frame's first byte.
            sent = socket.send_fds(self.sock, [frame], list(fds))
        if sent < len(frame):
            self.sock.sendall(frame[sent:])
        return req.id

    def _read(self, n):
        buf = bytearray()
        while len(buf) < n:
            chunk = self.sock.recv(n - len(buf))
            if not chunk:
                raise ConnectionError("sandboxd closed the connection")
            buf += chunk
        return bytes(buf)

    def recv(self):
        (n,) = struct.unpack(">I", self._read(4))
        if n > MAX_RESPONSE:
            raise ConnectionError("sandboxd sent a frame of %d bytes" % n)
        return pb.Response.FromString(self._read(n))

    def call(self, req, fds=()):
        rid = self.send(req, fds)
        while True:
            resp = self.recv()
            if resp.id not in (rid, 0):
                continue
            if resp.HasField("error"):
                raise SandboxdError(pb.Error.Code.Name(resp.error.code), resp.error.message)
            return resp

    # -- operations --
    def _job_request(self, policy, detached=False, name=None, stdio=None, pool=None,
                     session_id=None):
        jr = pb.JobRequest(policy=policy, detached=detached)
        if name:
            jr.name = name
        if pool:
            jr.pool = pool
        if session_id:
            jr.session_id = session_id
        fds = []
        if stdio:
            # stdio: {0: fd, 1: fd, 2: fd}, any subset
            bits = 0
            for i in (0, 1, 2):
                if i in stdio:
                    bits |= 1 << i
                    fds.append(stdio[i])
            jr.stdio_fds = bits
        return jr, fds

    def run(self, policy, stdio=None, name=None, pool=None):
        """Runs a job and returns its JobInfo (info.result, info.exit_status).
        pool: take a ready sandbox of that warm pool (the policy may then set
        only command, args, env, cwd, stdio and limits that narrow the
        pool's); an empty pool means a cold start (info.warm is False)."""
        jr, fds = self._job_request(policy, False, name, stdio, pool)
        return self.call(pb.Request(run=jr), fds).job

    def submit(self, policy, detached=False, stdio=None, name=None, pool=None):
        jr, fds = self._job_request(policy, detached, name, stdio, pool)
        return self.call(pb.Request(submit=jr), fds).job.job_id

    # -- sessions: one sandbox, many runs --
    def session_create(self, policy=None, name=None, idle_timeout=None, max_lifetime=None,
                       **limits):
        """Builds a session and returns its id once its sandbox is ready.
        policy: a JobPolicy without a command (default: every default);
        limits: Limits fields set on it (memory="256M", pids=64, ...), the
        most any run may have. idle_timeout, max_lifetime: durations ("30s")."""
        p = sandbox_pb2.JobPolicy()
        if policy is not None:
            p.CopyFrom(policy)
        for k, v in limits.items():
            setattr(p.limits, k, v)
        sr = pb.SessionRequest(policy=p)
        if name:
            sr.name = name
        if idle_timeout:
            sr.idle_timeout = idle_timeout
        if max_lifetime:
            sr.max_lifetime = max_lifetime
        return self.call(pb.Request(session_create=sr)).job.job_id

    def session_run(self, session_id, command, args=(), stdio=None, stdin=None, capture=False,
                    env=None, cwd=None, name=None, **limits):
        """Runs command in the session and returns its JobInfo, answered as
        run's (info.result, info.exit_status). Only per-run fields: env
        (["K=V", ...]), cwd, stdin bytes, capture, stdio fds, and limits that
        narrow the session's (cpu_time="1s", memory="64M", pids=8, ...)."""
        p = make_policy([command] + list(args), stdin=stdin, capture=capture, **limits)
        if env:
            p.env.extend(env)
        if cwd:
            p.cwd = cwd
        jr, fds = self._job_request(p, False, name, stdio, session_id=session_id)
        return self.call(pb.Request(run=jr), fds).job

    def session_remove(self, session_id):
        """Tears the session down (a run in progress is killed)."""
        return self.call(pb.Request(session_remove=pb.JobRef(job_id=session_id))).job

    def wait(self, job_id, remove=False):
        return self.call(pb.Request(wait=pb.WaitRequest(job_id=job_id, remove=remove))).job

    def list(self, all_users=False):
        return list(self.call(pb.Request(list=pb.ListRequest(all_users=all_users))).jobs.jobs)

    def inspect(self, job_id):
        return self.call(pb.Request(inspect=pb.JobRef(job_id=job_id))).job

    def kill(self, job_id, signal=9):
        return self.call(pb.Request(kill=pb.KillRequest(job_id=job_id, signal=signal))).job

    def pause(self, job_id):
        return self.call(pb.Request(pause=pb.JobRef(job_id=job_id))).job

    def resume(self, job_id):
        return self.call(pb.Request(resume=pb.JobRef(job_id=job_id))).job

    def remove(self, job_id):
        return self.call(pb.Request(remove=pb.JobRef(job_id=job_id))).job

    def health(self):
        return self.call(pb.Request(health=pb.HealthRequest())).health


def make_policy(argv, stdin=None, capture=False, image=None, **limits):
    """A JobPolicy for argv; limits are Limits fields (memory="64M", ...).
    image: an image of the daemon's store (NAME[:TAG], NAME@sha256:HEX or an
    id prefix), whose Entrypoint+Cmd run when argv is empty."""
    if not argv and not image:
        raise ValueError("make_policy: argv is empty and no image gives a command")
    p = sandbox_pb2.JobPolicy()
    if argv:
        p.command = argv[0]
        p.args.extend(argv[1:])
    if image:
        p.image = image
    if stdin is not None:
        p.stdio.stdin_data = stdin
    if capture:
        p.stdio.capture = True
    for k, v in limits.items():
        setattr(p.limits, k, v)
    return p


def to_json(msg):
    return json_format.MessageToJson(msg, preserving_proto_field_name=True, indent=None,
                                     including_default_value_fields=True)


def main():
    ap = argparse.ArgumentParser(description="sandboxd client (Python example)")
    ap.add_argument("--socket", default=os.environ.get("SBX_SOCKET", "/run/sbx/sandboxd.sock"))
    sub = ap.add_subparsers(dest="op", required=True)
    r = sub.add_parser("run", help="run a job; print its result as JSON")
    r.add_argument("--stdin-data", help="bytes for the job's stdin")
    r.add_argument("--capture", action="store_true", help="capture stdout and stderr")
    r.add_argument("--attach", action="store_true", help="hand the job this process's stdio")
    r.add_argument("--memory")
    r.add_argument("--wall-time")
    r.add_argument("--output")
    r.add_argument("--image", help="run on an image of the daemon's store")
    r.add_argument("--pool", help="take a ready sandbox of this warm pool")
    r.add_argument("argv", nargs=argparse.REMAINDER)
    sub.add_parser("health", help="print the daemon's health as JSON")
    sub.add_parser("ps", help="list jobs as JSON")
    a = ap.parse_args()

    with Client(a.socket) as c:
        try:
            if a.op == "health":
                print(to_json(c.health()))
                return 0
            if a.op == "ps":
                print(json.dumps([json.loads(to_json(j)) for j in c.list()]))
                return 0
            argv = a.argv[1:] if a.argv and a.argv[0] == "--" else a.argv
            if not argv and not a.image:
                ap.error("run: COMMAND missing (or --image, for its Cmd)")
            limits = {k: v for k, v in (("memory", a.memory), ("wall_time", a.wall_time),
                                        ("output", a.output)) if v}
            stdin = a.stdin_data.encode() if a.stdin_data is not None else None
            pol = make_policy(argv, stdin=stdin, capture=a.capture, image=a.image, **limits)
            info = c.run(pol, stdio={0: 0, 1: 1, 2: 2} if a.attach else None, pool=a.pool)
            print(to_json(info.result))
            return info.exit_status
        except SandboxdError as e:
            print("sbx_client: %s" % e, file=sys.stderr)
            return 125
