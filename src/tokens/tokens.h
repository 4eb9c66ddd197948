/* tokens.h: token counting. Exact byte-pair encoding for OpenAI models (tiktoken's
 * o200k_base and cl100k_base, read from the standard .tiktoken rank files in the data dir),
 * and the estimator everywhere else (Claude: 3.5 chars/token; others 4.0).
 *
 * Rank tables are process-wide singletons, loaded on first use and shared read-only by all
 * threads. Counting never fails: without the rank file it falls back to the estimator and
 * says so through *used, so stats and headers can name the counter that answered.
 */
#ifndef HR_TOKENS_TOKENS_H
#define HR_TOKENS_TOKENS_H

#include <stddef.h>

typedef enum {
    HR_TOK_ESTIMATE = 0, /* chars / 3.5 (Claude) or / 4.0 (others) */
    HR_TOK_O200K,
    HR_TOK_CL100K,
} hr_tok_encoding;

/* The encoding a model name maps to (gpt-4o, o1, o3, gpt-4.1, gpt-5 → o200k; gpt-4,
 * gpt-3.5 → cl100k; anything else → estimate). */
hr_tok_encoding hr_tokens_encoding_for_model(const char *model);

/* Counts tokens of text as model would see them. used (optional) receives the counter
 * that answered. */
size_t hr_tokens_count(const char *model, const char *text, size_t len, hr_tok_encoding *used);

const char *hr_tok_encoding_name(hr_tok_encoding e); /* "estimate", "o200k_base", ... */

/* Where .tiktoken files are looked up (default: the data dir, see docs/configuration.md). */
void hr_tokens_set_data_dir(const char *dir);

/* Whether the exact counter for e is available (loading it on first use): 1 yes, 0 no;
 * msg receives a one-line reason, e.g. the missing rank file, for CLIs and logs. Calling it
 * at startup also preloads the table (50-150 ms) so the first request does not pay it. */
int hr_tokens_status(hr_tok_encoding e, char *msg, size_t n);

/* The estimator alone: ceil(code points / 3.5) for Claude models, / 4.0 for the rest. */
size_t hr_tokens_estimate(const char *model, const char *text, size_t len);

/* The data dir: the value set above, else $HEADROOM_DATA_DIR, else $XDG_DATA_HOME/headroom,
 * else ~/.headroom. Writes it into out; 0 ok, -1 when unresolvable or too long. */
int hr_tokens_data_dir(char *out, size_t n);

/* <data dir>/tokenizers/<encoding name>.tiktoken for an exact encoding; 0 ok, -1 otherwise. */
int hr_tokens_rank_path(hr_tok_encoding e, char *out, size_t n);

#endif
