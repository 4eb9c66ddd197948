/* Unit tests for src/http/ws_frame.c. Expected bytes come from RFC 6455 itself (the
 * examples of 5.7 and the handshake of 1.3) or from its length rules worked out by hand
 * (125 fits the 7-bit field, 126..65535 take the 16-bit form, 65536 the 64-bit form), and
 * SHA-1 from FIPS 180's test vectors; never from our own output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/ws_frame.h"
#include "sys/hash.h"

#include <string.h>

static const uint8_t RFC_MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* RFC 6455 5.7: "A single-frame unmasked text message". */
static void rfc_unmasked_text(void **state)
{
    (void)state;
    static const uint8_t wire[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    uint8_t head[HR_WS_MAX_HEAD];
    size_t n = hr_ws_write_head(head, 1, HR_WS_OP_TEXT, NULL, 5);
    assert_int_equal(n, 2);
    assert_memory_equal(head, wire, 2);
    hr_ws_head h;
    int code = 0;
    assert_int_equal(hr_ws_parse_head(wire, sizeof wire, 0, 1000, &h, &code), 2);
    assert_true(h.fin);
    assert_int_equal(h.opcode, HR_WS_OP_TEXT);
    assert_false(h.masked);
    assert_int_equal(h.payload_len, 5);
    assert_memory_equal(wire + 2, "Hello", 5);
}

/* RFC 6455 5.7: "A single-frame masked text message", unmasked back to "Hello". */
static void rfc_masked_text(void **state)
{
    (void)state;
    static const uint8_t wire[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t head[HR_WS_MAX_HEAD];
    size_t n = hr_ws_write_head(head, 1, HR_WS_OP_TEXT, RFC_MASK, 5);
    assert_int_equal(n, 6);
    assert_memory_equal(head, wire, 6);
    uint8_t payload[5] = {'H', 'e', 'l', 'l', 'o'};
    hr_ws_mask(payload, 5, RFC_MASK, 0);
    assert_memory_equal(payload, wire + 6, 5);

    hr_ws_head h;
    int code = 0;
    assert_int_equal(hr_ws_parse_head(wire, sizeof wire, 1, 1000, &h, &code), 6);
    assert_true(h.masked);
    assert_memory_equal(h.mask, RFC_MASK, 4);
    uint8_t back[5];
    memcpy(back, wire + 6, 5);
    /* in two pieces: the offset keeps the mask phase */
    hr_ws_mask(back, 2, h.mask, 0);
    hr_ws_mask(back + 2, 3, h.mask, 2);
    assert_memory_equal(back, "Hello", 5);
}

/* RFC 6455 5.7: a fragmented unmasked text message, then ping and masked pong. */
static void rfc_fragments_and_control_frames(void **state)
{
    (void)state;
    static const uint8_t first[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
    static const uint8_t last[] = {0x80, 0x02, 0x6c, 0x6f};
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t pong[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                   0x7f, 0x9f, 0x4d, 0x51, 0x58};
    hr_ws_head h;
    int code = 0;
    assert_int_equal(hr_ws_parse_head(first, sizeof first, 0, 100, &h, &code), 2);
    assert_false(h.fin);
    assert_int_equal(h.opcode, HR_WS_OP_TEXT);
    assert_int_equal(hr_ws_parse_head(last, sizeof last, 0, 100, &h, &code), 2);
    assert_true(h.fin);
    assert_int_equal(h.opcode, HR_WS_OP_CONT);
    assert_int_equal(hr_ws_parse_head(ping, sizeof ping, 0, 100, &h, &code), 2);
    assert_int_equal(h.opcode, HR_WS_OP_PING);
    assert_int_equal(hr_ws_parse_head(pong, sizeof pong, 1, 100, &h, &code), 6);
    assert_int_equal(h.opcode, HR_WS_OP_PONG);
    uint8_t head[HR_WS_MAX_HEAD];
    assert_int_equal(hr_ws_write_head(head, 1, HR_WS_OP_PONG, RFC_MASK, 5), 6);
    assert_memory_equal(head, pong, 6);
    assert_int_equal(hr_ws_write_head(head, 0, HR_WS_OP_TEXT, NULL, 3), 2);
    assert_memory_equal(head, first, 2);
}

/* The three length forms at their edges, both ways. */
static void length_forms(void **state)
{
    (void)state;
    static const struct {
        uint64_t len;
        size_t head_len;
        uint8_t bytes[10];
    } cases[] = {
        {125, 2, {0x82, 0x7d}},
        {126, 4, {0x82, 0x7e, 0x00, 0x7e}},
        {65535, 4, {0x82, 0x7e, 0xff, 0xff}},
        {65536, 10, {0x82, 0x7f, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00}},
        {0x123456789aULL, 10, {0x82, 0x7f, 0, 0, 0, 0x12, 0x34, 0x56, 0x78, 0x9a}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint8_t head[HR_WS_MAX_HEAD];
        size_t n = hr_ws_write_head(head, 1, HR_WS_OP_BINARY, NULL, cases[i].len);
        assert_int_equal(n, cases[i].head_len);
        assert_memory_equal(head, cases[i].bytes, n);
        hr_ws_head h;
        int code = 0;
        assert_int_equal(hr_ws_parse_head(head, n, 0, UINT64_MAX >> 1, &h, &code), (int)n);
        assert_int_equal(h.payload_len, cases[i].len);
        /* every shorter prefix asks for more bytes */
        for (size_t k = 0; k < n; k++)
            assert_int_equal(hr_ws_parse_head(head, k, 0, UINT64_MAX >> 1, &h, &code), 0);
        /* masked: 4 more bytes, the mask bit set */
        n = hr_ws_write_head(head, 1, HR_WS_OP_BINARY, RFC_MASK, cases[i].len);
        assert_int_equal(n, cases[i].head_len + 4);
        assert_int_equal(head[1] & 0x80, 0x80);
        assert_memory_equal(head + n - 4, RFC_MASK, 4);
    }
}

static void violations_are_refused(void **state)
{
    (void)state;
    static const struct {
        const char *why;
        uint8_t bytes[10];
        size_t len;
        int from_client;
        uint64_t limit;
        int code;
    } cases[] = {
        {"RSV1 without permessage-deflate", {0xc1, 0x00}, 2, 0, 100, HR_WS_CLOSE_PROTOCOL},
        {"reserved opcode 3", {0x83, 0x00}, 2, 0, 100, HR_WS_CLOSE_PROTOCOL},
        {"unmasked from a client", {0x81, 0x00}, 2, 1, 100, HR_WS_CLOSE_PROTOCOL},
        {"masked from a server", {0x81, 0x80}, 2, 0, 100, HR_WS_CLOSE_PROTOCOL},
        {"ping over 125 bytes", {0x89, 0x7e, 0x00, 0x7e}, 4, 0, 1000, HR_WS_CLOSE_PROTOCOL},
        {"fragmented close", {0x08, 0x00}, 2, 0, 100, HR_WS_CLOSE_PROTOCOL},
        {"64-bit length top bit", {0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0}, 10, 0, UINT64_MAX,
         HR_WS_CLOSE_PROTOCOL},
        {"256 over a limit of 255", {0x82, 0x7e, 0x01, 0x00}, 4, 0, 255, HR_WS_CLOSE_TOO_BIG},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hr_ws_head h;
        int code = 0;
        int rc = hr_ws_parse_head(cases[i].bytes, cases[i].len, cases[i].from_client,
                                  cases[i].limit, &h, &code);
        if (rc != -1 || code != cases[i].code)
            fail_msg("%s: rc %d code %d", cases[i].why, rc, code);
    }
    /* the limit is inclusive */
    static const uint8_t at_limit[] = {0x82, 0x7e, 0x01, 0x00};
    hr_ws_head h;
    int code = 0;
    assert_int_equal(hr_ws_parse_head(at_limit, 4, 0, 256, &h, &code), 4);
}

/* RFC 6455 1.3's handshake example, and FIPS 180's SHA-1 vectors. */
static void handshake_values(void **state)
{
    (void)state;
    char accept[HR_WS_ACCEPT_LEN + 1];
    hr_ws_accept("dGhlIHNhbXBsZSBub25jZQ==", accept);
    assert_string_equal(accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    assert_true(hr_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=="));
    assert_false(hr_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ"));   /* short */
    assert_false(hr_ws_key_valid("dGhlIHNhbXBsZSBub25j!Q==")); /* not base64 */
    assert_false(hr_ws_key_valid(NULL));

    uint8_t d[20];
    char hex[41];
    hr_sha1("abc", 3, d);
    hr_hex(d, 20, hex);
    assert_string_equal(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"; /* 56 bytes */
    hr_sha1(two, strlen(two), d);
    hr_hex(d, 20, hex);
    assert_string_equal(hex, "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
    hr_sha1("", 0, d);
    hr_hex(d, 20, hex);
    assert_string_equal(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

static void close_code_read(void **state)
{
    (void)state;
    static const uint8_t p[] = {0x03, 0xf1, 'b', 'i', 'g'}; /* 1009 */
    assert_int_equal(hr_ws_close_code(p, sizeof p), 1009);
    assert_int_equal(hr_ws_close_code(p, 1), 1005);
}

/* RFC 6455 5.5.1 / 7.4: what a close body may be (the relay refuses the rest with 1002). */
static void close_payload_rules(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[4];
        size_t len;
        int ok;
        const char *why;
    } cases[] = {
        {{0}, 0, 1, "empty"},
        {{0x03}, 1, 0, "one byte: a code cut in half"},
        {{0x03, 0xe8}, 2, 1, "1000"},
        {{0x03, 0xeb, 'o', 'k'}, 4, 1, "1003 with a reason"},
        {{0x03, 0xec}, 2, 0, "1004 reserved"},
        {{0x03, 0xed}, 2, 0, "1005: no code, never sent"},
        {{0x03, 0xee}, 2, 0, "1006: abnormal end, never sent"},
        {{0x03, 0xef}, 2, 1, "1007"},
        {{0x03, 0xf6}, 2, 1, "1014"},
        {{0x03, 0xf7}, 2, 0, "1015: TLS failure, never sent"},
        {{0x03, 0xe7}, 2, 0, "999"},
        {{0x0b, 0xb8}, 2, 1, "3000"},
        {{0x13, 0x87}, 2, 1, "4999"},
        {{0x13, 0x88}, 2, 0, "5000"},
        {{0xff, 0xff}, 2, 0, "65535"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (hr_ws_close_payload_valid(cases[i].b, cases[i].len) != cases[i].ok)
            fail_msg("%s: expected %d", cases[i].why, cases[i].ok);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc_unmasked_text),
        cmocka_unit_test(rfc_masked_text),
        cmocka_unit_test(rfc_fragments_and_control_frames),
        cmocka_unit_test(length_forms),
        cmocka_unit_test(violations_are_refused),
        cmocka_unit_test(handshake_values),
        cmocka_unit_test(close_code_read),
        cmocka_unit_test(close_payload_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
