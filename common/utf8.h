/* UTF-8 validation, shared by the text-format and wire-format loaders so
 * that both refuse exactly the same strings. */
#ifndef SBX_COMMON_UTF8_H
#define SBX_COMMON_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Well-formed UTF-8: no overlong forms, no surrogates, nothing past
 * U+10FFFF. */
bool sbx_utf8_valid(const uint8_t *s, size_t n);

#endif
