/* The standard fds of a launcher. */
#ifndef SBX_COMMON_STDFDS_H
#define SBX_COMMON_STDFDS_H

/* Opens /dev/null on whichever of fds 0, 1 and 2 is closed. Called first in
 * main: a launcher started with one closed would hand that number to the
 * next file it opens (a signalfd, a uid slot's lock), and a job that keeps
 * the launcher's stdio would get it as stdin or stdout, or a dup onto 0-2
 * would close it. Returns 0 or a negative errno. */
int sbx_ensure_std_fds(void);

#endif
