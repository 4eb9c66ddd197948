/* unicode_wordpiece.h: the Unicode facts the WordPiece tokenizer needs, as read-only
 * tables generated from Python's unicodedata by tools/gen_wordpiece_unicode.py into
 * unicode_wordpiece.c (hr_wp_uc_version names the Unicode version).
 *
 * Classes (sorted, non-overlapping ranges; code points in no range are word characters):
 *   HR_WP_DROP   Cc/Cf/Co/Cs except \t \n \r: removed by BertNormalizer's clean_text
 *   HR_WP_SPACE  JavaScript \s (Zs, \t \n \r, U+2028, U+2029): word boundary
 *   HR_WP_PUNCT  Unicode P* and BERT's ASCII symbol ranges: a word of its own
 *   HR_WP_MARK   Mn: removed after NFD (accent stripping)
 * Fold map: cp -> NFD(lowercase(cp)) without Mn, for every cp where that differs from cp
 * (Hangul syllables excluded: decomposed algorithmically by the tokenizer).
 */
#ifndef HR_ML_UNICODE_WORDPIECE_H
#define HR_ML_UNICODE_WORDPIECE_H

#include <stddef.h>
#include <stdint.h>

enum { HR_WP_WORD = 0, HR_WP_DROP = 1, HR_WP_SPACE = 2, HR_WP_PUNCT = 3, HR_WP_MARK = 4 };

typedef struct hr_wp_uc_range {
    uint32_t first, last;
    uint32_t cls;
} hr_wp_uc_range;

typedef struct hr_wp_uc_fold {
    uint32_t cp;
    uint16_t off, len; /* into hr_wp_uc_fold_pool */
} hr_wp_uc_fold;

#define HR_WP_FOLD_MAX 4 /* longest fold output, checked by the unit test */

extern const char hr_wp_uc_version[];
extern const hr_wp_uc_range hr_wp_uc_class_ranges[];
extern const size_t hr_wp_uc_class_count;
extern const hr_wp_uc_fold hr_wp_uc_fold_map[];
extern const size_t hr_wp_uc_fold_count;
extern const uint32_t hr_wp_uc_fold_pool[];

#endif
