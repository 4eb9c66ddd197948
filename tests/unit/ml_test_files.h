/* ml_test_files.h: small file helpers the ML unit tests share (header-only; each test is
 * its own program). Needs cmocka's headers included first. */
#ifndef HR_TESTS_ML_TEST_FILES_H
#define HR_TESTS_ML_TEST_FILES_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* The whole file in a malloc'd exact-size block (ASan sees any overread); fails the test
 * when it cannot be read. */
static uint8_t *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    *len = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(*len);
    assert_non_null(b);
    assert_int_equal(fread(b, 1, *len, f), *len);
    fclose(f);
    return b;
}

#endif
