#!/bin/bash
# The network namespace is empty: only lo, up by default, down with
# --network none; a host listener on 127.0.0.1 is unreachable.
. "$(dirname "$0")/lib.sh"

sbx_run -- /bin/sh -c 'ls /sys/class/net 2>/dev/null; ip -o link | awk -F": " "{print \$2}"'
check "only lo exists" "$OUT" lo
sbx_run -- /bin/sh -c 'ip -o link show lo'
check_match "lo is up by default" "$OUT" 'LOOPBACK,UP'
sbx_run --network none -- /bin/sh -c 'ip -o link show lo'
check_match "lo is down with --network none" "$OUT" '<LOOPBACK>'

# A host TCP listener on 127.0.0.1 (a port chosen by the kernel).
python3 - "$T/port" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0)); s.listen(8)
open(sys.argv[1], "w").write(str(s.getsockname()[1]))
s.settimeout(20)
try:
    while True:
        c, _ = s.accept(); c.sendall(b"host-secret\n"); c.close()
except Exception:
    pass
PY
lp=$!
cleanup_hooks+=("kill $lp 2>/dev/null")
for _ in $(seq 50); do [ -s "$T/port" ] && break; sleep 0.1; done
port=$(cat "$T/port")
check_match "host listener is up" "$(timeout 5 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port; cat <&3")" host-secret
sbx_run -- /bin/sh -c "echo | nc -w 2 127.0.0.1 $port; echo rc=\$?"
if echo "$OUT" | grep -q host-secret; then fail "host listener reachable from the job"; else ok "host listener unreachable from the job"; fi

# Inside, loopback works for the job's own servers.
sbx_run -- /bin/sh -c 'nc -l -p 7000 -e echo inside-ok & sleep 0.3; nc -w 2 127.0.0.1 7000'
check_match "job's own loopback works" "$OUT" inside-ok
finish
