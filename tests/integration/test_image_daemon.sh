#!/bin/bash
# sandboxd and images: a request's policy.image resolves in the daemon's
# image_store; a non-administrator may use it only when the operator set
# share_images. Kills only the daemon it started, by pid.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/daemon_lib.sh"

export SBX_IMAGE_STORE="$T/store"
mkdir -p "$T/l2/etc" && echo from-image > "$T/l2/etc/greeting"
python3 "$SBX_SRC/tests/integration/mkimage.py" docker "$T/d.tar" --name demo:1 \
    --cmd /bin/cat --cmd /etc/greeting "$SBX_ROOTFS" "$T/l2"
"$SBX" image import "$T/d.tar" >/dev/null || { fail "import"; finish; }
NOBODY=(setpriv --reuid=65534 --regid=65534 --clear-groups)

conf() {
    cat > "$T/sandboxd.conf" <<CONF
allowed_uids: 65534
image_store: "$T/store"
$1
CONF
}
conf ""
# The daemon reads its own store, not the client's environment.
SBX_IMAGE_STORE=/nonexistent start_daemon || exit 1
check "an administrator runs a job on an image" "$(S run --image demo:1 2>&1)" from-image
check "... with the flags over the image's defaults" \
    "$(S run --image demo:1 --env X=1 -- /bin/sh -c 'echo $X' 2>&1)" 1
out=$("${NOBODY[@]}" "$SBX" --socket "$SOCK" run --image demo:1 2>&1); rc=$?
check "a non-administrator is refused the image store" "$rc" 125
check_match "... saying why" "$out" 'image: only administrators may run jobs on images'
out=$(S run --image nope:1 2>&1)
check_match "an unknown image is refused by the daemon" "$out" 'image nope:1: not in the store'
out=$(PYTHONPATH="$PYPKG" "${PYCLIENT[@]}" run --capture --image demo:1 2>&1)
check_match "the Python client runs the image's Cmd (make_policy(image=...))" "$out" '"stdout": "ZnJvbS1pbWFnZQo="'

# The daemon claims a job's layers until the job stops: rm and prune keep
# them meanwhile.
mkdir -p "$T/hl/opt" && echo held > "$T/hl/opt/held"
python3 "$SBX_SRC/tests/integration/mkimage.py" docker "$T/held.tar" --name held:1 \
    "$SBX_ROOTFS" "$T/hl"
"$SBX" image import "$T/held.tar" >/dev/null
# Two jobs on it: the daemon keeps one fd per layer in use, not one per
# job, and the layer stays until the last of them ends.
mkfifo "$T/go1" "$T/go2"
for k in 1 2; do
    S run --image held:1 -- /bin/sh -c 'echo ready; read x; cat /opt/held' \
        <"$T/go$k" >"$T/held$k.out" 2>"$T/held$k.err" &
    eval "job$k=\$!"
done
exec 7>"$T/go1" 8>"$T/go2"
for _ in $(seq 100); do
    grep -q ready "$T/held1.out" 2>/dev/null && grep -q ready "$T/held2.out" 2>/dev/null && break
    sleep 0.1
done
check "two daemon jobs on the image run" "$(head -1 "$T/held1.out") $(head -1 "$T/held2.out")" "ready ready"
check "... with one claim each layer, shared" \
    "$(ls -l /proc/$DPID/fd | grep -c "$SBX_IMAGE_STORE/layers/sha256/")" 2
out=$("$SBX" image rm held:1 2>&1)
check_match "rm while the daemon's jobs run keeps its layer" "$out" 'removed held:1 \(0 layers freed\).*kept 1 layers'
echo go >&7
exec 7>&-
wait "$job1"
rc=$?
check "... and the first job reads its files to the end" "$(tail -1 "$T/held1.out") $rc" "held 0"
out=$("$SBX" image prune 2>&1)
check_match "with the other job still running, prune keeps it" "$out" '^0 layers freed.*kept 1 layers'
echo go >&8
exec 8>&-
wait "$job2"
rc=$?
check "... and so does the second" "$(tail -1 "$T/held2.out") $rc" "held 0"
check "once both stopped, prune frees the layer" "$("$SBX" image prune 2>&1)" "1 layers freed"
check "... and the daemon holds no claim" \
    "$(ls -l /proc/$DPID/fd | grep -c "$SBX_IMAGE_STORE/layers/sha256/")" 0
stop_daemon

conf "share_images: true"
start_daemon || exit 1
check "with share_images, a non-administrator may use it" \
    "$("${NOBODY[@]}" "$SBX" --socket "$SOCK" run --image demo:1 2>&1)" from-image
stop_daemon
echo 'image_store: "relative"' > "$T/sandboxd.conf"
out=$("$SANDBOXD" --socket "$SOCK" --config "$T/sandboxd.conf" 2>&1 </dev/null); rc=$?
check_match "a relative image_store is a configuration error" "$out" 'image_store: .*absolute'
check_log_clean
finish
