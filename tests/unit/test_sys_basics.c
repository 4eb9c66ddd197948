/* Unit tests for src/sys: buffer (growth, the latch, handing out pending bytes), SHA-256 / content hash, memory snapshot, trim wrapper. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "sys/buf.h"
#include "sys/hash.h"
#include "sys/mem.h"

#include <stdlib.h>
#include <string.h>

static void sha256_known_vectors(void **state)
{
    (void)state;
    uint8_t d[32];
    char hex[65];
    hr_sha256("abc", 3, d);
    hr_hex(d, 32, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    hr_sha256("", 0, d);
    hr_hex(d, 32, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    /* Two-block message from FIPS 180-2, fed in uneven pieces to exercise buffering. */
    const char *m = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    hr_sha256_ctx h;
    hr_sha256_init(&h);
    for (size_t i = 0; i < strlen(m); i += 7)
        hr_sha256_update(&h, m + i, strlen(m) - i < 7 ? strlen(m) - i : 7);
    hr_sha256_final(&h, d);
    hr_hex(d, 32, hex);
    assert_string_equal(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void content_hash_is_24_hex_prefix(void **state)
{
    (void)state;
    char h[HR_CONTENT_HASH_HEX + 1];
    hr_content_hash("abc", 3, h);
    assert_string_equal(h, "ba7816bf8f01cfea414140de");
    assert_true(hr_content_hash_valid(h, strlen(h)));
    assert_false(hr_content_hash_valid("BA7816BF8F01CFEA414140DE", 24));
    assert_false(hr_content_hash_valid("ba7816bf8f01cfea414140d", 23));
}

static void buf_grows_and_formats(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    for (int i = 0; i < 1000; i++)
        assert_int_equal(hr_buf_printf(&b, "%d,", i), 0);
    assert_int_equal(b.data[b.len], '\0');
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_int_equal(strncmp(b.data + b.len - 4, "999,", 4), 0);
    size_t n;
    char *p = hr_buf_steal(&b, &n);
    assert_non_null(p);
    assert_string_equal(b.data, ""); /* emptied, and still never NULL */
    assert_int_equal(b.len, 0);
    assert_int_equal(n, strlen(p));
    free(p);
}

/* data is never NULL: fresh, reset, freed and stolen buffers all read as "" */
static void buf_data_never_null(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    assert_string_equal(b.data, "");
    hr_buf_reset(&b);
    assert_string_equal(b.data, "");
    char *p = hr_buf_steal(&b, NULL); /* empty: a fresh "" the caller frees */
    assert_non_null(p);
    assert_string_equal(p, "");
    free(p);
    assert_int_equal(hr_buf_puts(&b, "abc"), 0);
    hr_buf_truncate(&b, 1);
    assert_string_equal(b.data, "a");
    hr_buf_truncate(&b, 5); /* longer than the contents: no change */
    assert_int_equal(b.len, 1);
    hr_buf_free(&b);
    assert_string_equal(b.data, "");
    assert_int_equal(b.len, 0);
    hr_buf z = {0}; /* zero-filled, as inside a calloc'd struct: a valid empty buffer */
    assert_int_equal(hr_buf_putc(&z, 'x'), 0);
    assert_string_equal(z.data, "x");
    hr_buf_free(&z);
    assert_non_null(z.data);
}

/* The first failure latches: later appends do nothing and say so, the contents stay as
 * they were, and one check at the end sees it; reset starts afresh. */
static void buf_latches_first_error(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    assert_int_equal(hr_buf_puts(&b, "kept"), 0);
    assert_false(hr_buf_failed(&b));
    assert_int_equal(hr_buf_reserve(&b, (size_t)-1), -1); /* cannot be satisfied */
    assert_true(hr_buf_failed(&b));
    assert_int_equal(hr_buf_puts(&b, "more"), -1);
    assert_int_equal(hr_buf_putc(&b, '!'), -1);
    assert_int_equal(hr_buf_printf(&b, "%d", 42), -1);
    assert_int_equal(hr_buf_reserve(&b, 1), -1);
    assert_string_equal(b.data, "kept");
    assert_int_equal(b.len, 4);
    hr_buf_reset(&b);
    assert_false(hr_buf_failed(&b));
    assert_int_equal(hr_buf_puts(&b, "again"), 0);
    assert_string_equal(b.data, "again");
    /* a failure beside the buffer latches the same way */
    assert_int_equal(hr_buf_fail(&b), -1);
    assert_true(hr_buf_failed(&b));
    assert_int_equal(hr_buf_puts(&b, "x"), -1);
    assert_string_equal(b.data, "again");
    hr_buf_free(&b);
    assert_false(hr_buf_failed(&b));
}

/* The pending-bytes reader: pieces of at most max, the offset advancing, 0 once drained;
 * refilling after a reset starts from the new bytes. */
static void buf_copy_out_hands_out_pending(void **state)
{
    (void)state;
    hr_buf b = HR_BUF_INIT;
    size_t off = 0;
    char out[8];
    assert_int_equal(hr_buf_copy_out(&b, &off, out, sizeof out), 0); /* empty, unallocated */
    assert_int_equal(hr_buf_puts(&b, "0123456789"), 0);
    assert_int_equal(hr_buf_copy_out(&b, &off, out, 4), 4);
    assert_memory_equal(out, "0123", 4);
    assert_int_equal(off, 4);
    assert_int_equal(hr_buf_copy_out(&b, &off, out, 0), 0);
    assert_int_equal(off, 4);
    assert_int_equal(hr_buf_copy_out(&b, &off, out, sizeof out), 6);
    assert_memory_equal(out, "456789", 6);
    assert_int_equal(off, 10);
    assert_int_equal(hr_buf_copy_out(&b, &off, out, sizeof out), 0);
    hr_buf_reset(&b);
    off = 0;
    assert_int_equal(hr_buf_puts(&b, "ab"), 0);
    assert_int_equal(hr_buf_copy_out(&b, &off, out, sizeof out), 2);
    assert_memory_equal(out, "ab", 2);
    hr_buf_free(&b);
}

static void mem_snapshot_reads_proc(void **state)
{
    (void)state;
    hr_mem_snapshot s;
    assert_int_equal(hr_mem_read(0, &s), 0);
    assert_true(s.vm_rss > 0);
    assert_true(s.rss_anon + s.rss_file + s.rss_shmem <= s.vm_rss + 4096 * 4);
    assert_true(s.threads >= 1);
}

static void trim_reports_an_outcome(void **state)
{
    (void)state;
    long released = -1;
    hr_trim_result r = hr_heap_trim(&released);
#if defined(HEADROOM_SANITIZE)
    assert_int_equal(r, HR_TRIM_UNAVAILABLE);
    assert_int_equal(released, 0);
#else
    /* Free a large heap region below the mmap threshold's reach, then trim: glibc must
     * report that it released memory. */
    enum { N = 4096 };
    void *blocks[N];
    for (int i = 0; i < N; i++) {
        blocks[i] = malloc(8192);
        assert_non_null(blocks[i]);
        memset(blocks[i], 1, 8192);
    }
    for (int i = 0; i < N; i++)
        free(blocks[i]);
    r = hr_heap_trim(&released);
    assert_int_equal(r, HR_TRIM_RELEASED);
    assert_true(released > 0);
#endif
    assert_non_null(hr_trim_result_name(r));
}

static int fake_trim_released(size_t pad) { (void)pad; return 1; }
static int fake_trim_nothing(size_t pad) { (void)pad; return 0; }

static void trim_outcomes_follow_the_primitive(void **state)
{
    (void)state;
    long released = 123;
    assert_int_equal(hr_heap_trim_with(NULL, &released), HR_TRIM_UNAVAILABLE);
    assert_int_equal(released, 0);
    assert_int_equal(hr_heap_trim_with(fake_trim_released, NULL), HR_TRIM_RELEASED);
    assert_int_equal(hr_heap_trim_with(fake_trim_nothing, &released), HR_TRIM_NOTHING);
    assert_string_equal(hr_trim_result_name(HR_TRIM_UNAVAILABLE), "unavailable");
    assert_string_equal(hr_trim_result_name(HR_TRIM_NOTHING), "nothing_to_release");
    assert_string_equal(hr_trim_result_name(HR_TRIM_RELEASED), "released");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sha256_known_vectors),
        cmocka_unit_test(content_hash_is_24_hex_prefix),
        cmocka_unit_test(buf_grows_and_formats),
        cmocka_unit_test(buf_data_never_null),
        cmocka_unit_test(buf_latches_first_error),
        cmocka_unit_test(buf_copy_out_hands_out_pending),
        cmocka_unit_test(mem_snapshot_reads_proc),
        cmocka_unit_test(trim_reports_an_outcome),
        cmocka_unit_test(trim_outcomes_follow_the_primitive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
