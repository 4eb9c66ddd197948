/* assert.c: the failure path of HR_ASSERT and the lock-held probe; see assert.h. */
#include "sys/assert.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

_Noreturn void hr_assert_fail(const char *cond, const char *file, int line, const char *func)
{
    /* stderr directly, not the logger: the logger may be the code that broke. */
    fprintf(stderr, "headroom: assertion failed: %s (%s:%d, %s)\n", cond, file, line, func);
    fflush(stderr);
    abort();
}

int hr_mutex_held(pthread_mutex_t *mu)
{
    int rc = pthread_mutex_trylock(mu);
    if (rc == 0) {
        pthread_mutex_unlock(mu);
        return 0;
    }
    return rc == EBUSY;
}

int hr_rwlock_held(pthread_rwlock_t *rw)
{
    /* A write trylock fails while anyone holds it, reader or writer. */
    if (pthread_rwlock_trywrlock(rw) != 0)
        return 1;
    pthread_rwlock_unlock(rw);
    return 0;
}
