/* sigv4.h: AWS Signature Version 4 (the "AWS4-HMAC-SHA256" Authorization header), for
 * re-signing Bedrock requests whose body the proxy compressed, and for checking a client's
 * signature before the proxy lends it its own credentials.
 *
 * Follows "Create a signed AWS API request" (AWS General Reference) exactly:
 *   canonical request = METHOD \n CanonicalURI \n CanonicalQuery \n CanonicalHeaders \n
 *                       SignedHeaders \n hex(SHA256(payload))
 *   - CanonicalURI: the path as sent on the wire, normalised (empty and "." segments
 *     dropped, ".." pops) and then URI-encoded once more, segment by segment (every
 *     service but S3 encodes twice: "%3A" in a model id becomes "%253A");
 *   - CanonicalQuery: each name and value percent-decoded, re-encoded with the strict
 *     RFC 3986 set (only A-Z a-z 0-9 - _ . ~ stay), sorted by name then value;
 *   - CanonicalHeaders: lowercase names, values trimmed with inner whitespace runs
 *     collapsed to one space, repeated names joined with ',', sorted by name;
 *   - string to sign = "AWS4-HMAC-SHA256" \n amz-date \n scope \n hex(SHA256(canonical));
 *   - signing key = HMAC chain "AWS4"+secret -> date -> region -> service -> "aws4_request".
 * The caller decides which headers are signed by what it passes in: every header given is
 * signed (host and x-amz-date must be among them).
 *
 * Ownership: plain functions over caller-owned buffers; secrets are only read, never
 * copied anywhere but the stack, and never logged.
 */
#ifndef HR_HTTP_SIGV4_H
#define HR_HTTP_SIGV4_H

#include "sys/buf.h"

#include <stddef.h>
#include <time.h>

typedef struct hr_sigv4_input {
    const char *method;                 /* "POST" */
    const char *path;                   /* as on the wire (percent-encoded), no query */
    const char *query;                  /* raw query without '?'; "" or NULL for none */
    const char *const *headers;         /* n_headers name/value pairs, all of them signed */
    size_t n_headers;
    const char *payload_hash;           /* 64 lowercase hex: SHA-256 of the body */
    const char *amz_date;               /* "YYYYMMDDTHHMMSSZ" (the x-amz-date value) */
    const char *region;                 /* "us-east-1" */
    const char *service;                /* "bedrock" */
    const char *access_key_id;
    const char *secret_access_key;
} hr_sigv4_input;

#define HR_SIGV4_AMZ_DATE_LEN 16

/* "YYYYMMDDTHHMMSSZ" for t in UTC; out has room for 17 bytes. */
void hr_sigv4_amz_date(time_t t, char out[HR_SIGV4_AMZ_DATE_LEN + 1]);
/* hex(SHA-256(data)) into out (65 bytes). */
void hr_sigv4_payload_hash(const void *data, size_t len, char out[65]);

/* Appends the canonical request to out. 0 ok, -1 invalid input (a header name with
 * characters outside RFC 7230 tokens, a malformed percent escape) or out of memory. */
int hr_sigv4_canonical_request(const hr_sigv4_input *in, hr_buf *out);
/* Appends the string to sign. */
int hr_sigv4_string_to_sign(const hr_sigv4_input *in, hr_buf *out);
/* Appends the whole Authorization header value:
 *   AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request,
 *   SignedHeaders=a;b;c, Signature=<64 hex> */
int hr_sigv4_authorization(const hr_sigv4_input *in, hr_buf *out);

/* The parts of a client's Authorization header. Borrowed spans of the header value. */
typedef struct hr_sigv4_parsed {
    const char *access_key_id; size_t access_key_id_len;
    const char *date; size_t date_len;        /* "YYYYMMDD" */
    const char *region; size_t region_len;
    const char *service; size_t service_len;
    const char *signed_headers; size_t signed_headers_len; /* "a;b;c" */
    const char *signature; size_t signature_len;           /* 64 hex */
} hr_sigv4_parsed;

/* 0 when value is a well-formed AWS4-HMAC-SHA256 Authorization header, -1 otherwise. */
int hr_sigv4_parse_authorization(const char *value, hr_sigv4_parsed *out);

/* 1 when the two strings are equal, in time that does not depend on where they differ
 * (signature comparison). */
int hr_sigv4_equal(const char *a, size_t a_len, const char *b, size_t b_len);

#endif
