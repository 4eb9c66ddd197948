/* assert.h: invariants stated in code (the way SQLite asserts).
 *
 * HR_ASSERT(cond) states something the code has proven: it is checked in debug and sanitizer
 * builds (where a violation aborts with file, line and the condition) and compiled out of
 * release builds, where cond is not evaluated, so it must have no side effects. It is not
 * for input validation: bad input gets an error return, never an assertion.
 *
 * HR_ASSERT_HELD(mutex) opens every *_locked function: the function's name says the caller
 * holds the lock, and this makes the claim run. pthread has no "held by me" query, so the
 * check is "held by someone" (a trylock that fails); it can miss a violation while another
 * thread holds the lock, never report a false one.
 */
#ifndef HR_SYS_ASSERT_H
#define HR_SYS_ASSERT_H

#include <pthread.h>

#if defined(HEADROOM_SANITIZE) || defined(HEADROOM_FUZZ) || !defined(NDEBUG)
#define HR_ASSERTS_ON 1
#else
#define HR_ASSERTS_ON 0
#endif

_Noreturn void hr_assert_fail(const char *cond, const char *file, int line, const char *func);

/* 1 if the mutex / rwlock is locked (by anyone, in any mode), 0 if it was free. Only for
 * assertions. */
int hr_mutex_held(pthread_mutex_t *mu);
int hr_rwlock_held(pthread_rwlock_t *rw);

#if HR_ASSERTS_ON
#define HR_ASSERT(cond) ((cond) ? (void)0 : hr_assert_fail(#cond, __FILE__, __LINE__, __func__))
#else
#define HR_ASSERT(cond) ((void)sizeof(!(cond))) /* type-checked, never evaluated */
#endif

#define HR_ASSERT_HELD(mu) HR_ASSERT(hr_mutex_held(mu))
#define HR_ASSERT_RW_HELD(rw) HR_ASSERT(hr_rwlock_held(rw))

#endif
