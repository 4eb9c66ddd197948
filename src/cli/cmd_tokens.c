/* cmd_tokens.c: `headroom tokens fetch|count`. fetch downloads the tiktoken rank files
 * into <data dir>/tokenizers/ with libcurl, verifies the SHA-256 published by tiktoken and
 * writes them atomically with mode 0600; count tokenises stdin (or a batch of framed
 * records, for the tests and tools) and says on stderr which counter answered.
 */
#include "cli/commands.h"
#include "http/download.h"
#include "sys/hash.h"
#include "tokens/bpe.h"
#include "tokens/tokens.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_URL_BASE "https://openaipublic.blob.core.windows.net/encodings"
#define MAX_RANK_FILE (16u << 20) /* the real files are 1.7 MB and 3.6 MB */

/* SHA-256 of the files as published (tiktoken_ext/openai_public.py expected_hash). */
static const struct {
    hr_tok_encoding enc;
    const char *sha256;
} PUBLISHED[] = {
    {HR_TOK_O200K, "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"},
    {HR_TOK_CL100K, "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"},
};

/* Accepts the full name or a prefix of at least 5 characters ("o200k", "cl100k"). */
static int parse_encoding(const char *s, hr_tok_encoding *out)
{
    size_t n = strlen(s);
    for (int e = HR_TOK_O200K; e <= HR_TOK_CL100K; e++) {
        const char *name = hr_tok_encoding_name((hr_tok_encoding)e);
        if (!strcmp(s, name) || (n >= 5 && !strncmp(s, name, n))) {
            *out = (hr_tok_encoding)e;
            return 0;
        }
    }
    return -1;
}

/* ---- fetch ---- */

typedef struct {
    char *data;
    size_t len;
    int too_big;
} download;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    download *d = ud;
    size_t k = size * n;
    if (d->len + k > MAX_RANK_FILE) {
        d->too_big = 1;
        return 0;
    }
    char *nd = realloc(d->data, d->len + k + 1);
    if (!nd)
        return 0;
    memcpy(nd + d->len, p, k);
    d->data = nd;
    d->len += k;
    return k;
}

static int http_get(const char *url, download *d)
{
    CURL *c = curl_easy_init();
    if (!c)
        return -1;
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, d);
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 30L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        fprintf(stderr, "headroom tokens fetch: %s: %s\n", url,
                d->too_big ? "file too large" : curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

/* Writes data to path via a 0600 temp file in the same directory and rename(2), so a
 * reader sees the old file or the complete new one, never a partial download. */
static int write_atomic(const char *path, const char *data, size_t len)
{
    char tmp[4300];
    snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -1;
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            close(fd);
            unlink(tmp);
            return -1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0 || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

/* 1 when path exists and its SHA-256 is expected (a damaged file is fetched again). */
static int file_has_sha256(const char *path, const char *expected)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    hr_sha256_ctx h;
    hr_sha256_init(&h);
    char buf[1 << 15];
    size_t got;
    while ((got = fread(buf, 1, sizeof buf, f)) > 0)
        hr_sha256_update(&h, buf, got);
    int ok = !ferror(f);
    fclose(f);
    uint8_t digest[32];
    char hex[65];
    hr_sha256_final(&h, digest);
    hr_hex(digest, 32, hex);
    return ok && strcmp(hex, expected) == 0;
}

static int fetch_one(hr_tok_encoding enc, const char *expected, const char *url_base, int force)
{
    char path[4200], dir[4200], url[4200];
    const char *name = hr_tok_encoding_name(enc);
    if (hr_tokens_rank_path(enc, path, sizeof path) != 0 || hr_tokens_data_dir(dir, sizeof dir) != 0) {
        fprintf(stderr, "headroom tokens fetch: no data dir (use --data-dir or HEADROOM_DATA_DIR)\n");
        return 1;
    }
    if (!force && file_has_sha256(path, expected)) {
        printf("%s: already present at %s\n", name, path);
        return 0;
    }
    size_t base_len = strlen(url_base);
    while (base_len > 0 && url_base[base_len - 1] == '/')
        base_len--;
    snprintf(url, sizeof url, "%.*s/%s.tiktoken", (int)base_len, url_base, name);
    download d = {0};
    if (http_get(url, &d) != 0) {
        free(d.data);
        return 1;
    }
    uint8_t digest[32];
    char hex[65];
    hr_sha256(d.data, d.len, digest);
    hr_hex(digest, 32, hex);
    if (strcmp(hex, expected) != 0) {
        fprintf(stderr, "headroom tokens fetch: %s: SHA-256 %s does not match the published %s\n",
                url, hex, expected);
        free(d.data);
        return 1;
    }
    strncat(dir, "/tokenizers", sizeof dir - strlen(dir) - 1);
    int rc = 0;
    if (hr_mkdir_p(dir, 0700) != 0 || write_atomic(path, d.data, d.len) != 0) {
        fprintf(stderr, "headroom tokens fetch: cannot write %s: %s\n", path, strerror(errno));
        rc = 1;
    } else {
        printf("%s: %zu bytes, sha256 %s, saved to %s\n", name, d.len, hex, path);
    }
    free(d.data);
    return rc;
}

static int cmd_fetch(int argc, char **argv)
{
    const char *url_base = DEFAULT_URL_BASE, *only = NULL;
    int force = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--url-base") && i + 1 < argc)
            url_base = argv[++i];
        else if (!strcmp(argv[i], "--encoding") && i + 1 < argc)
            only = argv[++i];
        else if (!strcmp(argv[i], "--data-dir") && i + 1 < argc)
            hr_tokens_set_data_dir(argv[++i]);
        else if (!strcmp(argv[i], "--force"))
            force = 1;
        else {
            fprintf(stderr, "usage: headroom tokens fetch [--encoding o200k_base|cl100k_base] "
                            "[--url-base URL] [--data-dir DIR] [--force]\n");
            return 2;
        }
    }
    hr_tok_encoding want = HR_TOK_ESTIMATE;
    if (only && parse_encoding(only, &want) != 0) {
        fprintf(stderr, "headroom tokens fetch: unknown encoding '%s'\n", only);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
        return 1;
    int rc = 0;
    for (size_t i = 0; i < sizeof PUBLISHED / sizeof PUBLISHED[0]; i++)
        if (!only || PUBLISHED[i].enc == want)
            rc |= fetch_one(PUBLISHED[i].enc, PUBLISHED[i].sha256, url_base, force);
    curl_global_cleanup();
    return rc;
}

/* ---- count ---- */

typedef struct {
    const char *model;      /* --model */
    hr_tok_encoding forced; /* --encoding, else HR_TOK_ESTIMATE */
    int have_forced, ids, special, batch;
} count_opts;

/* Reads f to the end into a malloc'd buffer (caller frees), NUL-terminated so the batch
 * parser's strtoull stops inside it. */
static int read_all(FILE *f, char **out, size_t *len)
{
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    if (!b)
        return -1;
    for (;;) {
        if (n == cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb) {
                free(b);
                return -1;
            }
            b = nb;
        }
        size_t got = fread(b + n, 1, cap - n, f);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(f)) {
        free(b);
        return -1;
    }
    b[n] = '\0'; /* n < cap: the last fread had room and returned 0 */
    *out = b;
    *len = n;
    return 0;
}

/* Prints the count or ids of one text; returns the counter used. */
static hr_tok_encoding count_one(const count_opts *o, const char *text, size_t len)
{
    hr_tok_encoding enc = o->have_forced ? o->forced : hr_tokens_encoding_for_model(o->model);
    const hr_bpe *b = enc != HR_TOK_ESTIMATE ? hr_bpe_get(enc) : NULL;
    if (!b) {
        printf("%zu\n", hr_tokens_estimate(o->model, text, len));
        return HR_TOK_ESTIMATE;
    }
    if (!o->ids && !o->special) {
        printf("%zu\n", hr_bpe_count(b, text, len));
        return enc;
    }
    uint32_t *ids = NULL;
    size_t n = 0;
    if (hr_bpe_encode(b, text, len, o->special, &ids, &n) != 0) {
        printf("%zu\n", hr_bpe_count(b, text, len));
        return enc;
    }
    if (o->ids) {
        for (size_t i = 0; i < n; i++)
            printf(i ? " %u" : "%u", ids[i]);
        putchar('\n');
    } else {
        printf("%zu\n", n);
    }
    free(ids);
    return enc;
}

/* Batch framing: "<byte length>\n<bytes>" repeated; one output line per record. */
static int count_batch(const count_opts *o, const char *in, size_t len, hr_tok_encoding *used)
{
    size_t p = 0;
    while (p < len) {
        char *end = NULL;
        unsigned long long n = strtoull(in + p, &end, 10);
        if (!end || *end != '\n' || n > len - (size_t)(end + 1 - in)) {
            fprintf(stderr, "headroom tokens count: bad batch framing at byte %zu\n", p);
            return 1;
        }
        p = (size_t)(end + 1 - in);
        *used = count_one(o, in + p, (size_t)n);
        p += (size_t)n;
    }
    return 0;
}

static int cmd_count(int argc, char **argv)
{
    count_opts o = {0};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            o.model = argv[++i];
        } else if (!strcmp(argv[i], "--encoding") && i + 1 < argc) {
            if (parse_encoding(argv[++i], &o.forced) != 0) {
                fprintf(stderr, "headroom tokens count: unknown encoding '%s'\n", argv[i]);
                return 2;
            }
            o.have_forced = 1;
        } else if (!strcmp(argv[i], "--data-dir") && i + 1 < argc) {
            hr_tokens_set_data_dir(argv[++i]);
        } else if (!strcmp(argv[i], "--ids")) {
            o.ids = 1;
        } else if (!strcmp(argv[i], "--special")) {
            o.special = 1;
        } else if (!strcmp(argv[i], "--batch")) {
            o.batch = 1;
        } else {
            fprintf(stderr,
                    "usage: headroom tokens count [--model M | --encoding NAME] [--data-dir DIR]\n"
                    "                             [--ids] [--special] [--batch] < text\n");
            return 2;
        }
    }
    if (!o.model)
        o.model = "gpt-4o";
    char *in = NULL;
    size_t len = 0;
    if (read_all(stdin, &in, &len) != 0) {
        fprintf(stderr, "headroom tokens count: cannot read stdin\n");
        return 1;
    }
    hr_tok_encoding used = HR_TOK_ESTIMATE;
    int rc = 0;
    if (o.batch)
        rc = count_batch(&o, in, len, &used);
    else
        used = count_one(&o, in, len);
    free(in);
    hr_tok_encoding wanted = o.have_forced ? o.forced : hr_tokens_encoding_for_model(o.model);
    char msg[700];
    if (used == HR_TOK_ESTIMATE && wanted != HR_TOK_ESTIMATE) {
        hr_tokens_status(wanted, msg, sizeof msg);
        fprintf(stderr, "counter: estimate (%s; run 'headroom tokens fetch')\n", msg);
    } else {
        fprintf(stderr, "counter: %s\n", hr_tok_encoding_name(used));
    }
    return rc;
}

int hr_cmd_tokens(int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "fetch"))
        return cmd_fetch(argc - 1, argv + 1);
    if (argc >= 2 && !strcmp(argv[1], "count"))
        return cmd_count(argc - 1, argv + 1);
    fprintf(stderr, "usage: headroom tokens fetch [options] | headroom tokens count [options]\n"
                    "  fetch: download the tiktoken rank files into <data dir>/tokenizers\n"
                    "  count: count (or --ids: list) the tokens of stdin\n");
    return (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) ? 0 : 2;
}
