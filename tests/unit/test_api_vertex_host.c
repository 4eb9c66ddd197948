/* test_api_vertex_host.c: with no --vertex-api-url the Vertex upstream host comes from the
 * request path's locations/{l} (hr_api_vertex_base), so the path is attacker input that
 * becomes part of a host name. Whatever the path holds, the result is refused (-1) or an
 * https URL whose host is under googleapis.com with no user info, port, path or query:
 * the client picks a region, never a host. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "api/api.h"

#include <stdio.h>
#include <string.h>

static const char SUFFIX[] = ".googleapis.com";

/* 1 when url is https://<[a-z0-9.-]+>.googleapis.com exactly. */
static int google_host_only(const char *url)
{
    if (strncmp(url, "https://", 8) != 0)
        return 0;
    const char *h = url + 8;
    size_t n = strlen(h), s = sizeof SUFFIX - 1;
    if (n <= s || strcmp(h + n - s, SUFFIX) != 0)
        return 0;
    for (const char *p = h; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '.' || *p == '-'))
            return 0;
    return 1;
}

static void regions_map_to_google_endpoints(void **state)
{
    (void)state;
    static const struct {
        const char *loc, *want;
    } cases[] = {
        {"us-central1", "https://us-central1-aiplatform.googleapis.com"},
        {"europe-west4", "https://europe-west4-aiplatform.googleapis.com"},
        {"global", "https://aiplatform.googleapis.com"},
        {"us", "https://aiplatform.us.rep.googleapis.com"},
        {"eu", "https://aiplatform.eu.rep.googleapis.com"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], out[256];
        snprintf(path, sizeof path,
                 "/v1/projects/p1/locations/%s/publishers/google/models/m:generateContent",
                 cases[i].loc);
        assert_int_equal(hr_api_vertex_base(path, out, sizeof out), 0);
        assert_string_equal(out, cases[i].want);
    }
}

static void hostile_locations_never_name_another_host(void **state)
{
    (void)state;
    static const char *const hostile[] = {
        "evil.com", "127.0.0.1", "127.0.0.1:8080", "a@evil.com", "user:pass@evil.com",
        "evil.com#", "evil.com?x=", "us-central1.evil.com", "US-CENTRAL1", "us_central1",
        "%2e%2e", "..", "", "a b", "us-central1\\evil", "[::1]",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
    };
    for (size_t i = 0; i < sizeof hostile / sizeof hostile[0]; i++) {
        char path[512], out[256];
        snprintf(path, sizeof path, "/v1/projects/p1/locations/%s/publishers/google/models/m:x",
                 hostile[i]);
        int rc = hr_api_vertex_base(path, out, sizeof out);
        if (rc == 0 && !google_host_only(out))
            fail_msg("location '%s' gave %s", hostile[i], out);
        if (rc == 0 && strchr(hostile[i], '.'))
            fail_msg("location '%s' with a dot was accepted: %s", hostile[i], out);
    }
    /* the first locations/ segment decides, and a path without one has no endpoint */
    char out[256];
    assert_int_equal(hr_api_vertex_base("/v1/projects/p/locations/evil.com/x/locations/us/m", out,
                                        sizeof out), -1);
    assert_int_equal(hr_api_vertex_base("/v1/projects/p/publishers/google/models/m:x", out,
                                        sizeof out), -1);
    /* a buffer too small is refused, never a cut host name */
    char tiny[20];
    assert_int_equal(hr_api_vertex_base("/v1/projects/p/locations/us-central1/m", tiny,
                                        sizeof tiny), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(regions_map_to_google_endpoints),
        cmocka_unit_test(hostile_locations_never_name_another_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
