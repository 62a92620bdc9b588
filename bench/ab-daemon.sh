#!/bin/bash
# bench/ab-daemon.sh A_SANDBOXD B_SANDBOXD [ROUNDS] - before/after of two
# sandboxd binaries: both serve the bench's job (`sbx --socket S run ...
# /bin/true`, the same sbx client for both) to CLIENTS concurrent clients
# (bench/loadgen) for SECS seconds, the two taking turns in ROUNDS rounds
# (the host is shared and noisy). Prints jobs/s, median and p99 per client
# count for each. env: SBX (./build/sbx)  CLIENTS ("1 2 4")  SECS (4)
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
A=$1 B=$2 ROUNDS=${3:-3}
SBX=${SBX:-$HERE/../build/sbx}
CLIENTS=${CLIENTS:-1 2 4}
SECS=${SECS:-4}
[ "$(id -u)" = 0 ] || { echo "ab-daemon.sh: run as root" >&2; exit 1; }
J=$(mktemp -d)
cc -O2 -o "$J/loadgen" "$HERE/loadgen.c" || exit 1
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done; wait; rm -rf "$J"' EXIT
for k in a b; do
    bin=$A; [ $k = b ] && bin=$B
    "$bin" --socket "$J/$k.sock" >"$J/$k.log" 2>&1 &
    PIDS+=($!)
done
for _ in $(seq 100); do [ -S "$J/a.sock" ] && [ -S "$J/b.sock" ] && break; sleep 0.05; done
for r in $(seq "$ROUNDS"); do
    for c in $CLIENTS; do
        for k in a b; do
            echo "$k $c $("$J/loadgen" "$c" "$SECS" "$SBX" --socket "$J/$k.sock" run \
                --memory 256M --pids 64 --cpus 1 --seccomp default -- /bin/true)" >>"$J/results"
        done
    done
done
python3 - "$J/results" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    k, c, _clients, jobs, fails, jps, med, p99, mx = line.split()
    rows.setdefault((int(c), k), []).append((float(jps), float(med), float(p99), int(fails)))
print("%-8s %-3s %10s %10s %10s %7s" % ("clients", "", "jobs/s", "median ms", "p99 ms", "failed"))
for (c, k) in sorted(rows):
    v = rows[(c, k)]
    print("%-8d %-3s %10.1f %10.2f %10.2f %7d" % (c, k.upper(), statistics.median(x[0] for x in v),
          statistics.median(x[1] for x in v), statistics.median(x[2] for x in v), sum(x[3] for x in v)))
PY
