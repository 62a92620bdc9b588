/* PID 1 of a job is a fork of the launcher, not a new program: without
 * this, /proc/1/cmdline inside the job shows the launcher's command line
 * (host paths, every flag; under sandboxd its config path) and the memory
 * behind /proc/1/environ holds the launcher's environment. */
#ifndef SBX_EXECUTOR_JOB_PROCTITLE_H
#define SBX_EXECUTOR_JOB_PROCTITLE_H

/* In the launcher, before the clone: finds this process's argv and environ
 * strings (once per process; a later call is free). Returns 0 or -errno. */
int sbx_proctitle_prepare(void);

/* In the child, before any of the job can run: zeroes the launcher's argv
 * and environment strings in its copy of the memory, leaving "sbx-init" as
 * the whole command line, and names the task the same. The launcher's own
 * memory is untouched. Nothing the child uses later points there: the
 * policy's strings are copies. */
void sbx_proctitle_neutral(void);

#endif
