/* bench/loadgen: N concurrent clients, each running COMMAND back to back
 * (posix_spawn + waitpid, stdio to /dev/null) for SECS seconds. Prints one
 * line: clients, jobs, failures, jobs/s, median ms, p99 ms, max ms.
 *
 *   loadgen CLIENTS SECS COMMAND [ARG...]
 *
 * Built by bench/scaling.sh (cc -O2). A C driver, so that the client's own
 * cost (a bash loop forks a subshell per job) does not compete with the jobs
 * for the two cores. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAXLAT (1 << 20)

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: loadgen CLIENTS SECS COMMAND [ARG...]\n");
        return 2;
    }
    int clients = atoi(argv[1]);
    double secs = atof(argv[2]);
    /* shared: per-job latencies and counters */
    float *lat = mmap(NULL, MAXLAT * sizeof(float), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    long *cnt = mmap(NULL, 2 * sizeof(long), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS,
                     -1, 0);
    if (lat == MAP_FAILED || cnt == MAP_FAILED)
        return 1;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    double t0 = now_ms(), end = t0 + secs * 1e3;
    for (int c = 0; c < clients; c++) {
        if (fork() != 0)
            continue;
        while (now_ms() < end) {
            double s = now_ms();
            pid_t pid;
            int st = -1;
            if (posix_spawn(&pid, argv[3], &fa, NULL, argv + 3, environ) == 0)
                waitpid(pid, &st, 0);
            double d = now_ms() - s;
            if (st == 0) {
                long i = __atomic_fetch_add(&cnt[0], 1, __ATOMIC_RELAXED);
                if (i < MAXLAT)
                    lat[i] = (float)d;
            } else {
                __atomic_fetch_add(&cnt[1], 1, __ATOMIC_RELAXED);
            }
        }
        _exit(0);
    }
    while (wait(NULL) > 0)
        ;
    double el = (now_ms() - t0) / 1e3;
    long n = cnt[0] < MAXLAT ? cnt[0] : MAXLAT;
    qsort(lat, (size_t)n, sizeof *lat, cmp);
    printf("%d %ld %ld %.1f %.2f %.2f %.2f\n", clients, cnt[0], cnt[1], cnt[0] / el,
           n ? lat[n / 2] : 0.0, n ? lat[(long)(n * 0.99)] : 0.0, n ? lat[n - 1] : 0.0);
    return 0;
}
