/* The kernel keyring is not namespaced: keys are per host uid, and the
 * keyring code has a long CVE history (CVE-2016-0728 and others). */
#include "attack.h"

#include <sys/syscall.h>

#define KEYCTL_JOIN_SESSION_KEYRING 1
#define KEYCTL_READ 11
#define KEY_SPEC_SESSION_KEYRING -3
#define KEY_SPEC_USER_KEYRING -4

int main(void)
{
    long r = syscall(SYS_add_key, "user", "sbx-attack", "payload", 7, KEY_SPEC_USER_KEYRING);
    attempt(r >= 0, "add_key(user keyring)", "%s", res(r));
    r = syscall(SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, "sbx-attack");
    attempt(r >= 0, "keyctl(JOIN_SESSION_KEYRING)", "%s", res(r));
    r = syscall(SYS_request_key, "user", "sbx-host-key", NULL, 0);
    attempt(r >= 0, "request_key(a host key)", "%s", res(r));
    char buf[256];
    r = syscall(SYS_keyctl, KEYCTL_READ, KEY_SPEC_USER_KEYRING, buf, sizeof buf);
    attempt(r >= 0, "keyctl(READ, user keyring)", "%s", res(r));
    return done();
}
