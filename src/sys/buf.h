/* buf.h: the growable byte buffer every subsystem builds output in.
 *
 * Owner: whoever declares the hr_buf; hr_buf_free releases it. Appends never fail
 * silently: on allocation failure they return -1 and leave the buffer as it was, so callers
 * can fail open (forward the original) instead of crashing. data is always NUL-terminated
 * when len > 0 or after any successful append, so it can be handed to C string APIs.
 */
#ifndef HR_SYS_BUF_H
#define HR_SYS_BUF_H

#include <stdarg.h>
#include <stddef.h>

typedef struct hr_buf {
    char *data;
    size_t len;
    size_t cap;
} hr_buf;

#define HR_BUF_INIT {NULL, 0, 0}

int hr_buf_reserve(hr_buf *b, size_t extra);
int hr_buf_append(hr_buf *b, const void *p, size_t n);
int hr_buf_puts(hr_buf *b, const char *s);
int hr_buf_putc(hr_buf *b, char c);
int hr_buf_printf(hr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hr_buf_vprintf(hr_buf *b, const char *fmt, va_list ap);
void hr_buf_reset(hr_buf *b);          /* len = 0, keeps the allocation */
void hr_buf_free(hr_buf *b);           /* releases and zeroes */
char *hr_buf_steal(hr_buf *b, size_t *len); /* caller owns the result (free()) */

#endif
