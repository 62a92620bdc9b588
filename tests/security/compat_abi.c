/* 32-bit (int $0x80) and x32 (0x40000000 | nr) entry: the syscall tables
 * differ from the native one, so a filter that forgets the architecture
 * check is bypassed by calling the same syscall through another ABI (the
 * classic seccomp bypass). argv[1]: "i386 NR" or "x32 NR"; the call is
 * made with harmless arguments and the result printed. Under the default
 * and strict profiles the job must be killed before it prints the result. */
#include "attack.h"

static long i386_call(long nr, long a)
{
    long ret;
    __asm__ volatile("int $0x80" : "=a"(ret) : "a"(nr), "b"(a), "c"(0), "d"(0) : "memory");
    return ret;
}

static long x32_call(long nr)
{
    long ret;
    register long r10 __asm__("r10") = 0;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(nr | 0x40000000L), "D"(0), "S"(0), "d"(0), "r"(r10)
                     : "rcx", "r11", "memory");
    return ret;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        /* Default: i386 getpid (20), x32 getpid (39), i386 unshare (310). */
        printf("TRY i386 getpid\n");
        fflush(stdout);
        long r = i386_call(20, 0);
        attempt(1, "i386 getpid", "returned %ld", r);
        return done();
    }
    long nr = strtol(argv[2], NULL, 0);
    printf("TRY %s %ld\n", argv[1], nr);
    fflush(stdout);
    long r = strcmp(argv[1], "x32") == 0 ? x32_call(nr) : i386_call(nr, 0);
    /* Reaching here means the call was not killed. */
    attempt(1, argv[1], "call %ld returned %ld", nr, r);
    return done();
}
