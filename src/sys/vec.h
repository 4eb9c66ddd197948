/* vec.h: the growable array. Every subsystem keeps arrays as (pointer, count, capacity)
 * in its own struct; HR_VEC_RESERVE makes room for `need` elements in one call instead of
 * a hand-written doubling realloc per file.
 *
 * Ownership stays with the caller's struct (free(ptr) releases it). On failure the array is
 * unchanged (the old pointer and capacity still valid), so callers can fail open. Growth
 * doubles from a minimum of 8, with overflow of the byte size refused.
 */
#ifndef HR_SYS_VEC_H
#define HR_SYS_VEC_H

#include <stddef.h>

/* ptr: an lvalue T *; cap: an lvalue size_t (elements). 0 ok, -1 no memory / overflow. */
#define HR_VEC_RESERVE(ptr, cap, need)                                                    \
    ((size_t)(need) <= (cap) ? 0 : hr_vec_grow((void *)&(ptr), &(cap), (need), sizeof *(ptr)))

/* The out-of-line half of HR_VEC_RESERVE: *pptr (a T * passed as void *) grows to at least
 * need elements of elem bytes. */
int hr_vec_grow(void *pptr, size_t *cap, size_t need, size_t elem);

#endif
