/* sbx's commands that talk to sandboxd: run (with --socket or --pool), submit, wait,
 * ps, inspect, kill, pause, resume, rm, stats and session. */
#ifndef SBX_CLIENT_COMMANDS_H
#define SBX_CLIENT_COMMANDS_H

#include <stdbool.h>

/* Whether cmd is one of the daemon commands (run counts only with a socket). */
bool sbx_is_remote_command(const char *cmd);

/* Runs daemon command cmd with its arguments (argv[0] is the first argument
 * after cmd). socket is --socket's value or NULL ($SBX_SOCKET, then the
 * default). Returns the process exit status: for run, exactly what local
 * `sbx run` would return; for the others 0, 1 on a daemon error, 2 on a
 * usage error. */
int sbx_remote_command(const char *socket, const char *cmd, int argc, char **argv);

/* The commands' lines for `sbx --help`. */
extern const char sbx_remote_usage[];

#endif
