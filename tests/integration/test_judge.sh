#!/bin/bash
# The README's judge example: a python3/gcc layer from rootfs/build-judge.sh
# stacked on the bundled rootfs compiles and runs a submission under tight
# limits and the strict profile.
. "$(dirname "$0")/lib.sh"

IMG=$SBX_BUILD/judge-image
if [ ! -x "$IMG/usr/bin/gcc" ]; then
    "$SBX_SRC/rootfs/build-judge.sh" "$IMG" >/dev/null || { fail "build-judge.sh failed"; finish; }
fi
L=(--rootfs "$SBX_ROOTFS" --rootfs "$IMG")

mkdir -p "$T/sub" && chmod 0755 "$T/sub"
cat > "$T/sub/a.c" <<'C'
#include <stdio.h>
int main(void) { long a, b; if (scanf("%ld %ld", &a, &b) != 2) return 1; printf("%ld\n", a + b); return 0; }
C
chmod 0644 "$T/sub/a.c"
mkdir -m 0777 "$T/bin"

sbx_run "${L[@]}" --bind "$T/sub:/src" --bind-rw "$T/bin:/out" --memory 512M --pids 64 \
    --wall-time-limit 60 -- gcc -O2 -o /out/a /src/a.c
check "gcc compiles in the judge image" "$RC" 0

OUT=$(echo "3 4" | "$SBX" run --result-json "$T/r.json" "${L[@]}" --bind "$T/bin:/work" \
      --memory 64M --pids 4 --time-limit 1 --wall-time-limit 5 --network none --seccomp strict -- /work/a)
check "the submission runs under strict and answers" "$OUT" 7
RESULT=$T/r.json
check "EXITED" "$(field status)" EXITED

sbx_run "${L[@]}" --memory 256M -- python3 -c 'import json, sys; print(json.dumps({"py": sys.version_info[0]}))'
check "python3 runs in the judge image" "$OUT" '{"py": 3}'
finish
