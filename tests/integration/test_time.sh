#!/bin/bash
# Time namespace offsets show in CLOCK_MONOTONIC / CLOCK_BOOTTIME (/proc/uptime).
. "$(dirname "$0")/lib.sh"

host_up=$(cut -d. -f1 /proc/uptime)
sbx_run --time-offset boottime=100000 -- /bin/cat /proc/uptime
in_up=$(echo "$OUT" | cut -d. -f1)
diff=$((in_up - host_up))
if [ "$diff" -ge 99990 ] && [ "$diff" -le 100010 ]; then ok "boottime offset shows in /proc/uptime (+$diff s)"; else fail "boottime offset: host $host_up inside $in_up"; fi

# CLOCK_MONOTONIC through the probe (busybox has no clock reader).
host_mono=$("$SBX_PROBES/clocks" monotonic)
sbx_run "${PROBES[@]}" --time-offset monotonic=-1000 --time-offset boottime=5000 -- /probes/clocks monotonic boottime
in_mono=$(echo "$OUT" | sed -n 1p)
in_boot=$(echo "$OUT" | sed -n 2p)
host_boot=$("$SBX_PROBES/clocks" boottime)
d=$((in_mono - host_mono))
if [ "$d" -ge -1010 ] && [ "$d" -le -990 ]; then ok "monotonic offset -1000 s shows ($d)"; else fail "monotonic offset: $d"; fi
d=$((in_boot - host_boot))
if [ "$d" -ge 4990 ] && [ "$d" -le 5010 ]; then ok "boottime offset 5000 s shows ($d)"; else fail "boottime offset: $d"; fi

sbx_run "${PROBES[@]}" --time-offset monotonic=1.5 -- /probes/clocks monotonic_ms
host_ms=$("$SBX_PROBES/clocks" monotonic_ms)
d=$(( $(echo "$OUT") - host_ms ))
if [ "$d" -ge 1400 ] && [ "$d" -le 2500 ]; then ok "fractional offset 1.5 s ($d ms)"; else fail "fractional offset: $d ms"; fi

sbx_run --time-offset realtime=5 -- /bin/true
check "realtime offset is refused" "$RC" 125
check_match "the error names the flag" "$ERR" 'time-offset'
finish
