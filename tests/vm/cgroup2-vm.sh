#!/bin/bash
# Runs test binaries inside a small VM that mounts only cgroup2, so that the
# v2 code paths (CLONE_INTO_CGROUP, cgroup.kill, memory.oom.group, PSI, the
# no-internal-process rule) are tested for real on a v1/hybrid host.
#
#   tests/vm/cgroup2-vm.sh BUILD_DIR [TEST_BINARY...]
#
# Default test: BUILD_DIR/tests/test_cgroup. Binaries run from a read-only 9p
# share of BUILD_DIR (mounted at the same path inside), their shared
# libraries are copied into the initramfs. The Debian kernel (vmlinuz + the
# few modules needed) is extracted once and cached in BUILD_DIR/vm-cache.
# Exit status: 0 when every test passed, else the first failing status.
# qemu runs under TCG: on some hosts /dev/kvm opens but hangs a stock
# kernel (a paravirtual KVM, such as PVM, that only runs guest kernels built
# for it: the guest stays silent after SeaBIOS, with -M microvm too), so no
# KVM probing. TCG boots Debian's kernel to /init in about 4 s and runs the
# tests in under 10 s; only cpu.max throttling is loose under emulation
# (about twice the quota used), so CPU-quota checks there use wide bounds.
set -euo pipefail
trap 'echo "cgroup2-vm: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

die() { echo "cgroup2-vm: $*" >&2; exit 2; }
[ $# -ge 1 ] || die "usage: $0 BUILD_DIR [TEST_BINARY...]"
BUILD=$(cd "$1" && pwd) || die "no build dir $1"
shift
TESTS=("$@")
[ ${#TESTS[@]} -gt 0 ] || TESTS=("$BUILD/tests/test_cgroup")
for t in "${TESTS[@]}"; do
    case "$t" in /*) ;; *) die "test paths must be absolute: $t" ;; esac
    case "$t" in "$BUILD"/*) ;; *) die "$t is not below $BUILD (only the build dir is shared)" ;; esac
    [ -x "$t" ] || die "$t: not an executable (build first)"
done
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=$BUILD/vm-cache
# In load order (no modules.dep in the extracted tree, no depmod here).
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci 9pnet 9pnet_virtio netfs fscache 9p overlay"
TIMEOUT=${SBX_VM_TIMEOUT:-600}            # the whole VM
TEST_TIMEOUT=${SBX_VM_TEST_TIMEOUT:-300}  # each test binary inside
t_start=$(date +%s.%N)

need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
[ -x /bin/busybox ] && file -L /bin/busybox 2>/dev/null | grep -q static || need_pkgs+=(busybox-static)
command -v cpio >/dev/null || need_pkgs+=(cpio)
if [ ${#need_pkgs[@]} -gt 0 ]; then
    echo "cgroup2-vm: installing ${need_pkgs[*]}" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
fi

# --- kernel + modules, cached: keep vmlinuz and .ko from the same package ---
mkdir -p "$CACHE"
if [ ! -s "$CACHE/kernel/vmlinuz" ] || [ ! -s "$CACHE/kernel/modules/9p.ko" ]; then
    kpkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    if [ -z "$kpkg" ]; then
        apt-get update -qq
        kpkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
    fi
    [ -n "$kpkg" ] || die "cannot resolve linux-image-amd64 to a kernel package"
    rm -rf "$CACHE/kpkg" "$CACHE/kernel.new"
    mkdir -p "$CACHE/kpkg" "$CACHE/kernel.new/modules"
    (cd "$CACHE/kpkg" && apt-get download -qq "$kpkg" 2>/dev/null) || die "apt-get download $kpkg failed"
    deb=$(ls "$CACHE"/kpkg/*.deb)
    mkdir -p "$CACHE/kpkg/x"
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$CACHE/kpkg/x" --wildcards './boot/vmlinuz-*' \
        $(for m in $MODULES; do echo "*/$m.ko*"; done)
    cp "$CACHE"/kpkg/x/boot/vmlinuz-* "$CACHE/kernel.new/vmlinuz"
    for m in $MODULES; do
        f=$(find "$CACHE/kpkg/x" -name "$m.ko*" | head -1)
        [ -n "$f" ] || die "module $m not in $kpkg"
        case "$f" in
            *.ko) cp "$f" "$CACHE/kernel.new/modules/$m.ko" ;;
            *.ko.xz) xz -dc "$f" > "$CACHE/kernel.new/modules/$m.ko" ;;
            *.ko.zst) zstd -dqc "$f" > "$CACHE/kernel.new/modules/$m.ko" ;;
            *) die "unknown module format $f" ;;
        esac
    done
    echo "$kpkg" > "$CACHE/kernel.new/package"
    rm -rf "$CACHE/kernel" "$CACHE/kpkg"
    mv "$CACHE/kernel.new" "$CACHE/kernel"
fi

if [ ! -x "$CACHE/debugexit" ] || [ "$HERE/debugexit.c" -nt "$CACHE/debugexit" ]; then
    cc -static -O2 -o "$CACHE/debugexit" "$HERE/debugexit.c" || die "cannot build debugexit (needs gcc, libc6-dev)"
fi

# --- initramfs: busybox, modules, the tests' shared libraries, /init ---
ROOT=$CACHE/initramfs
rm -rf "$ROOT"
mkdir -p "$ROOT"/{bin,dev,proc,sys,tmp,run,mnt,lib/modules}
cp /bin/busybox "$ROOT/bin/busybox"
for a in $("$ROOT/bin/busybox" --list); do [ -e "$ROOT/bin/$a" ] || ln -s busybox "$ROOT/bin/$a"; done
cp "$CACHE"/kernel/modules/*.ko "$ROOT/lib/modules/"
cp "$CACHE/debugexit" "$ROOT/bin/debugexit"
for t in "${TESTS[@]}" "$BUILD/sbx"; do
    [ -x "$t" ] || continue
    # Scripts have no libraries: ldd and grep find nothing, which is fine.
    { ldd "$t" 2>/dev/null || true; } | { grep -o '/[^ ]*' || true; } | while read -r lib; do
        [ -e "$lib" ] && cp -L --parents "$lib" "$ROOT/"
    done
done
printf '%s\n' "${TESTS[@]}" > "$ROOT/tests.list"
cat > "$ROOT/init" <<EOF
#!/bin/busybox sh
# pivot_root cannot leave the initramfs (the kernel's rootfs), and sbx
# pivots into every job's root: move to a tmpfs root first, as a real
# system does when it switches to its root file system.
if [ "\$1" != stage2 ]; then
    mount -t tmpfs -o size=80% tmpfs /mnt
    for d in /*; do [ "\$d" = /mnt ] || cp -a "\$d" /mnt/; done
    mkdir -p /mnt/mnt
    exec switch_root /mnt /init stage2
fi
mount -t proc proc /proc; mount -t sysfs sysfs /sys; mount -t devtmpfs devtmpfs /dev
exec </dev/console >/dev/console 2>&1
mount -t tmpfs tmpfs /tmp; mount -t tmpfs tmpfs /run
for m in $MODULES; do insmod /lib/modules/\$m.ko || echo "VM: insmod \$m failed"; done
mount -t cgroup2 none /sys/fs/cgroup
# What an init system does on a v2 host: hand the controllers down.
echo "+memory +pids +cpu +cpuset +io" > /sys/fs/cgroup/cgroup.subtree_control
mkdir -p "$BUILD"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144,ro build "$BUILD" || echo "VM: 9p mount failed"
echo "VM: kernel \$(uname -r), cgroup2 controllers: \$(cat /sys/fs/cgroup/cgroup.controllers)"
rc=0
while read -r t; do
    # Each test starts alone in a non-root cgroup, like a delegated service,
    # so that the launcher has to move itself into a leaf.
    cg=/sys/fs/cgroup/runner-\$(basename "\$t")
    mkdir -p "\$cg"
    start=\$(cut -d' ' -f1 /proc/uptime)
    cd "\$(dirname "\$t")"
    timeout $TEST_TIMEOUT sh -c 'echo \$\$ > "\$1/cgroup.procs" && exec "\$2"' sh "\$cg" "\$t"
    r=\$?
    echo "VMTEST \$t rc=\$r (\$start -> \$(cut -d' ' -f1 /proc/uptime) s uptime)"
    echo "VM: left in \$cg: \$(find "\$cg" -mindepth 1 -type d | wc -l) cgroups"
    [ \$rc -ne 0 ] || rc=\$r
done < /tests.list
# Informational: what sbx doctor makes of a v2-only host (not part of rc).
if [ -x "$BUILD/sbx" ]; then (cd /tmp && "$BUILD/sbx" doctor) || echo "VM: sbx doctor exited \$?"; fi
echo "VM: left below the runner cgroups: \$(find /sys/fs/cgroup/runner-* -mindepth 1 -type d | tr '\\n' ' ')"
echo "VM: done rc=\$rc"
/bin/debugexit \$rc
poweroff -f
EOF
chmod +x "$ROOT/init"
(cd "$ROOT" && find . | cpio -o -H newc -R 0:0 --quiet | gzip -1 > "$CACHE/initramfs.cpio.gz")

t_boot=$(date +%s.%N)
LOG=$CACHE/serial.log
set +e
trap - ERR
timeout "$TIMEOUT" qemu-system-x86_64 -accel tcg -m 768 -smp 2 -nographic -no-reboot \
    -kernel "$CACHE/kernel/vmlinuz" -initrd "$CACHE/initramfs.cpio.gz" \
    -virtfs "local,path=$BUILD,mount_tag=build,security_model=none,id=build,readonly=on" \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -append 'console=ttyS0 quiet panic=-1' </dev/null 2>&1 |
    sed -u 's/\x1b\[[0-9;?]*[A-Za-z]//g' | tee "$LOG"
qrc=${PIPESTATUS[0]}
set -e
t_end=$(date +%s.%N)
printf 'cgroup2-vm: prepare %.1f s, qemu %.1f s (kernel %s)\n' \
    "$(echo "$t_boot - $t_start" | bc)" "$(echo "$t_end - $t_boot" | bc)" \
    "$(cat "$CACHE/kernel/package")" >&2
if [ "$qrc" -eq 124 ]; then
    echo "cgroup2-vm: timed out after $TIMEOUT s (log: $LOG)" >&2
    exit 124
fi
# isa-debug-exit: qemu's status is (v << 1) | 1; anything else means the
# guest never got to report (crash, panic, no device).
if [ $((qrc & 1)) -ne 1 ]; then
    echo "cgroup2-vm: qemu exited $qrc without a test result (log: $LOG)" >&2
    exit 2
fi
rc=$((qrc >> 1))
echo "cgroup2-vm: tests exited $rc" >&2
exit "$rc"
