/* clocks NAME... : prints each clock in whole seconds (or ms with _ms). */
#include <stdio.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        clockid_t c = strncmp(argv[i], "boottime", 8) == 0 ? CLOCK_BOOTTIME
                    : strncmp(argv[i], "realtime", 8) == 0 ? CLOCK_REALTIME
                                                           : CLOCK_MONOTONIC;
        struct timespec ts;
        clock_gettime(c, &ts);
        if (strstr(argv[i], "_ms"))
            printf("%lld\n", (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        else
            printf("%lld\n", (long long)ts.tv_sec);
    }
    return 0;
}
