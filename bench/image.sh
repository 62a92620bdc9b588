#!/bin/bash
# bench/image.sh - what images cost, on this machine, in one run:
#   start-up   `sbx run --image` of an imported image vs `sbx run --rootfs` of
#              a directory with the same content (build/rootfs), /bin/true,
#              hyperfine -N, RUNS runs each, interleaved in ROUNDS rounds
#   import     `sbx image import` of a Docker archive of ~SIZE_MIB MiB in
#              LAYERS layers (random data, many small files and a few big)
#              into an empty store vs `tar -x` of the same layer tars into an
#              empty directory on the same filesystem; median of REPS
# usage: bench/image.sh      (as root; prints two markdown tables)
# env: BUILD (./build)  RUNS (200)  ROUNDS (4)  SIZE_MIB (100)  LAYERS (4)
#      REPS (5)  SETTLE (65, seconds)  WORK (/var/tmp/sbx-bench-image;
#      removed at the end; needs about (2 x REPS + 3) x SIZE_MIB MiB)
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$SRC/build}
RUNS=${RUNS:-200}
ROUNDS=${ROUNDS:-4}
SIZE_MIB=${SIZE_MIB:-100}
LAYERS=${LAYERS:-4}
REPS=${REPS:-5}
SETTLE=${SETTLE:-65}
WORK=${WORK:-/var/tmp/sbx-bench-image}
SBX=$BUILD/sbx
MK="python3 $SRC/tests/integration/mkimage.py"
command -v hyperfine >/dev/null || { echo "bench/image.sh: needs hyperfine" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "bench/image.sh: run as root" >&2; exit 1; }
rm -rf "$WORK"
mkdir -p "$WORK"
trap 'rm -rf "$WORK"' EXIT
export SBX_IMAGE_STORE=$WORK/store

# --- start-up ---
$MK docker "$WORK/rootfs.tar" --name bench:rootfs "$BUILD/rootfs"
"$SBX" image import "$WORK/rootfs.tar" >/dev/null
FLAGS=(run --memory 256M --pids 64 --seccomp default)
for r in $(seq "$ROUNDS"); do
    hyperfine -N --style none --warmup 10 --runs $((RUNS / ROUNDS)) \
        --export-json "$WORK/dir.$r.json" -n dir -- \
        "$SBX ${FLAGS[*]} --rootfs $BUILD/rootfs -- /bin/true" >/dev/null
    hyperfine -N --style none --warmup 10 --runs $((RUNS / ROUNDS)) \
        --export-json "$WORK/img.$r.json" -n image -- \
        "$SBX ${FLAGS[*]} --image bench:rootfs -- /bin/true" >/dev/null
done

# --- import ---
python3 - "$WORK/layers" "$SIZE_MIB" "$LAYERS" <<'PY'
import os, sys
out, mib, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = mib * (1 << 20) // n
for l in range(n):
    d = os.path.join(out, str(l))
    done = 0
    i = 0
    while done < per:
        sub = os.path.join(d, "d%03d" % (i // 200))
        os.makedirs(sub, exist_ok=True)
        # mostly small files, every 50th a big one, as in a real image
        size = 1 << 20 if i % 50 == 0 else 4096 + (i * 7919) % 60000
        with open(os.path.join(sub, "f%05d" % i), "wb") as f:
            f.write(os.urandom(size))
        done += size
        i += 1
PY
layers=()
for l in $(seq 0 $((LAYERS - 1))); do
    tar --owner=0 --group=0 -C "$WORK/layers/$l" -cf "$WORK/layer$l.tar" .
    layers+=("$WORK/layer$l.tar")
done
$MK docker "$WORK/big.tar" --name bench:big "${layers[@]}"
sync
# Nothing is deleted from here until the end, and the timing waits SETTLE
# seconds first: ext4 without a journal (this machine's root) skips inodes
# freed in the last minute (RECENTCY_MIN, 60 s) when it allocates, looking
# each one up, so whichever side first creates files near a tree just
# removed runs up to 3x slower. Each rep writes fresh directories instead.
sleep "$SETTLE"
t_import=()
t_tar=()
now() { date +%s.%N; }
time_import() {
    local a b
    a=$(now)
    SBX_IMAGE_STORE=$WORK/store.$1 "$SBX" image import "$WORK/big.tar" >/dev/null
    b=$(now)
    t_import+=("$(echo "$b - $a" | bc)")
}
time_tar() {
    local a b l x=$WORK/x.$1
    mkdir -p "$x"
    a=$(now)
    for l in "${layers[@]}"; do
        mkdir "$x/$(basename "$l")" && tar -C "$x/$(basename "$l")" -xf "$l"
    done
    sync -f "$x"
    b=$(now)
    t_tar+=("$(echo "$b - $a" | bc)")
}
# The order alternates all the same: the second writer finds the page
# cache fuller.
for i in $(seq "$REPS"); do
    if [ $((i % 2)) = 1 ]; then time_import "$i"; time_tar "$i"; else time_tar "$i"; time_import "$i"; fi
done

python3 - "$WORK" "$ROUNDS" "${t_import[*]}" "${t_tar[*]}" "$(du -m "$WORK/big.tar" | cut -f1)" <<'PY'
import json, statistics, sys
work, rounds = sys.argv[1], int(sys.argv[2])
def times(n):
    t = []
    for r in range(1, rounds + 1):
        t += json.load(open("%s/%s.%d.json" % (work, n, r)))["results"][0]["times"]
    t.sort()
    return statistics.median(t) * 1e3, t[int(len(t) * 0.99) - 1] * 1e3
d, i = times("dir"), times("img")
print("| start-up, /bin/true | median ms | p99 ms |")
print("|---|---|---|")
print("| `sbx run --rootfs build/rootfs` | %.2f | %.2f |" % d)
print("| `sbx run --image` of the same content | %.2f | %.2f |" % i)
print("| ratio image/dir | %.2fx | %.2fx |" % (i[0] / d[0], i[1] / d[1]))
imp = statistics.median(float(x) for x in sys.argv[3].split())
tar = statistics.median(float(x) for x in sys.argv[4].split())
print()
print("| import of a %s MiB Docker archive | median s |" % sys.argv[5])
print("|---|---|")
print("| `sbx image import` (sha256 of every layer, hardened extraction, syncfs) | %.2f |" % imp)
print("| `tar -x` of the same layer tars, then `sync -f` | %.2f |" % tar)
print("| ratio | %.2fx |" % (imp / tar))
PY
