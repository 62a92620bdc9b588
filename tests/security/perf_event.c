/* perf_event_open: kernel profiling, a side channel on other processes and
 * a long list of kernel bugs (CVE-2013-2094, CVE-2023-2235, ...). */
#include "attack.h"

#include <linux/perf_event.h>
#include <sys/syscall.h>

int main(void)
{
    struct perf_event_attr a;
    memset(&a, 0, sizeof a);
    a.size = sizeof a;
    a.type = PERF_TYPE_SOFTWARE;
    a.config = PERF_COUNT_SW_CPU_CLOCK;
    a.exclude_kernel = 1;
    long r = syscall(SYS_perf_event_open, &a, 0, -1, -1, 0);
    attempt(r >= 0, "perf_event_open(self, user only)", "%s", res(r));
    a.exclude_kernel = 0;
    r = syscall(SYS_perf_event_open, &a, -1, 0, -1, 0);
    attempt(r >= 0, "perf_event_open(all processes on CPU 0)", "%s", res(r));
    return done();
}
