/* unicode_tables.h: per-code-point character classes for the pre-tokeniser (pretok.c).
 * The data is generated (tools/gen_unicode_tables.py -> unicode_tables.c) from Python's
 * unicodedata; hr_uni_version names the Unicode version it reflects. Read-only constants.
 */
#ifndef HR_TOKENS_UNICODE_TABLES_H
#define HR_TOKENS_UNICODE_TABLES_H

#include <stdint.h>

enum {
    HR_UC_L = 0x01,        /* \p{L} */
    HR_UC_UPPERISH = 0x02, /* [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k) */
    HR_UC_LOWERISH = 0x04, /* [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k) */
    HR_UC_N = 0x08,        /* \p{N} */
    HR_UC_WS = 0x10,       /* \s = Unicode White_Space */
    HR_UC_M = 0x20,        /* \p{M} */
};

extern const char hr_uni_version[];
extern const uint16_t hr_uni_stage1[0x110000 >> 8];
extern const uint8_t hr_uni_stage2[][256];

/* Flags of code point cp (< 0x110000). */
static inline uint8_t hr_uni_class(uint32_t cp)
{
    return hr_uni_stage2[hr_uni_stage1[cp >> 8]][cp & 0xFF];
}

#endif
