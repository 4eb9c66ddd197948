/* Unit tests for src/proxy/low_memory: how the profile is asked for, that it sets the
 * config's defaults to exactly the values it reports (start-up line and /health), that the
 * environment and flags still win over it, the memory CCR store's size, and the ML
 * settings it defaults without overriding explicit ones. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "proxy/config.h"
#include "proxy/low_memory.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void requested_by_flag_or_env(void **state)
{
    (void)state;
    unsetenv("HEADROOM_LOW_MEMORY");
    char *plain[] = {"proxy", "--port", "0"};
    char *flag[] = {"proxy", "--low-memory"};
    assert_false(hr_low_memory_requested(3, plain));
    assert_true(hr_low_memory_requested(2, flag));
    setenv("HEADROOM_LOW_MEMORY", "1", 1);
    assert_true(hr_low_memory_requested(3, plain));
    setenv("HEADROOM_LOW_MEMORY", "0", 1);
    assert_false(hr_low_memory_requested(3, plain));
    unsetenv("HEADROOM_LOW_MEMORY");
}

/* Every value in the reported table is the one the config now holds. */
static void reported_values_are_the_applied_ones(void **state)
{
    (void)state;
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    hr_low_memory_apply_defaults(&c);
    assert_true(c.low_memory);
    char want[1024];
    snprintf(want, sizeof want,
             "memory_budget_mb=%ld max_inflight_body_mb=%ld max_answer_bytes=%zu "
             "limit_concurrency=%u cache_sessions=%zu cache_entries=%zu cache_session_bytes=%zu "
             "cache_bytes=%zu ccr_memory_bytes=16777216 ccr_memory_entries=%zu ml_threads=1 "
             "ml_idle_unload_s=30 malloc_arenas=%d",
             c.memory_budget_mb, c.max_inflight_body_mb, c.max_answer_bytes, c.max_connections,
             (size_t)c.pipeline.max_sessions, (size_t)c.pipeline.max_entries,
             (size_t)c.pipeline.max_session_bytes, (size_t)c.pipeline.max_cache_bytes,
             (size_t)c.ccr.max_entries, HR_LOW_MEMORY_ARENA_MAX);
    hr_buf d = HR_BUF_INIT;
    assert_int_equal(hr_low_memory_describe(&d), 0);
    assert_string_equal(d.data, want);
    hr_buf_free(&d);
    /* and each is smaller than the normal default */
    hr_proxy_config n;
    hr_proxy_config_defaults(&n);
    assert_true(c.max_inflight_body_mb < n.max_inflight_body_mb);
    assert_true(c.max_answer_bytes < n.max_answer_bytes);
    assert_true(c.max_connections < n.max_connections);
    assert_true(c.pipeline.max_cache_bytes < n.pipeline.max_cache_bytes);
    assert_true(c.ccr.max_entries < n.ccr.max_entries);
    assert_int_equal(n.memory_budget_mb, 0);
    assert_true(c.memory_budget_mb > 0);
    hr_buf j = HR_BUF_INIT;
    assert_int_equal(hr_low_memory_json(&j), 0);
    assert_non_null(strstr(j.data, "\"memory_budget_mb\":256"));
    assert_int_equal(j.data[0], '{');
    hr_buf_free(&j);
}

static void environment_and_flags_win(void **state)
{
    (void)state;
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    hr_low_memory_apply_defaults(&c);
    setenv("HEADROOM_MEMORY_BUDGET_MB", "100", 1);
    char err[256];
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    unsetenv("HEADROOM_MEMORY_BUDGET_MB");
    char *argv[] = {"proxy", "--limit-concurrency", "1000"};
    assert_int_equal(hr_proxy_config_from_args(&c, 3, argv, err, sizeof err), 0);
    assert_int_equal(c.memory_budget_mb, 100);
    assert_int_equal(c.max_connections, 1000);
    assert_int_equal(c.max_inflight_body_mb, 64); /* the rest stays the profile's */
}

static void memory_store_gets_its_cap_only_when_chosen(void **state)
{
    (void)state;
    hr_proxy_config c;
    hr_proxy_config_defaults(&c);
    hr_low_memory_apply_defaults(&c);
    hr_low_memory_finish(&c);
    assert_int_equal(c.ccr.max_bytes, 0); /* sqlite: its own (disk) default */
    c.ccr.backend = HR_CCR_BACKEND_MEMORY;
    hr_low_memory_finish(&c);
    assert_int_equal(c.ccr.max_bytes, (size_t)16 << 20);
    c.ccr.max_bytes = 12345; /* given explicitly: kept */
    hr_low_memory_finish(&c);
    assert_int_equal(c.ccr.max_bytes, 12345);
}

/* The profile's ML values are defaults of the config's ML settings: the environment still
 * wins, nothing is written into the environment, and hr_ml_configure makes them the
 * process's (what the sessions and the pool read). */
static void ml_settings_defaulted_unless_given(void **state)
{
    (void)state;
    hr_proxy_config c;
    char err[256];
    hr_proxy_config_defaults(&c);
    unsetenv("HEADROOM_ML_THREADS");
    setenv("HEADROOM_ML_IDLE_UNLOAD_S", "5", 1);
    assert_int_equal(hr_low_memory_apply_process(&c), 0); /* profile off: nothing */
    hr_low_memory_apply_defaults(&c);
    assert_int_equal(c.ml.threads, 1);
    assert_int_equal(c.ml.idle_unload_s, 30);
    assert_int_equal(hr_proxy_config_from_env(&c, err, sizeof err), 0);
    assert_int_equal(c.ml.idle_unload_s, 5); /* the explicit variable wins */
    assert_int_equal(hr_low_memory_apply_process(&c), HR_LOW_MEMORY_ARENA_MAX);
    assert_null(getenv("HEADROOM_ML_THREADS")); /* the environment is left alone */
    c.ml.threads = 3;
    hr_ml_configure(&c.ml);
    unsetenv("HEADROOM_ML_IDLE_UNLOAD_S");
    hr_ml_config p = hr_ml_config_process();
    assert_int_equal(p.threads, 3);
    assert_int_equal(p.idle_unload_s, 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(requested_by_flag_or_env),
        cmocka_unit_test(reported_values_are_the_applied_ones),
        cmocka_unit_test(environment_and_flags_win),
        cmocka_unit_test(memory_store_gets_its_cap_only_when_chosen),
        cmocka_unit_test(ml_settings_defaulted_unless_given),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
