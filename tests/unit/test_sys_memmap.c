/* Unit tests for src/sys/memmap: the mapping-kind rules on hand-made neighbours, and on
 * this process's real smaps: the kinds add up to RssAnon, a new thread adds one stack, and
 * touching a fresh anonymous mapping shows up as anonymous-mmap bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/mem.h"
#include "sys/memmap.h"

#include <pthread.h>
#include <string.h>
#include <sys/mman.h>

#define MIB (1UL << 20)

static void classify_rules(void **state)
{
    (void)state;
    unsigned long base = 64 * MIB * 5; /* 64 MiB aligned */
    assert_int_equal(hr_memmap_classify(0x1000, 0x2000, "r--p", "/usr/lib/libc.so.6", 0, 0, 0, 0, 0), HR_MAP_FILE);
    assert_int_equal(hr_memmap_classify(0x1000, 0x2000, "rw-p", "[heap]", 0, 0, 0, 0, 0), HR_MAP_HEAP);
    assert_int_equal(hr_memmap_classify(0x1000, 0x2000, "rw-p", "[stack]", 0, 0, 0, 0, 0), HR_MAP_STACK);
    /* an arena heap: aligned start, reserved PROT_NONE tail right above */
    assert_int_equal(hr_memmap_classify(base, base + MIB, "rw-p", "", 0, 0, 0, base + MIB, 1), HR_MAP_HEAP);
    /* the same without its tail is just an anonymous mapping */
    assert_int_equal(hr_memmap_classify(base, base + MIB, "rw-p", "", 0, 0, 0, base + 2 * MIB, 0), HR_MAP_ANON);
    /* a thread stack: a small guard right below */
    unsigned long s = base + 3 * MIB + 4096;
    assert_int_equal(hr_memmap_classify(s, s + MIB, "rw-p", "", s - 4096, s, 1, 0, 0), HR_MAP_STACK);
    /* a large PROT_NONE region below (another arena's tail) is no guard */
    assert_int_equal(hr_memmap_classify(s, s + MIB, "rw-p", "", s - 32 * MIB, s, 1, 0, 0), HR_MAP_ANON);
    /* not adjacent: no guard */
    assert_int_equal(hr_memmap_classify(s, s + MIB, "rw-p", "", s - 8192, s - 4096, 1, 0, 0), HR_MAP_ANON);
    assert_int_equal(hr_memmap_classify(s, s + MIB, "r--p", "", 0, 0, 0, 0, 0), HR_MAP_ANON);
}

static void kinds_add_up_to_rss_anon(void **state)
{
    (void)state;
    hr_memmap m;
    hr_mem_snapshot st;
    assert_int_equal(hr_memmap_read(&m), 0);
    assert_int_equal(hr_mem_read(0, &st), 0);
    assert_true(m.anon_total > 0);
    assert_int_equal(m.anon_total, m.heap_arenas + m.thread_stacks + m.anon_mmaps + m.file_private);
    size_t diff = m.anon_total > st.rss_anon ? m.anon_total - st.rss_anon : st.rss_anon - m.anon_total;
    assert_true(diff <= st.rss_anon / 10 + 256 * 1024);
    assert_true(m.file_libraries > 0); /* libc at least */
    assert_true(m.n_thread_stacks >= 1); /* [stack] */
}

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started, release;

static void *parked(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    started = 1;
    pthread_cond_broadcast(&cv);
    while (!release)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

static void a_thread_adds_a_stack_and_touched_mmaps_count(void **state)
{
    (void)state;
    hr_memmap before, during;
    assert_int_equal(hr_memmap_read(&before), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, parked, NULL), 0);
    pthread_mutex_lock(&mu);
    while (!started)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    size_t n = 8 * MIB;
    char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(p != MAP_FAILED);
    memset(p, 1, n);
    assert_int_equal(hr_memmap_read(&during), 0);
    assert_true(during.n_thread_stacks >= before.n_thread_stacks + 1);
    assert_true(during.anon_mmaps >= before.anon_mmaps + n - MIB);
    munmap(p, n);
    pthread_mutex_lock(&mu);
    release = 1;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(t, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(classify_rules),
        cmocka_unit_test(kinds_add_up_to_rss_anon),
        cmocka_unit_test(a_thread_adds_a_stack_and_touched_mmaps_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
