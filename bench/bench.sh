#!/bin/bash
# bench/bench.sh - start-up cost of `sbx run`, sbx through sandboxd, and the
# peers installed on this machine, measured side by side in ONE run.
#
# usage: bench/bench.sh [run]        build what is missing, measure, print the table
#        bench/bench.sh list         print "row<TAB>command" of every row
#        bench/bench.sh cleanup      remove the cgroups this script (or crun) created
#
# Every row runs /bin/true of the same busybox rootfs (build/rootfs), with the
# closest isolation the tool allows:
#   sbx        sbx run: user (65,536-id map), pid, net, mnt, uts, ipc, cgroup, time
#              namespaces; overlay root (tmpfs upper); /proc (masked), /dev, /tmp;
#              v1 memory+pids+cpu cgroups (--memory/--pids/--cpus); default seccomp
#   sbxd       the same job through sandboxd (sbx --socket S run ...)
#   bwrap      bubblewrap: one uid mapped, no time ns, no cgroups, no seccomp
#   crun       crun (no cgroups), 65,536-id map, all 8 namespaces, ro root
#   crun-cg    crun with v1 memory+pids cgroups
#   nsjail-cg  nsjail with v1 memory+pids cgroups (only if $NSJAIL is an nsjail binary)
#   unshare    util-linux unshare, namespaces only, no mounts
#   plain      fork+exec of the static /bin/true, no sandbox (the floor)
#   sbx-before the `sbx run` row with another sbx binary, e.g. an older build
#              for a before/after in the same run (only if $SBX_BEFORE is set)
# Metrics: median and p99 latency (hyperfine -N), jobs/s with 2 parallel
# client loops (bash loops, each starting the next job when one ends), CPU per job (user+sys
# of the launcher and everything it reaped, hyperfine's mean) and launcher
# peak RSS (/usr/bin/time %M, median of 5).
#
# The host is shared: its load drifts over minutes. So the rows take turns:
# ROUNDS rounds, each giving every row RUNS/ROUNDS timed runs and
# TP_SECS/ROUNDS seconds of throughput, and the table pools the rounds.
#
# env: BUILD (build dir, default ./build)  RUNS (300)  WARMUP (20)  TP_SECS (10)
#      ROUNDS (5)  TP_LOOPS (2)  ONLY ("sbx bwrap ..." rows)  NSJAIL (path)  OUT
# Must run as root. Cgroups: only below the calling shell's own cgroup, and
# only what this script (or crun for it) created is removed.
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/.." && pwd)
BUILD=${BUILD:-$SRC/build}
RUNS=${RUNS:-300}
WARMUP=${WARMUP:-20}
TP_SECS=${TP_SECS:-10}
TP_LOOPS=${TP_LOOPS:-2}
ROUNDS=${ROUNDS:-5}
NSJAIL=${NSJAIL:-$(command -v nsjail 2>/dev/null || true)}
WORK=${WORK:-/tmp/sbx-bench}
OUT=${OUT:-$WORK/results/$(date -u +%Y%m%dT%H%M%S)}
SBX=$BUILD/sbx
SANDBOXD=$BUILD/sandboxd
R=$BUILD/rootfs
MAPUID=100000
MAPCNT=65536
SOCK=$WORK/sandboxd.sock
SBX_FLAGS=(run --memory 256M --pids 64 --cpus 1 --seccomp default --)
ROWS="sbx sbx-before sbxd bwrap crun crun-cg nsjail-cg unshare plain"
SBX_BEFORE=${SBX_BEFORE:-}

have() { command -v "$1" >/dev/null 2>&1; }
own_cg() { awk -F: -v c="$1" '$2==c {print $3}' /proc/self/cgroup; }
norm() { echo "$1" | sed 's#//*#/#g; s#^/##; s#/$##'; }
MEMCG=$(own_cg memory); PIDSCG=$(own_cg pids)
CRUN_CG_BASE=/$(norm "$MEMCG")
NSJ_MEM_PARENT=$(norm "$MEMCG/bench-nsjail")
NSJ_PIDS_PARENT=$(norm "$PIDSCG/bench-nsjail")
PREEXIST=$WORK/cg-preexisting.txt
hybrid_has_ctrl() { [ -n "$(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" ]; }
have_sbxd() { [ -x "$SANDBOXD" ] && "$SBX" --help 2>/dev/null | grep -q -- '--socket'; }

prepare() {
    [ "$(id -u)" = 0 ] || { echo "bench.sh: run as root" >&2; exit 1; }
    local miss=()
    have hyperfine || miss+=(hyperfine)
    have bwrap || miss+=(bubblewrap)
    have crun || miss+=(crun)
    have python3 || miss+=(python3)
    [ -x /usr/bin/time ] || miss+=(time)
    if [ ${#miss[@]} -gt 0 ]; then
        echo "bench.sh: apt-get install ${miss[*]}" >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${miss[@]}" >/dev/null 2>&1 ||
            echo "bench.sh: could not install ${miss[*]}; those rows are skipped" >&2
    fi
    if [ ! -x "$SBX" ] || [ ! -x "$R/bin/busybox" ]; then
        echo "bench.sh: building in $BUILD" >&2
        cmake -S "$SRC" -B "$BUILD" >/dev/null && cmake --build "$BUILD" -j"$(nproc)" >/dev/null || exit 1
    fi
    mkdir -p "$WORK" "$OUT"
}

# prefix NAME [IDX] -> array P (argv before the payload); 1 if the tool is missing
prefix() {
    local i=${2:-0}
    P=()
    case $1 in
    sbx)     P=("$SBX" "${SBX_FLAGS[@]}") ;;
    sbx-before) [ -n "$SBX_BEFORE" ] && [ -x "$SBX_BEFORE" ] || return 1
             P=("$SBX_BEFORE" "${SBX_FLAGS[@]}") ;;
    sbxd)    have_sbxd || return 1
             P=("$SBX" --socket "$SOCK" "${SBX_FLAGS[@]}") ;;
    plain)   P=() ;;
    unshare) have unshare || return 1
             P=(unshare --user --map-root-user --pid --fork --net --mount --uts --ipc --cgroup --time) ;;
    bwrap)   have bwrap || return 1
             P=(bwrap --unshare-user --uid 0 --gid 0 --unshare-pid --unshare-net --unshare-uts
                --unshare-ipc --unshare-cgroup --ro-bind "$R" / --proc /proc --dev /dev --tmpfs /tmp) ;;
    nsjail-cg) [ -n "$NSJAIL" ] && [ -x "$NSJAIL" ] || return 1
             P=("$NSJAIL" -Mo -Q --chroot "$R" -u 0:$MAPUID:$MAPCNT -g 0:$MAPUID:$MAPCNT
                -T /tmp --enable_clone_newtime
                --cgroup_mem_max 268435456 --cgroup_pids_max 64
                --cgroup_mem_parent "$NSJ_MEM_PARENT" --cgroup_pids_parent "$NSJ_PIDS_PARENT" --) ;;
    crun)    have crun || return 1
             P=(crun --cgroup-manager=disabled run --bundle "$WORK/crun-$i" "bench-crun-$i") ;;
    crun-cg) have crun || return 1
             P=(crun run --bundle "$WORK/crun-cg-$i" "bench-crun-cg-$i") ;;
    *) return 1 ;;
    esac
}
payload() { case $1 in plain|unshare) echo "$R/bin/true" ;; crun*) ;; *) echo /bin/true ;; esac; }
is_crun() { case $1 in crun*) return 0 ;; esac; return 1; }

# crun refuses a hybrid host whose cgroup2 mount has controllers: run it (and
# its harness) in a private mount namespace without that mount.
crun_wrap() {
    if hybrid_has_ctrl; then
        unshare -m --propagation private sh -c 'umount /sys/fs/cgroup/unified && exec "$@"' sh "$@"
    else
        "$@"
    fi
}

write_bundle() {  # DIR WITH_CG IDX
    mkdir -p "$1"
    python3 - "$1" "$2" "$3" "$R" "$CRUN_CG_BASE" "$MAPUID" "$MAPCNT" <<'EOF'
import json, sys
d, cg, idx, root, cgbase, mapuid, mapcnt = sys.argv[1:]
c = {
 "ociVersion": "1.0.2",
 "process": {"terminal": False, "user": {"uid": 0, "gid": 0}, "args": ["/bin/true"],
             "env": ["PATH=/bin"], "cwd": "/", "noNewPrivileges": True},
 "root": {"path": root, "readonly": True},
 "hostname": "crun",
 "mounts": [
  {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=64k"]},
  {"destination": "/proc", "type": "proc", "source": "proc"},
  {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "nodev", "mode=1777", "size=4m"]}],
 "linux": {
  "uidMappings": [{"containerID": 0, "hostID": int(mapuid), "size": int(mapcnt)}],
  "gidMappings": [{"containerID": 0, "hostID": int(mapuid), "size": int(mapcnt)}],
  "namespaces": [{"type": t} for t in ["pid", "network", "ipc", "uts", "mount", "user", "cgroup", "time"]]}}
if cg == "1":
    c["linux"]["cgroupsPath"] = cgbase.rstrip("/") + "/bench-crun-cg-" + idx
    c["linux"]["resources"] = {"memory": {"limit": 268435456}, "pids": {"limit": 64}}
json.dump(c, open(d + "/config.json", "w"), indent=1)
EOF
}

setup() {
    local c d i
    if [ ! -f "$PREEXIST" ]; then
        for c in /sys/fs/cgroup/*/; do
            d=$c$(norm "$MEMCG")
            while [ "$d" != "${c%/}" ] && [ "$d" != "$c" ]; do [ -d "$d" ] && echo "$d"; d=$(dirname "$d"); done
        done > "$PREEXIST"
    fi
    if [ -n "$NSJAIL" ] && [ -x "$NSJAIL" ]; then
        mkdir -p "/sys/fs/cgroup/memory/$NSJ_MEM_PARENT" "/sys/fs/cgroup/pids/$NSJ_PIDS_PARENT"
    fi
    for i in $(seq 0 $((TP_LOOPS - 1))); do
        write_bundle "$WORK/crun-$i" 0 "$i"
        write_bundle "$WORK/crun-cg-$i" 1 "$i"
    done
}

cleanup() {
    local c d
    rmdir /sys/fs/cgroup/memory/"$NSJ_MEM_PARENT"/NSJAIL.* "/sys/fs/cgroup/memory/$NSJ_MEM_PARENT" \
          /sys/fs/cgroup/pids/"$NSJ_PIDS_PARENT"/NSJAIL.* "/sys/fs/cgroup/pids/$NSJ_PIDS_PARENT" 2>/dev/null
    [ -f "$PREEXIST" ] || return 0
    for c in /sys/fs/cgroup/*/; do
        rmdir "$c$(norm "$MEMCG")"/bench-crun-cg-* 2>/dev/null
        d=$c$(norm "$MEMCG")
        while [ "$d" != "${c%/}" ] && [ "$d" != "$c" ]; do
            if [ -d "$d" ] && ! grep -qxF "$d" "$PREEXIST"; then rmdir "$d" 2>/dev/null; fi
            d=$(dirname "$d")
        done
    done
    rm -f "$PREEXIST"
}

SBXD_PID=
start_sbxd() {
    have_sbxd || return 1
    rm -f "$SOCK"
    "$SANDBOXD" --socket "$SOCK" ${SANDBOXD_ARGS:-} >"$WORK/sandboxd.log" 2>&1 &
    SBXD_PID=$!
    for _ in $(seq 100); do [ -S "$SOCK" ] && return 0; sleep 0.05; done
    echo "bench.sh: sandboxd did not come up (see $WORK/sandboxd.log)" >&2
    return 1
}
stop_sbxd() {
    [ -n "$SBXD_PID" ] || return 0
    grep -E '^(VmHWM|VmRSS)' /proc/$SBXD_PID/status > "$OUT/sbxd.daemon-rss" 2>/dev/null
    kill -TERM "$SBXD_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$SBXD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SBXD_PID" 2>/dev/null; wait "$SBXD_PID" 2>/dev/null; SBXD_PID=
}

tp_loop() {  # NAME IDX -> prints the count of successful jobs
    local n=$1 i=$2 cnt=0 end now pl
    prefix "$n" "$i"; pl=$(payload "$n")
    end=$(( ${EPOCHREALTIME/./} + TP_SECS * 1000000 ))
    while :; do
        now=${EPOCHREALTIME/./}; [ "$now" -ge "$end" ] && break
        "${P[@]}" $pl >/dev/null 2>&1 && cnt=$((cnt + 1))
    done
    echo "$cnt"
}
throughput() {
    local n=$1 i tot=0 pids=()
    for i in $(seq 0 $((TP_LOOPS - 1))); do tp_loop "$n" "$i" > "$OUT/tp.$n.$i" & pids+=($!); done
    wait "${pids[@]}"   # not sandboxd, also a child of this shell
    for i in $(seq 0 $((TP_LOOPS - 1))); do tot=$((tot + $(cat "$OUT/tp.$n.$i"))); done
    echo "$tot"
}
peak_rss() {
    local k
    for k in 1 2 3 4 5; do /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1; done | sort -n | sed -n 3p
}
run_row() {  # NAME ROUND (possibly inside the crun wrapper)
    local n=$1 r=$2 pl
    prefix "$n" 0; pl=$(payload "$n")
    # one job first: a row that cannot run /bin/true is reported, not timed
    if ! "${P[@]}" $pl >"$OUT/$n.check" 2>&1; then
        echo "bench.sh: $n fails: $(head -3 "$OUT/$n.check")" >&2
        return 1
    fi
    hyperfine -N --style none --warmup "$WARMUP" --runs $((RUNS / ROUNDS)) \
        --export-json "$OUT/$n.hyperfine.$r.json" \
        -n "$n" -- "$(printf '%q ' "${P[@]}" $pl)" >/dev/null 2>"$OUT/$n.hyperfine.err"
    [ "$r" = 1 ] && peak_rss "${P[@]}" $pl > "$OUT/$n.peakrss"
    TP_SECS=$((TP_SECS / ROUNDS > 0 ? TP_SECS / ROUNDS : 1)) throughput "$n" > "$OUT/$n.tp.$r"
}

list() {
    local n
    for n in $ROWS; do
        prefix "$n" 0 || continue
        printf '%s\t%s%s\n' "$n" "$(is_crun "$n" && hybrid_has_ctrl && echo "[in: unshare -m --propagation private; umount /sys/fs/cgroup/unified] ")" \
            "$(printf '%q ' "${P[@]}" $(payload "$n"))"
    done
}

summarize() {
    python3 - "$OUT" $ROWS <<'EOF'
import json, os, sys, statistics
out, rows = sys.argv[1], sys.argv[2:]
labels = {
 "sbx": "`sbx run`, everything on (8 ns, 65,536 ids, overlay, /proc, /dev, v1 mem+pids+cpu cgroups, seccomp)",
 "sbxd": "`sbx --socket run` through sandboxd, same job",
 "sbx-before": "`sbx run` as before this work (%s), same job" % os.environ.get("SBX_BEFORE_LABEL", "SBX_BEFORE"),
 "bwrap": "bubblewrap (1 uid, no time ns, no cgroups, no seccomp)",
 "crun": "crun, no cgroups",
 "crun-cg": "crun with v1 memory+pids cgroups",
 "nsjail-cg": "nsjail with v1 memory+pids cgroups",
 "unshare": "util-linux `unshare`, namespaces only",
 "plain": "plain fork+exec (the floor)",
}
import glob
tp_secs = float(os.environ.get("TP_SECS_ROUND", "1"))
res = {}
for r in rows:
    fs = sorted(glob.glob(os.path.join(out, r + ".hyperfine.*.json")))
    if not fs:
        continue
    t, cpu, jobs, secs = [], [], 0, 0
    for f in fs:
        h = json.load(open(f))["results"][0]
        t += h["times"]
        cpu.append(h["user"] + h["system"])
        tpf = f.replace(".hyperfine.", ".tp.").replace(".json", "")
        if os.path.exists(tpf) and open(tpf).read().strip():
            jobs += int(open(tpf).read().strip()); secs += tp_secs
    t.sort()
    p99 = t[min(len(t) - 1, int(0.99 * len(t) + 0.5) - 1)]
    rd = lambda p: open(os.path.join(out, r + p)).read().strip() if os.path.exists(os.path.join(out, r + p)) else ""
    res[r] = dict(med=statistics.median(t) * 1e3, p99=p99 * 1e3, cpu=statistics.mean(cpu) * 1e3,
                  tp=jobs / secs if secs else 0, rss=int(rd(".peakrss") or 0), n=len(t))
print("| row | median ms | p99 ms | jobs/s (2 clients) | CPU ms/job | launcher peak RSS KiB |")
print("|---|---|---|---|---|---|")
for r, v in res.items():
    print("| %s | %.2f | %.2f | %.0f | %.2f | %d |" % (labels.get(r, r), v["med"], v["p99"], v["tp"], v["cpu"], v["rss"]))
for me in ("sbx", "sbxd"):
    if me not in res:
        continue
    m = res[me]
    print()
    print("Ratios of `%s` against each peer (< 1 for latency/CPU/RSS and > 1 for jobs/s means %s is better):" % (me, me))
    print()
    print("| peer | median | p99 | jobs/s | CPU/job | peak RSS |")
    print("|---|---|---|---|---|---|")
    for r, v in res.items():
        if r == me:
            continue
        q = lambda a, b: ("%.2fx" % (a / b)) if b else "-"
        print("| %s | %s | %s | %s | %s | %s |" % (r, q(m["med"], v["med"]), q(m["p99"], v["p99"]),
              q(m["tp"], v["tp"]), q(m["cpu"], v["cpu"]), q(m["rss"], v["rss"])))
if os.path.exists(os.path.join(out, "sbxd.daemon-rss")):
    print()
    print("sandboxd after the run: " + open(os.path.join(out, "sbxd.daemon-rss")).read().replace("\n", "  ").replace("\t", " "))
EOF
}

run() {
    prepare
    setup
    { echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"; echo "kernel: $(uname -r)"; echo "cpus: $(nproc)";
      echo "os: $(. /etc/os-release; echo "$PRETTY_NAME")"; echo "sbx: $(git -C "$SRC" describe --always --dirty 2>/dev/null)"; 
      echo "runs: $RUNS in $ROUNDS interleaved rounds, warmup $WARMUP, throughput $TP_LOOPS loops x $TP_SECS s";
      list; } > "$OUT/env.txt"
    trap 'stop_sbxd; cleanup' EXIT
    local n r rows=()
    for n in ${ONLY:-$ROWS}; do
        if ! prefix "$n" 0; then
            case $n in
              sbxd) echo "skip sbxd: no sandboxd in $BUILD" ;;
              nsjail-cg) echo "skip nsjail-cg: nsjail not installed (not in Debian 12; set NSJAIL=)" ;;
              sbx-before) continue ;;
              *) echo "skip $n: missing" ;;
            esac >&2
            continue
        fi
        rows+=("$n")
    done
    for n in "${rows[@]}"; do [ "$n" = sbxd ] && { start_sbxd || rows=("${rows[@]/sbxd}"); }; done
    for r in $(seq "$ROUNDS"); do
        for n in ${rows[@]}; do
            echo "== round $r: $n" >&2
            if is_crun "$n"; then
                crun_wrap env BUILD="$BUILD" WORK="$WORK" OUT="$OUT" RUNS="$RUNS" WARMUP="$WARMUP" \
                    TP_SECS="$TP_SECS" TP_LOOPS="$TP_LOOPS" ROUNDS="$ROUNDS" NSJAIL="$NSJAIL" \
                    "$HERE/bench.sh" _row "$n" "$r"
            else
                run_row "$n" "$r"
            fi
        done
    done
    stop_sbxd
    cat "$OUT/env.txt" | sed -n 1,6p
    echo
    TP_SECS_ROUND=$((TP_SECS / ROUNDS > 0 ? TP_SECS / ROUNDS : 1)) summarize
    echo
    echo "(results in $OUT)"
}

case ${1:-run} in
    run) run ;;
    list) prepare >/dev/null; setup; list ;;
    cleanup) cleanup ;;
    _row) shift; run_row "$@" ;;
    summarize) OUT=$2 TP_SECS_ROUND=$((TP_SECS / ROUNDS > 0 ? TP_SECS / ROUNDS : 1)) summarize ;;
    *) sed -n '2,30p' "$0"; exit 2 ;;
esac
