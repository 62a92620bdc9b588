#!/bin/bash
# Time namespace offsets show in CLOCK_MONOTONIC / CLOCK_BOOTTIME (/proc/uptime).
. "$(dirname "$0")/lib.sh"

host_up=$(cut -d. -f1 /proc/uptime)
sbx_run --time-offset boottime=100000 -- /bin/cat /proc/uptime
in_up=$(echo "$OUT" | cut -d. -f1)
diff=$((in_up - host_up))
if [ "$diff" -ge 99990 ] && [ "$diff" -le 100010 ]; then ok "boottime offset shows in /proc/uptime (+$diff s)"; else fail "boottime offset: host $host_up inside $in_up"; fi

# CLOCK_MONOTONIC through the probe (busybox has no clock reader). A
# negative offset must not take the clock below zero (the kernel refuses
# that), so it is half the host's uptime: the test holds on a host just
# booted (CI machines often are) as on one up for months.
host_mono=$("$SBX_PROBES/clocks" monotonic)
back=$((host_mono / 2))
sbx_run "${PROBES[@]}" --time-offset monotonic=-$back --time-offset boottime=5000 -- /probes/clocks monotonic boottime
in_mono=$(echo "$OUT" | sed -n 1p)
in_boot=$(echo "$OUT" | sed -n 2p)
host_boot=$("$SBX_PROBES/clocks" boottime)
d=$((in_mono - host_mono))
if [ "$d" -ge $((-back - 10)) ] && [ "$d" -le $((-back + 10)) ]; then ok "monotonic offset -$back s shows ($d)"; else fail "monotonic offset -$back: $d"; fi
d=$((in_boot - host_boot))
if [ "$d" -ge 4990 ] && [ "$d" -le 5010 ]; then ok "boottime offset 5000 s shows ($d)"; else fail "boottime offset: $d"; fi

sbx_run "${PROBES[@]}" --time-offset monotonic=1.5 -- /probes/clocks monotonic_ms
host_ms=$("$SBX_PROBES/clocks" monotonic_ms)
d=$(( $(echo "$OUT") - host_ms ))
if [ "$d" -ge 1400 ] && [ "$d" -le 2500 ]; then ok "fractional offset 1.5 s ($d ms)"; else fail "fractional offset: $d ms"; fi

# An offset that would put the clock before boot is refused before the job
# is set up, naming the flag and the host's uptime.
up=$(cut -d. -f1 /proc/uptime)
sbx_run --time-offset monotonic=-$((up + 100000)) -- /bin/true
check "an offset past boot is refused" "$RC" 125
check_match "the refusal names the flag and the clock" "$ERR" "--time-offset\): monotonic offset -$((up + 100000)) s would put the job's clock before boot"
check_match "the refusal gives the host's uptime" "$ERR" 'this host is up [0-9]+ s'
check "its result is SETUP_FAILED" "$(field status)" SETUP_FAILED
sbx_run --time-offset boottime=-$((up + 100000)) -- /bin/true
check_match "the same for boottime" "$ERR" "boottime offset -[0-9]+ s would put"
# The --help example runs on any host.
ex=$("$SBX" run --help | grep -o -- '--time-offset [a-z]*=[-0-9]*' | head -1)
check_match "the --help example has a time offset" "$ex" 'time-offset'
sbx_run $ex -- /bin/true
check "the --help example's offset is accepted on this host" "$RC" 0

sbx_run --time-offset realtime=5 -- /bin/true
check "realtime offset is refused" "$RC" 125
check_match "the error names the flag" "$ERR" 'time-offset'
finish
