/* jsonesc.h: JSON string escaping, one definition for the JSON writer and for everything
 * below it (structured logs). The output is the JSON layer's byte-for-byte: " and \\
 * escaped, \n \r \t \b \f in their short forms, other controls as \u00XX, every byte
 * >= 0x80 copied as it is (the caller owns UTF-8 validity).
 */
#ifndef HR_SYS_JSONESC_H
#define HR_SYS_JSONESC_H

#include "sys/buf.h"

#include <stddef.h>

/* Appends s[0..len) to out as a quoted JSON string. 0 ok, -1 no memory. */
int hr_json_escape(hr_buf *out, const char *s, size_t len);

#endif
