/* A setuid-root binary inside an image layer: run as an unprivileged user
 * of the job, it must not gain uid 0 inside (nosuid layers, no_new_privs),
 * and even uid 0 inside is no one on the host. Prints its ids and tries to
 * keep root. */
#include "attack.h"

#include <sys/prctl.h>

int main(void)
{
    uid_t r, e, s;
    getresuid(&r, &e, &s);
    printf("INFO ruid=%u euid=%u suid=%u no_new_privs=%d\n", r, e, s, prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
    attempt(r != 0 && (e == 0 || s == 0), "setuid bit raised the effective uid", "euid=%u suid=%u", e, s);
    if (r != 0) {
        int x = setuid(0);
        attempt(x == 0, "setuid(0)", "%s", res(x));
        x = setresuid(0, 0, 0);
        attempt(x == 0, "setresuid(0, 0, 0)", "%s", res(x));
    }
    return done();
}
