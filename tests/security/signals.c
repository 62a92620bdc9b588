/* Signals to host processes: kill(-1) (every process the caller may
 * signal), scanning pid numbers with signal 0 and pidfd_open, and the
 * host pid given in argv[1] (a process the test started on the host, also
 * owned by argv[2]'s uid when given). Only the job's own processes may
 * answer. */
#include "attack.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int main(int argc, char **argv)
{
    pid_t host = argc > 1 ? (pid_t)atoi(argv[1]) : 0;
    pid_t me = getpid();
    /* A child that stays, so kill(-1) has something of ours to hit. */
    pid_t c = fork();
    if (c == 0) {
        pause();
        _exit(0);
    }
    int seen = 0, pidfds = 0;
    pid_t max = 4194304;
    FILE *f = fopen("/proc/sys/kernel/pid_max", "r");
    if (f && fscanf(f, "%d", &max) != 1)
        max = 4194304;
    if (f)
        fclose(f);
    for (pid_t p = 1; p <= max; p++) {
        if (kill(p, 0) == 0 || errno == EPERM)
            seen++;
        if (p < 65536) {
            long fd = syscall(SYS_pidfd_open, p, 0);
            if (fd >= 0) {
                pidfds++;
                close((int)fd);
            }
        }
    }
    /* PID 1, ourselves and our child. */
    attempt(seen > 3, "kill(pid, 0) scan", "%d processes answer (PID 1, self %d, child %d)", seen, me, c);
    attempt(pidfds > 3, "pidfd_open scan", "%d pids open", pidfds);
    if (host > 0) {
        int r = kill(host, SIGKILL);
        /* The host pid may exist in our namespace by coincidence: then it is ours. */
        attempt(0, "kill(host pid, SIGKILL)", "%s (the host check says whether it died)", res(r));
    }
    int r = kill(-1, SIGKILL);
    attempt(0, "kill(-1, SIGKILL)", "%s (hits only the job's own processes)", res(r));
    int st;
    pid_t w = waitpid(c, &st, 0);
    printf("INFO our child: %s\n", w == c && WIFSIGNALED(st) ? "killed by kill(-1): the job's own" : "alive");
    return done();
}
