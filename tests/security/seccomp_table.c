/* seccomp_table MODE ABI FROM TO: calls every system call number FROM..TO
 * of ABI (native, i386 or x32) with every argument 0x10 (an unmapped
 * address, an invalid fd, an odd flag), so that allowed calls fail
 * harmlessly with EFAULT, EBADF or EINVAL. Prints "TRY NR" before and
 * "RES NR TOKEN" after each call, TOKEN being OK, E<errno> or, in fork
 * mode, SIG<n> or NORET when the call ended the process. MODE fork makes
 * each call in a throwaway child (state changes vanish with it, a blocking
 * call meets alarm(2)); MODE direct makes it in this process (for profiles
 * without fork; it stops at the first call that does not return). A call
 * the profile kills ends the whole job: the test restarts after it. */
#include "attack.h"

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define A 0x10L

static long call(const char *abi, long nr)
{
    long ret;
    if (strcmp(abi, "i386") == 0) {
        __asm__ volatile("push %%rbp\n\tmov %7, %%rbp\n\tint $0x80\n\tpop %%rbp"
                         : "=a"(ret)
                         : "a"(nr), "b"(A), "c"(A), "d"(A), "S"(A), "D"(A), "r"(A)
                         : "memory");
    } else {
        register long r10 __asm__("r10") = A;
        register long r8 __asm__("r8") = A;
        register long r9 __asm__("r9") = A;
        long n = strcmp(abi, "x32") == 0 ? (nr | 0x40000000L) : nr;
        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"(n), "D"(A), "S"(A), "d"(A), "r"(r10), "r"(r8), "r"(r9)
                         : "rcx", "r11", "memory");
    }
    return ret;
}

static void token(long ret, char *buf, size_t n)
{
    if (ret < 0 && ret > -4096)
        snprintf(buf, n, "E%ld", -ret);
    else
        snprintf(buf, n, "OK");
}

int main(int argc, char **argv)
{
    if (argc < 5)
        return 2;
    int fork_mode = strcmp(argv[1], "fork") == 0;
    const char *abi = argv[2];
    long from = atol(argv[3]), to = atol(argv[4]);
    setvbuf(stdout, NULL, _IONBF, 0);
    pid_t me = getpid();
    for (long nr = from; nr <= to; nr++) {
        char buf[32];
        printf("TRY %ld\n", nr);
        if (!fork_mode) {
            token(call(abi, nr), buf, sizeof buf);
            printf("RES %ld %s\n", nr, buf);
            continue;
        }
        int p[2];
        if (pipe(p) < 0)
            return 3;
        pid_t c = fork();
        if (c < 0)
            return 3;
        if (c == 0) {
            close(p[0]);
            /* clone(0x10, ...) makes a process whose exit signal is 0x10
             * (SIGSTKFLT) and whose stack is unmapped: it dies at once and
             * its signal would kill us before we report. */
            signal(SIGSTKFLT, SIG_IGN);
            alarm(2);
            long r = call(abi, nr);
            /* fork, vfork and clone return in two processes: only the
             * throwaway child reports. */
            if (getppid() == me) {
                token(r, buf, sizeof buf);
                ssize_t w = write(p[1], buf, strlen(buf));
                (void)w;
            }
            _exit(0);
        }
        close(p[1]);
        ssize_t n = read(p[0], buf, sizeof buf - 1);
        close(p[0]);
        int st;
        waitpid(c, &st, 0);
        if (n > 0)
            buf[n] = '\0';
        else if (WIFSIGNALED(st))
            snprintf(buf, sizeof buf, "SIG%d", WTERMSIG(st));
        else
            snprintf(buf, sizeof buf, "NORET");
        printf("RES %ld %s\n", nr, buf);
    }
    printf("DONE\n");
    return 0;
}
