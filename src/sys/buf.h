/* buf.h: the growable byte buffer every subsystem builds output in.
 *
 * Owner: whoever declares the hr_buf; hr_buf_free releases it.
 *
 * Invariants (checked by HR_ASSERT in debug builds):
 * - data is never NULL for a buffer made with HR_BUF_INIT, and never NULL after any hr_buf_*
 *   call: an empty buffer points at a shared "" (cap 0, not owned), so data can always be
 *   handed to C string APIs and memcmp without a NULL check. (A zero-filled hr_buf, e.g.
 *   inside a calloc'd struct, is a valid empty buffer too: its data is NULL until the first
 *   call on it.) data[len] is '\0' whenever data is not NULL.
 * - The first failure latches (the way SQLite's StrAccum does): an append that cannot grow
 *   the buffer returns -1, leaves the contents as they were and marks the buffer failed;
 *   every later append and reserve does nothing and returns -1. So a builder can append
 *   freely and check hr_buf_failed once at the end, then fail open (forward the original).
 *   hr_buf_reset and hr_buf_free clear the latch.
 */
#ifndef HR_SYS_BUF_H
#define HR_SYS_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef struct hr_buf {
    char *data;  /* never NULL once initialised; "" (not owned) while cap == 0 */
    size_t len;
    size_t cap;  /* bytes owned at data; 0 = nothing allocated */
    int failed;  /* latched: an append failed, later appends do nothing */
} hr_buf;

/* The shared empty string an unallocated buffer points at. Never written (cap 0 means no
 * writes: every write path allocates first). */
extern char hr_buf_empty_[1];

#define HR_BUF_INIT {hr_buf_empty_, 0, 0, 0}

int hr_buf_reserve(hr_buf *b, size_t extra);
int hr_buf_append(hr_buf *b, const void *p, size_t n);
int hr_buf_puts(hr_buf *b, const char *s);
int hr_buf_putc(hr_buf *b, char c);
int hr_buf_printf(hr_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int hr_buf_vprintf(hr_buf *b, const char *fmt, va_list ap);
/* 1 if an append or reserve failed since the last reset (the latch above). */
static inline int hr_buf_failed(const hr_buf *b) { return b->failed; }
/* Latches a failure met while building (a malloc beside the buffer, say) so the one check
 * at the end sees it too. Returns -1. */
int hr_buf_fail(hr_buf *b);
void hr_buf_truncate(hr_buf *b, size_t len); /* len = min(len, b->len), NUL kept */
/* Hands out pending bytes: copies b's bytes from *off on into dst, at most max, and
 * advances *off. Returns the count, 0 once *off has reached b->len (or max is 0). The
 * reader owns *off and decides when b is reset (after draining, or before the next fill). */
size_t hr_buf_copy_out(const hr_buf *b, size_t *off, void *dst, size_t max);
void hr_buf_reset(hr_buf *b);          /* len = 0, keeps the allocation, clears the latch */
void hr_buf_free(hr_buf *b);           /* releases; the buffer is then empty and reusable */
/* Caller owns the result (free()); never NULL for a buffer that holds bytes; for an empty
 * one, a fresh "" (NULL only when that allocation fails). The buffer is then empty. */
char *hr_buf_steal(hr_buf *b, size_t *len);

/* Appends everything stream f yields, to its end (f stays open). 0 ok; -1 when f reports a
 * read error, the buffer cannot grow, or b would pass max bytes (0: no limit). */
int hr_buf_read_stream(hr_buf *b, FILE *f, size_t max);
/* The whole file at path as a malloc'd NUL-terminated string (*len, when given: its bytes,
 * the NUL not counted; the caller frees). NULL with errno set: fopen's, or EIO when reading
 * fails or memory runs out. */
char *hr_buf_read_file(const char *path, size_t *len);

#endif
