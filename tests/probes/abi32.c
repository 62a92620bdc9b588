/* abi32: makes a 32-bit (int 0x80) getpid, which the default profile must
 * stop: the i386 table is a separate attack surface. Prints what happened
 * if it is not stopped. */
#include <stdio.h>

int main(void)
{
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L /* i386 getpid */) : "memory");
    printf("i386 getpid returned %ld\n", r);
    return 0;
}
