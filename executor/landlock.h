/* Landlock, as a second wall behind the mount namespace: the job's process
 * may touch only files beneath its own root, so even a path that escaped the
 * root (a leaked fd, a /proc magic link, a mount gone wrong) leads nowhere.
 * Where the kernel has Landlock ABI 6, the job also cannot signal or reach
 * abstract UNIX sockets of anything outside its own domain (such as its
 * PID 1, or the host). */
#ifndef SBX_EXECUTOR_LANDLOCK_H
#define SBX_EXECUTOR_LANDLOCK_H

#include "common/err.h"

/* The kernel's Landlock ABI version, 0 when it has none (cached). */
int sbx_landlock_abi(void);

/* In the job's process, after pivot_root and no_new_privs: confines it to
 * "/" with every file right the ABI knows. Calls no allocator. */
int sbx_landlock_confine_root(int abi, struct sbx_err *err);

#endif
