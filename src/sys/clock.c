/* clock.c: monotonic and wall clocks; see clock.h for which to use where. */
#include "sys/clock.h"

#include <time.h>

static struct timespec read_clock(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return ts;
}

double hr_now_ms(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

int64_t hr_now_ms64(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double hr_now_s(void)
{
    struct timespec ts = read_clock(CLOCK_MONOTONIC);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int64_t hr_wall_ms(void)
{
    struct timespec ts = read_clock(CLOCK_REALTIME);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
