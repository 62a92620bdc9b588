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

for f in kcore kallsyms sysrq-trigger timer_list keys; do
    [ -e /proc/$f ] || continue
    sbx_run -- /bin/sh -c "wc -c < /proc/$f"
    check "/proc/$f is masked (empty)" "$OUT" 0
done
sbx_run -- /bin/sh -c 'exec 2>&1; echo c > /proc/sysrq-trigger; echo 1 > /proc/sys/kernel/core_pattern; echo 1 > /proc/sys/vm/drop_caches; grep " /proc/sys " /proc/mounts'
check_match "/proc/sys is read-only" "$OUT" 'Read-only'
check_match "/proc/sys mount is ro" "$(echo "$OUT" | grep ' /proc/sys ')" ' ro,'
sbx_run -- /bin/sh -c 'sleep 5 & ls /proc | grep "^[0-9]" | sort -n | tr "\n" " "; kill $!'
check_match "only the job's processes in /proc (PID 1, the shell, sleep, ls...)" "$OUT" '^1 2 3 4 ?[0-9 ]*$'
check "no host process visible" "$(echo "$OUT" | wc -w | awk '{print ($1 <= 8)}')" 1

sbx_run -- /bin/sh -c 'cat /proc/1/environ 2>&1; cat /proc/1/maps 2>&1 | head -1'
check_match "PID 1's memory is unreadable" "$OUT" 'Permission denied'
finish
