/* Unit tests for the token-counter front door: model -> encoding mapping, the estimator
 * (code points / 3.5 for Claude, / 4.0 otherwise, rounded up) and data-dir resolution. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "tokens/tokens.h"

#include <stdlib.h>
#include <string.h>

static void models_map_to_encodings(void **state)
{
    (void)state;
    assert_int_equal(hr_tokens_encoding_for_model("gpt-4o"), HR_TOK_O200K);
    assert_int_equal(hr_tokens_encoding_for_model("gpt-4o-mini-2024-07-18"), HR_TOK_O200K);
    assert_int_equal(hr_tokens_encoding_for_model("openai/gpt-4.1-nano"), HR_TOK_O200K);
    assert_int_equal(hr_tokens_encoding_for_model("o1-preview"), HR_TOK_O200K);
    assert_int_equal(hr_tokens_encoding_for_model("o3"), HR_TOK_O200K);
    assert_int_equal(hr_tokens_encoding_for_model("gpt-5-codex"), HR_TOK_O200K);
    assert_int_equal(hr_tokens_encoding_for_model("gpt-4"), HR_TOK_CL100K);
    assert_int_equal(hr_tokens_encoding_for_model("gpt-4-turbo"), HR_TOK_CL100K);
    assert_int_equal(hr_tokens_encoding_for_model("gpt-3.5-turbo-0125"), HR_TOK_CL100K);
    assert_int_equal(hr_tokens_encoding_for_model("claude-3-5-sonnet-20241022"), HR_TOK_ESTIMATE);
    assert_int_equal(hr_tokens_encoding_for_model("o1x"), HR_TOK_ESTIMATE);
    assert_int_equal(hr_tokens_encoding_for_model("llama-3"), HR_TOK_ESTIMATE);
    assert_int_equal(hr_tokens_encoding_for_model(NULL), HR_TOK_ESTIMATE);
    assert_string_equal(hr_tok_encoding_name(HR_TOK_O200K), "o200k_base");
    assert_string_equal(hr_tok_encoding_name(HR_TOK_CL100K), "cl100k_base");
    assert_string_equal(hr_tok_encoding_name(HR_TOK_ESTIMATE), "estimate");
}

static void estimator_counts_code_points(void **state)
{
    (void)state;
    /* 7 chars: Claude ceil(7/3.5) = 2, others ceil(7/4) = 2; 8 chars: 3 and 2. */
    assert_int_equal(hr_tokens_estimate("claude-3-opus", "abcdefg", 7), 2);
    assert_int_equal(hr_tokens_estimate("claude-3-opus", "abcdefgh", 8), 3);
    assert_int_equal(hr_tokens_estimate("llama", "abcdefgh", 8), 2);
    assert_int_equal(hr_tokens_estimate("llama", "abcdefghi", 9), 3);
    assert_int_equal(hr_tokens_estimate("llama", "", 0), 0);
    /* "héllo" is 6 bytes but 5 code points. */
    assert_int_equal(hr_tokens_estimate("x", "h\xc3\xa9llo", 6), 2);
    assert_int_equal(hr_tokens_estimate("claude", "\xe4\xbd\xa0\xe5\xa5\xbd\xe4\xbd\xa0\xe5\xa5\xbd", 12), 2);
    assert_int_equal(hr_tokens_estimate("us.anthropic.claude-3-7-sonnet-20250219-v1:0", "abcdefgh", 8), 3);
    assert_int_equal(hr_tokens_estimate("bedrock/anthropic.claude-v2", "abcdefgh", 8), 3);
    assert_int_equal(hr_tokens_estimate(NULL, "abcdefgh", 8), 2);
    hr_tok_encoding used = HR_TOK_O200K;
    assert_int_equal(hr_tokens_count("claude-sonnet-4", "abcdefgh", 8, &used), 3);
    assert_int_equal(used, HR_TOK_ESTIMATE);
}

static void data_dir_resolution(void **state)
{
    (void)state;
    char p[4096];
    hr_tokens_set_data_dir(NULL);
    setenv("HEADROOM_DATA_DIR", "/tmp/hd", 1);
    assert_int_equal(hr_tokens_rank_path(HR_TOK_O200K, p, sizeof p), 0);
    assert_string_equal(p, "/tmp/hd/tokenizers/o200k_base.tiktoken");
    unsetenv("HEADROOM_DATA_DIR");
    setenv("XDG_DATA_HOME", "/tmp/xdg", 1);
    assert_int_equal(hr_tokens_data_dir(p, sizeof p), 0);
    assert_string_equal(p, "/tmp/xdg/headroom");
    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/u", 1);
    assert_int_equal(hr_tokens_data_dir(p, sizeof p), 0);
    assert_string_equal(p, "/home/u/.headroom");
    hr_tokens_set_data_dir("/srv/d");
    assert_int_equal(hr_tokens_rank_path(HR_TOK_CL100K, p, sizeof p), 0);
    assert_string_equal(p, "/srv/d/tokenizers/cl100k_base.tiktoken");
    assert_int_equal(hr_tokens_rank_path(HR_TOK_ESTIMATE, p, sizeof p), -1);
    assert_int_equal(hr_tokens_rank_path(HR_TOK_CL100K, p, 10), -1);
    hr_tokens_set_data_dir(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(models_map_to_encodings),
        cmocka_unit_test(estimator_counts_code_points),
        cmocka_unit_test(data_dir_resolution),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
