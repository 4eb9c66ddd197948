/* h1parse.c: the request framing of h1parse.h. Byte-at-a-time where a state must survive
 * between reads (chunked framing), whole-buffer where the caller has the whole thing (the
 * head, delimited first by hr_h1_head_end). */
#include "http/h1parse.h"

#include "sys/ascii.h"

#include <stdlib.h>
#include <string.h>

/* A chunk-size line (with its extensions) or a trailer line longer than this is refused:
 * nothing legitimate comes close, and a reader that waits for the line's end holds it. */
#define LINE_MAX_BYTES 4096
/* A chunk size that could overflow a size_t when added up is refused. */
#define CHUNK_SIZE_MAX (1ULL << 60)

/* RFC 9110 5.6.2 tchar. */
static int is_tchar(unsigned char c)
{
    if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
        return 1;
    return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

size_t hr_h1_head_end(const char *buf, size_t len)
{
    size_t i = 0;
    while (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
        i += 2; /* empty lines before the request line */
    /* A line end is CRLF or (to refuse it at once rather than wait) a bare LF; the head
     * ends at the first empty line. */
    for (; i < len; i++) {
        if (buf[i] != '\n')
            continue;
        if (i + 1 < len && buf[i + 1] == '\n')
            return i + 2;
        if (i + 2 < len && buf[i + 1] == '\r' && buf[i + 2] == '\n')
            return i + 3;
    }
    return 0;
}

/* Cuts the line at p (CRLF-terminated, inside [p, end)) and returns the next line's start,
 * or NULL when the line ends in a bare LF or does not end. A bare CR inside the line is
 * left for the checks after: the request line's target scan stops at it, and reqcheck
 * refuses it in a field value with its own reason. */
static char *cut_line(char *p, char *end)
{
    char *lf = memchr(p, '\n', (size_t)(end - p));
    if (!lf || lf == p || lf[-1] != '\r')
        return NULL;
    lf[-1] = 0;
    return lf + 1;
}

static int parse_request_line(char *line, hr_h1_head *h, const char **reason)
{
    char *p = line;
    while (is_tchar((unsigned char)*p))
        p++;
    if (p == line || *p != ' ') {
        *reason = "malformed request line";
        return 400;
    }
    *p++ = 0;
    h->method = line;
    char *target = p;
    while ((unsigned char)*p > ' ' && *p != 0x7f)
        p++;
    if (p == target || *p != ' ') {
        *reason = "malformed request line";
        return 400;
    }
    *p++ = 0;
    h->target = target;
    if (!strcmp(p, "HTTP/1.1") || !strcmp(p, "HTTP/1.0")) {
        h->http11 = p[7] == '1';
        return 0;
    }
    if (!strncmp(p, "HTTP/", 5) && p[5] >= '0' && p[5] <= '9' && p[6] == '.' && p[7] >= '0' &&
        p[7] <= '9' && !p[8]) {
        *reason = "HTTP version not supported";
        return 505;
    }
    *reason = "malformed request line";
    return 400;
}

/* One field line: name, colon, optional blanks, value, optional blanks. */
static int parse_field(char *line, char *line_end, hr_h1_head *h, const char **reason)
{
    if (*line == ' ' || *line == '\t') {
        *reason = "obsolete line folding in a header field";
        return 400;
    }
    char *p = line;
    while (is_tchar((unsigned char)*p))
        p++;
    if (p == line || *p != ':') {
        *reason = "a header field name has a byte not allowed in a token (or a blank before "
                  "its colon)";
        return 400;
    }
    *p++ = 0;
    while (p < line_end && (*p == ' ' || *p == '\t'))
        p++;
    char *v_end = line_end;
    while (v_end > p && (v_end[-1] == ' ' || v_end[-1] == '\t'))
        v_end--;
    *v_end = 0;
    h->fields[2 * h->n_fields] = line;
    h->fields[2 * h->n_fields + 1] = p;
    h->value_lens[h->n_fields] = (size_t)(v_end - p);
    h->n_fields++;
    return 0;
}

int hr_h1_parse_head(char *buf, size_t len, hr_h1_head *out, const char **reason)
{
    memset(out, 0, sizeof *out);
    char *p = buf, *end = buf + len;
    while (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
        p += 2;
    size_t lines = 0;
    for (char *q = p; q < end; q++)
        lines += *q == '\n';
    /* one block: the pairs, then the value lengths */
    out->fields = malloc(lines * (2 * sizeof(char *) + sizeof(size_t)) + 1);
    if (!out->fields)
        return -1;
    out->value_lens = (size_t *)(void *)(out->fields + 2 * lines);
    char *next = cut_line(p, end);
    if (!next) {
        *reason = "the request line ends in a bare LF";
        return 400;
    }
    int st = parse_request_line(p, out, reason);
    for (p = next; !st; p = next) {
        next = cut_line(p, end);
        if (!next) {
            *reason = "a header line ends in a bare LF";
            return 400;
        }
        if (!*p)
            return next == end ? 0 : (*reason = "bytes after the head's end", 400);
        st = parse_field(p, next - 2, out, reason);
    }
    return st;
}

void hr_h1_head_free(hr_h1_head *h)
{
    free(h->fields);
    h->fields = NULL;
    h->value_lens = NULL;
}

/* ---- chunked ----------------------------------------------------------------------------- */

enum { C_SIZE = 0, C_EXT, C_SIZE_LF, C_DATA, C_DATA_CR, C_DATA_LF, C_TRAILER_START, C_TRAILER,
       C_TRAILER_LF, C_END_LF, C_DONE };

/* One framing byte (not chunk data). 0 ok, -1 bad. */
static int framing_byte(hr_h1_chunked *c, unsigned char b)
{
    if (++c->line > LINE_MAX_BYTES)
        return -1;
    switch (c->state) {
    case C_SIZE: {
        int v = hr_hex_val(b);
        if (v >= 0) {
            if (c->left > (CHUNK_SIZE_MAX >> 4))
                return -1;
            c->left = c->left * 16 + (unsigned)v;
            c->digits++;
            return 0;
        }
        if (!c->digits || (b != '\r' && b != ';'))
            return -1;
        c->state = b == '\r' ? C_SIZE_LF : C_EXT;
        return 0;
    }
    case C_EXT: /* extensions are ignored, but must be visible bytes or blanks */
        if (b == '\r')
            c->state = C_SIZE_LF;
        else if ((b < ' ' && b != '\t') || b == 0x7f)
            return -1;
        return 0;
    case C_SIZE_LF:
        if (b != '\n')
            return -1;
        c->line = 0;
        c->state = c->left ? C_DATA : C_TRAILER_START;
        return 0;
    case C_DATA_CR:
        c->state = C_DATA_LF;
        return b == '\r' ? 0 : -1;
    case C_DATA_LF:
        c->line = 0;
        c->digits = 0;
        c->state = C_SIZE;
        return b == '\n' ? 0 : -1;
    case C_TRAILER_START:
        c->state = b == '\r' ? C_END_LF : C_TRAILER;
        return b == '\n' ? -1 : 0;
    case C_TRAILER:
        if (b == '\r')
            c->state = C_TRAILER_LF;
        else if (b == '\n' || (b < ' ' && b != '\t'))
            return -1;
        return 0;
    case C_TRAILER_LF:
        c->line = 0;
        c->state = C_TRAILER_START;
        return b == '\n' ? 0 : -1;
    case C_END_LF:
        c->state = C_DONE;
        return b == '\n' ? 0 : -1;
    default:
        return -1;
    }
}

hr_h1_chunk_rc hr_h1_chunked_feed(hr_h1_chunked *c, const char *in, size_t len, size_t *used,
                                  int (*emit)(void *arg, const char *p, size_t n), void *arg)
{
    size_t i = 0;
    while (i < len && c->state != C_DONE) {
        if (c->state == C_DATA) {
            size_t n = len - i;
            if (n > c->left)
                n = (size_t)c->left;
            if (emit(arg, in + i, n) != 0) {
                *used = i;
                return HR_H1_BAD;
            }
            i += n;
            c->left -= n;
            if (!c->left)
                c->state = C_DATA_CR;
            continue;
        }
        if (framing_byte(c, (unsigned char)in[i]) != 0) {
            *used = i;
            return HR_H1_BAD;
        }
        i++;
    }
    *used = i;
    return c->state == C_DONE ? HR_H1_DONE : HR_H1_MORE;
}
