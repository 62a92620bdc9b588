#!/bin/bash
# Docs that run: every shell example of README.md, of `sbx run --help` and
# of the headers of policy/examples/*.pb.txt is extracted and run as
# written, and its documented outcome checked. An example this test does
# not know fails it, so a new example comes with its check.
#
# The examples name host paths that stand for the user's own (/srv/...,
# /var/lib/sbx/debian, /tmp/sbx.sock). They are prepared in a mount
# namespace of this test's own: a tmpfs on /srv, an overlay on /var/lib with
# the image layers (rootfs/build-images.sh, built once into the build dir
# and kept there) bound at /var/lib/sbx/debian. Everything the examples
# write goes away with that namespace.
. "$(dirname "$0")/lib.sh"

if [ -z "${SBX_DOCS_INNER:-}" ]; then
    # A sanitizer build next to a normal one reuses the normal one's layers.
    IMAGES=$SBX_BUILD/images
    case $SBX_BUILD in *-asan) [ -f "${SBX_BUILD%-asan}/images/.ci.done" ] && IMAGES=${SBX_BUILD%-asan}/images ;; esac
    start=$(date +%s)
    if ! "$SBX_SRC/rootfs/build-images.sh" "$IMAGES" >"$T/images.log" 2>&1; then
        cat "$T/images.log"
        fail "rootfs/build-images.sh $IMAGES"
        finish
    fi
    echo "# image layers ready in $(($(date +%s) - start)) s ($IMAGES)"
    if [ ! -d /srv ]; then
        mkdir /srv
        cleanup_hooks+=("rmdir /srv")
    fi
    SBX_DOCS_INNER=1 IMAGES=$IMAGES unshare --mount --propagation private bash "$0"
    exit $?
fi

# ---- inside the test's mount namespace (with a T of its own) ----
set -o pipefail
mount -t tmpfs -o mode=0755 docs-srv /srv
mkdir -p "$T/vl/u" "$T/vl/w"
mount -t overlay docs-varlib -o "lowerdir=/var/lib,upperdir=$T/vl/u,workdir=$T/vl/w" /var/lib
mkdir -p /var/lib/sbx/debian
mount --bind "$IMAGES" /var/lib/sbx/debian

# sbx and sandboxd as if installed (not below /tmp: the job service example
# gets a /tmp of its own).
mkdir -p /srv/bin
ln -s "$SBX" /srv/bin/sbx
ln -s "$SBX_BUILD/sandboxd" /srv/bin/sandboxd
ln -s "$SBX_BUILD/sbx-oci" /srv/bin/sbx-oci
export PATH=/srv/bin:$PATH

# The directory the README's examples run in: "this directory" (rootfs/,
# policy/) and the judge's test files.
W=/srv/work
mkdir -p "$W/tests" "$W/out"
ln -s "$SBX_SRC/rootfs" "$W/rootfs"
ln -s "$SBX_SRC/policy" "$W/policy"
ln -s "$SBX_BUILD" "$W/build"
echo "3 4" > "$W/tests/1.in"

# /srv/...: a submission, a checkout, a fuzz target and corpus.
mkdir -p /srv/submissions/42 /srv/results /srv/fuzz/target /srv/fuzz/corpus /srv/ci/checkout
cat > /srv/submissions/42/solution.cpp <<'CPP'
#include <iostream>
int main() { long a, b; std::cin >> a >> b; std::cout << a + b << std::endl; return 0; }
CPP
cat > /srv/ci/checkout/Makefile <<'MK'
test: hello
	./hello | grep -qx 'hello from CI=$(CI)'
	git --version >/dev/null
	python3 -c 'print("PASS")'
hello: hello.c
	$(CC) -O2 -o $@ $<
MK
cat > /srv/ci/checkout/hello.c <<'C'
#include <stdio.h>
#include <stdlib.h>
int main(void) { printf("hello from CI=%s\n", getenv("CI") ? getenv("CI") : ""); return 0; }
C
chmod -R a+rwX /srv/ci/checkout   # written as the job's host uid (README)
cat > "$T/fuzz.c" <<'C'
#include <stddef.h>
#include <stdint.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 4 && memcmp(data, "BOOM", 4) == 0)
        __builtin_trap();
    return 0;
}
C
if ! clang -O1 -fsanitize=fuzzer -o /srv/fuzz/target/target "$T/fuzz.c" 2>"$T/clang.err"; then
    fail "clang -fsanitize=fuzzer (apt-get install clang libclang-rt-14-dev): $(head -3 "$T/clang.err")"
fi
printf 'BOOM' > /srv/fuzz/corpus/crasher   # a crash on the first input: no luck needed
chmod -R a+rX /srv

# podman, for the examples that use it, keeps its images, containers and
# events below $T (its configuration files, not the examples' text, say
# so); the cgroups it makes (cgroupfs manager) that were not there before
# are removed at the end. "podman pull" (no registry here) is played by a
# shim that imports the judge layer under the name asked for.
mkdir -p "$T/pod/tmp" "$T/shim"
cat > "$T/pod/storage.conf" <<CONF
[storage]
driver = "vfs"
runroot = "$T/pod/run"
graphroot = "$T/pod/storage"
CONF
cat > "$T/pod/containers.conf" <<CONF
[engine]
tmp_dir = "$T/pod/tmp"
events_logger = "file"
events_logfile_path = "$T/pod/events.log"
[network]
network_config_dir = "$T/pod/net"
CONF
export CONTAINERS_STORAGE_CONF=$T/pod/storage.conf CONTAINERS_CONF=$T/pod/containers.conf
podman_cleanup() {
    command -v podman >/dev/null || return 0
    podman rm -af -t 0 >/dev/null 2>&1
    podman rmi -af >/dev/null 2>&1
}
podman_begin
# Before podman_begin's own hook, which removes the cgroups podman made.
cleanup_hooks=(podman_cleanup "${cleanup_hooks[@]}")
cat > "$T/shim/podman" <<SHIM
#!/bin/sh
if [ "\$1" = pull ]; then
    tar -C /var/lib/sbx/debian/judge --exclude="./dev/*" -c . | podman import - "\$2" >/dev/null
    exit \$?
fi
exec podman "\$@"
SHIM
sed -i "s|exec podman|exec $(command -v podman || echo podman)|" "$T/shim/podman"
chmod +x "$T/shim/podman"

# ---- extraction ----
# One file per example, named so that README's come first (--help's judge
# example runs the binary README's judge example compiled).
EX=$T/examples
mkdir -p "$EX"
# README.md: every ```sh block.
awk -v out="$EX/1-readme" '
    /^```sh$/ { on = 1; f = sprintf("%s-%02d.sh", out, ++n); next }
    /^```/ && on { on = 0; close(f); next }
    on { print > f }' "$SBX_SRC/README.md"
# extract_cmds OUT PREFIX-REGEX: each line "PREFIX sbx ..." with its
# continuation lines ("\" at the end), the prefix taken off.
extract_cmds() {
    awk -v out="$1" -v pre="$2" '
        cont { sub(pre, ""); sub(/^ +/, "    "); print > f; cont = /\\$/; if (!cont) close(f); next }
        $0 ~ (pre "sbx ") { sub(pre, ""); f = sprintf("%s-%02d.sh", out, ++n); print > f; cont = /\\$/; if (!cont) close(f) }'
}
"$SBX" run --help | sed -n '/^Examples/,$p' | extract_cmds "$EX/2-help" '^  '
for p in "$SBX_SRC"/policy/examples/*.pb.txt; do
    extract_cmds "$EX/3-policy-$(basename "$p" .pb.txt)" '^#   ' < "$p"
done
n=$(find "$EX" -name '*.sh' | wc -l)
check_cmp "examples found (README, --help, policies)" "$n" -ge 12

# ---- running ----
# run_private_tmp SCRIPT: runs it in $W with a /tmp of its own, so that
# what it makes there (a socket, a bundle) meets nothing else and goes away;
# the build and source trees stay where they are if they live below /tmp (a
# clone there). Sets RC, OUT.
run_private_tmp() {
    OUT=$(cd "$W" && timeout 120 unshare --mount --propagation private bash -c '
        mkdir -p /srv/.tmp && mount --bind /tmp /srv/.tmp && mount -t tmpfs docs-tmp /tmp || exit 1
        for d in "$2" "$3"; do
            case $d in /tmp/*) mkdir -p "$d" && mount --bind "/srv/.tmp/${d#/tmp/}" "$d" || exit 1 ;; esac
        done
        bash -ec "$1"' sh "$1" "$(readlink -f "$SBX_BUILD")" "$(readlink -f "$SBX_SRC")" 2>&1 </dev/null)
    RC=$?
}
# run_example FILE: runs it in $W as written; sets RC, OUT (stdout+stderr).
run_example() {
    OUT=$(cd "$W" && timeout 240 bash -e "$1" 2>&1 </dev/null)
    RC=$?
}
result_status() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["status"])' "$1" 2>/dev/null; }
seen=" "
for f in "$EX"/*.sh; do
    case $(basename "$f") in
    1-readme-*) from=README.md ;;
    2-help-*) from="sbx run --help" ;;
    *) from=$(basename "$f" .sh); from="policy/examples/${from#3-policy-}"; from=${from%-*}.pb.txt ;;
    esac
    first=$(head -n1 "$f")
    echo "# --- $from: $first"
    case $first in
    "make run"*)
        # The Quick start: make run as written (with this build); make test
        # is this very suite.
        OUT=$(cd "$SBX_SRC" && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s run BUILD="$SBX_BUILD" 2>&1); RC=$?
        check "$from: make run" "$RC" 0
        check_match "$from: make run's sample job" "$OUT" 'hello from sandbox: uid 0, pid [0-9]+'
        seen+="quickstart " ;;
    "rootfs/build-images.sh /var/lib/sbx/debian judge"*)
        rm -rf /srv/judge /srv/results/42.json "$W/out/1.txt"
        run_example "$f"
        check "$from: the judge example exits 0" "$RC" 0
        [ "$RC" = 0 ] || echo "$OUT"
        check "$from: the judged output" "$(cat "$W/out/1.txt" 2>/dev/null)" 7
        check "$from: the result says EXITED" "$(result_status /srv/results/42.json)" EXITED
        seen+="judge " ;;
    "rootfs/build-images.sh /var/lib/sbx/debian "*)
        rm -f /srv/ci/checkout/hello
        run_example "$f"
        check "$from: the CI example exits 0" "$RC" 0
        check_match "$from: the CI job's tests ran" "$OUT" 'PASS'
        [ -x /srv/ci/checkout/hello ] && ok "$from: the build artifact survives" || fail "$from: no /srv/ci/checkout/hello"
        seen+="ci " ;;
    "mkdir -p -m 0777 /srv/fuzz/crashes"* | "sbx run --policy policy/examples/fuzzing.pb.txt"*)
        rm -rf /srv/fuzz/crashes; mkdir -p -m 0777 /srv/fuzz/crashes
        run_example "$f"
        check_cmp "$from: the fuzzer stopped at the crash (exit status)" "$RC" -ne 0
        check_cmp "$from: ... not a setup failure" "$RC" -ne 125
        check_match "$from: the crash is kept under -artifact_prefix" "$(ls /srv/fuzz/crashes)" '^crash-'
        seen+="fuzz " ;;
    "sandboxd --socket /tmp/sbx.sock &")
        # It waits for what the example started in the background.
        run_private_tmp "$(cat "$f"; echo wait)"
        check "$from: the job service example exits 0" "$RC" 0
        check_match "$from: a job through sandboxd" "$OUT" '(^|
)hi(
|$)'
        seen+="service " ;;
    "cat > /tmp/sandboxd.conf <<'EOF'")
        run_private_tmp "$(cat "$f"; echo wait)"
        check "$from: the warm pool and session example exits 0" "$RC" 0
        check_match "$from: a job from the warm pool" "$OUT" '(^|
)warm(
|$)'
        check_match "$from: the session's second run read the first's file" "$OUT" '(^|
)7(
|$)'
        seen+="warm " ;;
    "podman pull gcc:13 && podman save gcc:13 -o gcc.tar"*)
        rm -rf /srv/judge/43 "$W/gcc.tar"
        OUT=$(cd "$W" && PATH=$T/shim:$PATH timeout 600 bash -e "$f" 2>&1 </dev/null); RC=$?
        check "$from: the image judge example exits 0" "$RC" 0
        [ "$RC" = 0 ] || echo "$OUT" | tail -20
        check_match "$from: the program built on the image answers" "$OUT" '(^|
)7(
|$)'
        check_match "$from: sbx image ls lists it" "$OUT" 'gcc:13'
        check "$from: sbx image rm left no image" "$(sbx image ls 2>&1 | grep -c 'gcc')" 0
        rm -f "$W/gcc.tar"
        seen+="image " ;;
    "tar -C build/rootfs -c . | podman import - sbx-demo"*)
        OUT=$(cd "$W" && timeout 300 bash -e "$f" 2>&1 </dev/null); RC=$?
        check "$from: podman with sbx-oci as its runtime" "$RC:$(echo "$OUT" | tail -1)" "0:hi"
        seen+="oci-podman " ;;
    "mkdir -p /tmp/c1 && ln -sfn"*)
        run_private_tmp "$(cat "$f")"
        check "$from: sbx-oci run on a bundle" "$RC:$OUT" "0:hi from sbx"
        seen+="oci-bundle " ;;
    "bench/bench.sh"*)
        ok "$from: skipped: the benchmarks take minutes and install their peers" ;;
    "make "*"# build"*)
        ok "$from: skipped: the development targets are what CI itself runs" ;;
    "sbx run -- /bin/sh -c 'echo hello'")
        run_example "$f"
        check "$from: hello" "$RC:$OUT" "0:hello"
        seen+="hello " ;;
    "sbx run --rootfs /var/lib/sbx/debian/judge "*)
        [ -x /srv/judge/42/solution ] || fail "$from: run after README's judge example (no /srv/judge/42/solution)"
        OUT=$(cd "$W" && echo "3 4" | timeout 120 bash -e "$f" 2>&1); RC=$?
        check "$from: the judged program answers" "$RC:$OUT" "0:7"
        seen+="help-judge " ;;
    "sbx run --policy policy/examples/online-judge.pb.txt"*)
        run_example "$f"
        check "$from: stdin_data in, captured answer out" "$RC:$OUT" "0:7"
        seen+="policy-judge " ;;
    "sbx run --policy policy/examples/ci-job.pb.txt"*)
        rm -f /srv/ci/checkout/hello
        run_example "$f"
        check "$from: the CI job exits 0" "$RC" 0
        check_match "$from: its tests ran" "$OUT" 'PASS'
        seen+="policy-ci " ;;
    "sbx run --result-json result.json --time-offset boottime=86400 -- uptime")
        run_example "$f"
        check "$from: uptime exits 0" "$RC" 0
        check_match "$from: the clock is a day ahead" "$OUT" 'up 1 day'
        check "$from: result.json" "$(result_status "$W/result.json")" EXITED
        seen+="uptime " ;;
    *)
        fail "$from: an example this test does not know: \"$first\" (add its check to $(basename "$0"))" ;;
    esac
done
for want in quickstart judge ci fuzz service warm hello help-judge policy-judge policy-ci uptime image oci-podman oci-bundle; do
    case $seen in *" $want "*) ;; *) fail "no example of \"$want\" was found (extraction broken?)" ;; esac
done
finish
