/* Network: every job has an empty network namespace. With the loopback
 * mode, lo is brought up (SIOCSIFFLAGS); nothing else
 * ever exists in it. */
#ifndef SBX_EXECUTOR_NET_H
#define SBX_EXECUTOR_NET_H

#include "common/err.h"

int sbx_net_loopback_up(struct sbx_err *err);

#endif
