/* savings.c: see savings.h. The /stats members here are computed from every stored and
 * pending row (at most retention x distinct keys, a few thousand), so they are the same
 * numbers before and after a restart. */
#include "proxy/savings.h"

#include "json/json.h"
#include "ml/session.h"
#include "proxy/cache_watch.h"
#include "proxy/pricing.h"
#include "proxy/stats_store.h"
#include "sys/log.h"
#include "sys/mem.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_GROUPS 64    /* models, compressors or providers shown; the rest add to "other" */
#define HISTORY_HOURS 48 /* hours of savings history in /stats */
#define MEM_SAMPLES 360  /* memory samples kept (one per flush period) */

static struct {
    pthread_mutex_t mu;
    int flush_period_s;
    time_t last_flush;
    struct { time_t t; size_t rss; } mem[MEM_SAMPLES];
    size_t n_mem, i_mem;
} V = {.mu = PTHREAD_MUTEX_INITIALIZER, .flush_period_s = 10};

#define ROW(name, ...) HR_SETTING_ROW(hr_savings_config, name, NULL, __VA_ARGS__, 0)

/* docs/configuration.md ("Savings statistics") has a line per row; a test checks. */
static const hr_setting_row ROWS[] = {
    ROW("stats_flush_s", "HEADROOM_STATS_FLUSH_S", HR_SETTING_INT, flush_s, 1, 3600, "10",
        "seconds between writes of the persistent counters (10)"),
    ROW("stats_retention_days", "HEADROOM_STATS_RETENTION_DAYS", HR_SETTING_INT, retention_days, 1,
        3650, "30", "days of hourly savings kept (30)"),
    ROW("pricing_file", "HEADROOM_PRICING_FILE", HR_SETTING_BORROW, pricing_file, 0, 0, NULL,
        "your prices, read before data/pricing.tsv"),
    ROW("dashboard_public", "HEADROOM_DASHBOARD_PUBLIC", HR_SETTING_SWITCH, dashboard_public, 0, 1,
        "off", "serve /dashboard beyond loopback clients (off)"),
};

const hr_setting_table hr_savings_settings = HR_SETTING_TABLE(ROWS);

void hr_savings_config_default(hr_savings_config *c)
{
    hr_settings_init(&hr_savings_settings, c, sizeof *c);
}

void hr_savings_start(const char *data_dir, int persist, const hr_savings_config *c)
{
    char err[512];
    V.flush_period_s = c->flush_s;
    if (persist && hr_stats_store_open(data_dir, c->retention_days, err, sizeof err) != 0)
        hr_log_fields(HR_LOG_WARN, "persistent stats off: counting in memory", "error", err, NULL);
    if (hr_pricing_load(c->pricing_file, err, sizeof err) != 0)
        hr_log_fields(HR_LOG_WARN, "pricing table", "error", err, NULL);
}

void hr_savings_stop(void)
{
    hr_stats_store_close();
}

void hr_savings_record(const hr_request_record *r)
{
    if (!r->provider || !strcmp(r->provider, "local"))
        return; /* the proxy's own routes are not traffic */
    hr_stat_key k;
    memset(&k, 0, sizeof k);
    k.hour = (long long)time(NULL) / 3600;
    snprintf(k.model, sizeof k.model, "%s", r->model && *r->model ? r->model : "unknown");
    snprintf(k.provider, sizeof k.provider, "%s", r->provider);
    snprintf(k.compressor, sizeof k.compressor, "%s", r->compressors && *r->compressors ? r->compressors : "none");
    snprintf(k.tenant, sizeof k.tenant, "%s", r->tenant ? r->tenant : "");
    hr_stat_counts c;
    memset(&c, 0, sizeof c);
    c.v[HR_STAT_REQUESTS] = 1;
    c.v[HR_STAT_TOKENS_BEFORE] = r->tokens_before;
    c.v[HR_STAT_TOKENS_AFTER] = r->tokens_after;
    c.v[HR_STAT_INPUT] = r->input_tokens;
    c.v[HR_STAT_OUTPUT] = r->output_tokens;
    c.v[HR_STAT_CACHE_READ] = r->cache_read_tokens;
    c.v[HR_STAT_CACHE_WRITE] = r->cache_creation_tokens;
    c.v[HR_STAT_RETRIEVALS] = r->retrievals;
    c.v[HR_STAT_FAILED_OPEN] = r->failed_open != 0;
    c.v[HR_STAT_CACHE_BUSTS] = r->cache_bust != 0;
    hr_stats_store_add(&k, &c);
}

void hr_savings_tick(void)
{
    time_t now = time(NULL);
    if (now - V.last_flush < V.flush_period_s)
        return;
    V.last_flush = now;
    hr_stats_store_flush();
    hr_mem_snapshot m;
    if (hr_mem_read(0, &m) == 0) {
        pthread_mutex_lock(&V.mu);
        V.mem[V.i_mem].t = now;
        V.mem[V.i_mem].rss = m.vm_rss;
        V.i_mem = (V.i_mem + 1) % MEM_SAMPLES;
        if (V.n_mem < MEM_SAMPLES)
            V.n_mem++;
        pthread_mutex_unlock(&V.mu);
    }
}

/* ---- the /stats view ---------------------------------------------------------------------- */

typedef struct group {
    char name[96];
    long long hour; /* history rows */
    hr_stat_counts c;
    double usd, cache_usd;
    long long unpriced_saved;
    int priced_rows;          /* rows whose model has a price */
} group;

typedef struct view {
    group total;
    group models[MAX_GROUPS], compressors[MAX_GROUPS], providers[MAX_GROUPS];
    size_t n_models, n_compressors, n_providers;
    group hours[HISTORY_HOURS];
    long long first_hour;
} view;

static void add_counts(group *g, const hr_stat_counts *c, double usd, double cache_usd, long long unpriced,
                       int priced)
{
    for (int f = 0; f < HR_STAT_N; f++)
        g->c.v[f] += c->v[f];
    g->usd += usd;
    g->cache_usd += cache_usd;
    g->unpriced_saved += unpriced;
    g->priced_rows += priced;
}

static group *group_for(group *g, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(g[i].name, name))
            return &g[i];
    if (*n == MAX_GROUPS)
        name = "other";
    for (size_t i = 0; i < *n; i++)
        if (!strcmp(g[i].name, name))
            return &g[i];
    if (*n == MAX_GROUPS)
        return &g[MAX_GROUPS - 1];
    memset(&g[*n], 0, sizeof g[*n]);
    snprintf(g[*n].name, sizeof g[*n].name, "%s", name);
    return &g[(*n)++];
}

static int add_row(const hr_stat_key *k, const hr_stat_counts *c, void *user)
{
    view *v = user;
    long long saved = c->v[HR_STAT_TOKENS_BEFORE] - c->v[HR_STAT_TOKENS_AFTER];
    double usd = 0, cache_usd = 0;
    long long unpriced = 0;
    int priced = hr_pricing_savings_usd(k->model, saved, &usd) == 0;
    if (!priced)
        unpriced = saved;
    hr_pricing_cache_savings_usd(k->model, c->v[HR_STAT_CACHE_READ], c->v[HR_STAT_CACHE_WRITE], &cache_usd);
    add_counts(&v->total, c, usd, cache_usd, unpriced, priced);
    add_counts(group_for(v->models, &v->n_models, k->model), c, usd, cache_usd, unpriced, priced);
    add_counts(group_for(v->compressors, &v->n_compressors, k->compressor), c, usd, cache_usd, unpriced, priced);
    add_counts(group_for(v->providers, &v->n_providers, k->provider), c, usd, cache_usd, unpriced, priced);
    if (k->hour >= v->first_hour && k->hour < v->first_hour + HISTORY_HOURS) {
        group *h = &v->hours[k->hour - v->first_hour];
        h->hour = k->hour;
        add_counts(h, c, usd, cache_usd, unpriced, priced);
    }
    return 0;
}

static double hit_rate(const hr_stat_counts *c)
{
    long long all = c->v[HR_STAT_CACHE_READ] + c->v[HR_STAT_CACHE_WRITE] + c->v[HR_STAT_INPUT];
    return all > 0 ? (double)c->v[HR_STAT_CACHE_READ] / (double)all : 0.0;
}

/* {"requests":..,"tokens_before":..,...,"tokens_saved":..,"savings_usd":..|null,...} */
static int put_group(hr_buf *o, const group *g, int named)
{
    int rc = hr_buf_putc(o, '{');
    if (named) {
        rc |= hr_buf_puts(o, "\"name\":");
        rc |= hr_json_write_string(o, g->name, strlen(g->name));
        rc |= hr_buf_putc(o, ',');
    }
    for (int f = 0; f < HR_STAT_N; f++)
        rc |= hr_buf_printf(o, "\"%s\":%lld,", HR_STAT_NAMES[f], g->c.v[f]);
    long long saved = g->c.v[HR_STAT_TOKENS_BEFORE] - g->c.v[HR_STAT_TOKENS_AFTER];
    int all_unpriced = g->priced_rows == 0 && g->c.v[HR_STAT_REQUESTS] > 0; /* no price to say */
    rc |= hr_buf_printf(o, "\"tokens_saved\":%lld,\"unpriced_tokens_saved\":%lld,\"cache_hit_rate\":%.4f,",
                        saved, g->unpriced_saved, hit_rate(&g->c));
    if (all_unpriced)
        return rc | hr_buf_puts(o, "\"savings_usd\":\"unpriced\",\"cache_savings_usd\":\"unpriced\"}");
    return rc | hr_buf_printf(o, "\"savings_usd\":%.6f,\"cache_savings_usd\":%.6f}", g->usd, g->cache_usd);
}

static int put_groups(hr_buf *o, const char *key, const group *g, size_t n)
{
    int rc = hr_buf_printf(o, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        if (i)
            rc |= hr_buf_putc(o, ',');
        rc |= put_group(o, &g[i], 1);
    }
    return rc | hr_buf_putc(o, ']');
}

/* The original proxy's shapes: "savings_history" [[iso hour, cumulative tokens saved]],
 * "persistent_savings.lifetime", "cost", "prefix_cache". */
static int put_compat(hr_buf *o, const view *v, int with_process)
{
    const group *t = &v->total;
    long long saved = t->c.v[HR_STAT_TOKENS_BEFORE] - t->c.v[HR_STAT_TOKENS_AFTER];
    int rc = hr_buf_printf(o, ",\"cost\":{\"savings_usd\":%.6f,\"compression_savings_usd\":%.6f,"
                              "\"cache_savings_usd\":%.6f,\"unpriced_tokens_saved\":%lld}",
                           t->usd + t->cache_usd, t->usd, t->cache_usd, t->unpriced_saved);
    rc |= hr_buf_printf(o, ",\"persistent_savings\":{\"lifetime\":{\"requests\":%lld,\"tokens_saved\":%lld,"
                           "\"total_input_tokens\":%lld,\"compression_savings_usd\":%.6f,"
                           "\"cache_savings_usd\":%.6f}}",
                        t->c.v[HR_STAT_REQUESTS], saved, t->c.v[HR_STAT_TOKENS_BEFORE], t->usd, t->cache_usd);
    rc |= hr_buf_puts(o, ",\"savings_history\":[");
    long long cumulative = 0;
    int first = 1;
    for (size_t i = 0; i < HISTORY_HOURS; i++) {
        const group *h = &v->hours[i];
        if (h->c.v[HR_STAT_REQUESTS] == 0)
            continue;
        cumulative += h->c.v[HR_STAT_TOKENS_BEFORE] - h->c.v[HR_STAT_TOKENS_AFTER];
        time_t at = (time_t)h->hour * 3600;
        struct tm tm;
        char iso[32];
        gmtime_r(&at, &tm);
        strftime(iso, sizeof iso, "%Y-%m-%dT%H:00:00Z", &tm);
        rc |= hr_buf_printf(o, "%s[\"%s\",%lld,%.6f]", first ? "" : ",", iso, cumulative, h->usd);
        first = 0;
    }
    rc |= hr_buf_puts(o, "],\"prefix_cache\":{\"totals\":{");
    rc |= hr_buf_printf(o, "\"cache_read_tokens\":%lld,\"cache_write_tokens\":%lld,\"hit_rate\":%.2f,"
                           "\"bust_count\":%lld},\"by_provider\":{",
                        t->c.v[HR_STAT_CACHE_READ], t->c.v[HR_STAT_CACHE_WRITE], 100.0 * hit_rate(&t->c),
                        t->c.v[HR_STAT_CACHE_BUSTS]);
    for (size_t i = 0; i < v->n_providers; i++)
        rc |= hr_buf_printf(o, "%s\"%s\":{\"cache_read_tokens\":%lld,\"cache_write_tokens\":%lld,\"hit_rate\":%.2f}",
                            i ? "," : "", v->providers[i].name, v->providers[i].c.v[HR_STAT_CACHE_READ],
                            v->providers[i].c.v[HR_STAT_CACHE_WRITE], 100.0 * hit_rate(&v->providers[i].c));
    rc |= hr_buf_putc(o, '}');
    if (with_process) {
        rc |= hr_buf_puts(o, ",\"sessions\":");
        rc |= hr_cache_watch_json(o);
    }
    return rc | hr_buf_putc(o, '}');
}

static int put_memory(hr_buf *o)
{
    hr_mem_snapshot m;
    int rc = 0;
    if (hr_mem_read(0, &m) == 0)
        rc |= hr_buf_printf(o, ",\"memory\":{\"vm_rss\":%zu,\"heap_in_use\":%zu,\"threads\":%d,\"ml\":",
                            m.vm_rss, m.heap_in_use, m.threads);
    else
        rc |= hr_buf_puts(o, ",\"memory\":{\"ml\":");
    rc |= hr_ml_runtime_json(o);
    rc |= hr_buf_puts(o, ",\"history\":[");
    pthread_mutex_lock(&V.mu);
    size_t start = V.n_mem < MEM_SAMPLES ? 0 : V.i_mem;
    for (size_t i = 0; i < V.n_mem; i++) {
        size_t k = (start + i) % MEM_SAMPLES;
        rc |= hr_buf_printf(o, "%s[%lld,%zu]", i ? "," : "", (long long)V.mem[k].t, V.mem[k].rss);
    }
    pthread_mutex_unlock(&V.mu);
    return rc | hr_buf_puts(o, "]}");
}

int hr_savings_json(hr_buf *o, int with_process)
{
    view *v = calloc(1, sizeof *v);
    if (!v)
        return -1;
    v->first_hour = (long long)time(NULL) / 3600 - (HISTORY_HOURS - 1);
    hr_stats_store_each(add_row, v);
    int rc = hr_buf_printf(o, ",\"persistent\":{\"enabled\":%s,\"path\":", hr_stats_store_persistent() ? "true" : "false");
    const char *path = hr_stats_store_path();
    rc |= hr_json_write_string(o, path, strlen(path));
    rc |= hr_buf_puts(o, ",\"totals\":");
    rc |= put_group(o, &v->total, 0);
    rc |= put_groups(o, "by_model", v->models, v->n_models);
    rc |= put_groups(o, "by_compressor", v->compressors, v->n_compressors);
    rc |= put_groups(o, "by_provider", v->providers, v->n_providers);
    rc |= hr_buf_puts(o, ",\"hourly\":[");
    int first = 1;
    for (size_t i = 0; i < HISTORY_HOURS; i++)
        if (v->hours[i].c.v[HR_STAT_REQUESTS]) {
            snprintf(v->hours[i].name, sizeof v->hours[i].name, "%lld", v->hours[i].hour * 3600);
            rc |= hr_buf_puts(o, first ? "" : ",");
            rc |= put_group(o, &v->hours[i], 1);
            first = 0;
        }
    rc |= hr_buf_putc(o, ']');
    rc |= hr_buf_putc(o, '}');
    rc |= put_compat(o, v, with_process);
    if (with_process)
        rc |= put_memory(o);
    free(v);
    return rc;
}
