/* A terminal for a job whose engine asked for one (an OCI console socket):
 * the pty comes from the job's own devpts instance, never the host's, so
 * that the job sees and can reach only its own ptys, and the engine gets
 * the master the way runc hands it over. */
#ifndef SBX_EXECUTOR_CONSOLE_H
#define SBX_EXECUTOR_CONSOLE_H

#include <sys/types.h>

#include "common/err.h"

/* Inside the job's mount namespace (its root is "/"): opens a new pty from
 * /dev/pts/ptmx, sends the master over the connected unix socket sock with
 * SCM_RIGHTS and the slave's name ("/dev/pts/N") as data, closes the
 * master. *slave gets the slave (O_CLOEXEC, not yet anyone's controlling
 * terminal). */
int sbx_console_send(int sock, int *slave, struct sbx_err *err);

/* In the process that is to own the terminal, a session leader with no
 * controlling terminal, still privileged in its user namespace: the slave
 * becomes its controlling terminal and its stdin, stdout and stderr, owned
 * by uid (as runc chowns it, so that the process may reopen it). */
int sbx_console_take(int slave, uid_t uid, struct sbx_err *err);

#endif
