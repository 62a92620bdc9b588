/* Network: every job has an empty network namespace. With the loopback
 * mode, lo is brought up (SIOCSIFFLAGS); nothing else
 * ever exists in it. */
#ifndef SBX_EXECUTOR_NET_H
#define SBX_EXECUTOR_NET_H

#include <stdbool.h>

#include "common/err.h"

int sbx_net_loopback_up(struct sbx_err *err);

/* A new empty network namespace made ahead of a job, off its critical path
 * (sandboxd keeps a few): the calling thread unshares it, opens it, brings
 * lo up when loopback, and returns to its own. Returns the namespace's fd
 * or a negative errno. The namespace belongs to the caller's user
 * namespace: a job that joins it (sbx_exec_opts.premade_netns) cannot
 * reconfigure it, which a job without capabilities cannot anyway. Exits
 * (125) if the thread cannot return to its own namespace. */
int sbx_net_prepare(bool loopback, struct sbx_err *err);

#endif
