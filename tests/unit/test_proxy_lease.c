/* The in-flight budget tracks what a request really holds, step by step: the real proxy
 * (hr_proxy_run, in this process) forwards to a fake upstream that is an hr_http_server in
 * the same process, so the upstream's handler reads the process budget while the request is
 * held at the proxy. The lease of an exchange holds, in order:
 *   - the raw body: its Content-Length + 1 (the server's NUL);
 *   - the decoded body, for a Content-Encoding'd one: 64 KiB steps, at most one step over;
 *   - compression's one copy (the splice of every edit): exactly the bytes sent upstream
 *     + 1, reserved when the edits are known (it was twice the body, up front, before);
 *   - a buffered answer: each chunk as it arrives (seen in the budget's peak);
 * and nothing once the exchange has ended. A body over a third of the budget is compressed
 * (a 2x up-front reservation made it fail open). Expected values come from what the
 * upstream received and the client sent, never from the proxy's own output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ccr/store.h"
#include "http/server.h"
#include "proxy/config.h"
#include "proxy/proxy.h"
#include "sys/budget.h"
#include "sys/buf.h"

#include <curl/curl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define MB ((size_t)1 << 20)
#define BUDGET_MB 4 /* --max-inflight-body-mb: a 1.5 MB body is over a third of it */

static struct {
    hr_http_server *up;
    pthread_t proxy_thread;
    hr_proxy_config cfg;
    char dir[512];
    int proxy_rc;
    /* what the fake upstream saw for the last request */
    atomic_size_t used_at_upstream;
    atomic_size_t up_len;
    atomic_size_t answer_len; /* content bytes the next answer carries */
} T;

/* ---- the fake upstream ------------------------------------------------------------------ */

static void upstream_handler(hr_http_exchange *ex, void *user)
{
    (void)user;
    size_t len;
    (void)hr_http_body(ex, &len);
    atomic_store(&T.up_len, len);
    atomic_store(&T.used_at_upstream, hr_budget_used(hr_budget_process()));
    hr_buf out = HR_BUF_INIT;
    hr_buf_puts(&out, "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":\"gpt-4o\","
                      "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\"");
    for (size_t i = atomic_load(&T.answer_len); i > 0; i--)
        hr_buf_putc(&out, 'a');
    hr_buf_puts(&out, "\"},\"finish_reason\":\"stop\"}],"
                      "\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":2,\"total_tokens\":12}}");
    assert_false(hr_buf_failed(&out));
    const char *h[] = {"content-type", "application/json"};
    hr_http_respond(ex, 200, h, 1, out.data, out.len);
    hr_buf_free(&out);
}

/* ---- the proxy, in this process --------------------------------------------------------- */

static void *proxy_main(void *arg)
{
    (void)arg;
    T.proxy_rc = hr_proxy_run(&T.cfg);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int setup(void **state)
{
    (void)state;
    /* hr_proxy_run waits for these with sigtimedwait: every thread must block them */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    const char *bdir = getenv("HEADROOM_BUILD_DIR");
    snprintf(T.dir, sizeof T.dir, "%s/proxy-lease-XXXXXX", bdir ? bdir : "/tmp");
    if (!mkdtemp(T.dir))
        return -1;
    char err[256];
    hr_http_server_opts uo = {.host = "127.0.0.1", .port = 0, .max_connections = 16,
                              .max_body_bytes = 64 * MB, .handler = upstream_handler};
    T.up = hr_http_server_start(&uo, err, sizeof err);
    if (!T.up)
        return -1;
    char url[64], budget[16];
    snprintf(url, sizeof url, "http://127.0.0.1:%d", hr_http_server_port(T.up));
    snprintf(budget, sizeof budget, "%d", BUDGET_MB);
    char *argv[] = {"proxy", "--host", "127.0.0.1", "--port", "0", "--openai-api-url", url,
                    "--max-inflight-body-mb", budget, "--ccr-backend", "memory", "--data-dir",
                    T.dir, "--compression-deadline-ms", "60000", "--log-level", "warn"};
    hr_proxy_config_defaults(&T.cfg);
    if (hr_proxy_config_from_args(&T.cfg, (int)(sizeof argv / sizeof argv[0]), argv, err,
                                  sizeof err) != 0 ||
        hr_ccr_process_configure(&T.cfg.ccr, err, sizeof err) != 0) {
        fprintf(stderr, "proxy config: %s\n", err);
        return -1;
    }
    if (pthread_create(&T.proxy_thread, NULL, proxy_main, NULL) != 0)
        return -1;
    for (int i = 0; i < 1000 && !hr_proxy_ready(); i++)
        sleep_ms(10);
    return hr_proxy_ready() ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    kill(getpid(), SIGTERM);
    pthread_join(T.proxy_thread, NULL);
    hr_ccr_process_close();
    hr_http_server_stop(T.up);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", T.dir);
    return system(cmd) == 0 && T.proxy_rc == 0 ? 0 : -1;
}

/* ---- the client ------------------------------------------------------------------------- */

static size_t collect(char *p, size_t size, size_t n, void *arg)
{
    return hr_buf_append(arg, p, size * n) == 0 ? size * n : 0;
}

/* POSTs body to the proxy's chat completions route; the status, the answer in *answer. */
static long post(const char *body, size_t len, const char *encoding, hr_buf *answer)
{
    CURL *c = curl_easy_init();
    assert_non_null(c);
    char url[64], enc[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/v1/chat/completions", hr_proxy_port());
    struct curl_slist *h = curl_slist_append(NULL, "content-type: application/json");
    h = curl_slist_append(h, "authorization: Bearer sk-test");
    h = curl_slist_append(h, "expect:");
    if (encoding) {
        snprintf(enc, sizeof enc, "content-encoding: %s", encoding);
        h = curl_slist_append(h, enc);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, answer);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 120L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return status;
}

/* The exchange's lease ends a moment after the client has the last byte. */
static void wait_lease_ended(void)
{
    for (int i = 0; i < 500 && hr_budget_used(hr_budget_process()) != 0; i++)
        sleep_ms(10);
    assert_int_equal(hr_budget_used(hr_budget_process()), 0);
}

/* A chat request whose tool output is n rows of JSON records (crushable). */
static void tool_rows_body(hr_buf *b, int n)
{
    static const char *const regions[] = {"eu-west-1", "us-east-1", "ap-south-1"};
    hr_buf_puts(b, "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"why is "
                   "transaction 480031 missing?\"},{\"role\":\"assistant\",\"content\":null,"
                   "\"tool_calls\":[{\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":"
                   "\"db\",\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"c1\","
                   "\"content\":\"[");
    for (int i = 0; i < n; i++)
        hr_buf_printf(b, "%s{\\\"id\\\":%d,\\\"account\\\":\\\"acct-%x\\\",\\\"status\\\":"
                         "\\\"%s\\\",\\\"latency_ms\\\":%d,\\\"region\\\":\\\"%s\\\"}",
                      i ? "," : "", 480000 + i, (unsigned)(i * 2654435761u) >> 8,
                      i == 77 ? "error: ledger write rejected" : "settled", 40 + (i * 7) % 20,
                      regions[i % 3]);
    hr_buf_puts(b, "]\"}]}");
    assert_false(hr_buf_failed(b));
}

/* ---- the steps -------------------------------------------------------------------------- */

/* Nothing to compress: no copy is made, and only the body is held (not 3x it). */
static void plain_body_holds_only_itself(void **state)
{
    (void)state;
    const char *body = "{\"model\":\"gpt-4o\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    size_t len = strlen(body);
    atomic_store(&T.answer_len, 16);
    hr_buf answer = HR_BUF_INIT;
    assert_int_equal(post(body, len, NULL, &answer), 200);
    assert_int_equal(atomic_load(&T.up_len), len); /* forwarded as sent */
    assert_int_equal(atomic_load(&T.used_at_upstream), len + 1);
    hr_buf_free(&answer);
    wait_lease_ended();
}

/* A compressed body: the body, then exactly the spliced copy sent upstream; then the
 * answer, chunk by chunk, on top (the peak). The body is over a third of the budget, so a
 * 2x up-front reservation would have skipped compression. */
static void compressed_body_holds_body_and_its_copy(void **state)
{
    (void)state;
    hr_buf body = HR_BUF_INIT;
    tool_rows_body(&body, 16000);
    assert_true(body.len > BUDGET_MB * MB / 3 && body.len < BUDGET_MB * MB / 2);
    const size_t answer_bytes = 1 * MB;
    atomic_store(&T.answer_len, answer_bytes);
    hr_buf answer = HR_BUF_INIT;
    assert_int_equal(post(body.data, body.len, NULL, &answer), 200);
    size_t sent = atomic_load(&T.up_len);
    assert_true(sent < body.len / 2); /* compressed */
    assert_int_equal(atomic_load(&T.used_at_upstream), (body.len + 1) + (sent + 1));
    /* the answer as the upstream wrote it, all of it reserved while it was held */
    assert_true(answer.len > answer_bytes);
    assert_true(hr_budget_peak(hr_budget_process()) >= (body.len + 1) + (sent + 1) + answer_bytes);
    hr_buf_free(&answer);
    hr_buf_free(&body);
    wait_lease_ended();
}

/* A gzip body: the encoded bytes, the decoded body in 64 KiB steps (at most one step
 * ahead), then the spliced copy. */
static void gzip_body_holds_encoded_decoded_and_copy(void **state)
{
    (void)state;
    hr_buf body = HR_BUF_INIT;
    tool_rows_body(&body, 8000);
    z_stream z = {0};
    assert_int_equal(deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY), Z_OK);
    size_t cap = deflateBound(&z, body.len);
    unsigned char *gz = malloc(cap);
    assert_non_null(gz);
    z.next_in = (unsigned char *)body.data;
    z.avail_in = (uInt)body.len;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
    size_t gz_len = z.total_out;
    deflateEnd(&z);
    atomic_store(&T.answer_len, 16);
    hr_buf answer = HR_BUF_INIT;
    assert_int_equal(post((const char *)gz, gz_len, "gzip", &answer), 200);
    size_t sent = atomic_load(&T.up_len);
    assert_true(sent < body.len / 2);
    size_t used = atomic_load(&T.used_at_upstream);
    assert_true(used >= (gz_len + 1) + body.len + (sent + 1));
    assert_true(used <= (gz_len + 1) + body.len + 64 * 1024 + 1 + (sent + 1));
    free(gz);
    hr_buf_free(&answer);
    hr_buf_free(&body);
    wait_lease_ended();
}

int main(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_body_holds_only_itself),
        cmocka_unit_test(compressed_body_holds_body_and_its_copy),
        cmocka_unit_test(gzip_body_holds_encoded_decoded_and_copy),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
