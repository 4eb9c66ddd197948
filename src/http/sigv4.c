/* sigv4.c: AWS Signature Version 4; see sigv4.h for the rules, each implemented by one
 * function below in the order the AWS documentation gives them. */
#include "http/sigv4.h"

#include "sys/ascii.h"
#include "sys/hash.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hr_sigv4_amz_date(time_t t, char out[HR_SIGV4_AMZ_DATE_LEN + 1])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, HR_SIGV4_AMZ_DATE_LEN + 1, "%Y%m%dT%H%M%SZ", &tm);
}

void hr_sigv4_payload_hash(const void *data, size_t len, char out[65])
{
    uint8_t h[32];
    hr_sha256(data, len, h);
    hr_hex(h, sizeof h, out);
}

/* ---- encoding ----------------------------------------------------------------------------- */

static int unreserved(unsigned char c)
{
    return hr_is_alnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

/* RFC 3986 strict encoding as AWS wants it: unreserved bytes as they are, every other byte
 * as %XX with upper-case hex. */
static int uri_encode(hr_buf *out, const char *s, size_t n)
{
    static const char HEX[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c)) {
            if (hr_buf_putc(out, (char)c) != 0)
                return -1;
            continue;
        }
        char esc[3] = {'%', HEX[c >> 4], HEX[c & 15]};
        if (hr_buf_append(out, esc, 3) != 0)
            return -1;
    }
    return 0;
}

/* Percent-decodes s[0..n) into out. -1 on a malformed escape. */
static int percent_decode(hr_buf *out, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int a = hr_hex_val(s[i + 1]), b = hr_hex_val(s[i + 2]);
            if (a < 0 || b < 0)
                return -1;
            c = (char)(a << 4 | b);
            i += 2;
        }
        if (hr_buf_putc(out, c) != 0)
            return -1;
    }
    return 0;
}

/* ---- canonical URI ------------------------------------------------------------------------ */

typedef struct span {
    const char *p;
    size_t n;
} span;

/* Normalises the path (empty and "." segments dropped, ".." removes the previous one, as
 * the AWS SDKs do) and encodes each segment again. */
static int canonical_uri(hr_buf *out, const char *path)
{
    size_t len = strlen(path), n = 0;
    span *seg = malloc((len / 2 + 2) * sizeof *seg); /* at most one segment per two bytes */
    if (!seg)
        return -1;
    for (const char *p = path; *p;) {
        const char *end = strchr(p, '/');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        if (k == 2 && !memcmp(p, "..", 2)) {
            if (n)
                n--;
        } else if (k && !(k == 1 && *p == '.')) {
            seg[n++] = (span){p, k};
        }
        p += k;
        if (*p == '/')
            p++;
    }
    int rc = 0;
    if (path[0] == '/' || !n)
        rc |= hr_buf_putc(out, '/');
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (i)
            rc |= hr_buf_putc(out, '/');
        rc |= uri_encode(out, seg[i].p, seg[i].n);
    }
    if (rc == 0 && n && len && path[len - 1] == '/')
        rc |= hr_buf_putc(out, '/');
    free(seg);
    return rc ? -1 : 0;
}

/* ---- canonical query ---------------------------------------------------------------------- */

typedef struct qparam {
    char *name;  /* encoded, NUL-terminated, owned */
    char *value;
} qparam;

static int qparam_cmp(const void *a, const void *b)
{
    const qparam *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : strcmp(x->value, y->value);
}

/* Decodes then strictly re-encodes s[0..n) into a new string. */
static char *reencode(const char *s, size_t n)
{
    hr_buf dec = HR_BUF_INIT, enc = HR_BUF_INIT;
    char *r = NULL;
    if (percent_decode(&dec, s, n) == 0 && uri_encode(&enc, dec.data ? dec.data : "", dec.len) == 0 &&
        hr_buf_putc(&enc, '\0') == 0)
        r = hr_buf_steal(&enc, NULL);
    hr_buf_free(&dec);
    hr_buf_free(&enc);
    return r;
}

static int split_query(const char *q, qparam **out, size_t *n_out)
{
    size_t cap = 1;
    for (const char *p = q; *p; p++)
        cap += *p == '&';
    qparam *v = calloc(cap, sizeof *v);
    if (!v)
        return -1;
    size_t n = 0;
    for (const char *p = q; *p;) {
        const char *end = strchr(p, '&');
        size_t k = end ? (size_t)(end - p) : strlen(p);
        if (k) {
            const char *eq = memchr(p, '=', k);
            size_t nk = eq ? (size_t)(eq - p) : k;
            v[n].name = reencode(p, nk);
            v[n].value = eq ? reencode(eq + 1, k - nk - 1) : reencode("", 0);
            if (!v[n].name || !v[n].value) {
                *out = v;
                *n_out = n + 1;
                return -1;
            }
            n++;
        }
        p += k;
        if (*p == '&')
            p++;
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int canonical_query(hr_buf *out, const char *q)
{
    qparam *v = NULL;
    size_t n = 0;
    int rc = split_query(q ? q : "", &v, &n);
    if (rc == 0) {
        qsort(v, n, sizeof *v, qparam_cmp);
        for (size_t i = 0; i < n && rc == 0; i++)
            rc = hr_buf_printf(out, "%s%s=%s", i ? "&" : "", v[i].name, v[i].value);
    }
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].value);
    }
    free(v);
    return rc ? -1 : 0;
}

/* ---- canonical headers -------------------------------------------------------------------- */

typedef struct hentry {
    char *name;         /* lowercase, owned */
    const char *value;  /* borrowed */
    size_t order;       /* input position: repeated names keep the order they came in */
} hentry;

static int hentry_cmp(const void *a, const void *b)
{
    const hentry *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

static int tchar(unsigned char c)
{
    return hr_is_alnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

/* The value trimmed, each run of whitespace inside it one space. */
static int put_trimmed(hr_buf *out, const char *v)
{
    while (hr_is_space(*v))
        v++;
    int gap = 0;
    for (; *v; v++) {
        if (hr_is_space(*v)) {
            gap = 1;
            continue;
        }
        if ((gap && hr_buf_putc(out, ' ') != 0) || hr_buf_putc(out, *v) != 0)
            return -1;
        gap = 0;
    }
    return 0;
}

static hentry *sorted_headers(const hr_sigv4_input *in)
{
    hentry *h = calloc(in->n_headers ? in->n_headers : 1, sizeof *h);
    if (!h)
        return NULL;
    for (size_t i = 0; i < in->n_headers; i++) {
        const char *name = in->headers[2 * i];
        size_t k = strlen(name);
        h[i].name = malloc(k + 1);
        h[i].value = in->headers[2 * i + 1];
        h[i].order = i;
        int ok = k > 0 && h[i].name;
        for (size_t j = 0; ok && j <= k; j++) {
            unsigned char c = (unsigned char)name[j];
            ok = j == k || tchar(c);
            h[i].name[j] = (char)hr_to_lower(c);
        }
        if (!ok) {
            for (size_t j = 0; j <= i; j++)
                free(h[j].name);
            free(h);
            return NULL;
        }
    }
    qsort(h, in->n_headers, sizeof *h, hentry_cmp);
    return h;
}

static void free_headers(hentry *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(h[i].name);
    free(h);
}

/* "name:v1,v2\n" lines into lines, "a;b" into names. */
static int canonical_headers(const hr_sigv4_input *in, hr_buf *lines, hr_buf *names)
{
    hentry *h = sorted_headers(in);
    if (!h)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < in->n_headers && rc == 0; i++) {
        int repeat = i > 0 && !strcmp(h[i].name, h[i - 1].name);
        if (repeat) {
            rc |= hr_buf_putc(lines, ',');
        } else {
            if (i)
                rc |= hr_buf_putc(lines, '\n') | hr_buf_putc(names, ';');
            rc |= hr_buf_printf(lines, "%s:", h[i].name) | hr_buf_puts(names, h[i].name);
        }
        rc |= put_trimmed(lines, h[i].value);
    }
    if (in->n_headers)
        rc |= hr_buf_putc(lines, '\n');
    free_headers(h, in->n_headers);
    return rc ? -1 : 0;
}

/* ---- the signature ------------------------------------------------------------------------ */

int hr_sigv4_canonical_request(const hr_sigv4_input *in, hr_buf *out)
{
    hr_buf lines = HR_BUF_INIT, names = HR_BUF_INIT;
    int rc = hr_buf_printf(out, "%s\n", in->method);
    rc |= canonical_uri(out, in->path);
    rc |= hr_buf_putc(out, '\n');
    rc |= canonical_query(out, in->query);
    rc |= hr_buf_putc(out, '\n');
    rc |= canonical_headers(in, &lines, &names);
    if (rc == 0)
        rc |= hr_buf_printf(out, "%s\n%s\n%s", lines.data ? lines.data : "",
                            names.data ? names.data : "", in->payload_hash);
    hr_buf_free(&lines);
    hr_buf_free(&names);
    return rc ? -1 : 0;
}

static int scope(const hr_sigv4_input *in, hr_buf *out)
{
    return hr_buf_printf(out, "%.8s/%s/%s/aws4_request", in->amz_date, in->region, in->service);
}

int hr_sigv4_string_to_sign(const hr_sigv4_input *in, hr_buf *out)
{
    hr_buf creq = HR_BUF_INIT;
    if (strlen(in->amz_date) != HR_SIGV4_AMZ_DATE_LEN || hr_sigv4_canonical_request(in, &creq) != 0) {
        hr_buf_free(&creq);
        return -1;
    }
    char h[65];
    hr_sigv4_payload_hash(creq.data, creq.len, h);
    hr_buf_free(&creq);
    int rc = hr_buf_printf(out, "AWS4-HMAC-SHA256\n%s\n", in->amz_date);
    rc |= scope(in, out);
    rc |= hr_buf_printf(out, "\n%s", h);
    return rc ? -1 : 0;
}

static void hmac_str(const uint8_t *key, size_t key_len, const char *msg, uint8_t out[32])
{
    hr_hmac_sha256(key, key_len, msg, strlen(msg), out);
}

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request") */
static int signing_key(const hr_sigv4_input *in, uint8_t out[32])
{
    char date[9], k0[512];
    memcpy(date, in->amz_date, 8);
    date[8] = '\0';
    int n = snprintf(k0, sizeof k0, "AWS4%s", in->secret_access_key);
    if (n < 0 || (size_t)n >= sizeof k0)
        return -1;
    uint8_t a[32], b[32];
    hmac_str((const uint8_t *)k0, (size_t)n, date, a);
    hmac_str(a, 32, in->region, b);
    hmac_str(b, 32, in->service, a);
    hmac_str(a, 32, "aws4_request", out);
    memset(k0, 0, sizeof k0);
    return 0;
}

int hr_sigv4_authorization(const hr_sigv4_input *in, hr_buf *out)
{
    hr_buf sts = HR_BUF_INIT, lines = HR_BUF_INIT, names = HR_BUF_INIT;
    uint8_t key[32], sig[32];
    int rc = hr_sigv4_string_to_sign(in, &sts) | canonical_headers(in, &lines, &names);
    if (rc == 0)
        rc = signing_key(in, key);
    if (rc == 0) {
        hr_hmac_sha256(key, sizeof key, sts.data, sts.len, sig);
        char hex[65];
        hr_hex(sig, sizeof sig, hex);
        rc |= hr_buf_printf(out, "AWS4-HMAC-SHA256 Credential=%s/", in->access_key_id);
        rc |= scope(in, out);
        rc |= hr_buf_printf(out, ", SignedHeaders=%s, Signature=%s", names.data ? names.data : "",
                            hex);
    }
    memset(key, 0, sizeof key);
    hr_buf_free(&sts);
    hr_buf_free(&lines);
    hr_buf_free(&names);
    return rc ? -1 : 0;
}

/* ---- reading a client's header ------------------------------------------------------------ */

/* Finds "key=" after p and returns the value up to the next ',' (spaces trimmed). */
static int field(const char *v, const char *key, const char **start, size_t *len)
{
    size_t k = strlen(key);
    for (const char *p = v; (p = strstr(p, key)) != NULL; p += k) {
        if (p != v && p[-1] != ' ' && p[-1] != ',')
            continue;
        const char *s = p + k, *e = s;
        while (*e && *e != ',' && *e != ' ')
            e++;
        *start = s;
        *len = (size_t)(e - s);
        return *len ? 0 : -1;
    }
    return -1;
}

static int next_part(const char **p, const char *end, const char **s, size_t *n)
{
    if (*p >= end)
        return -1;
    const char *slash = memchr(*p, '/', (size_t)(end - *p));
    const char *e = slash ? slash : end;
    *s = *p;
    *n = (size_t)(e - *p);
    *p = slash ? slash + 1 : end;
    return *n ? 0 : -1;
}

int hr_sigv4_parse_authorization(const char *value, hr_sigv4_parsed *o)
{
    static const char ALG[] = "AWS4-HMAC-SHA256 ";
    memset(o, 0, sizeof *o);
    if (!value || strncmp(value, ALG, sizeof ALG - 1) != 0)
        return -1;
    const char *v = value + sizeof ALG - 1, *cred, *term;
    size_t cred_len, term_len;
    if (field(v, "Credential=", &cred, &cred_len) != 0 ||
        field(v, "SignedHeaders=", &o->signed_headers, &o->signed_headers_len) != 0 ||
        field(v, "Signature=", &o->signature, &o->signature_len) != 0)
        return -1;
    const char *p = cred, *end = cred + cred_len;
    if (next_part(&p, end, &o->access_key_id, &o->access_key_id_len) != 0 ||
        next_part(&p, end, &o->date, &o->date_len) != 0 ||
        next_part(&p, end, &o->region, &o->region_len) != 0 ||
        next_part(&p, end, &o->service, &o->service_len) != 0 ||
        next_part(&p, end, &term, &term_len) != 0 || p != end)
        return -1;
    if (term_len != 12 || memcmp(term, "aws4_request", 12) != 0 || o->date_len != 8 ||
        o->signature_len != 64)
        return -1;
    return 0;
}

int hr_sigv4_equal(const char *a, size_t a_len, const char *b, size_t b_len)
{
    unsigned char diff = a_len != b_len;
    size_t n = a_len < b_len ? a_len : b_len;
    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(a[i] ^ b[i]);
    return diff == 0;
}
