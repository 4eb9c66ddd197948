/* gpt2_bytes.h: GPT-2's bytes_to_unicode map, written from its definition, for the byte-level
 * BPE tests (unit.ml_bytebpe) and fuzz target (fuzz_ml_bytebpe): printable Latin-1 bytes
 * stay themselves, every other byte becomes U+0100 + its index among those bytes in byte
 * order. Kept apart from src/ml/bytebpe.c's own table on purpose: the tests check the
 * tokenizer against the definition, not against itself.
 */
#ifndef HR_TESTS_GPT2_BYTES_H
#define HR_TESTS_GPT2_BYTES_H

#include <stddef.h>
#include <stdint.h>

static inline int gpt2_byte_kept(int b)
{
    return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE;
}

/* Writes byte b's character as UTF-8 into out (1 or 2 bytes, not terminated); its length. */
static inline size_t gpt2_byte_utf8(uint8_t b, char *out)
{
    int cp = b;
    if (!gpt2_byte_kept(b)) {
        int n = 0;
        for (int x = 0; x < b; x++)
            n += !gpt2_byte_kept(x);
        cp = 256 + n;
    }
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    out[0] = (char)(0xC0 | (cp >> 6));
    out[1] = (char)(0x80 | (cp & 0x3F));
    return 2;
}

#endif
