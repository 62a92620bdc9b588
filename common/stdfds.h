/* The standard fds of a launcher. */
#ifndef SBX_COMMON_STDFDS_H
#define SBX_COMMON_STDFDS_H

/* Opens /dev/null on whichever of fds 0, 1 and 2 is closed. Called first in
 * main: a launcher started with one closed would hand that number to the
 * next file it opens (a signalfd, a uid slot's lock), and a job that keeps
 * the launcher's stdio would get it as stdin or stdout, or a dup onto 0-2
 * would close it. Returns 0 or a negative errno. */
int sbx_ensure_std_fds(void);

/* Whether fd may be a job's stdin, stdout or stderr: a regular file, a pipe,
 * a socket, a tty, or one of the harmless memory devices (/dev/null, zero,
 * full, random, urandom). A directory or O_PATH fd would let the job open
 * host files relative to it (only Landlock would stop a walk), a device
 * would hand it the host's hardware. Returns 0, or -EINVAL with *what
 * saying what fd is ("a directory"), or another negative errno. */
int sbx_stdio_fd_check(int fd, const char **what);

/* Closes every fd but those in keep (n of them, any order, -1s ignored;
 * keep is sorted in place). */
void sbx_close_all_but(int *keep, int n);

#endif
