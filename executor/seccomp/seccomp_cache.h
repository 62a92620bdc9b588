/* Compiled seccomp programs, cached by profile content (seccomp_cache.c). */
#ifndef SBX_EXECUTOR_SECCOMP_CACHE_H
#define SBX_EXECUTOR_SECCOMP_CACHE_H

#include "seccomp_internal.h"

/* sbx_sc_to_bpf, answered from the cache when the same profile (and the same
 * libseccomp and kernel API level) was compiled before. */
int sbx_sc_to_bpf_cached(const struct sbx_sc_profile *p, const char *what,
                         struct sock_filter **filter, unsigned short *len, struct sbx_err *err);

#endif
