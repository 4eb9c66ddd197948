/* tokens.c: the token-counter front door (tokens.h). Owns the model -> encoding mapping,
 * the estimator (Claude 3.5 chars/token, others 4.0, chars = Unicode code points) and the
 * data-dir setting. Exact counting for o200k_base / cl100k_base is delegated to the BPE
 * encoder (bpe.h); when an encoding's rank file cannot be loaded the estimator answers and
 * *used says so, so counting never fails.
 */
#include "tokens/tokens.h"
#include "tokens/bpe.h"
#include "sys/ascii.h"
#include "sys/datadir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Prefixes matched in order; the longer, more specific ones first ("gpt-4o" before
 * "gpt-4"), because tiktoken's own table works the same way. */
static const struct {
    const char *prefix;
    hr_tok_encoding enc;
} MODEL_PREFIXES[] = {
    {"gpt-4o", HR_TOK_O200K},     {"chatgpt-4o", HR_TOK_O200K}, {"gpt-4.1", HR_TOK_O200K},
    {"gpt-4.5", HR_TOK_O200K},    {"gpt-5", HR_TOK_O200K},      {"gpt-oss", HR_TOK_O200K},
    {"o1", HR_TOK_O200K},         {"o3", HR_TOK_O200K},         {"o4", HR_TOK_O200K},
    {"codex-", HR_TOK_O200K},     {"gpt-4", HR_TOK_CL100K},     {"gpt-3.5", HR_TOK_CL100K},
    {"gpt-35", HR_TOK_CL100K},    {"text-embedding-3", HR_TOK_CL100K},
    {"text-embedding-ada-002", HR_TOK_CL100K},
};

/* "o1" must not claim "o1x-foo": after a prefix ending in a letter or digit the name must
 * end or continue with a separator. */
static int prefix_matches(const char *model, const char *prefix)
{
    size_t n = strlen(prefix);
    if (strncasecmp(model, prefix, n) != 0)
        return 0;
    return prefix[n - 1] == '-' || !hr_is_alnum((unsigned char)model[n]);
}

/* Strips routing prefixes such as "openai/gpt-4o" or "azure/gpt-4" to the model name. */
static const char *strip_provider(const char *model)
{
    const char *slash = strrchr(model, '/');
    return slash ? slash + 1 : model;
}

hr_tok_encoding hr_tokens_encoding_for_model(const char *model)
{
    if (!model || !*model)
        return HR_TOK_ESTIMATE;
    const char *name = strip_provider(model);
    for (size_t i = 0; i < sizeof MODEL_PREFIXES / sizeof MODEL_PREFIXES[0]; i++)
        if (prefix_matches(name, MODEL_PREFIXES[i].prefix))
            return MODEL_PREFIXES[i].enc;
    return HR_TOK_ESTIMATE;
}

const char *hr_tok_encoding_name(hr_tok_encoding e)
{
    switch (e) {
    case HR_TOK_O200K: return "o200k_base";
    case HR_TOK_CL100K: return "cl100k_base";
    case HR_TOK_ESTIMATE: break;
    }
    return "estimate";
}

/* Anthropic names plus the cloud spellings ("anthropic.claude-…" on Bedrock, with region
 * prefixes such as "us.", "claude-…@2024…" on Vertex). */
static int is_claude(const char *model)
{
    return model && strcasestr(strip_provider(model), "claude") != NULL;
}

/* Code points, not bytes: the published ratios are per character of text. Invalid UTF-8
 * bytes count one each (every byte that is not a continuation byte starts a character). */
static size_t count_chars(const char *text, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)text[i] & 0xC0) != 0x80;
    return n;
}

size_t hr_tokens_estimate(const char *model, const char *text, size_t len)
{
    size_t chars = count_chars(text, len);
    /* Integer arithmetic in tenths keeps the result deterministic; round up so any
     * non-empty text counts as at least one token. */
    size_t tenths = is_claude(model) ? 35 : 40;
    return (chars * 10 + tenths - 1) / tenths;
}

size_t hr_tokens_count(const char *model, const char *text, size_t len, hr_tok_encoding *used)
{
    hr_tok_encoding enc = hr_tokens_encoding_for_model(model);
    const hr_bpe *bpe = enc != HR_TOK_ESTIMATE ? hr_bpe_get(enc) : NULL;
    if (bpe) {
        if (used)
            *used = enc;
        return hr_bpe_count(bpe, text, len);
    }
    if (used)
        *used = HR_TOK_ESTIMATE;
    return hr_tokens_estimate(model, text, len);
}

/* The one documented singleton of this module: the data dir override. Set once at startup
 * (CLI flag) before counting begins; NULL means "resolve from the environment". */
static char g_data_dir[4096];

void hr_tokens_set_data_dir(const char *dir)
{
    if (!dir)
        g_data_dir[0] = '\0';
    else
        snprintf(g_data_dir, sizeof g_data_dir, "%s", dir);
    hr_bpe_forget_failures();
}

int hr_tokens_data_dir(char *out, size_t n)
{
    char err[128];
    return hr_data_dir_resolve(g_data_dir, out, n, err, sizeof err); /* the lookup every store shares */
}

int hr_tokens_rank_path(hr_tok_encoding e, char *out, size_t n)
{
    char dir[4096];
    if (e == HR_TOK_ESTIMATE || hr_tokens_data_dir(dir, sizeof dir) != 0)
        return -1;
    int w = snprintf(out, n, "%s/tokenizers/%s.tiktoken", dir, hr_tok_encoding_name(e));
    return (w < 0 || (size_t)w >= n) ? -1 : 0;
}
