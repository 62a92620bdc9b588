#!/bin/bash
# Table-driven seccomp test: every system call number the kernel headers
# know, native x86_64, i386 and x32, is called inside a job under each
# built-in profile, and must get the action the profile intends (allow,
# errno N, or kill with the call named in the result). seccomp_expect (host
# side) says what is intended, and fails when the headers know a native
# call the profile tables do not mention. "allow" is checked against a
# control run without a filter: the same call must give the same result.
. "$(dirname "$0")/lib.sh"

EXPECT="$SBX_SECURITY/host/seccomp_expect"
for prof in default strict; do
    if "$EXPECT" $prof >"$T/expect.$prof" 2>"$T/expect.$prof.err"; then
        ok "$prof: every call in the kernel headers is mentioned by the profile"
    else
        fail "$prof: $(cat "$T/expect.$prof.err")"
    fi
done

python3 - "$SBX" "$SBX_SECURITY" "$T" <<'PY' > "$T/report"
import json, os, subprocess, sys
sbx, sec, tmp = sys.argv[1:4]
res_file = os.path.join(tmp, "table.json")

def run(profile, mode, abi, lo, hi):
    """Runs the table from lo to hi, restarting after each call that ends
    the job; returns {nr: token}, token KILL:<syscall> for a seccomp kill."""
    out = {}
    while lo <= hi:
        if os.path.exists(res_file):
            os.unlink(res_file)
        p = subprocess.run([sbx, "run", "--result-json", res_file, "--seccomp", profile,
                            "--wall-time-limit", "120", "--bind", sec + ":/sec", "--",
                            "/sec/seccomp_table", mode, abi, str(lo), str(hi)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        last = None
        done = False
        for line in p.stdout.splitlines():
            f = line.split()
            if f[:1] == ["TRY"]:
                last = int(f[1])
            elif f[:1] == ["RES"]:
                out[int(f[1])] = f[2]
                last = None
            elif f[:1] == ["DONE"]:
                done = True
        if done:
            break
        r = json.load(open(res_file))
        if last is None:
            print("SETUP %s %s %s from %d: %s %s" % (profile, mode, abi, lo, r.get("status"), r.get("error")))
            break
        if r["status"] == "SECCOMP_VIOLATION":
            out[last] = "KILL:" + r["syscall"]
        else:
            out[last] = "NORET:%s/%s" % (r["status"], r.get("signal"))
        lo = last + 1
    return out

def expected(profile):
    e = {}
    for line in open(os.path.join(tmp, "expect." + profile)):
        f = line.split()
        e[(f[0], int(f[1]))] = (f[2], " ".join(f[3:]))
    return e

control = run("none", "fork", "native", 0, 511)
fails = checked = 0
for profile, mode in (("default", "fork"), ("strict", "direct")):
    exp = expected(profile)
    for abi in ("native", "i386", "x32"):
        nrs = sorted(nr for (a, nr) in exp if a == abi)
        if abi == "native":
            got = run(profile, mode, abi, 0, max(nrs))
        else:
            got = {}
            for nr in nrs:   # each one ends the job (bad arch): one job each
                got.update(run(profile, "direct", abi, nr, nr))
        for nr in nrs:
            name, action = exp[(abi, nr)]
            g = got.get(nr, "MISSING")
            if action == "allow":
                c = control.get(nr, "")
                # Argument errors (EFAULT, EINVAL, EBADF) may come in another
                # order in another process state; no filter returns them.
                argerr = ("E14", "E22", "E9")
                good = (g == c or (g.startswith(("SIG", "NORET")) and c.startswith(("SIG", "NORET")))
                        or (g in argerr and c in argerr))
                want = "as without a filter: " + str(control.get(nr))
            elif action.startswith("errno"):
                want = "E" + action.split()[1]
                good = g == want
            else:
                want = "KILL naming %s" % name
                good = g.startswith("KILL:") and name in g[5:]
            checked += 1
            if not good:
                fails += 1
                print("FAIL %s %s %d %s: intended %s, got %s" % (profile, abi, nr, name, want, g))
        print("INFO %s %s: %d calls checked" % (profile, abi, len(nrs)))
print("CHECKED %d FAILS %d" % (checked, fails))
PY
sed 's/^/    | /' "$T/report" | grep -v '^    | FAIL' | head -20
grep '^FAIL' "$T/report" | head -40
checked=$(awk '/^CHECKED/ {print $2}' "$T/report"); fails=$(awk '/^CHECKED/ {print $4}' "$T/report")
check_cmp "every header call of the three ABIs was made under both profiles" "${checked:-0}" -ge 2000
check "every call got its profile's intended action" "${fails:-x}" 0
host_unchanged "seccomp table"
finish
