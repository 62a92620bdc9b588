/* Printing strings that came from someone else (sandboxd relays what other
 * clients submitted): a newline could forge a row of a listing, a terminal
 * escape could act on the reader's terminal. */
#ifndef SBX_COMMON_SAFEPRINT_H
#define SBX_COMMON_SAFEPRINT_H

#include <stddef.h>

/* s with every C0 control, DEL and UTF-8-encoded C1 control (U+0080-U+009F)
 * written as \xNN (and a backslash as \\), into buf (always terminated,
 * truncated to fit). Returns buf; NULL s gives "". */
const char *sbx_safe_str(const char *s, char *buf, size_t size);

/* The same, into a buffer of the caller's scope, for printf arguments. */
#define SBX_SAFE(s) sbx_safe_str((s), (char[1024]){0}, 1024)

#endif
