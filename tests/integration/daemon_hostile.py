#!/usr/bin/python3
"""Hostile and malformed frames against a running sandboxd, for
test_daemon.sh. Each case prints one line "CASE: WHAT HAPPENED"; the
shell test compares them. Needs the sbx_client package (build/python) on PYTHONPATH."""
import os
import socket
import struct
import sys
import time

from sbx_client import sandboxd_pb2 as pb

SOCK = sys.argv[1]


def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.settimeout(10)
    return s


def read_frame(s):
    """The next response, or "EOF" when the daemon closed the connection."""
    hdr = b""
    while len(hdr) < 4:
        try:
            c = s.recv(4 - len(hdr))
        except ConnectionResetError:
            return "EOF"
        if not c:
            return "EOF"
        hdr += c
    (n,) = struct.unpack(">I", hdr)
    body = b""
    while len(body) < n:
        c = s.recv(n - len(body))
        if not c:
            return "EOF"
        body += c
    return pb.Response.FromString(body)


def describe(r):
    if r == "EOF":
        return "EOF"
    if r.HasField("error"):
        return pb.Error.Code.Name(r.error.code)
    return r.WhichOneof("body")


def frame(b):
    return struct.pack(">I", len(b)) + b


def health_frame(rid=7):
    return frame(pb.Request(id=rid, health=pb.HealthRequest()).SerializeToString())


def case(name, fn):
    try:
        print("%s: %s" % (name, fn()), flush=True)
    except Exception as e:  # noqa: BLE001 - the line says what broke
        print("%s: exception %r" % (name, e), flush=True)


def oversize():
    s = conn()
    s.sendall(struct.pack(">I", 0x7FFFFFFF) + b"x" * 16)
    return "%s then %s" % (describe(read_frame(s)), describe(read_frame(s)))


def truncated():
    s = conn()
    s.sendall(struct.pack(">I", 100) + b"y" * 10)
    s.shutdown(socket.SHUT_WR)
    return describe(read_frame(s))


def garbage():
    s = conn()
    s.sendall(frame(b"\xff\xff\xff\xff\xff"))
    first = describe(read_frame(s))
    s.sendall(health_frame())
    return "%s then %s" % (first, describe(read_frame(s)))


def unknown_op():
    s = conn()
    # Field 99, varint 1: an operation from a future protocol.
    s.sendall(frame(b"\x08\x05" + b"\x98\x06\x01"))
    return describe(read_frame(s))


def bad_version():
    s = conn()
    s.sendall(frame(pb.Request(id=1, version=2, health=pb.HealthRequest()).SerializeToString()))
    return describe(read_frame(s))


def missing_fds():
    s = conn()
    jr = pb.JobRequest(stdio_fds=7)
    jr.policy.command = "/bin/true"
    s.sendall(frame(pb.Request(id=1, run=jr).SerializeToString()))
    r = read_frame(s)
    return "%s %s" % (describe(r), "names-field" if r != "EOF" and "stdio_fds" in r.error.message else "")


def too_many_fds():
    s = conn()
    fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(6)]
    socket.send_fds(s, [health_frame()], fds)
    return " ".join(describe(read_frame(s)) for _ in range(2))


def directory_fd():
    s = conn()
    jr = pb.JobRequest(stdio_fds=1)
    jr.policy.command = "/bin/true"
    d = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
    socket.send_fds(s, [frame(pb.Request(id=1, run=jr).SerializeToString())], [d])
    r = read_frame(s)
    return "%s %s" % (describe(r), r.error.message if r != "EOF" else "")


def missing_job():
    s = conn()
    s.sendall(frame(pb.Request(id=3, wait=pb.WaitRequest(job_id=999999)).SerializeToString()))
    return describe(read_frame(s))


def no_job_id():
    s = conn()
    s.sendall(frame(pb.Request(id=3, kill=pb.KillRequest()).SerializeToString()))
    r = read_frame(s)
    return "%s %s" % (describe(r), r.error.message if r != "EOF" else "")


def stall():
    """Half a frame, then silence: closed after stall_timeout, while another
    client is served meanwhile."""
    s = conn()
    s.sendall(struct.pack(">I", 50) + b"z" * 5)
    other = conn()
    other.sendall(health_frame())
    served = describe(read_frame(other))
    t0 = time.time()
    r = read_frame(s)
    first = describe(r)
    if r != "EOF":
        r = read_frame(s)
    return "other %s; stalled %s then %s after %.0fs" % (served, first, describe(r),
                                                         time.time() - t0 + 0.4)


for name, fn in [("oversize", oversize), ("truncated", truncated), ("garbage", garbage),
                 ("unknown_op", unknown_op), ("bad_version", bad_version),
                 ("missing_fds", missing_fds), ("too_many_fds", too_many_fds), ("directory_fd", directory_fd),
                 ("missing_job", missing_job), ("no_job_id", no_job_id), ("stall", stall)]:
    case(name, fn)
