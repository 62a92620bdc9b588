#!/bin/bash
# bench/forward.sh - what passing stdout through the supervisor costs: a job
# writes 1 GiB to its stdout, a pipe read by `cat > /dev/null` on the host,
# with and without --output-limit (with it, stdout goes through the
# supervisor's pipe and splice; without it, the job writes to the pipe
# itself). Rows take turns for ROUNDS rounds; the table gives the median
# wall time of each row and its throughput.
#
# usage: bench/forward.sh          (as root; BUILD, ROUNDS (5), SIZE_MIB (1024))
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
BUILD=${BUILD:-$HERE/../build}
SBX=$BUILD/sbx
ROUNDS=${ROUNDS:-5}
SIZE_MIB=${SIZE_MIB:-1024}
export SBX_DEFAULT_ROOTFS=${SBX_DEFAULT_ROOTFS:-$BUILD/rootfs}
[ "$(id -u)" = 0 ] || { echo "forward.sh: run as root" >&2; exit 1; }
[ -x "$SBX" ] || { echo "forward.sh: no $SBX (build first)" >&2; exit 1; }

# The writer: busybox dd, 1 MiB blocks from /dev/zero (dd's own cost is the
# same in both rows).
JOB=(-- /bin/dd if=/dev/zero bs=1048576 count="$SIZE_MIB")
declare -A ROW=(
    [direct]=""
    [limit]="--output-limit $((SIZE_MIB + 1))M"
)
declare -A T
run_once() {
    local s e
    s=$(date +%s%N)
    # shellcheck disable=SC2086
    "$SBX" run $1 "${JOB[@]}" 2>/dev/null | cat >/dev/null
    e=$(date +%s%N)
    echo $(((e - s) / 1000000))
}
for r in $(seq "$ROUNDS"); do
    for row in direct limit; do
        T[$row]+="$(run_once "${ROW[$row]}") "
    done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "| row | median ms ($ROUNDS runs) | GiB/s |"
echo "|---|---|---|"
for row in direct limit; do
    m=$(echo "${T[$row]}" | median)
    gibs=$(awk -v m="$m" -v s="$SIZE_MIB" 'BEGIN {printf "%.2f", (s / 1024) / (m / 1000)}')
    case $row in
        direct) desc="1 GiB to a pipe, no output limit (the job writes to the pipe)";;
        limit) desc="1 GiB to a pipe, --output-limit (through the supervisor, splice)";;
    esac
    echo "| $desc | $m | $gibs |"
done
