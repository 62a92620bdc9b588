/* Linked into the static sbx and sandboxd only. Two libraries we link
 * statically carry functions that would load glibc's NSS modules (shared
 * libraries) at run time: libcap-ng's capng_change_id (getpwuid,
 * initgroups) and libnl-3's nl_addr_info and protocol-name helpers
 * (getaddrinfo, getprotobyname/number). sbx never calls those functions,
 * but their objects come with the ones it does call, and the linker warns
 * that a static program using NSS needs the build's glibc at run time.
 * These definitions take the place of glibc's: no NSS is linked in, the
 * warnings go, and should a future caller reach one it fails plainly
 * instead of loading shared libraries into a static launcher. Code of ours
 * that needs a user or group name must read /etc/passwd or /etc/group
 * itself. */
#include <errno.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <stddef.h>
#include <sys/types.h>

struct passwd *getpwuid(uid_t uid)
{
    (void)uid;
    errno = ENOSYS;
    return NULL;
}

int initgroups(const char *user, gid_t group)
{
    (void)user;
    (void)group;
    errno = ENOSYS;
    return -1;
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints, struct addrinfo **res)
{
    (void)node;
    (void)service;
    (void)hints;
    *res = NULL;
    errno = ENOSYS;
    return EAI_SYSTEM;
}

void freeaddrinfo(struct addrinfo *res)
{
    (void)res;
}

struct protoent *getprotobynumber(int proto)
{
    (void)proto;
    errno = ENOSYS;
    return NULL;
}

struct protoent *getprotobyname(const char *name)
{
    (void)name;
    errno = ENOSYS;
    return NULL;
}
