/* Sizes, durations and configured paths, shared by the policy loader, the
 * configuration files and the command-line flags so that "64M" and "1.5"
 * mean the same thing everywhere. */
#ifndef SBX_POLICY_UNITS_H
#define SBX_POLICY_UNITS_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"

/* "4096", "64K", "64M", "1G", "2T" (powers of 1024; an optional trailing
 * "B" or "iB" is accepted: "64MiB"). Rejects empty strings, signs, fractions,
 * unknown suffixes, white space and values that overflow uint64_t.
 * Returns 0 or -EINVAL / -ERANGE. */
int sbx_parse_size(const char *s, uint64_t *out);

/* "1", "1.5", "1.5s", "250ms", "2m", "1h", "100us": seconds when no unit.
 * With allow_negative, a leading '-' or '+' is accepted (time offsets).
 * Result in nanoseconds; rejects anything that does not fit int64_t.
 * Returns 0 or -EINVAL / -ERANGE. */
int sbx_parse_duration_ns(const char *s, bool allow_negative, int64_t *out_ns);

/* A path an operator configures: absolute, at most 4095 bytes, no "." or
 * ".." component, so that it means one place, compared as a string. 0 or
 * -EINVAL / -ENAMETOOLONG with err naming field. */
int sbx_check_config_path(const char *field, const char *p, struct sbx_err *err);

#endif
