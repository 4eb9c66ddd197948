/* ascii.h: locale-free ASCII character classes (the way curl keeps curl_ctype.h).
 *
 * <ctype.h> depends on the locale and is undefined for negative char values; these take any
 * int (a char, an unsigned char, EOF), answer for ASCII only, and treat every byte >= 0x80
 * as "none of the above", which is what byte-level parsers and compressors want: output
 * must not change with the user's LANG.
 */
#ifndef HR_SYS_ASCII_H
#define HR_SYS_ASCII_H

static inline int hr_is_digit(int c) { return c >= '0' && c <= '9'; }
static inline int hr_is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static inline int hr_is_lower(int c) { return c >= 'a' && c <= 'z'; }
static inline int hr_is_alpha(int c) { return hr_is_upper(c) || hr_is_lower(c); }
static inline int hr_is_alnum(int c) { return hr_is_alpha(c) || hr_is_digit(c); }
static inline int hr_is_xdigit(int c)
{
    return hr_is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
/* C's isspace set: space, \t \n \v \f \r. */
static inline int hr_is_space(int c) { return c == ' ' || (c >= '\t' && c <= '\r'); }
/* JSON's white space (RFC 8259): space, \t \n \r. */
static inline int hr_is_json_ws(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
/* Value of a hex digit, -1 for anything else. */
static inline int hr_hex_val(int c)
{
    if (hr_is_digit(c))
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}
/* ASCII case folding; other bytes unchanged. The result has the argument's value range. */
static inline int hr_to_lower(int c) { return hr_is_upper(c) ? c + ('a' - 'A') : c; }
static inline int hr_to_upper(int c) { return hr_is_lower(c) ? c - ('a' - 'A') : c; }

#endif
