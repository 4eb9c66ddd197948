/* /debug/ routes answer loopback clients only: the address check the core applies. Tests
 * never send traffic to a non-loopback address, so the rule is checked here on addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "http/server.h"

static void loopback_addresses_are_recognised(void **state)
{
    (void)state;
    const char *yes[] = {"127.0.0.1", "127.0.0.2", "127.255.255.254", "::1",
                         "::ffff:127.0.0.1", "0:0:0:0:0:0:0:1"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        assert_true(hr_http_addr_is_loopback(yes[i]));
}

static void other_addresses_are_not(void **state)
{
    (void)state;
    const char *no[] = {"10.0.0.1", "192.168.1.7", "172.17.0.1", "128.0.0.1", "8.8.8.8",
                        "::2", "fe80::1", "::ffff:10.0.0.1", "0.0.0.0", "::", "", "localhost",
                        "127.0.0.1.evil", "not an address"};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        assert_false(hr_http_addr_is_loopback(no[i]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loopback_addresses_are_recognised),
        cmocka_unit_test(other_addresses_are_not),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
