/* bench_compress_scenarios.c: savings and needle retention of the whole pipeline on
 * generated agent conversations shaped like the original's published table (code search;
 * SRE incident; issue triage; codebase exploration). Each scenario is one OpenAI chat
 * request (gpt-4o-mini) whose tool outputs are generated with known needles (the error
 * lines, the record the user asks about, the outliers); the baseline is the same request
 * uncompressed. Prints tokens of the whole request body before/after and needles kept.
 *
 *   cmake --build build --target bench_compress_scenarios
 *   HEADROOM_DATA_DIR=<dir with tokenizers/o200k_base.tiktoken> ./build/bench_compress_scenarios
 * (without the rank file the estimator counts; the output says which counter answered).
 */
#include "ccr/store.h"
#include "compress/pipeline_instance.h"
#include "compress_scenarios.h"
#include "json/json.h"
#include "tokens/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEEDLES 16

typedef struct scenario {
    const char *name;
    hr_buf body;
    const char *needles[MAX_NEEDLES];
    int n_needles;
} scenario;

static void open_body(scenario *s, const char *question)
{
    hr_buf_puts(&s->body, "{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"system\",\"content\":"
                          "\"You are a coding agent.\"},{\"role\":\"user\",\"content\":");
    hr_json_write_string(&s->body, question, strlen(question));
    hr_buf_putc(&s->body, '}');
}

static void add_tool(scenario *s, const char *id, const char *tool, const hr_buf *out)
{
    hr_buf_printf(&s->body, ",{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":\"%s\","
                            "\"type\":\"function\",\"function\":{\"name\":\"%s\",\"arguments\":\"{}\"}}]}",
                  id, tool);
    hr_buf_printf(&s->body, ",{\"role\":\"tool\",\"tool_call_id\":\"%s\",\"content\":", id);
    hr_json_write_string(&s->body, out->data, out->len);
    hr_buf_putc(&s->body, '}');
}

static void close_body(scenario *s) { hr_buf_puts(&s->body, "]}"); }

/* A service log: INFO noise, a few warnings, one error burst with a stack trace. */
static void gen_logs(hr_buf *b, int n, uint64_t seed, const char *needle_error)
{
    scen_rng r = {seed};
    for (int i = 0; i < n; i++) {
        int sec = i * 3;
        hr_buf_printf(b, "2026-11-27T03:%02d:%02d.%03uZ ", (sec / 60) % 60, sec % 60,
                      scen_next(&r) % 1000);
        if (i == n / 2) {
            hr_buf_printf(b, "ERROR [payments] %s\n", needle_error);
            hr_buf_puts(b, "Traceback (most recent call last):\n"
                           "  File \"/srv/app/pay.py\", line 88, in charge\n"
                           "    resp = client.post(url, json=body, timeout=2)\n"
                           "TimeoutError: upstream did not answer in 2s\n");
        } else if (i % 37 == 5) {
            hr_buf_printf(b, "WARN  [pool] connection pool at %u%% capacity\n", 70 + scen_next(&r) % 25);
        } else {
            hr_buf_printf(b, "INFO  [%s] %s request id=%u took %ums\n", scen_word(&r), scen_word(&r),
                          scen_next(&r) % 100000, 5 + scen_next(&r) % 80);
        }
    }
}

/* grep -n style hits: path:line:text. One hit names the needle symbol. */
static void gen_grep(hr_buf *b, int n, uint64_t seed, const char *needle_line)
{
    scen_rng r = {seed};
    for (int i = 0; i < n; i++) {
        if (i == n / 3) {
            hr_buf_printf(b, "src/billing/retry.c:%d:%s\n", 40 + i, needle_line);
            continue;
        }
        hr_buf_printf(b, "src/%s/%s.c:%u:    ", scen_word(&r), scen_word(&r), 1 + scen_next(&r) % 800);
        scen_sentence(b, &r, 6);
        hr_buf_putc(b, '\n');
    }
}

/* GitHub-like issues list (JSON). */
static void gen_issues(hr_buf *b, int n, uint64_t seed)
{
    scen_rng r = {seed};
    hr_buf_putc(b, '[');
    for (int i = 0; i < n; i++) {
        hr_buf_printf(b, "%s{\"number\":%d,\"title\":\"", i ? "," : "", 4100 + i);
        if (i == 42)
            hr_buf_puts(b, "Crash on startup: panic in config loader");
        else
            scen_sentence(b, &r, 6);
        hr_buf_printf(b, "\",\"state\":\"open\",\"labels\":[\"%s\"],\"comments\":%u,\"user\":\"%s%u\","
                         "\"created_at\":\"2026-11-%02dT10:00:00Z\",\"body\":\"",
                      i % 4 ? "enhancement" : "bug", scen_next(&r) % 12, scen_word(&r),
                      scen_next(&r) % 100, 1 + i % 27);
        scen_sentence(b, &r, 25);
        hr_buf_puts(b, "\"}");
    }
    hr_buf_putc(b, ']');
}

/* `find .` listing of a source tree. */
static void gen_tree(hr_buf *b, int n, uint64_t seed)
{
    scen_rng r = {seed};
    for (int i = 0; i < n; i++)
        hr_buf_printf(b, "./src/%s/%s_%d.%s\n", scen_word(&r), scen_word(&r), i, i % 3 ? "c" : "h");
}

static void build(scenario *sc)
{
    hr_buf t = HR_BUF_INIT;

    sc[0].name = "Code search (100 results)";
    open_body(&sc[0], "where is validate_refresh_token defined, and what calls it?");
    scen_code_search(&t, 100, 21);
    add_tool(&sc[0], "c1", "code_search", &t);
    close_body(&sc[0]);
    sc[0].needles[sc[0].n_needles++] = "validate_refresh_token(";
    sc[0].needles[sc[0].n_needles++] = "refresh failed";

    sc[1].name = "SRE incident (logs 300, DB rows 200, file search 150)";
    open_body(&sc[1], "payments are failing since 03:07; dana.reyes@example.com reports it. "
                      "Find the cause.");
    hr_buf_reset(&t);
    gen_logs(&t, 300, 5, "charge failed for order 88231: gateway timeout");
    add_tool(&sc[1], "c1", "read_logs", &t);
    hr_buf_reset(&t);
    scen_db_rows(&t, 200, 6);
    add_tool(&sc[1], "c2", "sql", &t);
    hr_buf_reset(&t);
    gen_grep(&t, 150, 7, "    if (attempt > MAX_RETRIES) return ERR_GATEWAY_TIMEOUT;");
    add_tool(&sc[1], "c3", "grep", &t);
    close_body(&sc[1]);
    sc[1].needles[sc[1].n_needles++] = "charge failed for order 88231";
    sc[1].needles[sc[1].n_needles++] = "TimeoutError: upstream did not answer";
    sc[1].needles[sc[1].n_needles++] = "dana.reyes@example.com";
    sc[1].needles[sc[1].n_needles++] = "\\\"status\\\":\\\"failed\\\"";
    sc[1].needles[sc[1].n_needles++] = "987654";
    sc[1].needles[sc[1].n_needles++] = "ERR_GATEWAY_TIMEOUT";

    sc[2].name = "Issue triage (issues 100, code search 80, logs 200)";
    open_body(&sc[2], "triage the crash reports: which issue is the startup panic?");
    hr_buf_reset(&t);
    gen_issues(&t, 100, 8);
    add_tool(&sc[2], "c1", "list_issues", &t);
    hr_buf_reset(&t);
    scen_code_search(&t, 80, 9);
    add_tool(&sc[2], "c2", "code_search", &t);
    hr_buf_reset(&t);
    gen_logs(&t, 200, 10, "config loader panic: missing key 'region'");
    add_tool(&sc[2], "c3", "read_logs", &t);
    close_body(&sc[2]);
    sc[2].needles[sc[2].n_needles++] = "Crash on startup: panic in config loader";
    sc[2].needles[sc[2].n_needles++] = "config loader panic";
    sc[2].needles[sc[2].n_needles++] = "refresh failed";

    sc[3].name = "Codebase exploration (tree, search 200, code search 100)";
    open_body(&sc[3], "how does retry_budget_left decide? start from src/billing/retry.c");
    hr_buf_reset(&t);
    gen_tree(&t, 250, 11);
    add_tool(&sc[3], "c1", "list_files", &t);
    hr_buf_reset(&t);
    gen_grep(&t, 200, 12, "static unsigned retry_budget_left(const struct budget *b)");
    add_tool(&sc[3], "c2", "grep", &t);
    hr_buf_reset(&t);
    scen_code_search(&t, 100, 13);
    add_tool(&sc[3], "c3", "code_search", &t);
    close_body(&sc[3]);
    sc[3].needles[sc[3].n_needles++] = "retry_budget_left";
    sc[3].needles[sc[3].n_needles++] = "refresh failed";
    hr_buf_free(&t);
}

int main(void)
{
    scenario sc[4];
    memset(sc, 0, sizeof sc);
    build(sc);
    hr_ccr_config cc;
    hr_ccr_config_default(&cc);
    cc.backend = HR_CCR_BACKEND_MEMORY;
    char err[200];
    hr_ccr_store *store = hr_ccr_store_open(&cc, err, sizeof err);
    hr_pipeline_config pc;
    hr_pipeline_config_default(&pc);
    hr_pipeline *p = hr_pipeline_new(&pc, HR_PIPELINE_STORE_GIVEN, store);
    if (!store || !p) {
        fprintf(stderr, "bench: setup failed: %s\n", err);
        return 1;
    }
    hr_tok_encoding used;
    hr_tokens_count("gpt-4o-mini", "", 0, &used);
    printf("counter: %s\n", hr_tok_encoding_name(used));
    printf("| Workload | Before | After | Savings | Needles kept | Transforms |\n"
           "|---|---:|---:|---:|---:|---|\n");
    int all_kept = 1;
    for (int i = 0; i < 4; i++) {
        hr_pipeline_input in = {HR_SHAPE_OPENAI_CHAT, sc[i].body.data, sc[i].body.len, NULL, NULL,
                                "bench"};
        hr_pipeline_result r;
        hr_pipeline_run_on(p, &in, &r);
        const char *out = r.modified ? r.body.data : sc[i].body.data;
        size_t out_len = r.modified ? r.body.len : sc[i].body.len;
        size_t before = hr_tokens_count("gpt-4o-mini", sc[i].body.data, sc[i].body.len, NULL);
        size_t after = hr_tokens_count("gpt-4o-mini", out, out_len, NULL);
        int kept = 0;
        for (int k = 0; k < sc[i].n_needles; k++) {
            if (memmem(out, out_len, sc[i].needles[k], strlen(sc[i].needles[k])))
                kept++;
            else
                fprintf(stderr, "  %s: needle lost: %s\n", sc[i].name, sc[i].needles[k]);
        }
        all_kept &= kept == sc[i].n_needles;
        printf("| %s | %zu | %zu | %.0f%% | %d/%d | %s |\n", sc[i].name, before, after,
               100.0 * (double)(before - after) / (double)before, kept, sc[i].n_needles,
               r.transforms[0] ? r.transforms : "none");
        hr_pipeline_result_free(&r);
        hr_buf_free(&sc[i].body);
    }
    hr_pipeline_free(p);
    hr_ccr_store_close(store);
    return all_kept ? 0 : 1;
}
