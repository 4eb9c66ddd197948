/* pricing.c: see pricing.h. The table is a fixed array: a price list has tens of rows,
 * and a cap keeps a hostile or mistaken user file from growing memory. */
#include "proxy/pricing.h"

#include "sys/parse.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PRICES 256
#define MAX_USER_FILE (1 << 20)

extern const unsigned char hr_asset_pricing_tsv[];
extern const size_t hr_asset_pricing_tsv_len;

static hr_price T[MAX_PRICES];
static size_t n_prices;

void hr_pricing_clear(void)
{
    n_prices = 0;
}

/* A price column: a non-negative number, or "-" for "not charged" (stored as -1). */
static int parse_price(const char *s, double *out)
{
    if (!strcmp(s, "-")) {
        *out = -1;
        return 0;
    }
    double v;
    if (hr_parse_double(s, &v) != 0 || !(v >= 0) || v > 1e6)
        return -1;
    *out = v;
    return 0;
}

/* Splits line at tabs into at most max fields (in place). Returns the count. */
static size_t split_tabs(char *line, char **f, size_t max)
{
    size_t n = 0;
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *tab = strchr(p, '\t');
        if (!tab)
            break;
        *tab = '\0';
        p = tab + 1;
    }
    return n;
}

static int parse_line(char *line, hr_price *row)
{
    char *f[7];
    size_t n = split_tabs(line, f, 7);
    if (n < 5 || !*f[0] || strlen(f[0]) >= sizeof row->prefix)
        return -1;
    memset(row, 0, sizeof *row);
    snprintf(row->prefix, sizeof row->prefix, "%s", f[0]);
    if (parse_price(f[1], &row->input) || row->input < 0 || parse_price(f[2], &row->output) ||
        parse_price(f[3], &row->cache_read) || parse_price(f[4], &row->cache_write))
        return -1;
    snprintf(row->source, sizeof row->source, "%s", n > 5 ? f[5] : "");
    snprintf(row->date, sizeof row->date, "%s", n > 6 ? f[6] : "");
    return 0;
}

int hr_pricing_parse(const char *text, size_t len, const char *origin, char *err, size_t errlen)
{
    size_t lineno = 0;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(text + i, '\n', len - i);
        size_t end = nl ? (size_t)(nl - text) : len;
        char line[1024];
        lineno++;
        size_t k = end - i;
        if (k && text[i + k - 1] == '\r')
            k--;
        if (k >= sizeof line) {
            snprintf(err, errlen, "%s:%zu: line too long", origin, lineno);
            return -1;
        }
        memcpy(line, text + i, k);
        line[k] = '\0';
        i = end + 1;
        if (k == 0 || line[0] == '#')
            continue;
        if (n_prices == MAX_PRICES) {
            snprintf(err, errlen, "%s:%zu: more than %d prices", origin, lineno, MAX_PRICES);
            return -1;
        }
        if (parse_line(line, &T[n_prices]) != 0) {
            snprintf(err, errlen, "%s:%zu: expected model_prefix<TAB>input<TAB>output<TAB>"
                                  "cache_read<TAB>cache_write[<TAB>source<TAB>date], prices "
                                  "in USD per million tokens or -",
                     origin, lineno);
            return -1;
        }
        n_prices++;
    }
    return 0;
}

static int read_user_file(const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "pricing file %s: %s", path, strerror(errno));
        return -1;
    }
    char *text = malloc(MAX_USER_FILE);
    size_t len = text ? fread(text, 1, MAX_USER_FILE, f) : 0;
    int too_big = text && len == MAX_USER_FILE;
    fclose(f);
    int rc = -1;
    if (!text)
        snprintf(err, errlen, "out of memory");
    else if (too_big)
        snprintf(err, errlen, "pricing file %s: larger than %d bytes", path, MAX_USER_FILE);
    else
        rc = hr_pricing_parse(text, len, path, err, errlen);
    free(text);
    return rc;
}

int hr_pricing_load(const char *user_file, char *err, size_t errlen)
{
    hr_pricing_clear();
    int rc = 0;
    if (user_file && *user_file && read_user_file(user_file, err, errlen) != 0) {
        hr_pricing_clear(); /* a half-read user file must not half-apply */
        rc = -1;
    }
    char ignored[128];
    if (hr_pricing_parse((const char *)hr_asset_pricing_tsv, hr_asset_pricing_tsv_len, "data/pricing.tsv",
                         rc ? ignored : err, rc ? sizeof ignored : errlen) != 0)
        rc = -1;
    return rc;
}

const hr_price *hr_pricing_find(const char *model)
{
    const hr_price *best = NULL;
    size_t best_len = 0;
    for (size_t i = 0; model && i < n_prices; i++) {
        size_t k = strlen(T[i].prefix);
        if (k > best_len && strncmp(model, T[i].prefix, k) == 0) {
            best = &T[i];
            best_len = k;
        }
    }
    return best;
}

int hr_pricing_savings_usd(const char *model, long long tokens_saved, double *usd)
{
    const hr_price *p = hr_pricing_find(model);
    if (!p)
        return -1;
    *usd = (double)tokens_saved * p->input / 1e6;
    return 0;
}

int hr_pricing_cache_savings_usd(const char *model, long long cache_read, long long cache_write,
                                 double *usd)
{
    const hr_price *p = hr_pricing_find(model);
    if (!p)
        return -1;
    double read_price = p->cache_read >= 0 ? p->cache_read : p->input;
    double write_price = p->cache_write >= 0 ? p->cache_write : p->input;
    *usd = ((double)cache_read * (p->input - read_price) - (double)cache_write * (write_price - p->input)) / 1e6;
    return 0;
}
