#!/bin/bash
# SECURITY.md names the test for each claim it makes: every test, attack
# program and script it names must exist, and every table row of its
# escape-suite and seccomp tables must name at least one test.
. "$(dirname "$0")/lib.sh"
md="$SBX_SRC/SECURITY.md"

# Every `name` that looks like a test, a program of the suite or a script.
names=$(grep -o '`[^`]*`' "$md" | tr -d '`' | grep -E '(^test_.*\.(sh|c)$|^tests/|^scripts/|^[a-z_0-9/]+\.c$)' | grep -v '[*]' | sort -u)
for n in $names; do
    found=""
    for d in "$SBX_SRC" "$SBX_SRC/tests/security" "$SBX_SRC/tests/integration" "$SBX_SRC/tests/unit" "$SBX_SRC"/executor "$SBX_SRC"/executor/*/ "$SBX_SRC/sandboxd"; do
        [ -e "$d/$n" ] && found=$d/$n && break
    done
    if [ -n "$found" ]; then ok "SECURITY.md names $n, which exists"; else fail "SECURITY.md names $n, which does not exist"; fi
done
check_cmp "SECURITY.md names many tests" "$(wc -w <<<"$names")" -ge 20

# Every row of the tables after the threat model names a test or check.
rows_without=$(awk '/^## The layers/ {on=1} /^## Reporting/ {on=0}
    on && /^\| / && !/^\|---/ && !/^\| (layer|attack|channel|group|check) \|/ && !/test|scripts\/|ctest/ {print}' "$md")
check "every table row names a test" "$rows_without" ""

# Every attack program of the suite appears on the page.
for c in "$SBX_SRC"/tests/security/*.c; do
    b=$(basename "$c")
    if grep -q "\`$b\`" "$md"; then ok "$b is on SECURITY.md"; else fail "$b is not on SECURITY.md"; fi
done
finish
