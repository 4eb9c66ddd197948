/* bench_compress_scenarios.c: savings and needle retention of the whole pipeline on
 * generated agent conversations shaped like the original's published table (code search;
 * SRE incident; issue triage; codebase exploration). Each scenario is one OpenAI chat
 * request (gpt-4o-mini) whose tool outputs are generated with known needles (the error
 * lines, the record the user asks about, the outliers); the baseline is the same request
 * uncompressed. Prints tokens of the whole request body before/after and needles kept.
 *
 *   cmake --build build --target bench_compress_scenarios
 *   HEADROOM_DATA_DIR=<dir with tokenizers/o200k_base.tiktoken> ./build/bench_compress_scenarios
 *     [pipeline flags, e.g. --max-items 5]
 * (without the rank file the estimator counts; the output says which counter answered).
 */
#include "ccr/store.h"
#include "compress/json_table.h"
#include "compress/pipeline_instance.h"
#include "compress_scenarios.h"
#include "json/json.h"
#include "tokens/tokens.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEEDLES 16
#define MAX_TOOLS 4

typedef struct scenario {
    const char *name;
    hr_buf body;
    const char *needles[MAX_NEEDLES];
    int n_needles;
    const char *question;
    const char *tools[MAX_TOOLS]; /* tool names (static) and their outputs, for the breakdown */
    hr_buf outputs[MAX_TOOLS];
    int n_tools;
} scenario;

static void open_body(scenario *s, const char *question)
{
    s->question = question;
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
    if (s->n_tools < MAX_TOOLS) {
        s->tools[s->n_tools] = tool;
        hr_buf_append(&s->outputs[s->n_tools++], out->data, out->len);
    }
    hr_buf_printf(&s->body, ",{\"role\":\"tool\",\"tool_call_id\":\"%s\",\"content\":", id);
    hr_json_write_string(&s->body, out->data, out->len);
    hr_buf_putc(&s->body, '}');
}

static void close_body(scenario *s) { hr_buf_puts(&s->body, "]}"); }

static void build(scenario *sc)
{
    hr_buf t = HR_BUF_INIT;
    static const int callers_a[] = {12, 48, 77}, callers_b[] = {5, 40}, failed[] = {131, 134, 139};

    sc[0].name = "Code search (100 results)";
    open_body(&sc[0], "where is validate_refresh_token defined, and what calls it?");
    scen_real_code_search(&t, 100, 21, 63, 88, callers_a, 3);
    add_tool(&sc[0], "c1", "github_search_code", &t);
    close_body(&sc[0]);
    sc[0].needles[sc[0].n_needles++] = "def validate_refresh_token(";
    sc[0].needles[sc[0].n_needles++] = "refresh failed: upstream rejected grant";

    sc[1].name = "SRE incident (logs 300, DB rows 200, file search 150)";
    open_body(&sc[1], "payments are failing since 03:07; dana.reyes@example.com reports it. "
                      "Find the cause.");
    hr_buf_reset(&t);
    scen_real_service_log(&t, 300, 5, 171, "charge failed for order 88231: gateway timeout after 2000ms",
                          233, "ledger consumer stopped: circuit breaker open for stripe-eu");
    add_tool(&sc[1], "c1", "read_logs", &t);
    hr_buf_reset(&t);
    scen_real_payment_rows(&t, 200, 6, 113, failed, 3, 157);
    add_tool(&sc[1], "c2", "sql_query", &t);
    hr_buf_reset(&t);
    scen_real_grep(&t, 150, 7, 97, "src/billing/retry.c",
                   "    if (attempt > MAX_RETRIES) return ERR_GATEWAY_TIMEOUT;", 0);
    add_tool(&sc[1], "c3", "search_code", &t);
    close_body(&sc[1]);
    sc[1].needles[sc[1].n_needles++] = "charge failed for order 88231";
    sc[1].needles[sc[1].n_needles++] = "TimeoutError: upstream did not answer";
    sc[1].needles[sc[1].n_needles++] = "FATAL ledger";
    sc[1].needles[sc[1].n_needles++] = "dana.reyes@example.com";
    sc[1].needles[sc[1].n_needles++] = "{\"id\":912531,";
    sc[1].needles[sc[1].n_needles++] = "{\"id\":912534,";
    sc[1].needles[sc[1].n_needles++] = "{\"id\":912539,";
    sc[1].needles[sc[1].n_needles++] = "\"gateway_latency_ms\":30000,";
    sc[1].needles[sc[1].n_needles++] = "ERR_GATEWAY_TIMEOUT";

    sc[2].name = "Issue triage (issues 100, code search 80, logs 200)";
    open_body(&sc[2], "triage the crash reports: which issue is the startup panic?");
    hr_buf_reset(&t);
    scen_real_issues(&t, 100, 8, 42);
    add_tool(&sc[2], "c1", "list_issues", &t);
    hr_buf_reset(&t);
    scen_real_code_search(&t, 80, 9, 17, 66, callers_b, 2);
    add_tool(&sc[2], "c2", "github_search_code", &t);
    hr_buf_reset(&t);
    scen_real_service_log(&t, 200, 10, 120, "config loader panic: missing key 'region'", -1, NULL);
    add_tool(&sc[2], "c3", "read_logs", &t);
    close_body(&sc[2]);
    sc[2].needles[sc[2].n_needles++] = "Crash on startup: panic in config loader";
    sc[2].needles[sc[2].n_needles++] = "config loader panic";
    sc[2].needles[sc[2].n_needles++] = "refresh failed: upstream rejected grant";

    sc[3].name = "Codebase exploration (tree, search 200, code search 100)";
    open_body(&sc[3], "how does retry_budget_left decide? start from src/billing/retry.c");
    hr_buf_reset(&t);
    scen_real_tree(&t, 2400, 11);
    add_tool(&sc[3], "c1", "list_files", &t);
    hr_buf_reset(&t);
    scen_real_grep(&t, 200, 12, 143, "src/billing/retry.c",
                   "static unsigned retry_budget_left(const struct budget *b)", 2);
    add_tool(&sc[3], "c2", "search_code", &t);
    hr_buf_reset(&t);
    scen_real_code_search(&t, 100, 13, 31, 74, callers_a, 3);
    add_tool(&sc[3], "c3", "github_search_code", &t);
    close_body(&sc[3]);
    sc[3].needles[sc[3].n_needles++] = "retry_budget_left";
    sc[3].needles[sc[3].n_needles++] = "refresh failed: upstream rejected grant";
    hr_buf_free(&t);
}

/* Each tool output of a scenario on its own (same pipeline settings, the scenario's question
 * as the query): which compressor took it and what it saved. */
static void print_breakdown(hr_pipeline *p, scenario *sc, int n)
{
    printf("\n| Workload | Tool output | Before | After | Compressor (kept/total) |\n"
           "|---|---|---:|---:|---|\n");
    for (int i = 0; i < n; i++)
        for (int t = 0; t < sc[i].n_tools; t++) {
            hr_compress_result r;
            long long before = 0, after = 0;
            hr_pipeline_compress_text(p, sc[i].outputs[t].data, sc[i].outputs[t].len, "gpt-4o-mini",
                                      sc[i].question, strlen(sc[i].question), "bench", &r, &before,
                                      &after);
            printf("| %.24s | %s | %lld | %lld | %s (%llu/%llu) |\n", sc[i].name, sc[i].tools[t],
                   before, r.compressed ? after : before, r.compressed ? r.compressor : "none",
                   r.units_kept, r.units_total);
            hr_compress_result_free(&r);
            hr_buf_free(&sc[i].outputs[t]);
        }
}

/* What the model reads: every message's content unescaped, with SmartCrusher's tables
 * expanded back to objects (json_table.h), so a needle like {"id":912531, is found
 * whether its row was kept as an object or as a table row. */
static void readable_view(const char *body, size_t len, hr_buf *view)
{
    hr_json_doc d;
    hr_json_error e;
    hr_json_limits lim = HR_JSON_LIMITS_DEFAULT;
    if (hr_json_parse(&d, body, len, &lim, &e) != 0)
        return;
    uint32_t msgs = hr_json_get(&d, 0, "messages");
    for (uint32_t m = msgs != HR_JSON_NONE ? d.nodes[msgs].first_child : HR_JSON_NONE;
         m != HR_JSON_NONE; m = d.nodes[m].next) {
        hr_buf text = HR_BUF_INIT;
        if (hr_json_string(&d, hr_json_get(&d, m, "content"), &text) == 0 && text.len) {
            const char *cut = memmem(text.data, text.len, "\n[", 2);
            size_t json_len = cut ? (size_t)(cut - text.data) : text.len;
            if (hr_json_table_expand(text.data, json_len, view) != 0)
                hr_buf_append(view, text.data, json_len);
            hr_buf_append(view, text.data + json_len, text.len - json_len);
            hr_buf_putc(view, '\n');
        }
        hr_buf_free(&text);
    }
    hr_json_doc_free(&d);
}

int main(int argc, char **argv)
{
    scenario sc[4];
    char err[200] = "";
    hr_pipeline_config pc;
    hr_pipeline_config_default(&pc);
    for (int i = 1; i < argc; i++) /* pipeline flags, e.g. --max-items 5 */
        if (hr_pipeline_config_arg(&pc, argc, argv, &i, err, sizeof err) != 1) {
            fprintf(stderr, "bench: %s: %s\n", argv[i], err[0] ? err : "not a pipeline flag");
            return 2;
        }
    memset(sc, 0, sizeof sc);
    build(sc);
    hr_ccr_config cc;
    hr_ccr_config_default(&cc);
    cc.backend = HR_CCR_BACKEND_MEMORY;
    hr_ccr_store *store = hr_ccr_store_open(&cc, err, sizeof err);
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
        hr_pipeline_input in = {&hr_api_openai_chat, sc[i].body.data, sc[i].body.len, NULL, NULL,
                                "bench", NULL};
        hr_pipeline_result r;
        hr_pipeline_run_on(p, &in, &r);
        const char *out = r.modified ? r.body.data : sc[i].body.data;
        size_t out_len = r.modified ? r.body.len : sc[i].body.len;
        size_t before = hr_tokens_count("gpt-4o-mini", sc[i].body.data, sc[i].body.len, NULL);
        size_t after = hr_tokens_count("gpt-4o-mini", out, out_len, NULL);
        int kept = 0;
        hr_buf view = HR_BUF_INIT;
        readable_view(out, out_len, &view);
        for (int k = 0; k < sc[i].n_needles; k++) {
            if (memmem(view.data, view.len, sc[i].needles[k], strlen(sc[i].needles[k])))
                kept++;
            else
                fprintf(stderr, "  %s: needle lost: %s\n", sc[i].name, sc[i].needles[k]);
        }
        hr_buf_free(&view);
        all_kept &= kept == sc[i].n_needles;
        printf("| %s | %zu | %zu | %.1f%% | %d/%d | %s |\n", sc[i].name, before, after,
               100.0 * (double)(before - after) / (double)before, kept, sc[i].n_needles,
               r.transforms[0] ? r.transforms : "none");
        hr_pipeline_result_free(&r);
        hr_buf_free(&sc[i].body);
    }
    print_breakdown(p, sc, 4);
    hr_pipeline_free(p);
    hr_ccr_store_close(store);
    return all_kept ? 0 : 1;
}
