/* buf.c: growable byte buffer; see buf.h for the ownership rules and invariants. */
#include "sys/buf.h"

#include "sys/assert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char hr_buf_empty_[1];

/* Latches the failure (buf.h) and returns the -1 the caller passes on. */
static int latch(hr_buf *b)
{
    b->failed = 1;
    return -1;
}

int hr_buf_fail(hr_buf *b) { return latch(b); }

int hr_buf_reserve(hr_buf *b, size_t extra)
{
    HR_ASSERT(b->cap == 0 || b->data != hr_buf_empty_);
    if (b->failed)
        return -1;
    if (extra > (size_t)-1 - b->len - 1)
        return latch(b);
    size_t need = b->len + extra + 1; /* +1 keeps room for the terminating NUL */
    if (need <= b->cap)
        return 0;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > ((size_t)-1) / 2 ? need : cap * 2;
    char *p = realloc(b->cap ? b->data : NULL, cap);
    if (!p)
        return latch(b);
    if (!b->cap)
        p[0] = '\0'; /* len is 0 here: an unallocated buffer holds nothing */
    b->data = p;
    b->cap = cap;
    return 0;
}

int hr_buf_append(hr_buf *b, const void *p, size_t n)
{
    if (hr_buf_reserve(b, n) != 0)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int hr_buf_puts(hr_buf *b, const char *s) { return hr_buf_append(b, s, strlen(s)); }

int hr_buf_putc(hr_buf *b, char c) { return hr_buf_append(b, &c, 1); }

int hr_buf_vprintf(hr_buf *b, const char *fmt, va_list ap)
{
    if (b->failed)
        return -1;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0)
        return latch(b);
    if (hr_buf_reserve(b, (size_t)n) != 0)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int hr_buf_printf(hr_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = hr_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void hr_buf_truncate(hr_buf *b, size_t len)
{
    if (len >= b->len)
        return;
    b->len = len;
    b->data[len] = '\0'; /* len < old len, so the buffer is allocated */
}

size_t hr_buf_copy_out(const hr_buf *b, size_t *off, void *dst, size_t max)
{
    HR_ASSERT(*off <= b->len);
    size_t k = b->len - *off;
    if (k > max)
        k = max;
    if (k)
        memcpy(dst, b->data + *off, k);
    *off += k;
    return k;
}

void hr_buf_reset(hr_buf *b)
{
    b->len = 0;
    b->failed = 0;
    if (b->cap)
        b->data[0] = '\0';
    else
        b->data = hr_buf_empty_;
}

void hr_buf_free(hr_buf *b)
{
    if (b->cap)
        free(b->data);
    *b = (hr_buf)HR_BUF_INIT;
}

char *hr_buf_steal(hr_buf *b, size_t *len)
{
    char *p = b->cap ? b->data : calloc(1, 1);
    if (len)
        *len = p ? b->len : 0;
    *b = (hr_buf)HR_BUF_INIT;
    return p;
}

int hr_buf_read_stream(hr_buf *b, FILE *f, size_t max)
{
    char chunk[1 << 16];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if ((max && b->len + n > max) || hr_buf_append(b, chunk, n) != 0)
            return -1;
    return ferror(f) ? -1 : 0;
}

char *hr_buf_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    hr_buf b = HR_BUF_INIT;
    int bad = hr_buf_read_stream(&b, f, 0) != 0;
    fclose(f);
    char *text = bad ? NULL : hr_buf_steal(&b, len);
    if (!text) {
        hr_buf_free(&b);
        errno = EIO;
    }
    return text;
}
