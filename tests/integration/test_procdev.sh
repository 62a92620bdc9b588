#!/bin/bash
# A fresh /proc with sensitive entries masked or read-only, and a minimal /dev.
. "$(dirname "$0")/lib.sh"

sbx_run -- /bin/sh -c 'ls /dev | tr "\n" " "'
check "/dev holds only the minimal set" "$OUT" "fd full null ptmx pts random shm stderr stdin stdout tty urandom zero "
sbx_run -- /bin/sh -c 'echo x > /dev/null && head -c 4 /dev/zero | wc -c; touch /dev/newfile 2>&1'
check_match "/dev/null and /dev/zero work" "$OUT" '^4'
check_match "/dev is read-only" "$OUT" 'Read-only'
sbx_run -- /bin/sh -c 'echo x > /dev/shm/a && cat /dev/shm/a'
check "/dev/shm is writable" "$OUT" x

sbx_run -- /bin/sh -c 'wc -c < /proc/kcore; wc -c < /proc/kallsyms; echo c > /proc/sysrq-trigger; echo $?'
check "/proc/kcore is masked" "$(echo "$OUT" | sed -n 1p)" 0
check "/proc/kallsyms is masked" "$(echo "$OUT" | sed -n 2p)" 0
sbx_run -- /bin/sh -c 'echo 1 > /proc/sys/kernel/core_pattern 2>&1; echo 1 > /proc/sys/vm/drop_caches 2>&1; grep " /proc/sys " /proc/mounts'
check_match "/proc/sys is read-only" "$OUT" 'Read-only'
check_match "/proc/sys mount is ro" "$(echo "$OUT" | grep ' /proc/sys ')" ' ro,'
sbx_run -- /bin/sh -c 'ls /proc | grep -c "^[0-9]"'
check "only the job's processes in /proc" "$OUT" 2

sbx_run -- /bin/sh -c 'cat /proc/1/environ 2>&1; cat /proc/1/maps 2>&1 | head -1'
check_match "PID 1's memory is unreadable" "$OUT" 'Permission denied'
finish
