/* Unit tests for src/http/sigv4.c against AWS's own signer: every expected Authorization
 * header in sigv4_vectors.h was computed by @smithy/signature-v4 (tests/node/
 * sigv4_vectors.mjs), the first ones on AWS's published test-suite requests (get-vanilla's
 * signature 5fa00fa3... is the one the AWS documentation prints). Also the reading of a
 * client's Authorization header and HMAC-SHA256 against RFC 4231. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/sigv4.h"
#include "sys/hash.h"
#include "unit/sigv4_vectors.h"

#include <string.h>

static void input_from_vector(const sigv4_vector *v, hr_sigv4_input *in, char hash[65])
{
    size_t n = 0;
    while (v->headers[2 * n])
        n++;
    hr_sigv4_payload_hash(v->body, strlen(v->body), hash);
    *in = (hr_sigv4_input){v->method, v->path, v->query, v->headers, n, hash, v->amz_date,
                           v->region, v->service, v->access_key_id, v->secret};
}

static void test_vectors_match_aws_signer(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SIGV4_VECTORS / sizeof SIGV4_VECTORS[0]; i++) {
        const sigv4_vector *v = &SIGV4_VECTORS[i];
        hr_sigv4_input in;
        char hash[65];
        input_from_vector(v, &in, hash);
        hr_buf auth = HR_BUF_INIT;
        assert_int_equal(hr_sigv4_authorization(&in, &auth), 0);
        if (strcmp(auth.data, v->authorization) != 0)
            fail_msg("%s:\n  got  %s\n  want %s", v->name, auth.data, v->authorization);
        hr_buf_free(&auth);
    }
}

/* The canonical request of get-vanilla-query-order-key-case as the AWS test suite prints
 * it (the .creq file), so a wrong step shows where it went wrong. */
static void test_canonical_request_of_suite(void **state)
{
    (void)state;
    const char *headers[] = {"Host", "example.amazonaws.com", "X-Amz-Date", "20150830T123600Z"};
    char hash[65];
    hr_sigv4_payload_hash("", 0, hash);
    hr_sigv4_input in = {"GET", "/", "Param2=value2&Param1=value1", headers, 2, hash,
                         "20150830T123600Z", "us-east-1", "service", "AKIDEXAMPLE",
                         "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"};
    hr_buf c = HR_BUF_INIT;
    assert_int_equal(hr_sigv4_canonical_request(&in, &c), 0);
    assert_string_equal(c.data, "GET\n/\nParam1=value1&Param2=value2\n"
                                "host:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
                                "host;x-amz-date\n"
                                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    hr_buf_free(&c);
}

static void test_model_id_is_encoded_twice(void **state)
{
    (void)state;
    const char *headers[] = {"host", "h", "x-amz-date", "20260101T000000Z"};
    hr_sigv4_input in = {"POST", "/model/a.b-v1%3A0/invoke", "", headers, 2, "00", "20260101T000000Z",
                         "us-east-1", "bedrock", "AK", "SK"};
    hr_buf c = HR_BUF_INIT;
    assert_int_equal(hr_sigv4_canonical_request(&in, &c), 0);
    assert_non_null(strstr(c.data, "\n/model/a.b-v1%253A0/invoke\n"));
    hr_buf_free(&c);
}

static void test_bad_input_refused(void **state)
{
    (void)state;
    const char *bad_name[] = {"bad name", "v", "x-amz-date", "20260101T000000Z"};
    hr_sigv4_input in = {"GET", "/", "", bad_name, 2, "00", "20260101T000000Z", "r", "s", "a", "b"};
    hr_buf c = HR_BUF_INIT;
    assert_int_equal(hr_sigv4_canonical_request(&in, &c), -1);
    const char *ok[] = {"host", "h"};
    in.headers = ok;
    in.n_headers = 1;
    in.query = "a=%zz";
    hr_buf_reset(&c);
    assert_int_equal(hr_sigv4_canonical_request(&in, &c), -1);
    in.query = "a=%4";
    hr_buf_reset(&c);
    assert_int_equal(hr_sigv4_canonical_request(&in, &c), -1);
    in.query = "";
    in.amz_date = "2026";
    hr_buf_reset(&c);
    assert_int_equal(hr_sigv4_authorization(&in, &c), -1);
    hr_buf_free(&c);
}

static void test_parse_authorization(void **state)
{
    (void)state;
    const sigv4_vector *v = &SIGV4_VECTORS[sizeof SIGV4_VECTORS / sizeof SIGV4_VECTORS[0] - 2];
    hr_sigv4_parsed p;
    assert_int_equal(hr_sigv4_parse_authorization(v->authorization, &p), 0);
    assert_int_equal(p.access_key_id_len, strlen(v->access_key_id));
    assert_memory_equal(p.access_key_id, v->access_key_id, p.access_key_id_len);
    assert_memory_equal(p.region, "us-west-2", p.region_len);
    assert_memory_equal(p.service, "bedrock", p.service_len);
    assert_memory_equal(p.date, "20260102", 8);
    assert_int_equal(p.signature_len, 64);
    assert_memory_equal(p.signed_headers, "accept;content-type;host;", 24);
    const char *bad[] = {
        NULL, "", "Bearer x",
        "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/bedrock, SignedHeaders=host, "
        "Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/bedrock/aws4_request, SignedHeaders=host, "
        "Signature=00",
        "AWS4-HMAC-SHA256 Credential=AK/20260101/us-east-1/bedrock/aws4_request, "
        "Signature=0000000000000000000000000000000000000000000000000000000000000000",
        "AWS4-HMAC-SHA256 Credential=AK//us-east-1/bedrock/aws4_request, SignedHeaders=host, "
        "Signature=0000000000000000000000000000000000000000000000000000000000000000",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(hr_sigv4_parse_authorization(bad[i], &p), -1);
}

static void test_equal(void **state)
{
    (void)state;
    assert_true(hr_sigv4_equal("abc", 3, "abc", 3));
    assert_false(hr_sigv4_equal("abc", 3, "abd", 3));
    assert_false(hr_sigv4_equal("abc", 3, "ab", 2));
}

/* RFC 4231 test cases 1 and 6 (a key longer than the block is hashed first). */
static void test_hmac_rfc4231(void **state)
{
    (void)state;
    uint8_t key[131], out[32];
    char hex[65];
    memset(key, 0x0b, 20);
    hr_hmac_sha256(key, 20, "Hi There", 8, out);
    hr_hex(out, 32, hex);
    assert_string_equal(hex, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
    memset(key, 0xaa, sizeof key);
    const char *msg = "Test Using Larger Than Block-Size Key - Hash Key First";
    hr_hmac_sha256(key, sizeof key, msg, strlen(msg), out);
    hr_hex(out, 32, hex);
    assert_string_equal(hex, "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

static void test_amz_date(void **state)
{
    (void)state;
    char d[HR_SIGV4_AMZ_DATE_LEN + 1];
    hr_sigv4_amz_date(1440938160, d); /* 2015-08-30 12:36:00 UTC, the suite's date */
    assert_string_equal(d, "20150830T123600Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_match_aws_signer),
        cmocka_unit_test(test_canonical_request_of_suite),
        cmocka_unit_test(test_model_id_is_encoded_twice),
        cmocka_unit_test(test_bad_input_refused),
        cmocka_unit_test(test_parse_authorization),
        cmocka_unit_test(test_equal),
        cmocka_unit_test(test_hmac_rfc4231),
        cmocka_unit_test(test_amz_date),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
