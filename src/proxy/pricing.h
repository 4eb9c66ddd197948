/* pricing.h: what a model's tokens cost, from a price table: the one shipped in
 * data/pricing.tsv (embedded in the binary at build time) and, read first and winning, the
 * user's own file in the same format (--pricing-file / HEADROOM_PRICING_FILE). A model
 * matches the longest model prefix listed; a model no row matches is "unpriced" and every
 * dollar figure for it is reported as such, never guessed.
 *
 * The table is loaded once before serving (hr_pricing_load) and read-only afterwards.
 */
#ifndef HR_PROXY_PRICING_H
#define HR_PROXY_PRICING_H

#include <stddef.h>

typedef struct hr_price {
    char prefix[96];
    double input, output, cache_read, cache_write; /* USD per million tokens; < 0: none */
    char source[192];
    char date[16];
} hr_price;

/* Loads the shipped table, then user_file (NULL or "": none) on top. 0 ok; -1 with err
 * filled (a user file that cannot be read or has a bad line; the shipped table still
 * applies). */
int hr_pricing_load(const char *user_file, char *err, size_t errlen);

/* Parses one table's text into the process table (rows added after the ones there; the
 * first match of equal length wins, so load the user's file first). For tests too.
 * 0 ok; -1 with err naming the line. */
int hr_pricing_parse(const char *text, size_t len, const char *origin, char *err, size_t errlen);
void hr_pricing_clear(void);

/* The row for model, or NULL (unpriced). */
const hr_price *hr_pricing_find(const char *model);

/* Dollars saved by not sending tokens_saved input tokens: tokens_saved x the input price.
 * Returns 0 and sets *usd, or -1 when the model is unpriced. */
int hr_pricing_savings_usd(const char *model, long long tokens_saved, double *usd);

/* Dollars the prompt cache saved: reads at the cache-read price instead of the input
 * price, minus the extra paid to write the cache. -1 when unpriced. */
int hr_pricing_cache_savings_usd(const char *model, long long cache_read, long long cache_write,
                                 double *usd);

#endif
