/* vec.c: growth for HR_VEC_RESERVE; see vec.h. */
#include "sys/vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int hr_vec_grow(void *pptr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t ncap = *cap ? *cap : 8;
    while (ncap < need)
        ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
    if (elem && ncap > SIZE_MAX / elem)
        return -1;
    /* The pointer is copied in and out as bytes: pptr is the address of some T *, and every
     * object pointer has void *'s representation on the platforms we build for. */
    void *old;
    memcpy(&old, pptr, sizeof old);
    void *grown = realloc(old, ncap * elem);
    if (!grown)
        return -1;
    memcpy(pptr, &grown, sizeof grown);
    *cap = ncap;
    return 0;
}
