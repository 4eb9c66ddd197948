/* ci_deps.h: what a unit test does when something it needs is not on the machine.
 *
 * On a developer machine a missing dependency (redis-server) skips the case. Under CI
 * (CI=true) it fails: CI installs everything through `scripts/setup.sh --test`, so a skip
 * there means the claim went unchecked while ctest still said "Passed". Include after
 * <cmocka.h>. */
#ifndef HR_TESTS_CI_DEPS_H
#define HR_TESTS_CI_DEPS_H

#include <stdlib.h>
#include <string.h>

/* True under CI=true, where a skip for a missing dependency is a failure. */
static inline int hr_ci_strict(void)
{
    const char *ci = getenv("CI");
    return ci && strcmp(ci, "true") == 0;
}

/* Skips the running case, or fails it under CI; `why` names what is missing. */
#define HR_SKIP_OR_FAIL(why)                                                                   \
    do {                                                                                       \
        if (hr_ci_strict())                                                                    \
            fail_msg("%s under CI=true (scripts/setup.sh --test installs it)", (why));         \
        skip();                                                                                \
    } while (0)

#endif
