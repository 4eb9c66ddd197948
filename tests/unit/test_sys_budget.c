/* The process-wide byte budget (sys/budget.h): exact refusals at the limit, leases that
 * give back everything they took, and many threads racing for the last bytes without ever
 * holding more than the limit together. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/budget.h"

#include <pthread.h>

static void reserve_up_to_the_limit_and_no_further(void **state)
{
    (void)state;
    hr_budget b;
    hr_budget_init(&b, 1000);
    assert_int_equal(hr_budget_reserve(&b, 600), 0);
    assert_int_equal(hr_budget_reserve(&b, 401), -1); /* would be 1001 */
    assert_int_equal(hr_budget_used(&b), 600);        /* a refusal takes nothing */
    assert_int_equal(hr_budget_reserve(&b, 400), 0);  /* exactly the limit is fine */
    assert_int_equal(hr_budget_reserve(&b, 1), -1);
    assert_int_equal(hr_budget_refused(&b), 2);
    assert_int_equal(hr_budget_pressure(&b), 1000);
    hr_budget_release(&b, 1000);
    assert_int_equal(hr_budget_used(&b), 0);
    assert_int_equal(hr_budget_peak(&b), 1000);
    assert_int_equal(hr_budget_reserve(&b, (size_t)-1), -1); /* no wrap-around */
    /* Bytes charged from outside count against the same limit. */
    hr_budget_set_external(&b, 900);
    assert_int_equal(hr_budget_reserve(&b, 101), -1);
    assert_int_equal(hr_budget_reserve(&b, 100), 0);
    assert_int_equal(hr_budget_pressure(&b), 1000);
}

static void unlimited_budget_always_reserves(void **state)
{
    (void)state;
    hr_budget b;
    hr_budget_init(&b, 0);
    assert_int_equal(hr_budget_reserve(&b, (size_t)1 << 40), 0);
    assert_int_equal(hr_budget_pressure(&b), 0);
    hr_budget_lease l = HR_BUDGET_LEASE_INIT(NULL); /* no budget at all: tools, tests */
    assert_int_equal(hr_budget_lease_add(&l, 12345), 0);
    hr_budget_lease_end(&l);
    assert_int_equal(l.held, 0);
}

static void leases_cover_grow_and_give_everything_back(void **state)
{
    (void)state;
    hr_budget b;
    hr_budget_init(&b, 100);
    hr_budget_lease a = HR_BUDGET_LEASE_INIT(&b), c = HR_BUDGET_LEASE_INIT(&b);
    assert_int_equal(hr_budget_lease_cover(&a, 30), 0);
    assert_int_equal(hr_budget_lease_cover(&a, 20), 0); /* already covered: nothing more */
    assert_int_equal(hr_budget_used(&b), 30);
    assert_int_equal(hr_budget_lease_cover(&a, 50), 0); /* only the difference */
    assert_int_equal(hr_budget_used(&b), 50);
    assert_int_equal(hr_budget_lease_add(&c, 40), 0);
    assert_int_equal(hr_budget_lease_add(&c, 11), -1);  /* 101 */
    assert_int_equal(c.held, 40);                       /* keeps what it had */
    assert_int_equal(hr_budget_lease_cover(&a, 61), -1);
    assert_int_equal(a.held, 50);
    hr_budget_lease_end(&a);
    assert_int_equal(hr_budget_used(&b), 40);
    hr_budget_lease_end(&a); /* twice is harmless */
    hr_budget_lease_end(&c);
    assert_int_equal(hr_budget_used(&b), 0);
}

typedef struct race {
    hr_budget *b;
    atomic_size_t *worst; /* highest used seen right after a successful reserve */
    int granted;
} race;

static void *racer(void *arg)
{
    race *r = arg;
    for (int i = 0; i < 20000; i++) {
        size_t n = 1 + (size_t)(i % 7) * 13;
        if (hr_budget_reserve(r->b, n) != 0)
            continue;
        r->granted++;
        size_t now = hr_budget_used(r->b), w = atomic_load(r->worst);
        while (now > w && !atomic_compare_exchange_weak(r->worst, &w, now))
            ;
        hr_budget_release(r->b, n);
    }
    return NULL;
}

static void racing_threads_never_pass_the_limit(void **state)
{
    (void)state;
    hr_budget b;
    hr_budget_init(&b, 200);
    atomic_size_t worst;
    atomic_init(&worst, 0);
    pthread_t t[8];
    race r[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (race){&b, &worst, 0};
        pthread_create(&t[i], NULL, racer, &r[i]);
    }
    int granted = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        granted += r[i].granted;
    }
    assert_true(atomic_load(&worst) <= 200);
    assert_true(hr_budget_peak(&b) <= 200);
    assert_int_equal(hr_budget_used(&b), 0);
    assert_true(granted > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reserve_up_to_the_limit_and_no_further),
        cmocka_unit_test(unlimited_budget_always_reserves),
        cmocka_unit_test(leases_cover_grow_and_give_everything_back),
        cmocka_unit_test(racing_threads_never_pass_the_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
