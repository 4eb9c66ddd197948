/* Unit tests for src/proxy/backpressure and src/proxy/housekeeping: the stage thresholds,
 * the tick charging RssAnon to the process budget and moving through the stages in order
 * (ML paused first, then compression skipped, then requests refused), every stage counted,
 * the stages lifting when memory comes back, and without a budget nothing ever counting.
 * The budget, the ML runtime and the tick are the real ones; RssAnon is given to
 * hr_backpressure_update so each stage can be reached on demand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "ml/session.h"
#include "proxy/backpressure.h"
#include "proxy/housekeeping.h"
#include "sys/budget.h"
#include "sys/buf.h"
#include "sys/mem.h"

#include <stdlib.h>
#include <string.h>

#define MB ((size_t)1 << 20)

static void thresholds_are_ordered(void **state)
{
    (void)state;
    assert_int_equal(hr_bp_stage_for(0), HR_BP_NONE);
    assert_int_equal(hr_bp_stage_for(HR_BP_ML_OFF_PERMILLE - 1), HR_BP_NONE);
    assert_int_equal(hr_bp_stage_for(HR_BP_ML_OFF_PERMILLE), HR_BP_ML_OFF);
    assert_int_equal(hr_bp_stage_for(HR_BP_SKIP_PERMILLE - 1), HR_BP_ML_OFF);
    assert_int_equal(hr_bp_stage_for(HR_BP_SKIP_PERMILLE), HR_BP_SKIP_COMPRESSION);
    assert_int_equal(hr_bp_stage_for(HR_BP_REFUSE_PERMILLE), HR_BP_REFUSE);
    assert_int_equal(hr_bp_stage_for(1500), HR_BP_REFUSE);
    assert_string_equal(hr_bp_stage_name(HR_BP_SKIP_COMPRESSION), "skip_compression");
}

static void no_budget_never_counts(void **state)
{
    (void)state;
    hr_backpressure_configure(0);
    hr_bp_counts before, after;
    hr_backpressure_counts(&before);
    assert_int_equal(hr_backpressure_update(64 * 1024 * MB), HR_BP_NONE);
    assert_true(hr_backpressure_allow_compression());
    assert_true(hr_backpressure_admit());
    assert_false(hr_ml_paused());
    hr_backpressure_counts(&after);
    assert_memory_equal(&before, &after, sizeof before);
}

/* RssAnon given per tick walks the stages up and down; request-path checks count. */
static void stages_in_order_and_counted(void **state)
{
    (void)state;
    hr_budget_init(hr_budget_process(), 512 * MB); /* replaced by the memory budget */
    hr_backpressure_configure(100 * MB);
    assert_int_equal(hr_budget_process()->limit, 100 * MB);
    hr_bp_counts c0, c;
    hr_backpressure_counts(&c0);

    assert_int_equal(hr_backpressure_update(50 * MB), HR_BP_NONE);
    assert_false(hr_ml_paused());
    assert_true(hr_backpressure_allow_compression());
    assert_true(hr_backpressure_admit());

    assert_int_equal(hr_backpressure_update(75 * MB), HR_BP_ML_OFF);
    assert_true(hr_ml_paused());                    /* stage 1: ML fails open */
    assert_true(hr_backpressure_allow_compression()); /* heuristics still run */
    assert_true(hr_backpressure_admit());

    assert_int_equal(hr_backpressure_update(90 * MB), HR_BP_SKIP_COMPRESSION);
    assert_true(hr_ml_paused());
    assert_false(hr_backpressure_allow_compression());
    assert_true(hr_backpressure_admit());

    assert_int_equal(hr_backpressure_update(96 * MB), HR_BP_REFUSE);
    assert_false(hr_backpressure_admit());
    assert_false(hr_backpressure_allow_compression());

    hr_backpressure_counts(&c);
    assert_int_equal(c.compression_skipped - c0.compression_skipped, 2);
    assert_int_equal(c.refused - c0.refused, 1);
    assert_int_equal(c.stage_entries[1] - c0.stage_entries[1], 1);
    assert_int_equal(c.stage_entries[2] - c0.stage_entries[2], 1);
    assert_int_equal(c.stage_entries[3] - c0.stage_entries[3], 1);

    /* memory comes back: everything lifts at the next tick */
    assert_int_equal(hr_backpressure_update(10 * MB), HR_BP_NONE);
    assert_false(hr_ml_paused());
    assert_true(hr_backpressure_admit());
    assert_true(hr_backpressure_allow_compression());
    hr_backpressure_configure(0);
}

/* Between ticks, request bytes reserved on the budget raise the live stage at once: the
 * RssAnon charge excludes what was reserved at the tick, and new reservations add to it. */
static void reservations_between_ticks_raise_the_stage(void **state)
{
    (void)state;
    hr_backpressure_configure(100 * MB);
    hr_budget *b = hr_budget_process();
    assert_int_equal(hr_budget_reserve(b, 20 * MB), 0); /* a body already held at the tick */
    assert_int_equal(hr_backpressure_update(60 * MB), HR_BP_NONE); /* RssAnon includes it */
    assert_int_equal(hr_budget_reserve(b, 30 * MB), 0); /* a new body: 60 + 30 = 90 % */
    assert_int_equal(hr_backpressure_stage(), HR_BP_SKIP_COMPRESSION);
    assert_int_not_equal(hr_budget_reserve(b, 20 * MB), 0); /* past the budget: refused */
    hr_budget_release(b, 50 * MB);
    assert_int_equal(hr_backpressure_stage(), HR_BP_NONE);
    hr_budget_set_external(b, 0);
    hr_backpressure_configure(0);
}

static int hook_calls;
static void count_hook(void *arg) { (void)arg; hook_calls++; }

/* The tick with a budget far below this process's RssAnon: stage 3 at once; the flush
 * hooks run every tick. */
static void tick_samples_real_rss_and_runs_hooks(void **state)
{
    (void)state;
    hr_housekeeping hk;
    hr_housekeeping_init(&hk, 4);
    assert_int_equal(hr_housekeeping_add_hook(&hk, count_hook, NULL), 0);
    hr_mem_snapshot m;
    assert_int_equal(hr_mem_read(0, &m), 0);
    hr_backpressure_configure(1 * MB); /* below any real process's RssAnon */
    hr_housekeeping_tick(&hk, 0, 0);
    assert_int_equal(hr_backpressure_stage(), HR_BP_REFUSE);
    assert_true(hr_ml_paused());
    hr_backpressure_configure(m.rss_anon * 100 + 64 * MB); /* far above: lifts */
    hr_housekeeping_tick(&hk, 0, 0);
    assert_int_equal(hr_backpressure_stage(), HR_BP_NONE);
    assert_false(hr_ml_paused());
    assert_int_equal(hook_calls, 2);
    assert_int_equal(hk.ticks, 2);
    for (int i = 1; i < HR_HOUSEKEEPING_MAX_HOOKS; i++)
        assert_int_equal(hr_housekeeping_add_hook(&hk, count_hook, NULL), 0);
    assert_int_equal(hr_housekeeping_add_hook(&hk, count_hook, NULL), -1);
    hr_backpressure_configure(0);
    hr_budget_set_external(hr_budget_process(), 0);
    hr_ml_use_external_reaper(0);
}

/* headroom_memory_measured_bytes as /metrics prints it. */
static size_t metric_measured(void)
{
    hr_buf o = HR_BUF_INIT;
    assert_int_equal(hr_backpressure_prometheus(&o), 0);
    const char *line = strstr(o.data, "\nheadroom_memory_measured_bytes ");
    assert_non_null(line);
    size_t v = (size_t)strtoull(line + strlen("\nheadroom_memory_measured_bytes "), NULL, 10);
    hr_buf_free(&o);
    return v;
}

/* A body reserved from its Content-Length before its bytes arrive can hold more than the
 * RssAnon the tick reads: the tick then charges nothing outside requests. When that request
 * ends, the gauge must not fall to 0 (a live process has RssAnon) until the next tick: it
 * stays at least what the tick measured. */
static void measured_never_zero_after_a_large_release(void **state)
{
    (void)state;
    hr_backpressure_configure(100 * MB);
    hr_budget *b = hr_budget_process();
    assert_int_equal(hr_budget_reserve(b, 40 * MB), 0); /* reserved, mostly not yet touched */
    hr_backpressure_update(30 * MB);
    assert_int_equal(metric_measured(), 40 * MB); /* the reservation exceeds RssAnon */
    hr_budget_release(b, 40 * MB);                 /* the request ends before the next tick */
    assert_int_equal(metric_measured(), 30 * MB);
    assert_int_equal(hr_budget_reserve(b, 5 * MB), 0); /* reservations since still add */
    hr_backpressure_update(12 * MB);                   /* the next tick re-measures */
    assert_int_equal(metric_measured(), 12 * MB);
    assert_int_equal(hr_budget_reserve(b, 8 * MB), 0);
    assert_int_equal(metric_measured(), 20 * MB); /* 12 - 5 outside requests, 13 reserved */
    hr_budget_release(b, 13 * MB);
    assert_int_equal(metric_measured(), 12 * MB);
    hr_budget_set_external(b, 0);
    hr_backpressure_configure(0);
}

static void prometheus_and_json_name_every_action(void **state)
{
    (void)state;
    hr_buf o = HR_BUF_INIT;
    assert_int_equal(hr_backpressure_prometheus(&o), 0);
    const char *want[] = {"headroom_memory_budget_bytes ", "headroom_memory_stage ",
                          "action=\"ml_unload\"", "action=\"ml_fail_open\"",
                          "action=\"compression_skipped\"", "action=\"refused\"",
                          "stage=\"refuse\""};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
        assert_non_null(strstr(o.data, want[i]));
    hr_buf_free(&o);
    assert_int_equal(hr_backpressure_json(&o), 0);
    assert_non_null(strstr(o.data, "\"stage\":\"none\""));
    hr_buf_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(thresholds_are_ordered),
        cmocka_unit_test(no_budget_never_counts),
        cmocka_unit_test(stages_in_order_and_counted),
        cmocka_unit_test(reservations_between_ticks_raise_the_stage),
        cmocka_unit_test(tick_samples_real_rss_and_runs_hooks),
        cmocka_unit_test(measured_never_zero_after_a_large_release),
        cmocka_unit_test(prometheus_and_json_name_every_action),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
