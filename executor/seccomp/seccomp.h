/* Seccomp profiles: compiled once in the launcher (with libseccomp) into a
 * BPF program; the job's process only installs the ready program, so that
 * nothing is allocated or compiled between fork and exec.
 *
 * Kill rules use SECCOMP_RET_USER_NOTIF: the kernel stops the offending call
 * before it runs and tells the supervisor through a listener fd, which reads
 * the system call's number, kills the job and reports SECCOMP_VIOLATION with
 * the call's name. */
#ifndef SBX_EXECUTOR_SECCOMP_H
#define SBX_EXECUTOR_SECCOMP_H

#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct sbx_seccomp {
    struct sock_fprog prog;   /* prog.filter is owned */
    bool wants_listener;      /* the program returns SECCOMP_RET_USER_NOTIF */
    /* The built-in "default" only: it allows every call a resident
     * sandbox's run's PID 1 makes once it is set up, so that PID 1 installs
     * it ahead of the run's command and the command inherits it
     * (executor/job/init.c). */
    bool init_may_hold;
};

/* profile: "default", "strict", "none" (returns 0 with *out = NULL) or a path
 * to a profile file. Errors name the profile (and line of a file). */
int sbx_seccomp_compile(const char *profile, struct sbx_seccomp **out, struct sbx_err *err);
void sbx_seccomp_free(struct sbx_seccomp *s);

/* Added: compiles a profile file's text held in memory (what
 * sbx_seccomp_compile does after reading a file). `name` names the profile in
 * messages. For tests and the fuzzer. */
int sbx_seccomp_compile_text(const char *name, const char *text, size_t len,
                             struct sbx_seccomp **out, struct sbx_err *err);

/* In the job's process, after no_new_privs: installs the program. Calls no
 * allocator. When the program wants a listener, *listener is the new
 * listener fd, else -1. Returns 0 or a negative errno.
 * The listener is close-on-exec; the job's process shares its fd table with
 * its PID 1 until exec (CLONE_FILES), so PID 1 keeps the listener and passes
 * it on: the job itself makes no call after this one but execve, and no
 * profile has to allow anything for the handoff. s == NULL ("none") installs
 * nothing. */
int sbx_seccomp_install(const struct sbx_seccomp *s, int *listener);

/* In the supervisor: receives one notification from the listener fd (which
 * poll said is readable) and fills the offending call's name ("ptrace", or
 * "syscall 1234 (i386)" when the number has no name). Does not answer the
 * notification: the caller kills the job, which ends the call.
 * Returns 0, or a negative errno (-ENOENT: the process went away first). */
int sbx_seccomp_notif_read(int listener, char *name, size_t name_len);

#endif
