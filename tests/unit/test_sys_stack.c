/* Unit tests for sys/stack.h: on a thread of its own, a deep call touches 64 KiB of stack;
 * hr_stack_release_below(margin) must then leave those pages non-resident (mincore) while
 * the caller's own frame and everything above it keep their values, and a second deep call
 * must work on the fresh pages. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/stack.h"

#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define DEEP (64 * 1024)

static volatile uintptr_t g_deep_lo; /* the deep call's array, recorded for mincore */

/* Fills DEEP bytes of stack below the caller's frame and returns their sum (so the writes
 * cannot be optimised away); remembers where the array was. */
static __attribute__((noinline)) unsigned deep_call(unsigned char fill)
{
    volatile unsigned char a[DEEP];
    unsigned sum = 0;
    for (size_t i = 0; i < DEEP; i++)
        a[i] = fill;
    for (size_t i = 0; i < DEEP; i++)
        sum += a[i];
    g_deep_lo = (uintptr_t)a;
    return sum;
}

/* Resident pages among [lo, lo + len), page-aligned inward. */
static size_t resident_pages(uintptr_t lo, size_t len)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    uintptr_t a = (lo + page - 1) & ~(uintptr_t)(page - 1);
    uintptr_t b = (lo + len) & ~(uintptr_t)(page - 1);
    if (b <= a)
        return 0;
    unsigned char vec[DEEP / 4096 + 2];
    size_t n = (b - a) / page;
    if (n > sizeof vec || mincore((void *)a, b - a, vec) != 0)
        return (size_t)-1;
    size_t r = 0;
    for (size_t i = 0; i < n; i++)
        r += vec[i] & 1;
    return r;
}

typedef struct outcome {
    unsigned sum1, sum2;
    size_t released, resident_before, resident_after;
    int frame_kept;
} outcome;

static void *thread_main(void *arg)
{
    outcome *o = arg;
    volatile unsigned char mine[256];
    memset((void *)mine, 0x5a, sizeof mine);
    o->sum1 = deep_call(1);
    uintptr_t lo = g_deep_lo;
    o->resident_before = resident_pages(lo, DEEP / 2); /* the deepest half of the array */
    o->released = hr_stack_release_below(4096);
    o->resident_after = resident_pages(lo, DEEP / 2);
    o->frame_kept = 1;
    for (size_t i = 0; i < sizeof mine; i++)
        o->frame_kept &= mine[i] == 0x5a;
    o->sum2 = deep_call(2);
    return NULL;
}

static void test_release_below_drops_deep_pages_only(void **state)
{
    (void)state;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    pthread_t t;
    outcome o = {0};
    assert_int_equal(pthread_create(&t, &attr, thread_main, &o), 0);
    pthread_join(t, NULL);
    pthread_attr_destroy(&attr);
    assert_int_equal(o.sum1, DEEP * 1);
    assert_true(o.resident_before > 0 && o.resident_before != (size_t)-1);
    assert_true(o.released >= DEEP / 2);
    assert_int_equal(o.resident_after, 0);
    assert_true(o.frame_kept);
    assert_int_equal(o.sum2, DEEP * 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_release_below_drops_deep_pages_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
