/* The job's PID 1: starts the job's first process, then reaps every orphan,
 * forwards SIGTERM/SIGINT/SIGHUP to the first process, and when that process
 * ends, reports its status to the launcher and exits, which makes the kernel
 * kill whatever else is left in the PID namespace. */
#ifndef SBX_EXECUTOR_INIT_H
#define SBX_EXECUTOR_INIT_H

#include "child.h"

/* upper_fd: the root's writable layer, where PID 1 looks for a file at the
 * output limit before it reports the end (job/fsize.c); -1: none. */
__attribute__((noreturn)) void sbx_init_run(const struct sbx_plan *plan, int upper_fd);

/* In the job's first process (jobexec.c): applies the last steps and execs
 * the command. exec_pipe is the write end on which an execve errno is
 * reported; tty, when >= 0, the console's slave (its stdio and controlling
 * terminal); *listener gets the seccomp listener's fd number (the process
 * shares PID 1's memory and fd table until the exec). Never returns. */
__attribute__((noreturn)) void sbx_job_exec(const struct sbx_plan *plan, int exec_pipe, int tty,
                                            volatile int *listener);

#endif
