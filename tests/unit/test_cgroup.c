/* Job cgroups on the real host (as root): limits hold, accounting adds up,
 * freeze and destroy work, nothing is left behind. Runs on whatever the host
 * has (v1, v2 or hybrid); tests/vm/cgroup2-vm.sh runs it on a v2-only VM. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "executor/cgroup/cgroup.h"

#define MiB (1024ull * 1024)

struct fx {
    struct sbx_cgroup *cg;
    pid_t kids[8];
    int nkids;
};

static void reap_all(void)
{
    /* We are a subreaper: orphans of the jobs come back to us. */
    for (int i = 0; i < 200; i++) {
        pid_t p = waitpid(-1, NULL, WNOHANG);
        if (p < 0)
            return;
        if (p == 0)
            usleep(5000);
    }
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    *state = f;
    return f ? 0 : -1;
}

/* Runs even when a test failed half-way: nothing may stay behind. */
static int teardown(void **state)
{
    struct fx *f = *state;
    for (int i = 0; i < f->nkids; i++)
        kill(f->kids[i], SIGKILL);
    if (f->cg) {
        struct sbx_err err = {0};
        if (sbx_cgroup_destroy(f->cg, &err) < 0)
            print_message("teardown: %s\n", err.msg);
    }
    reap_all();
    free(f);
    return 0;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void create_ok(struct fx *f, const struct sbx_cg_limits *l)
{
    struct sbx_err err = {0};
    int r = sbx_cgroup_create("unit", l, &f->cg, &err);
    if (r < 0)
        print_message("create: %s\n", err.msg);
    assert_int_equal(r, 0);
}

/* A child blocked on a pipe until it has entered the job's cgroups, so that
 * it runs no instruction of fn outside them. */
static pid_t spawn(struct fx *f, int (*fn)(void))
{
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
            _exit(99);
        _exit(fn());
    }
    close(p[0]);
    f->kids[f->nkids++] = pid;
    struct sbx_err err = {0};
    int r = sbx_cgroup_enter(f->cg, pid, &err);
    if (r < 0)
        print_message("enter: %s\n", err.msg);
    assert_int_equal(r, 0);
    assert_int_equal(write(p[1], "x", 1), 1);
    close(p[1]);
    return pid;
}

static int wait_status(pid_t pid)
{
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void read_file(const char *dir, const char *file, char *buf, size_t size)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        print_message("open %s: %s\n", path, strerror(errno));
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    assert_true(n >= 0);
    buf[n] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

static bool file_exists(const char *dir, const char *file)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return access(path, F_OK) == 0;
}

static void expect_file(const char *dir, const char *file, const char *want)
{
    char buf[256];
    read_file(dir, file, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        print_message("%s/%s: \"%s\", want \"%s\"\n", dir, file, buf, want);
    assert_string_equal(buf, want);
}

static int touch_mib(size_t mib)
{
    size_t len = mib * MiB;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return 2;
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    return 0;
}

static int touch_200(void)
{
    return touch_mib(200);
}

static int touch_100(void)
{
    return touch_mib(100);
}

__attribute__((noreturn)) static int spin(void)
{
    for (;;)
        __asm__ volatile("" ::: "memory");
}

__attribute__((noreturn)) static int sleep_forever(void)
{
    for (;;)
        pause();
}

/* Forks 100 times; exit 0 when a fork failed with EAGAIN. */
static int fork_100(void)
{
    int eagain = 0;
    for (int i = 0; i < 100; i++) {
        pid_t p = fork();
        if (p == 0)
            sleep_forever();
        if (p < 0 && errno == EAGAIN)
            eagain++;
    }
    return eagain ? 0 : 1;
}

static int fork_5_sleepers(void)
{
    for (int i = 0; i < 5; i++)
        if (fork() == 0)
            sleep_forever();
    return sleep_forever();
}

/* Our own job cgroups left in the parents: job-<pidns>-<our pid>-... */
static int count_ours(void)
{
    struct sbx_cg_layout *lay = calloc(1, sizeof *lay);
    assert_non_null(lay);
    assert_int_equal(sbx_cgroup_layout(lay, NULL), 0);
    struct stat st;
    assert_int_equal(stat("/proc/self/ns/pid", &st), 0);
    char prefix[96];
    snprintf(prefix, sizeof prefix, "job-%llu-%d-", (unsigned long long)st.st_ino, (int)getpid());
    int n = 0;
    for (int i = 0; i <= SBX_CG_NCTRL; i++) {
        const char *parent = i < SBX_CG_NCTRL ? lay->c[i].parent : lay->v2_parent;
        DIR *d = parent[0] ? opendir(parent) : NULL;
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)))
            if (strncmp(e->d_name, prefix, strlen(prefix)) == 0) {
                print_message("left behind: %s/%s\n", parent, e->d_name);
                n++;
            }
        closedir(d);
    }
    free(lay);
    return n;
}

static void test_limits_read_back(void **state)
{
    struct fx *f = *state;
    struct sbx_cg_limits l = {.memory = 64 * MiB, .pids = 16, .cpus = 0.5, .cpu_weight = 200,
                              .cpuset = "0"};
    create_ok(f, &l);
    bool v2;
    const char *m = sbx_cgroup_path(f->cg, "memory", &v2);
    assert_non_null(m);
    if (v2) {
        expect_file(m, "memory.max", "67108864");
        if (file_exists(m, "memory.swap.max"))
            expect_file(m, "memory.swap.max", "0");
        expect_file(m, "memory.oom.group", "1");
    } else {
        expect_file(m, "memory.limit_in_bytes", "67108864");
        if (file_exists(m, "memory.memsw.limit_in_bytes"))
            expect_file(m, "memory.memsw.limit_in_bytes", "67108864");
    }
    const char *p = sbx_cgroup_path(f->cg, "pids", NULL);
    assert_non_null(p);
    expect_file(p, "pids.max", "16");
    const char *c = sbx_cgroup_path(f->cg, "cpu", &v2);
    assert_non_null(c);
    if (v2) {
        expect_file(c, "cpu.max", "50000 100000");
        expect_file(c, "cpu.weight", "200");
    } else {
        expect_file(c, "cpu.cfs_quota_us", "50000");
        expect_file(c, "cpu.cfs_period_us", "100000");
        expect_file(c, "cpu.shares", "2048");
    }
    const char *s = sbx_cgroup_path(f->cg, "cpuset", &v2);
    assert_non_null(s);
    expect_file(s, "cpuset.cpus", "0");
    if (!v2) {
        char mems[64];
        read_file(s, "cpuset.mems", mems, sizeof mems);
        assert_true(mems[0] != '\0');
    }
    /* A process must be able to join all of it (v1 cpuset needs mems). */
    pid_t pid = spawn(f, sleep_forever);
    (void)pid;
}

/* Fail closed, and a half-made job leaves nothing behind. */
static void test_bad_limit_fails_clean(void **state)
{
    (void)state;
    struct sbx_cg_limits l = {.pids = 8, .cpuset = "4095"};
    struct sbx_cgroup *cg = NULL;
    struct sbx_err err = {0};
    int r = sbx_cgroup_create("bad", &l, &cg, &err);
    print_message("expected error: %s\n", err.msg);
    assert_true(r < 0);
    assert_null(cg);
    assert_non_null(strstr(err.msg, "cpuset.cpus"));
    assert_int_equal(count_ours(), 0);

    struct sbx_cg_limits l2 = {.cpu_weight = 20000};
    r = sbx_cgroup_create("bad", &l2, &cg, &err);
    assert_int_equal(r, -EINVAL);
    assert_int_equal(count_ours(), 0);
}

static void test_pids_limit(void **state)
{
    struct fx *f = *state;
    struct sbx_cg_limits l = {.pids = 16};
    create_ok(f, &l);
    pid_t pid = spawn(f, fork_100);
    int st = wait_status(pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

static void test_oom_kill(void **state)
{
    struct fx *f = *state;
    struct sbx_cg_limits l = {.memory = 64 * MiB};
    create_ok(f, &l);
    pid_t pid = spawn(f, touch_200);
    int st = wait_status(pid);
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), SIGKILL);
    struct sbx_cg_stats s;
    assert_int_equal(sbx_cgroup_stats(f->cg, &s), 0);
    print_message("oom_kills %u, peak %llu\n", s.oom_kills, (unsigned long long)s.memory_peak);
    assert_true(s.oom_kills >= 1);
}

static void test_cpu_accounting(void **state)
{
    struct fx *f = *state;
    create_ok(f, NULL);
    uint64_t before;
    assert_int_equal(sbx_cgroup_cpu_ns(f->cg, &before), 0);
    spawn(f, spin);
    /* Until the spinner has had 150 ms of CPU: how soon depends on the
     * host's load, not on the accounting. */
    uint64_t after = before;
    for (int i = 0; i < 400 && after - before < 150000000u; i++) {
        usleep(50000);
        assert_int_equal(sbx_cgroup_cpu_ns(f->cg, &after), 0);
    }
    print_message("cpu_ns %llu -> %llu\n", (unsigned long long)before, (unsigned long long)after);
    assert_true(after - before >= 150000000u);
    struct sbx_cg_stats s;
    assert_int_equal(sbx_cgroup_stats(f->cg, &s), 0);
    assert_true(s.cpu_ns >= after);
    assert_true(s.user_ns + s.sys_ns >= 100000000u);
    /* The v2 tree (also the hybrid side-car) has pressure figures. */
    struct sbx_cg_layout *lay = calloc(1, sizeof *lay);
    assert_int_equal(sbx_cgroup_layout(lay, NULL), 0);
    bool psi = access("/proc/pressure/cpu", F_OK) == 0;
    if (lay->v2_mounted && psi)
        assert_true(s.have_pressure);
    free(lay);
}

static void test_memory_peak(void **state)
{
    struct fx *f = *state;
    create_ok(f, NULL);
    pid_t pid = spawn(f, touch_100);
    int st = wait_status(pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    struct sbx_cg_stats s;
    assert_int_equal(sbx_cgroup_stats(f->cg, &s), 0);
    print_message("memory_peak %llu\n", (unsigned long long)s.memory_peak);
    assert_true(s.memory_peak >= 100 * MiB);
}

static void test_freeze(void **state)
{
    struct fx *f = *state;
    create_ok(f, NULL);
    spawn(f, spin);
    usleep(100000);
    struct sbx_err err = {0};
    int r = sbx_cgroup_freeze(f->cg, true, &err);
    if (r < 0)
        print_message("freeze: %s\n", err.msg);
    assert_int_equal(r, 0);
    uint64_t a, b, c;
    assert_int_equal(sbx_cgroup_cpu_ns(f->cg, &a), 0);
    usleep(300000);
    assert_int_equal(sbx_cgroup_cpu_ns(f->cg, &b), 0);
    assert_int_equal(sbx_cgroup_freeze(f->cg, false, &err), 0);
    /* Thawed, it runs again: as soon as the host's load lets it. */
    c = b;
    for (int i = 0; i < 400 && c - b <= 100000000u; i++) {
        usleep(50000);
        assert_int_equal(sbx_cgroup_cpu_ns(f->cg, &c), 0);
    }
    print_message("frozen: +%llu ns; thawed: +%llu ns\n", (unsigned long long)(b - a),
                  (unsigned long long)(c - b));
    assert_true(b - a < 20000000u);
    assert_true(c - b > 100000000u);
}

static void test_destroy_live(void **state)
{
    struct fx *f = *state;
    struct sbx_cg_limits l = {.pids = 32, .memory = 128 * MiB};
    create_ok(f, &l);
    spawn(f, fork_5_sleepers);
    spawn(f, spin);
    usleep(100000);
    char paths[SBX_CG_NCTRL][4200];
    static const char *const ctrls[SBX_CG_NCTRL] = {"memory", "pids", "cpu",
                                                    "cpuacct", "cpuset", "freezer"};
    for (int i = 0; i < SBX_CG_NCTRL; i++) {
        const char *p = sbx_cgroup_path(f->cg, ctrls[i], NULL);
        snprintf(paths[i], sizeof paths[i], "%s", p ? p : "");
    }
    struct sbx_err err = {0};
    uint64_t t0 = now_ns();
    int r = sbx_cgroup_destroy(f->cg, &err);
    f->cg = NULL;
    if (r < 0)
        print_message("destroy: %s\n", err.msg);
    assert_int_equal(r, 0);
    print_message("destroy with 7 live processes: %llu us\n",
                  (unsigned long long)(now_ns() - t0) / 1000);
    for (int i = 0; i < SBX_CG_NCTRL; i++)
        if (paths[i][0])
            assert_int_not_equal(access(paths[i], F_OK), 0);
    for (int i = 0; i < f->nkids; i++) {
        int st = wait_status(f->kids[i]);
        assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
    }
    f->nkids = 0;
    assert_int_equal(count_ours(), 0);
}

/* A launcher that dies without destroying its job: the next one cleans up. */
static void test_stale_cleanup(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t owner = fork();
    assert_true(owner >= 0);
    if (owner == 0) {
        close(p[0]);
        struct fx ff = {0};
        struct sbx_cg_limits l = {.pids = 8};
        struct sbx_err err = {0};
        if (sbx_cgroup_create("stale", &l, &ff.cg, &err) < 0)
            _exit(2);
        pid_t s = fork();
        if (s == 0)
            sleep_forever();
        if (sbx_cgroup_enter(ff.cg, s, &err) < 0)
            _exit(3);
        char msg[4300];
        int n = snprintf(msg, sizeof msg, "%d %s", (int)s, sbx_cgroup_path(ff.cg, "pids", NULL));
        if (write(p[1], msg, (size_t)n + 1) < 0)
            _exit(4);
        _exit(0); /* no destroy: the owner "crashes" */
    }
    close(p[1]);
    char msg[4300] = {0};
    ssize_t n = read(p[0], msg, sizeof msg - 1);
    close(p[0]);
    int st = wait_status(owner);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    assert_true(n > 0);
    int sleeper;
    char path[4200];
    assert_int_equal(sscanf(msg, "%d %4199s", &sleeper, path), 2);
    assert_int_equal(access(path, F_OK), 0);

    /* The dead owner's leaf, as a v2 launcher that moved itself leaves it. */
    struct sbx_cg_layout *lay = calloc(1, sizeof *lay);
    assert_int_equal(sbx_cgroup_layout(lay, NULL), 0);
    struct stat sst;
    assert_int_equal(stat("/proc/self/ns/pid", &sst), 0);
    char leaf[4400] = "";
    if (lay->v2_mounted && access(lay->v2_parent, F_OK) == 0) {
        snprintf(leaf, sizeof leaf, "%s/launcher-%llu-%d-1", lay->v2_parent,
                 (unsigned long long)sst.st_ino, (int)owner);
        assert_int_equal(mkdir(leaf, 0755), 0);
    }
    free(lay);

    struct sbx_err err = {0};
    int r = sbx_cgroup_cleanup_stale(&err);
    if (r < 0)
        print_message("cleanup_stale: %s\n", err.msg);
    assert_int_equal(r, 0);
    assert_int_not_equal(access(path, F_OK), 0);
    if (leaf[0])
        assert_int_not_equal(access(leaf, F_OK), 0);
    /* The orphaned sleeper came to us (subreaper) and was killed. */
    st = wait_status(sleeper);
    assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);
}

static int exit_now(void)
{
    return 0;
}

static void test_cycles(void **state)
{
    struct fx *f = *state;
    struct sbx_cg_limits l = {.memory = 64 * MiB, .pids = 16, .cpus = 1};
    uint64_t t_create = 0, t_destroy = 0;
    for (int i = 0; i < 100; i++) {
        uint64_t t0 = now_ns();
        create_ok(f, &l);
        t_create += now_ns() - t0;
        f->nkids = 0;
        pid_t pid = spawn(f, i % 2 ? exit_now : sleep_forever);
        if (i % 2)
            wait_status(pid);
        struct sbx_err err = {0};
        t0 = now_ns();
        int r = sbx_cgroup_destroy(f->cg, &err);
        t_destroy += now_ns() - t0;
        f->cg = NULL;
        if (r < 0)
            print_message("destroy: %s\n", err.msg);
        assert_int_equal(r, 0);
        if (!(i % 2))
            wait_status(pid);
    }
    f->nkids = 0;
    print_message("average create %llu us, destroy %llu us\n",
                  (unsigned long long)t_create / 100000, (unsigned long long)t_destroy / 100000);
    assert_int_equal(count_ours(), 0);
}

/* v2 only: clone3(CLONE_INTO_CGROUP) puts the child in before it runs. */
static void test_clone_into_cgroup(void **state)
{
    struct fx *f = *state;
    struct sbx_cg_limits l = {.pids = 16, .memory = 64 * MiB};
    create_ok(f, &l);
    int fd = sbx_cgroup_clone_fd(f->cg);
    bool v2 = false;
    sbx_cgroup_path(f->cg, "memory", &v2);
    if (!v2) {
        assert_int_equal(fd, -1);
        skip();
    }
    assert_true(fd >= 0);
    struct clone_args args = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD,
                              .cgroup = (uint64_t)fd};
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0) {
        char buf[4300];
        int cfd = open("/proc/self/cgroup", O_RDONLY);
        ssize_t n = cfd < 0 ? -1 : read(cfd, buf, sizeof buf - 1);
        if (n <= 0)
            _exit(2);
        buf[n] = '\0';
        /* The job's cgroup name is the last path component. */
        const char *want = strrchr(sbx_cgroup_path(f->cg, "memory", NULL), '/');
        _exit(strstr(buf, want) ? 0 : 1);
    }
    assert_true(pid > 0);
    int st = wait_status((pid_t)pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    struct sbx_err err = {0};
    /* enter() after clone3 is harmless. */
    pid = spawn(f, exit_now);
    wait_status((pid_t)pid);
    (void)err;
}

int main(void)
{
    if (geteuid() != 0) {
        fprintf(stderr, "test_cgroup: needs root, skipping\n");
        return 77;
    }
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_limits_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_limit_fails_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pids_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_oom_kill, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cpu_accounting, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_peak, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeze, setup, teardown),
        cmocka_unit_test_setup_teardown(test_destroy_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_cleanup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cycles, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clone_into_cgroup, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
