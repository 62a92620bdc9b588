#include "datadir.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef SBX_PROFILE_DIR
#define SBX_PROFILE_DIR "/usr/local/lib/sbx/profiles"
#endif

static char install_dir[PATH_MAX];
static char profile_dir[PATH_MAX];

static void find_install_dir(void)
{
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        /* PREFIX/bin/sbx -> PREFIX */
        for (int up = 0; up < 2; up++) {
            char *slash = strrchr(exe, '/');
            if (!slash)
                break;
            *slash = '\0';
        }
        char rootfs[PATH_MAX + 32];
        struct stat st;
        snprintf(rootfs, sizeof rootfs, "%s/lib/sbx/rootfs", exe);
        if (exe[0] == '/' && stat(rootfs, &st) == 0 && S_ISDIR(st.st_mode))
            snprintf(install_dir, sizeof install_dir, "%.*s/lib/sbx", PATH_MAX - 16, exe);
    }
    if (install_dir[0])
        snprintf(profile_dir, sizeof profile_dir, "%.*s/profiles", PATH_MAX - 16, install_dir);
    else
        snprintf(profile_dir, sizeof profile_dir, "%s", SBX_PROFILE_DIR);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

const char *sbx_install_dir(void)
{
    pthread_once(&once, find_install_dir);
    return install_dir[0] ? install_dir : NULL;
}

const char *sbx_profile_dir(void)
{
    pthread_once(&once, find_install_dir);
    return profile_dir;
}
