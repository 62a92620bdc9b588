#!/bin/bash
# sbx image: Docker and OCI images imported into the layer store, run with
# --image; whiteouts and opaque directories hide lower files in the job;
# image defaults under the policy and flags; hostile archives and wrong
# digests refused with one line, the store unchanged.
. "$(dirname "$0")/lib.sh"

MK="python3 $SBX_SRC/tests/integration/mkimage.py"
export SBX_IMAGE_STORE="$T/store"
# Everything in the store but the lock file, with owners and modes.
store_state() {
    (cd "$SBX_IMAGE_STORE" 2>/dev/null && find . -path ./lock -prune -o -printf '%p %m %u %y\n' | sort | sha256sum)
}
img() { IOUT=$("$SBX" image "$@" 2>"$T/ierr"); IRC=$?; IERR=$(cat "$T/ierr"); }

# A three-layer image: the bundled rootfs; a layer adding files and
# deleting /bin/ls; a layer making /opt opaque and deleting /data/old.
mkdir -p "$T/l2/etc" "$T/l2/bin" "$T/l2/opt/a" "$T/l2/data"
echo hello > "$T/l2/etc/greeting"
: > "$T/l2/bin/.wh.ls"
echo lower > "$T/l2/opt/a/lower-file"
echo old > "$T/l2/data/old"
echo keep > "$T/l2/data/keep"
mkdir -p "$T/l3/opt" "$T/l3/data"
: > "$T/l3/opt/.wh..wh..opq"
echo upper > "$T/l3/opt/upper-file"
: > "$T/l3/data/.wh.old"
$MK docker "$T/d.tar" --name localhost/demo:1 --env FOO=from-image --env PATH=/bin \
    --workdir /etc --cmd /bin/cat --cmd greeting "$SBX_ROOTFS" "$T/l2" "$T/l3"

img import "$T/d.tar"
check "docker archive imports" "$IRC" 0
check_match "import names the image and its layers" "$IOUT" '^demo:1 sha256:[0-9a-f]{64}: 3 layers \(3 new\)'
demo_id=$(echo "$IOUT" | sed -n 's/^demo:1 sha256:\([0-9a-f]\{64\}\):.*/\1/p')
img ls
check_match "ls lists it" "$IOUT" 'demo:1 +sha256:[0-9a-f]{12} +3 '
img inspect "${demo_id:0:12}"
check_match "inspect by the id's first 12 digits" "$IOUT" '"name": "demo:1"'
sbx_run --image "localhost/demo@sha256:$demo_id" -- /bin/cat /etc/greeting
check "run by NAME@sha256:ID" "$OUT" hello
sbx_run --image "demo:2@sha256:$demo_id" -- /bin/true
check_match "... with the tag, when given, checked too" "$ERR" 'not in the store'
img inspect localhost/demo:1
check_match "inspect by the archive's full name" "$IOUT" '"WorkingDir": "/etc"'
check "the store is root's alone" "$(stat -c %a "$SBX_IMAGE_STORE")" 700
# Layers of an uncompressed archive are read at their offsets, several at
# once; of a compressed one, as one stream. The same layers either way.
gzip -c "$T/d.tar" > "$T/d.tar.gz"
SBX_IMAGE_STORE="$T/store-gz" img import "$T/d.tar.gz"
check_match "a gzipped Docker archive imports" "$IOUT" '^demo:1 .*3 layers \(3 new\)'
check "... into the same layers, with the same files" \
    "$(cd "$T/store-gz/layers/sha256" && find . -printf '%p %m %s %y\n' | sort | sha256sum)" \
    "$(cd "$SBX_IMAGE_STORE/layers/sha256" && find . -printf '%p %m %s %y\n' | sort | sha256sum)"

sbx_run --image demo:1
check "the image's WorkingDir and Cmd run by default" "$OUT" hello
sbx_run --image demo:1 -- /bin/sh -c 'echo $FOO $PATH; pwd'
check "the image's Env and WorkingDir" "$(echo $OUT)" "from-image /bin /etc"
sbx_run --image demo:1 --env FOO=flag --cwd /tmp -- /bin/sh -c 'echo $FOO; pwd'
check "flags override the image's defaults" "$(echo $OUT)" "flag /tmp"
cat > "$T/p.txt" <<EOF
image: "demo:1"
env: "FOO=policy"
EOF
sbx_run --policy "$T/p.txt" -- /bin/sh -c 'echo $FOO'
check "image: in the policy" "$OUT" policy
sbx_run --image demo:1 -- /bin/sh -c 'ls /bin/ls 2>&1; ls /opt; cat /data/keep; ls /data'
check_match "a whiteout hides a lower file" "$OUT" 'No such file'
check "an opaque directory hides the lower contents, keeps its own" \
    "$(echo "$OUT" | sed -n 2p)" upper-file
check "a deleted file is gone, its neighbours stay" "$(echo $OUT | awk '{print $(NF-1), $NF}')" "keep keep"
sbx_run --image demo:1 -- /bin/sh -c 'echo x > /etc/greeting && cat /etc/greeting; touch /bin/new && echo w'
check "the image's root is writable (tmpfs upper)" "$(echo $OUT)" "x w"
sbx_run --image demo:1 -- /bin/cat /etc/greeting
check "writes vanish with the job" "$OUT" hello
mkdir -p "$T/top/etc" && echo top > "$T/top/etc/greeting"
sbx_run --image demo:1 --rootfs "$T/top" -- /bin/cat /etc/greeting
check "--rootfs layers stack on top of the image" "$OUT" top
sbx_run --image demo:1 -- /bin/sh -c 'grep " / " /proc/mounts | cut -d" " -f3; id -u'
check "root is an overlay, root inside owns the image's files" "$(echo $OUT)" "overlay 0"
sbx_run --image nope -- /bin/true
check "an unknown image is a setup failure" "$RC" 125
check_match "... naming the image" "$ERR" 'image nope:latest: not in the store'
sbx_run --image 'Bad Name' -- /bin/true
check_match "a malformed name is refused" "$ERR" 'image: "Bad Name" is not NAME\[:TAG\]'

# The same layers as an OCI layout (gzip blobs) and an OCI archive: shared.
$MK oci-dir "$T/oci" --gzip --name demo:oci "$SBX_ROOTFS" "$T/l2" "$T/l3"
img import "$T/oci"
check_match "OCI layout imports, sharing the layers" "$IOUT" '^demo:oci .*3 layers \(0 new\)'
mdig=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"])' "$T/oci")
img inspect "demo@$mdig"
check_match "inspect by NAME@ the manifest's digest, as a registry names it" "$IOUT" '"name": "demo:oci"'
$MK oci-archive "$T/oci.tar" --gzip "$SBX_ROOTFS" "$T/l2"
img import "$T/oci.tar"
check_match "an image without a name needs --name" "$IERR" 'has no name; give one with --name'
img import --name demo:ociar "$T/oci.tar"
check_match "OCI archive imports" "$IOUT" '^demo:ociar .*2 layers \(0 new\)'
sbx_run --image demo:ociar -- /bin/sh -c 'ls /opt/a'
check "an image of fewer layers sees the lower file" "$OUT" lower-file
check "layers are shared, not copied" "$(ls "$SBX_IMAGE_STORE/layers/sha256" | wc -l)" 3
before=$(store_state)
$MK oci-dir "$T/bad-present" --gzip --name bad:present --bad-blob 1 "$SBX_ROOTFS" "$T/l2"
img import "$T/bad-present"
check_match "a corrupted blob is refused even when its layer is in the store" "$IERR" 'layer 1 .*(blob sha256 is|decompress)'
check "... and the store unchanged" "$(store_state)" "$before"

# Many layers: the overlay takes its lowers one fsconfig("lowerdir+") each.
many=()
for i in $(seq 1 120); do
    mkdir -p "$T/many/$i/layers" && echo "$i" > "$T/many/$i/layers/$i" && echo "$i" > "$T/many/$i/layers/top"
    many+=("$T/many/$i")
done
$MK docker "$T/many.tar" --name many:1 "$SBX_ROOTFS" "${many[@]}"
img import "$T/many.tar"
check_match "an image of 121 layers imports" "$IOUT" '121 layers'
sbx_run --image many:1 -- /bin/sh -c 'ls /layers | wc -l; cat /layers/top /layers/1'
check "a job stacks all 121 layers, the last on top" "$(echo $OUT)" "121 120 1"
$MK docker "$T/toomany.tar" --name many:2 "$SBX_ROOTFS" "${many[@]}" "${many[@]:0:10}"
img import "$T/toomany.tar"
check_match "more than 127 layers are refused" "$IERR" '131 layers, more than the 127 allowed'
rm -rf "$T/many"

# Import is safe while jobs run: a name moved to a new image keeps the old
# image's layers (for its running jobs) until sbx image prune.
mkdir -p "$T/v1/etc" "$T/v2/etc" "$T/sync" && chmod 0777 "$T/sync"
echo v1 > "$T/v1/etc/ver"; echo v2 > "$T/v2/etc/ver"
$MK docker "$T/v1.tar" --name ver:1 "$SBX_ROOTFS" "$T/v1"
$MK docker "$T/v2.tar" --name ver:1 "$SBX_ROOTFS" "$T/v2"
img import "$T/v1.tar"
"$SBX" run --image ver:1 --bind-rw "$T/sync:/sync" -- /bin/sh -c \
    'echo started > /sync/s; while [ ! -e /sync/go ]; do sleep 0.05; done; cat /etc/ver' > "$T/bg.out" 2>&1 &
bg=$!
for _ in $(seq 200); do [ -s "$T/sync/s" ] && break; sleep 0.05; done
img import "$T/v2.tar"
check_match "an import taking a name says the old layers stay" "$IERR" 'ver:1 named another image before'
touch "$T/sync/go"
wait $bg
check "a job running on the old image keeps its files" "$(cat "$T/bg.out")" v1
sbx_run --image ver:1 -- /bin/cat /etc/ver
check "a new job gets the new image" "$OUT" v2
img prune
check "prune frees the old image's own layer" "$IOUT" "1 layers freed"
img prune
check "... once" "$IOUT" "0 layers freed"

# Concurrent imports of the same new layer.
mkdir -p "$T/l4" && echo four > "$T/l4/four"
$MK docker "$T/c1.tar" --name conc:1 "$SBX_ROOTFS" "$T/l4"
$MK oci-dir "$T/c2" --gzip --name conc:2 "$SBX_ROOTFS" "$T/l4"
"$SBX" image import "$T/c1.tar" >/dev/null 2>&1 & p1=$!
"$SBX" image import "$T/c2" >/dev/null 2>&1 & p2=$!
wait $p1; r1=$?; wait $p2; r2=$?
check "two imports of the same layer at once both succeed" "$r1 $r2" "0 0"
sbx_run --image conc:2 -- /bin/cat /four
check "... and the layer is whole" "$OUT" four

# A crash mid-import leaves only tmp/, never a layer; the next import
# clears it.
mkdir -p "$SBX_IMAGE_STORE/tmp/999.0.abcdef/etc" && echo half > "$SBX_IMAGE_STORE/tmp/999.0.abcdef/etc/half"
img import "$T/c1.tar"
check "an import clears what an interrupted one left" "$(ls -A "$SBX_IMAGE_STORE/tmp")" ""

# Hostile layers: refused with one line, store unchanged, nothing outside.
before=$(store_state)
for kind in traversal traversal-middle symlink-dir symlink-dotdot hardlink-out hardlink-missing \
            device whiteout-dev blockdev big; do
    $MK evil "$kind" "$T/evil.tar"
    $MK docker "$T/evil-img.tar" --name "evil:$kind" "$T/evil.tar"
    img import --max-size 2M "$T/evil-img.tar"
    check "hostile layer ($kind) refused" "$IRC" 1
    check "... with one line" "$(echo "$IERR" | wc -l)" 1
    check_match "... naming the entry" "$IERR" 'entry "'
    check "... and the store unchanged" "$(store_state)" "$before"
done
# --max-size bounds the whole image, not each layer.
mkdir -p "$T/b1" "$T/b2"
head -c 1500000 /dev/zero > "$T/b1/one"; head -c 1500000 /dev/zero > "$T/b2/two"
$MK docker "$T/b.tar" --name big:2 "$T/b1" "$T/b2"
img import --max-size 2M "$T/b.tar"
check_match "layers that together exceed --max-size are refused" "$IERR" 'layer [01] .*the image.s files exceed 2097152 bytes'
check "... and the store unchanged" "$(store_state)" "$before"
img import --max-size 500K "$T/b.tar"
check_match "an archive far larger than --max-size is refused before any layer" "$IERR" 'members of more than 2048000 bytes in all'
[ -e /tmp/sbx-escaped ] || [ -e "$T/sbx-escaped" ] || [ -e "$SBX_IMAGE_STORE/sbx-escaped" ] &&
    fail "a hostile entry was written outside its layer" || ok "nothing written outside the layer"

# Wrong digests: a layer whose content is not its diff_id, a corrupted
# blob, a manifest whose config was changed. A fresh store, so that no layer
# is already there to be taken on trust of its digest.
export SBX_IMAGE_STORE="$T/store2"
$MK docker "$T/bad1.tar" --name bad:1 --bad-diff-id 1 "$SBX_ROOTFS" "$T/l2"
img import "$T/bad1.tar"
check_match "a layer not matching its diff_id is refused" "$IERR" "layer 1 .*uncompressed sha256 is [0-9a-f]{64}, the config's diff_id says"
check "... the store keeps no layer of it" "$(ls "$SBX_IMAGE_STORE/layers/sha256" | wc -l) $(ls "$SBX_IMAGE_STORE/tmp" | wc -l)" "0 0"
# The same archive gzipped: read as one stream, not by offsets; the same
# refusal.
gzip -c "$T/bad1.tar" > "$T/bad1.tar.gz"
img import "$T/bad1.tar.gz"
check_match "... and so is it in a compressed archive" "$IERR" "layer 1 .*uncompressed sha256 is [0-9a-f]{64}, the config's diff_id says"
check "... which leaves no layer either" "$(ls "$SBX_IMAGE_STORE/layers/sha256" | wc -l) $(ls "$SBX_IMAGE_STORE/tmp" | wc -l)" "0 0"
$MK oci-dir "$T/bad2" --gzip --name bad:2 --bad-blob 0 "$SBX_ROOTFS"
img import "$T/bad2"
check_match "a corrupted blob is refused" "$IERR" '(blob sha256 is|decompress|not a valid tar)'
check "... with one line" "$(echo "$IERR" | wc -l)" 1
$MK oci-dir "$T/bad3" --name bad:3 "$SBX_ROOTFS"
cfg=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1]+"/index.json"))["manifests"][0]["digest"][7:]; print(json.load(open(sys.argv[1]+"/blobs/sha256/"+m))["config"]["digest"][7:])' "$T/bad3")
sed -i 's/"os": "linux"/"os": "linux", "x": 1/' "$T/bad3/blobs/sha256/$cfg"
img import "$T/bad3"
check_match "a config not matching its digest is refused" "$IERR" "sha256 is [0-9a-f]{64}, its digest says $cfg"
check "no image was recorded" "$(ls "$SBX_IMAGE_STORE/images" | wc -l)" 0

# setuid bits are dropped unless allowed.
$MK evil setuid "$T/suid.tar"
$MK docker "$T/suid-img.tar" --name suid:1 "$T/suid.tar"
img import "$T/suid-img.tar"
check_match "setuid bits are dropped, and said so" "$IERR" 'dropped setuid/setgid bits of 1 files'
check "... the file is 0755" "$(stat -c %a "$SBX_IMAGE_STORE"/layers/sha256/*/suid)" 755
$MK evil absolute "$T/abs.tar"
$MK docker "$T/abs-img.tar" --name abs:1 "$T/abs.tar"
img import "$T/abs-img.tar"
check "an absolute entry lands inside the layer" "$(cat "$SBX_IMAGE_STORE"/layers/sha256/*/abs/file)" abs

# A named User resolves in the image's own /etc/passwd and /etc/group,
# through its layers as the job sees them: the top one first, whiteouts
# hiding the ones below, never through a symlink.
mkdir -p "$T/u1/etc" "$T/u2/etc" "$T/u3/etc" "$T/u4/etc"
printf 'root:x:0:0::/root:/bin/sh\napp:x:1234:2345::/:/bin/sh\n' > "$T/u1/etc/passwd"
printf 'root:x:0:\napp:x:2345:\nstaff:x:50:app\n' > "$T/u1/etc/group"
printf 'app:x:777:778::/:/bin/sh\n' > "$T/u2/etc/passwd"
: > "$T/u3/etc/.wh.passwd"
ln -s /etc/shadow "$T/u4/etc/passwd"
$MK docker "$T/user1.tar" --name user:1 --user app "$SBX_ROOTFS" "$T/u1"
$MK docker "$T/user2.tar" --name user:2 --user app:staff "$SBX_ROOTFS" "$T/u1"
$MK docker "$T/user3.tar" --name user:3 --user app "$SBX_ROOTFS" "$T/u1" "$T/u2"
$MK docker "$T/user4.tar" --name user:4 --user app "$SBX_ROOTFS" "$T/u1" "$T/u3"
$MK docker "$T/user5.tar" --name user:5 --user app "$SBX_ROOTFS" "$T/u1" "$T/u4"
$MK docker "$T/user6.tar" --name user:6 --user nosuch "$SBX_ROOTFS" "$T/u1"
for i in 1 2 3 4 5 6; do img import "$T/user$i.tar"; done
sbx_run --image user:1 -- /bin/sh -c 'id -u; id -g'
check "a User name runs as its uid and primary gid from the image's /etc/passwd" "$(echo $OUT)" "1234 2345"
sbx_run --image user:2 -- /bin/sh -c 'id -u; id -g'
check "user:group takes the gid from the image's /etc/group" "$(echo $OUT)" "1234 50"
sbx_run --image user:3 -- /bin/sh -c 'id -u; id -g'
check "the top layer's /etc/passwd wins" "$(echo $OUT)" "777 778"
sbx_run --image user:4 -- /bin/true
check_match "a whited-out /etc/passwd hides the lower ones" "$ERR" 'its User "app": the image has no /etc/passwd'
sbx_run --image user:5 -- /bin/true
check_match "a symlinked /etc/passwd is not followed" "$ERR" 'its User "app": /etc/passwd is a symlink in layer 2'
sbx_run --image user:6 -- /bin/true
check_match "an unknown user is refused, naming it" "$ERR" 'its User "nosuch": no such user in the image.s /etc/passwd'
check "... as a setup failure" "$RC" 125
sbx_run --image user:6 --uid 5 -- /bin/sh -c 'id -u'
check "--uid overrides it" "$OUT" 5

# rm: the image goes, its layers only when no other image has them.
export SBX_IMAGE_STORE="$T/store"
n=$(ls "$SBX_IMAGE_STORE/layers/sha256" | wc -l)
img rm demo:ociar
check "rm of an image whose layers others use frees none" "$IOUT" "removed demo:ociar (0 layers freed)"
img rm conc:1
img rm conc:2
check "rm of the last image with a layer frees it" "$IOUT" "removed conc:2 (1 layers freed)"
check "... from the store" "$(ls "$SBX_IMAGE_STORE/layers/sha256" | wc -l)" $((n - 1))
img rm conc:2
check_match "rm of an unknown image says so" "$IERR" 'conc:2: not in the store'
check "... and fails" "$IRC" 1

# A job running on an image keeps its layers through rm and prune: its
# claim (a shared flock on each layer) outlives the image's name.
mkdir -p "$T/hl/opt" && echo held > "$T/hl/opt/held"
$MK docker "$T/held.tar" --name held:1 "$SBX_ROOTFS" "$T/hl"
img import "$T/held.tar"
n=$(ls "$SBX_IMAGE_STORE/layers/sha256" | wc -l)
mkfifo "$T/go"
"$SBX" run --image held:1 -- /bin/sh -c 'echo ready; read x; cat /opt/held' \
    <"$T/go" >"$T/held.out" 2>"$T/held.err" &
job=$!
exec 7>"$T/go"
for _ in $(seq 100); do grep -q ready "$T/held.out" 2>/dev/null && break; sleep 0.1; done
check "the job on the image runs" "$(head -1 "$T/held.out")" ready
img rm held:1
check "rm of an image a job runs on removes its name" "$IOUT" "removed held:1 (0 layers freed)"
check_match "... keeps the layer the job uses, and says so" "$IERR" 'kept 1 layers that running jobs use'
img prune
check "prune while the job runs keeps it too" "$IOUT" "0 layers freed"
echo go >&7
exec 7>&-
wait "$job"
rc=$?
check "... and the job reads its files to the end" "$(tail -1 "$T/held.out") $rc" "held 0"
img prune
check "once the job ended, prune frees the layer" "$IOUT $IERR" "1 layers freed "
check "... from the store" "$(ls "$SBX_IMAGE_STORE/layers/sha256" | wc -l)" $((n - 1))

# A real podman save (both formats), podman build (RUN rm: real whiteouts)
# and skopeo copy to an OCI layout, when
# the tools are there. Their state lives in $T and goes with it.
if command -v podman >/dev/null && command -v skopeo >/dev/null; then
    PODMAN=(podman --root "$T/podman" --runroot "$T/podman-run" --cgroup-manager cgroupfs
            --storage-driver vfs)
    tar -C "$SBX_ROOTFS" -cf "$T/rootfs.tar" .
    if "${PODMAN[@]}" import --change 'CMD ["/bin/cat","/etc/hostname"]' "$T/rootfs.tar" \
           localhost/pod:1 >/dev/null 2>"$T/podman.err"; then
        "${PODMAN[@]}" save --format docker-archive -o "$T/pod-docker.tar" localhost/pod:1 2>/dev/null
        "${PODMAN[@]}" save --format oci-archive -o "$T/pod-oci.tar" localhost/pod:1 2>/dev/null
        skopeo copy -q "docker-archive:$T/pod-docker.tar" "oci:$T/pod-oci-dir:v1" 2>/dev/null
        img import "$T/pod-docker.tar"
        check_match "podman save --format docker-archive imports" "$IOUT" '^pod:1 '
        img import --name pod:oci "$T/pod-oci.tar"
        check_match "podman save --format oci-archive imports" "$IOUT" '^pod:oci .*\(0 new\)'
        img import --name pod:skopeo "$T/pod-oci-dir"
        check_match "skopeo copy oci:DIR imports" "$IOUT" '^pod:skopeo '
        sbx_run --image pod:1 -- /bin/sh -c 'echo from-podman'
        check "a job runs on the podman image" "$OUT" from-podman
        # podman build: RUN rm makes real whiteouts, rm -rf then mkdir an
        # opaque directory (chroot isolation: no runtime, no cgroups).
        mkdir -p "$T/ctx" && echo f > "$T/ctx/f"
        cat > "$T/ctx/Containerfile" <<'CF'
FROM localhost/pod:1
COPY f /opt/keep/f
RUN rm /bin/ls && mkdir -p /opt/keep2 && echo y > /opt/keep2/y
RUN rm -rf /opt/keep && mkdir /opt/keep && echo g > /opt/keep/g
ENV FROMBUILD=1
WORKDIR /opt
CMD ["/bin/cat", "/opt/keep/g"]
CF
        if "${PODMAN[@]}" build --isolation chroot --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
               -t localhost/built:1 "$T/ctx" >"$T/build.log" 2>&1 &&
           "${PODMAN[@]}" save --format oci-archive -o "$T/built.tar" localhost/built:1 >/dev/null 2>&1; then
            img import --name built:1 "$T/built.tar"
            check_match "a podman-built image imports" "$IOUT" '^built:1 .*4 layers'
            sbx_run --image built:1
            check "its Cmd runs" "$OUT" g
            sbx_run --image built:1 -- /bin/sh -c 'ls /bin/ls 2>&1; ls /opt/keep; cat /opt/keep2/y; echo $FROMBUILD; pwd'
            check "RUN rm and rm -rf hide the lower files; ENV, WORKDIR apply" "$(echo $OUT)" \
                "ls: /bin/ls: No such file or directory g y 1 /opt"
        else
            echo "# podman build failed, skipped: $(tail -c 300 "$T/build.log")"
        fi
        "${PODMAN[@]}" rmi -a -f >/dev/null 2>&1
    else
        echo "# podman import failed, skipping: $(head -c 300 "$T/podman.err")"
    fi
    rm -rf "$T/podman" "$T/podman-run"
else
    echo "# podman or skopeo missing: skipped the podman/skopeo checks"
fi

finish
