#!/bin/bash
# bench/ab.sh A_SBX B_SBX [ROUNDS] - before/after of two sbx binaries on the
# bench's `sbx run` job, interleaved in rounds (the host is shared and noisy):
# prints median, p99 and CPU per job (user+sys) of each.
set -u
A=$1 B=$2 ROUNDS=${3:-4} RUNS=${RUNS:-100}
J=$(mktemp -d)
FL="run --memory 256M --pids 64 --cpus 1 --seccomp default -- /bin/true"
for r in $(seq "$ROUNDS"); do
    hyperfine -N --style none --warmup 10 --runs "$RUNS" --export-json "$J/a$r.json" "$A $FL" >/dev/null 2>&1
    hyperfine -N --style none --warmup 10 --runs "$RUNS" --export-json "$J/b$r.json" "$B $FL" >/dev/null 2>&1
done
python3 - "$J" "$ROUNDS" <<'PY'
import json, statistics, sys
d, n = sys.argv[1], int(sys.argv[2])
for k in "ab":
    t, cpu = [], []
    for r in range(1, n + 1):
        h = json.load(open("%s/%s%d.json" % (d, k, r)))["results"][0]
        t += h["times"]; cpu.append(h["user"] + h["system"])
    t.sort()
    print("%s: median %.2f ms  p99 %.2f ms  cpu %.2f ms/job  (%d runs)" % (k.upper(), statistics.median(t) * 1e3,
          t[int(len(t) * .99) - 1] * 1e3, statistics.mean(cpu) * 1e3, len(t)))
PY
rm -rf "$J"
