/* cmd_stats.c: `headroom stats`, the savings in the terminal. It asks the running proxy
 * (GET /stats on --url, default http://127.0.0.1:8787, or $HEADROOM_PORT) and, when no
 * proxy answers or --data-dir is given, reads the persistent stats file in the data dir
 * itself (the same rows and prices, so the same numbers, minus the live process's memory
 * and in-memory counters). Output: a table, or with --json the JSON object.
 * Exit codes: 0 ok, 2 usage, 3 neither the proxy nor the data dir could be read.
 */
#include "cli/commands.h"

#include "json/json.h"
#include "proxy/config.h"
#include "proxy/pricing.h"
#include "proxy/savings.h"
#include "proxy/stats_store.h"
#include "sys/datadir.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_STATS_BYTES (16u << 20)

static void stats_usage(FILE *out)
{
    fprintf(out, "usage: headroom stats [--url URL | --data-dir DIR] [--json]\n\n"
                 "Savings so far: requests, tokens saved, dollars (at the input price of each\n"
                 "model; \"unpriced\" when the price table has no row for it), prompt-cache\n"
                 "reads and writes, retrievals, fail-opens, per model and per compressor.\n"
                 "Reads the running proxy's /stats (--url, default http://127.0.0.1:8787 or\n"
                 "$HEADROOM_PORT); with --data-dir, or when no proxy answers, the stats file\n"
                 "in the data dir. Environment: HEADROOM_DATA_DIR, HEADROOM_PRICING_FILE.\n");
}

static size_t on_body(char *p, size_t size, size_t n, void *user)
{
    hr_buf *b = user;
    if (b->len + size * n > MAX_STATS_BYTES || hr_buf_append(b, p, size * n) != 0)
        return 0;
    return size * n;
}

/* GET <url>/stats into out. 0 ok, -1 no answer or not 200. */
static int fetch_stats(const char *url, hr_buf *out)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    char full[2048];
    snprintf(full, sizeof full, "%s/stats", url);
    curl_easy_setopt(c, CURLOPT_URL, full);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    long status = 0;
    int rc = curl_easy_perform(c) == CURLE_OK &&
                     curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK && status == 200
                 ? 0
                 : -1;
    curl_easy_cleanup(c);
    return rc;
}

/* The same members the proxy's /stats carries for the file, built from the file. */
static int read_data_dir(const char *dir, hr_buf *out)
{
    char err[512], resolved[4096], file[4200];
    if (hr_data_dir_resolve(dir, resolved, sizeof resolved, err, sizeof err) != 0) {
        fprintf(stderr, "headroom stats: %s\n", err);
        return -1;
    }
    snprintf(file, sizeof file, "%s/stats.sqlite3", resolved);
    if (access(file, R_OK) != 0) { /* a reader creates nothing */
        fprintf(stderr, "headroom stats: no proxy answered and there is no %s\n", file);
        return -1;
    }
    if (hr_stats_store_open(resolved, 3650, err, sizeof err) != 0) {
        fprintf(stderr, "headroom stats: %s\n", err);
        return -1;
    }
    hr_savings_config sc; /* the proxy's statistics settings: HEADROOM_PRICING_FILE */
    hr_savings_config_default(&sc);
    if (hr_settings_from_env(&hr_savings_settings, &sc, err, sizeof err) != 0 ||
        hr_pricing_load(sc.pricing_file, err, sizeof err) != 0)
        fprintf(stderr, "headroom stats: %s\n", err);
    int rc = hr_buf_puts(out, "{\"source\":\"data_dir\"");
    rc |= hr_savings_json(out, 0);
    rc |= hr_buf_putc(out, '}');
    hr_stats_store_close();
    return rc;
}

static long long member_int(const hr_json_doc *d, uint32_t obj, const char *key)
{
    int64_t v = 0;
    hr_json_int64(d, hr_json_get(d, obj, key), &v);
    return v;
}

static void print_money(const hr_json_doc *d, uint32_t obj)
{
    double usd;
    uint32_t n = hr_json_get(d, obj, "savings_usd");
    if (hr_json_double(d, n, &usd) == 0)
        printf("%12.4f", usd);
    else
        printf("%12s", "unpriced");
}

static void print_rows(const hr_json_doc *d, uint32_t persistent, const char *key, const char *title)
{
    const hr_json_node *arr = hr_json_at(d, hr_json_get(d, persistent, key));
    if (!arr || arr->type != HR_JSON_ARRAY)
        return;
    printf("\n%-32s %9s %12s %12s %12s\n", title, "requests", "saved", "cache_read", "usd");
    for (uint32_t i = 0; i < arr->count; i++) {
        uint32_t row = hr_json_index(d, hr_json_get(d, persistent, key), i);
        hr_buf name = HR_BUF_INIT;
        hr_json_string(d, hr_json_get(d, row, "name"), &name);
        printf("%-32.32s %9lld %12lld %12lld ", name.data ? name.data : "", member_int(d, row, "requests"),
               member_int(d, row, "tokens_saved"), member_int(d, row, "cache_read_tokens"));
        print_money(d, row);
        printf("\n");
        hr_buf_free(&name);
    }
}

static int print_table(const char *json, size_t len, const char *source)
{
    hr_json_doc d;
    hr_json_error err;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, json, len, &lim, &err) != 0) {
        fprintf(stderr, "headroom stats: the answer is not JSON: %s\n", err.msg);
        return 3;
    }
    uint32_t p = hr_json_get(&d, 0, "persistent");
    uint32_t t = hr_json_get(&d, p, "totals");
    if (t == HR_JSON_NONE) {
        fprintf(stderr, "headroom stats: no \"persistent\" savings in the answer (an older proxy?)\n");
        hr_json_doc_free(&d);
        return 3;
    }
    double rate = 0;
    hr_json_double(&d, hr_json_get(&d, t, "cache_hit_rate"), &rate);
    printf("headroom savings (from %s)\n\n", source);
    printf("  requests            %lld\n", member_int(&d, t, "requests"));
    printf("  tokens saved        %lld (before %lld, after %lld)\n", member_int(&d, t, "tokens_saved"),
           member_int(&d, t, "tokens_before"), member_int(&d, t, "tokens_after"));
    printf("  dollars saved      ");
    print_money(&d, t);
    printf("  (unpriced tokens saved: %lld)\n", member_int(&d, t, "unpriced_tokens_saved"));
    printf("  prompt cache        read %lld, write %lld, hit rate %.1f%%, busts we caused %lld\n",
           member_int(&d, t, "cache_read_tokens"), member_int(&d, t, "cache_write_tokens"), 100 * rate,
           member_int(&d, t, "cache_busts"));
    printf("  retrievals          %lld\n  fail-opens          %lld\n", member_int(&d, t, "retrievals"),
           member_int(&d, t, "failed_open"));
    print_rows(&d, p, "by_model", "model");
    print_rows(&d, p, "by_compressor", "compressor");
    hr_json_doc_free(&d);
    return 0;
}

int hr_cmd_stats(int argc, char **argv)
{
    const char *url = NULL, *dir = NULL;
    int json = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            stats_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--url") && i + 1 < argc) {
            url = argv[++i];
        } else if (!strcmp(a, "--data-dir") && i + 1 < argc) {
            dir = argv[++i];
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else {
            stats_usage(stderr);
            return 2;
        }
    }
    char default_url[64], err[256];
    int port;
    if (hr_proxy_port_of(NULL, &port, err, sizeof err) != 0) {
        fprintf(stderr, "headroom stats: %s\n", err);
        return 2;
    }
    snprintf(default_url, sizeof default_url, "http://127.0.0.1:%d", port);
    hr_buf body = HR_BUF_INIT;
    const char *source = url ? url : default_url;
    int got = -1;
    if (!dir) {
        curl_global_init(CURL_GLOBAL_DEFAULT);
        got = fetch_stats(source, &body);
        curl_global_cleanup();
        if (got != 0 && url) {
            fprintf(stderr, "headroom stats: no answer from %s/stats\n", url);
            hr_buf_free(&body);
            return 3;
        }
    }
    if (got != 0) {
        hr_buf_free(&body);
        body = (hr_buf)HR_BUF_INIT;
        source = "the data dir";
        if (read_data_dir(dir, &body) != 0) {
            hr_buf_free(&body);
            return 3;
        }
    }
    int code = 0;
    if (json) {
        if (fwrite(body.data, 1, body.len, stdout) != body.len || putchar('\n') == EOF)
            code = 3;
    } else {
        code = print_table(body.data, body.len, source);
    }
    hr_buf_free(&body);
    return code;
}
