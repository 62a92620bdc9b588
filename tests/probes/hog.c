/* hog: resource-hungry workloads for limit tests.
 *   hog mem MIB [HOLD_MS]  allocate and touch MIB MiB, hold, exit 0
 *   hog spin THREADS SECS  spin THREADS threads for SECS seconds of wall time
 *   hog fork N             fork N children that sleep; print how many forked
 *   hog fds                open fds until refused; print the count */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double secs;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *spin(void *arg)
{
    (void)arg;
    double end = now() + secs;
    volatile unsigned long x = 0;
    while (now() < end)
        x++;
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "mem")) {
        size_t n = (size_t)atol(argv[2]) << 20;
        char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            return 1;
        for (size_t i = 0; i < n; i += 4096)
            p[i] = 1;
        if (argc >= 4)
            usleep((useconds_t)atoi(argv[3]) * 1000);
        printf("touched %s MiB\n", argv[2]);
        return 0;
    }
    if (argc >= 4 && !strcmp(argv[1], "spin")) {
        int t = atoi(argv[2]);
        secs = atof(argv[3]);
        pthread_t th[64];
        for (int i = 0; i < t && i < 64; i++)
            pthread_create(&th[i], NULL, spin, NULL);
        for (int i = 0; i < t && i < 64; i++)
            pthread_join(th[i], NULL);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "fork")) {
        int n = atoi(argv[2]), ok = 0;
        for (int i = 0; i < n; i++) {
            pid_t p = fork();
            if (p == 0) {
                sleep(30);
                _exit(0);
            }
            if (p > 0)
                ok++;
        }
        printf("forked %d\n", ok);
        fflush(stdout);
        return 0;
    }
    if (argc >= 2 && !strcmp(argv[1], "fds")) {
        int n = 0;
        while (open("/dev/null", O_RDONLY) >= 0)
            n++;
        printf("opened %d\n", n);
        return 0;
    }
    fprintf(stderr, "usage: hog mem MIB [HOLD_MS] | spin THREADS SECS | fork N | fds\n");
    return 2;
}
