#!/usr/bin/env python3
"""Builds container images for the tests without a registry or podman: a
Docker archive (as docker/podman save writes), an OCI image layout directory
(as skopeo copy oci:DIR writes) or an OCI archive, from layers given as
directories or tar files, bottom first.

  mkimage.py FORMAT OUT --name NAME [--gzip] [--env K=V] [--cmd ARG]...
             [--entrypoint ARG]... [--workdir DIR] [--user U]
             [--bad-diff-id N] [--bad-blob N] LAYER...

FORMAT is docker, oci-dir or oci-archive. A LAYER is a directory (packed as
is, owners root) or a .tar file (used as is). --bad-diff-id N writes a wrong
diff_id for layer N; --bad-blob N flips a byte of layer N's blob after its
digest was taken (both must make sbx refuse the image).

  mkimage.py evil KIND OUT.tar   writes a hostile layer (see evil())."""
import argparse
import gzip
import hashlib
import io
import json
import os
import sys
import tarfile


def pack_dir(d):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
        for root, dirs, files in os.walk(d):
            dirs.sort()
            for name in sorted(dirs) + sorted(files):
                full = os.path.join(root, name)
                arc = os.path.relpath(full, d)
                ti = t.gettarinfo(full, arc)
                ti.uid = ti.gid = 0
                ti.uname = ti.gname = "root"
                if ti.isfile():
                    with open(full, "rb") as f:
                        t.addfile(ti, f)
                else:
                    t.addfile(ti)
    return buf.getvalue()


def sha(b):
    return hashlib.sha256(b).hexdigest()


def evil(kind, out):
    """A layer tar that tries one way out of its directory, or one thing a
    layer must not carry."""
    buf = io.BytesIO()
    t = tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT)

    def add(name, type=tarfile.REGTYPE, data=b"x", **kw):
        ti = tarfile.TarInfo(name)
        ti.type = type
        ti.mode = kw.get("mode", 0o644)
        for k in ("linkname", "devmajor", "devminor"):
            if k in kw:
                setattr(ti, k, kw[k])
        if type == tarfile.REGTYPE:
            ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        else:
            t.addfile(ti)

    add("ok", data=b"fine")
    if kind == "traversal":
        add("../../../../tmp/sbx-escaped")
    elif kind == "traversal-middle":
        add("a/../../sbx-escaped")
    elif kind == "symlink-dir":
        add("link", tarfile.SYMTYPE, linkname="/tmp")
        add("link/sbx-escaped")
    elif kind == "symlink-dotdot":
        add("up", tarfile.SYMTYPE, linkname="../../../../../../tmp")
        add("up/sbx-escaped")
    elif kind == "hardlink-out":
        add("h", tarfile.LNKTYPE, linkname="../../../../etc/passwd")
    elif kind == "hardlink-missing":
        add("h", tarfile.LNKTYPE, linkname="/etc/shadow")
    elif kind == "device":
        add("dev/mem", tarfile.CHRTYPE, devmajor=1, devminor=1)
    elif kind == "whiteout-dev":
        add("fake-whiteout", tarfile.CHRTYPE, devmajor=0, devminor=0)
    elif kind == "blockdev":
        add("sda", tarfile.BLKTYPE, devmajor=8, devminor=0)
    elif kind == "big":
        add("big", data=b"\0" * (3 << 20))
    elif kind == "setuid":
        add("suid", data=b"#!/bin/sh\n", mode=0o4755)
    elif kind == "absolute":
        add("/abs/file", data=b"abs")
    else:
        raise SystemExit("unknown kind " + kind)
    t.close()
    with open(out, "wb") as f:
        f.write(buf.getvalue())


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "evil":
        return evil(sys.argv[2], sys.argv[3])
    ap = argparse.ArgumentParser()
    ap.add_argument("format", choices=["docker", "oci-dir", "oci-archive"])
    ap.add_argument("out")
    ap.add_argument("--name", default=None)
    ap.add_argument("--gzip", action="store_true")
    ap.add_argument("--env", action="append", default=[])
    ap.add_argument("--cmd", action="append", default=None)
    ap.add_argument("--entrypoint", action="append", default=None)
    ap.add_argument("--workdir", default=None)
    ap.add_argument("--user", default=None)
    ap.add_argument("--bad-diff-id", type=int, default=-1)
    ap.add_argument("--bad-blob", type=int, default=-1)
    ap.add_argument("layers", nargs="+")
    a = ap.parse_args()

    tars = []
    for l in a.layers:
        if os.path.isdir(l):
            tars.append(pack_dir(l))
        else:
            with open(l, "rb") as f:
                tars.append(f.read())
    diff_ids = ["sha256:" + sha(t) for t in tars]
    for i in range(len(diff_ids)):
        if i == a.bad_diff_id:
            diff_ids[i] = "sha256:" + sha(b"not this layer")
    blobs = [gzip.compress(t, mtime=0) if a.gzip and a.format != "docker" else t for t in tars]
    cfg = {"Env": a.env or ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]}
    if a.cmd is not None:
        cfg["Cmd"] = a.cmd
    if a.entrypoint is not None:
        cfg["Entrypoint"] = a.entrypoint
    if a.workdir:
        cfg["WorkingDir"] = a.workdir
    if a.user:
        cfg["User"] = a.user
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": cfg,
                         "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
    digests = [sha(b) for b in blobs]
    for i in range(len(blobs)):
        if i == a.bad_blob:
            b = bytearray(blobs[i])
            b[len(b) // 2] ^= 0xFF
            blobs[i] = bytes(b)

    files = {}  # path in the image -> bytes
    if a.format == "docker":
        chex = sha(config)
        files[chex + ".json"] = config
        paths = []
        for i, b in enumerate(blobs):
            p = "%s/layer.tar" % sha(tars[i])[:60]
            files[p] = b
            paths.append(p)
        entry = {"Config": chex + ".json", "Layers": paths}
        if a.name:
            entry["RepoTags"] = [a.name]
        files["manifest.json"] = json.dumps([entry]).encode()
    else:
        mt = "application/vnd.oci.image.layer.v1.tar" + ("+gzip" if a.gzip else "")
        files["blobs/sha256/" + sha(config)] = config
        for d, b in zip(digests, blobs):
            files["blobs/sha256/" + d] = b
        manifest = json.dumps({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": "sha256:" + sha(config), "size": len(config)},
            "layers": [{"mediaType": mt, "digest": "sha256:" + d, "size": len(b)}
                       for d, b in zip(digests, blobs)],
        }).encode()
        files["blobs/sha256/" + sha(manifest)] = manifest
        desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": "sha256:" + sha(manifest), "size": len(manifest)}
        if a.name:
            desc["annotations"] = {"org.opencontainers.image.ref.name": a.name}
        files["index.json"] = json.dumps({"schemaVersion": 2, "manifests": [desc]}).encode()
        files["oci-layout"] = b'{"imageLayoutVersion": "1.0.0"}'

    if a.format == "oci-dir":
        for p, b in files.items():
            full = os.path.join(a.out, p)
            os.makedirs(os.path.dirname(full), exist_ok=True)
            with open(full, "wb") as f:
                f.write(b)
    else:
        with tarfile.open(a.out, "w") as t:
            for p, b in sorted(files.items()):
                ti = tarfile.TarInfo(p)
                ti.size = len(b)
                t.addfile(ti, io.BytesIO(b))


if __name__ == "__main__":
    sys.exit(main())
