#!/bin/bash
# sandboxd and its non-administrator clients, as a real unprivileged user
# made for this test (and removed after it):
#  - a shared path is read-only for them unless listed in shared_paths_rw
#    (a tenant planted a file in a shared layer that every later job saw);
#  - a shared path in a directory the client can write is refused, since
#    the client could swap it for a symlink to a file only root can read;
#  - client_caps covers cpu_weight, cpuset, pending_signals and msgqueue;
#  - a queued job is checked again when it starts, against the
#    configuration in force then (a SIGHUP may have changed it).
. "$(dirname "$0")/lib.sh"
. "$SBX_SRC/tests/integration/daemon_lib.sh"

USER_NAME="sbxt$$"
useradd --no-create-home --no-user-group --gid 65534 --shell /usr/sbin/nologin "$USER_NAME" || exit 1
cleanup_hooks+=("userdel '$USER_NAME' 2>/dev/null")
U=$(id -u "$USER_NAME")
AS=(setpriv --reuid="$U" --regid=65534 --clear-groups)
C() { "${AS[@]}" "$SBX" --socket "$SOCK" "$@"; }

# A shared "layer" with a world-writable tmp (like /var/tmp in an image).
mkdir -p "$T/layer/tmp" "$T/scratch" "$T/later" "$T/client" "$T/secret"
chmod 1777 "$T/layer/tmp"
chmod 0777 "$T/scratch"
# A file only root can reach, and a shared path in a directory the client owns.
echo SECRET >"$T/secret/secret.txt"; chmod 0644 "$T/secret/secret.txt"; chmod 0700 "$T/secret"
echo public >"$T/client/data"
chown "$U" "$T/client"

cat >"$T/sandboxd.conf" <<CONF
max_concurrent: 1
queue_length: 8
allowed_uids: $U
shared_paths: "$T/layer"
shared_paths: "$T/later"
shared_paths: "$T/client/data"
shared_paths_rw: "$T/scratch"
client_caps { memory: "256M" cpu_weight: 200 cpuset: "0" pending_signals: 512 msgqueue: "64K" }
CONF
start_daemon || exit 1

# --- shared paths are read-only unless shared_paths_rw says otherwise ---
C run --bind-rw "$T/layer:/l" -- /bin/sh -c 'echo x >/l/tmp/planted' 2>"$T/err"
check "a read-write bind of a read-only shared path is refused" "$?" 125
check_match "and the error names the field" "$(cat "$T/err")" \
    'mounts\[0\].rw: ".*/layer" is shared read-only; only the daemon.s shared_paths_rw'
check "nothing was planted in the shared layer" "$(ls "$T/layer/tmp")" ""
check "a read-only bind of it works" "$(C run --bind "$T/layer:/l" -- /bin/ls -d /l/tmp 2>&1)" /l/tmp
check "a shared_paths_rw path binds read-write" \
    "$(C run --bind-rw "$T/scratch:/s" -- /bin/sh -c 'echo ok >/s/f; cat /s/f' 2>&1)" ok
# Administrators decide for themselves.
check "root may bind a shared path read-write" "$(S run --bind-rw "$T/layer:/l" -- /bin/echo ok 2>&1)" ok

# --- a shared path the client can swap for a symlink ---
check_match "sandboxd warns about it at start" "$(cat "$DLOG")" \
    "warning: shared_paths\[2\]: \".*/client/data\": the directory .*/client is writable by uid $U"
"${AS[@]}" ln -sfn "$T/secret/secret.txt" "$T/client/data"
out=$(C run --bind "$T/client/data:/d" -- /bin/cat /d 2>"$T/err")
check "the swapped shared path is refused" "$?" 125
check "the root-only file was not read" "$(grep -c SECRET <<<"$out")" 0
check_match "and the error says why" "$(cat "$T/err")" \
    "mounts\[0\].src: \".*/client/data\": the directory .*/client is writable by uid $U or others"

# --- caps on every limit a client may set ---
C run --cpu-weight 300 -- /bin/true 2>"$T/err"
check_match "cpu_weight over the cap is refused" "$(cat "$T/err")" \
    'limits.cpu_weight: 300 is over this client.s cap of 200 \(client_caps.cpu_weight\)'
C run --cpuset 0-1 -- /bin/true 2>"$T/err"
check_match "CPUs outside the cap's cpuset are refused" "$(cat "$T/err")" \
    'limits.cpuset: "0-1" is not within this client.s CPUs "0" \(client_caps.cpuset\)'
printf 'limits { pending_signals: 100000 }\n' >"$T/sig.pbtxt"
C run --policy "$T/sig.pbtxt" -- /bin/true 2>"$T/err"
check_match "pending_signals over the cap is refused" "$(cat "$T/err")" 'client_caps.pending_signals'
printf 'limits { msgqueue: "1M" }\n' >"$T/mq.pbtxt"
C run --policy "$T/mq.pbtxt" -- /bin/true 2>"$T/err"
check_match "msgqueue over the cap is refused" "$(cat "$T/err")" 'client_caps.msgqueue'
id=$(C submit --detach -- /bin/true)
check_match "an unset capped limit gets the cap" "$(C inspect "$id" --json)" \
    '"cpuset":"0".*"pending_signals":512,"msgqueue":"64K"'

# --- checked again when a queued job starts ---
blocker=$(S submit --detach -- /bin/sleep 30)
wait_until 5 sh -c "$SBX --socket $SOCK ps --all | grep -q '$blocker *RUNNING'"
q1=$(C submit --detach --bind "$T/later:/l" -- /bin/true)
q2=$(C submit --detach --memory 200M -- /bin/true)
check_match "both wait in the queue" "$(S ps --all)" "$q2 +CREATED"
sed -i -e "/later/d" -e 's/memory: "256M"/memory: "100M"/' "$T/sandboxd.conf"
kill -HUP "$DPID"
wait_until 5 grep -q 'configuration reloaded' "$DLOG"
S kill "$blocker"
C wait "$q1" --json >"$T/q1.json" 2>&1
check_match "a job whose path was unshared meanwhile does not start" "$(cat "$T/q1.json")" \
    '"status":"SETUP_FAILED".*the configuration changed while the job was queued: mounts\[0\].src'
C wait "$q2" --json >"$T/q2.json" 2>&1
check_match "a job over a cap lowered meanwhile does not start" "$(cat "$T/q2.json")" \
    '"status":"SETUP_FAILED".*client_caps.memory'
stop_daemon
finish
