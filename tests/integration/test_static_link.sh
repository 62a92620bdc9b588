#!/bin/bash
# The static sbx and sandboxd link without glibc's warnings that a static
# program using NSS (getpwuid, getaddrinfo, ...) needs the build's shared
# libraries at run time (common/static_nss.c keeps NSS out): the link is
# redone, into a scratch file, and its messages read.
. "$(dirname "$0")/lib.sh"

for prog in sbx sandboxd; do
    link=$SBX_BUILD/CMakeFiles/$prog.dir/link.txt
    if [ ! -f "$link" ] || ! grep -q -- '-static-pie' "$link"; then
        ok "$prog: not linked statically in this build (SBX_STATIC=OFF or a sanitizer build)"
        continue
    fi
    cmd=$(sed "s# -o $prog # -o $T/$prog #" "$link")
    out=$(cd "$SBX_BUILD" && eval "$cmd" 2>&1)
    check "$prog: relinks" "$?" 0
    check "$prog: no NSS warnings from the static link" \
        "$(printf '%s\n' "$out" | grep -c 'statically linked applications requires')" 0
    check "$prog: the relinked program runs" "$("$T/$prog" --help >/dev/null 2>&1; echo $?)" 0
done
finish
