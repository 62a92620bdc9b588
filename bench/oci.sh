#!/bin/bash
# bench/oci.sh - sbx-oci against runc, in ONE run, the rows taking turns:
#   podman-sbx   podman run --rm IMAGE true, --runtime build/sbx-oci
#   podman-runc  the same with runc
#   ctr-sbx      ctr run --rm IMAGE ID true through containerd's runc shim
#                with --runc-binary build/sbx-oci
#   ctr-runc     the same with runc
#   cs-sbx       `sbx-oci create` + `sbx-oci start` alone (a bundle of the
#                bundled rootfs, the runtime's own default config.json;
#                timed until start returns, delete after, untimed)
#   cs-runc      `runc create` + `runc start` the same way
# The image is build/rootfs (podman import; podman save for containerd).
# podman runs on private vfs storage with --network none (no bridge on the
# host) and the cgroupfs manager; containerd is a private instance (root,
# state, socket in WORK; CRI off). runc's cgroups go below the calling
# shell's own cgroup (relative cgroupsPath) except podman's libpod_parent,
# which podman makes itself and which is removed after if it was not there.
# Everything runs in a private mount namespace of its own.
#
# Metrics per row: median and p90 wall time over RUNS*ROUNDS runs
# (hyperfine for the engine rows, a Python loop for create+start).
# env: BUILD (./build)  ROUNDS (3)  RUNS (10 per row per round)  WORK (/tmp/sbx-bench-oci)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$SRC/build}
ROUNDS=${ROUNDS:-3}
RUNS=${RUNS:-10}
WORK=${WORK:-/tmp/sbx-bench-oci}
[ "$(id -u)" = 0 ] || { echo "bench/oci.sh: run as root" >&2; exit 1; }
# The engines' mounts (overlays, shm, netns) stay out of the host's table.
if [ -z "${SBX_BENCH_PRIVATE_NS:-}" ]; then
    exec unshare --mount --propagation private env SBX_BENCH_PRIVATE_NS=1 "$0" "$@"
fi
OCI=$BUILD/sbx-oci
RUNC=$(command -v runc) || { echo "bench/oci.sh: runc is not installed" >&2; exit 1; }
for t in podman containerd ctr hyperfine; do
    command -v $t >/dev/null || { echo "bench/oci.sh: $t is not installed" >&2; exit 1; }
done
[ -x "$OCI" ] || { echo "bench/oci.sh: build $OCI first" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK/pod/tmp" "$WORK/ctd" "$WORK/res"
export TMPDIR=$WORK/pod/tmp
PRE_CG=$(ls -d /sys/fs/cgroup/*/libpod_parent 2>/dev/null)
PRE_RUN_CTD=$([ -e /run/containerd ] && echo yes)
CTD_PID=
cleanup() {
    local c
    if [ -n "$CTD_PID" ]; then
        for c in $(ctr -a "$WORK/ctd/sock" task ls -q 2>/dev/null); do ctr -a "$WORK/ctd/sock" task kill -s KILL "$c"; ctr -a "$WORK/ctd/sock" task delete "$c"; done >/dev/null 2>&1
        for c in $(ctr -a "$WORK/ctd/sock" container ls -q 2>/dev/null); do ctr -a "$WORK/ctd/sock" container rm "$c"; done >/dev/null 2>&1
        kill "$CTD_PID"; wait "$CTD_PID"
    fi
    "${P[@]}" rm -af -t 0 >/dev/null 2>&1
    "${P[@]}" rmi -af >/dev/null 2>&1
    for c in $("$OCI" --root "$WORK/cs-sbx" list -q 2>/dev/null); do "$OCI" --root "$WORK/cs-sbx" delete --force "$c"; done
    for c in $("$RUNC" --root "$WORK/cs-runc" list -q 2>/dev/null); do "$RUNC" --root "$WORK/cs-runc" delete --force "$c"; done
    grep -o " $WORK[^ ]*" /proc/self/mountinfo | sort -r | while read -r m; do umount -l "$m"; done
    # runc's cgroups (relative: below this shell's own), podman's libpod_parent.
    find /sys/fs/cgroup -depth -type d -name 'sbx-bench-*' -exec rmdir {} + 2>/dev/null
    for d in /sys/fs/cgroup/*/libpod_parent; do
        [ -d "$d" ] || continue
        find "$d" -depth -mindepth 1 -type d -exec rmdir {} + 2>/dev/null
        echo "$PRE_CG" | grep -qx "$d" || rmdir "$d" 2>/dev/null
    done
    [ -n "$PRE_RUN_CTD" ] || rm -rf /run/containerd
    rm -rf "$WORK"
}
P=(podman --root "$WORK/pod/storage" --runroot "$WORK/pod/run" --tmpdir "$WORK/pod/tmp"
   --storage-driver vfs --events-backend file --cgroup-manager cgroupfs
   --network-config-dir "$WORK/pod/net")
trap cleanup EXIT

tar -C "$BUILD/rootfs" -cf "$WORK/rootfs.tar" .
"${P[@]}" import "$WORK/rootfs.tar" sbx-bench >/dev/null 2>&1 || exit 1
"${P[@]}" save -o "$WORK/img.tar" sbx-bench >/dev/null 2>&1 || exit 1
printf 'version = 2\nroot = "%s/root"\nstate = "%s/state"\ndisabled_plugins = ["io.containerd.grpc.v1.cri"]\n[grpc]\n  address = "%s/sock"\n' \
    "$WORK/ctd" "$WORK/ctd" "$WORK/ctd" > "$WORK/ctd/config.toml"
containerd --config "$WORK/ctd/config.toml" >"$WORK/ctd/log" 2>&1 &
CTD_PID=$!
for _ in $(seq 100); do [ -S "$WORK/ctd/sock" ] && break; sleep 0.1; done
C=(ctr -a "$WORK/ctd/sock")
"${C[@]}" images import "$WORK/img.tar" >/dev/null || exit 1
IMG=$("${C[@]}" images ls -q | head -1)

# Bundles for create+start: each runtime's own default config, running true.
for rt in sbx runc; do
    mkdir -p "$WORK/bundle-$rt"
    if [ $rt = sbx ]; then (cd "$WORK/bundle-$rt" && "$OCI" spec); else (cd "$WORK/bundle-$rt" && "$RUNC" spec); fi
    python3 - "$WORK/bundle-$rt/config.json" "$BUILD/rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["root"]["path"] = sys.argv[2]  # runc takes no symlink there
c["process"]["args"] = ["true"]
c["process"]["terminal"] = False
c["linux"]["cgroupsPath"] = "sbx-bench-cs/c"
json.dump(c, open(sys.argv[1], "w"))
PY
done
cat > "$WORK/cs.py" <<'PY'
# create + start, timed; the container is reaped (we are its subreaper) and
# deleted after, untimed. argv: OUT RUNS RUNTIME --root DIR BUNDLE
import ctypes, json, os, subprocess, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
out, runs, rt = sys.argv[1], int(sys.argv[2]), sys.argv[3:6]
bundle = sys.argv[6]
times = []
dn = subprocess.DEVNULL
for i in range(runs):
    cid = "b%d-%d" % (os.getpid(), i)
    t0 = time.perf_counter()
    subprocess.run(rt + ["create", "--bundle", bundle, cid], stdin=dn, stdout=dn, check=True)
    subprocess.run(rt + ["start", cid], stdin=dn, stdout=dn, check=True)
    times.append(time.perf_counter() - t0)
    try:
        while True:
            os.waitpid(-1, 0)
    except ChildProcessError:
        pass
    subprocess.run(rt + ["delete", "--force", cid], stdout=dn, stderr=dn)
json.dump(times, open(out, "w"))
PY

RUN=(run --rm --network none --ulimit nofile=4096:4096 --ulimit nproc=4096:4096)
CR=(--cgroup 'sbx-bench-ctr/b$$' --fifo-dir "$WORK/ctd/fifo")
row_cmd() { # ROW -> the command hyperfine runs (a shell line)
    case $1 in
        podman-sbx)  echo "${P[*]} --runtime $OCI ${RUN[*]} sbx-bench true" ;;
        podman-runc) echo "${P[*]} --runtime $RUNC ${RUN[*]} sbx-bench true" ;;
        ctr-sbx)     echo "${C[*]} run --rm --runc-binary $OCI --runc-root $WORK/ctd/sbx ${CR[*]} $IMG b\$\$ true" ;;
        ctr-runc)    echo "${C[*]} run --rm --runc-binary $RUNC --runc-root $WORK/ctd/runc ${CR[*]} $IMG b\$\$ true" ;;
    esac
}
ROWS="podman-sbx podman-runc ctr-sbx ctr-runc cs-sbx cs-runc"
for r in $(seq "$ROUNDS"); do
    for row in $ROWS; do
        case $row in
            cs-sbx)  python3 "$WORK/cs.py" "$WORK/res/$row-$r.json" "$RUNS" "$OCI" --root "$WORK/cs-sbx" "$WORK/bundle-sbx" ;;
            cs-runc) python3 "$WORK/cs.py" "$WORK/res/$row-$r.json" "$RUNS" "$RUNC" --root "$WORK/cs-runc" "$WORK/bundle-runc" ;;
            *) hyperfine --style none --warmup 2 --runs "$RUNS" --export-json "$WORK/res/h.json" \
                   "$(row_cmd "$row")" >/dev/null 2>"$WORK/res/$row.err" \
                   || { echo "bench/oci.sh: $row failed:" >&2; cat "$WORK/res/$row.err" >&2; exit 1; }
               python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1]))["results"][0]["times"], open(sys.argv[2], "w"))' \
                   "$WORK/res/h.json" "$WORK/res/$row-$r.json" ;;
        esac || exit 1
    done
done
python3 - "$WORK/res" "$ROUNDS" "$ROWS" <<'PY'
import json, statistics, sys
d, n, rows = sys.argv[1], int(sys.argv[2]), sys.argv[3].split()
med = {}
print("%-12s %10s %10s %6s" % ("row", "median ms", "p90 ms", "runs"))
for row in rows:
    t = sorted(x for r in range(1, n + 1) for x in json.load(open("%s/%s-%d.json" % (d, row, r))))
    med[row] = statistics.median(t)
    print("%-12s %10.1f %10.1f %6d" % (row, med[row] * 1e3, t[max(0, int(len(t) * .9) - 1)] * 1e3, len(t)))
for a in ("podman", "ctr", "cs"):
    print("%s: sbx-oci/runc median %.2fx" % (a, med[a + "-sbx"] / med[a + "-runc"]))
PY
