/* Resource exhaustion aimed at the host: `exhaust KIND` for fork, threads,
 * memory, fds, inotify (instances and watches), hold (inotify instances and
 * queued signals, kept until /sync/done exists, so that the host can try
 * the same meanwhile). Each takes as much as it
 * can and prints how far it got; the job's limits (cgroup pids and memory,
 * RLIMIT_NOFILE, per-uid inotify counts charged to the job's own host uid)
 * must stop it, and the host must still be able to do the same afterwards. */
#include "attack.h"

#include <pthread.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/wait.h>

static void *sleeper(void *a)
{
    (void)a;
    pause();
    return NULL;
}

int main(int argc, char **argv)
{
    const char *k = argc > 1 ? argv[1] : "";
    long n = 0;
    if (strcmp(k, "fork") == 0) {
        pid_t p;
        while (n < 100000 && (p = fork()) >= 0) {
            if (p == 0) {
                pause();
                _exit(0);
            }
            n++;
        }
        attempt(n >= 100000, "fork bomb", "%ld processes, then %s", n, res(-1));
    } else if (strcmp(k, "threads") == 0) {
        pthread_t t;
        pthread_attr_t a;
        pthread_attr_init(&a);
        pthread_attr_setstacksize(&a, 65536);
        int e = 0;
        while (n < 100000 && (e = pthread_create(&t, &a, sleeper, NULL)) == 0)
            n++;
        errno = e;
        attempt(n >= 100000, "thread bomb", "%ld threads, then %s", n, res(-1));
    } else if (strcmp(k, "memory") == 0) {
        /* Touch 1 MiB at a time up to 64 GiB; the OOM killer ends us. */
        printf("TRY memory\n");
        fflush(stdout);
        for (n = 0; n < 65536; n++) {
            char *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
            if (p == MAP_FAILED)
                break;
            memset(p, 1, 1 << 20);
        }
        attempt(n >= 65536, "memory bomb", "%ld MiB touched, then %s", n, res(-1));
    } else if (strcmp(k, "fds") == 0) {
        int fd;
        while (n < 10000000 && (fd = dup(0)) >= 0)
            n++;
        attempt(n >= 10000000, "fd exhaustion", "%ld fds, then %s", n, res(-1));
    } else if (strcmp(k, "inotify") == 0) {
        int fds[100000], nf = 0;
        while (nf < 100000 && (fds[nf] = inotify_init1(IN_CLOEXEC)) >= 0)
            nf++;
        attempt(nf >= 100000, "inotify instances", "%d, then %s", nf, res(-1));
        long w = 0;
        int files = 0;
        for (; files < 2000; files++) {
            char path[64];
            snprintf(path, sizeof path, "/tmp/w%d", files);
            FILE *f = fopen(path, "w");
            if (!f)
                break;
            fclose(f);
        }
        /* Each instance may watch each file once: instances x files. */
        for (int i = 0; i < nf && w < 10000000; i++) {
            int f = 0;
            for (; f < files; f++) {
                char path[64];
                snprintf(path, sizeof path, "/tmp/w%d", f);
                if (inotify_add_watch(fds[i], path, IN_MODIFY) < 0)
                    break;
                w++;
            }
            if (f < files)
                break;
        }
        attempt(w >= 10000000, "inotify watches", "%ld, then %s", w, res(-1));
    } else if (strcmp(k, "hold") == 0) {
        int nf = 0;
        while (nf < 100000 && inotify_init1(IN_CLOEXEC) >= 0)
            nf++;
        attempt(nf >= 100000, "inotify instances held", "%d, then %s", nf, res(-1));
        sigset_t rt;
        sigemptyset(&rt);
        sigaddset(&rt, SIGRTMIN);
        sigprocmask(SIG_BLOCK, &rt, NULL);
        union sigval v = {0};
        while (n < 10000000 && sigqueue(getpid(), SIGRTMIN, v) == 0)
            n++;
        attempt(n >= 10000000, "signals queued", "%ld, then %s", n, res(-1));
        printf("HOLDING\n");
        fflush(stdout);
        for (int i = 0; i < 600 && access("/sync/done", F_OK) != 0; i++)
            usleep(100000);
    } else {
        return 2;
    }
    return done();
}
