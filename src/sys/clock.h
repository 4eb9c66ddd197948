/* clock.h: the one clock. Durations, deadlines and expiries in the process all read
 * CLOCK_MONOTONIC through here, so they agree with each other (a deadline computed in the
 * proxy is compared in the ML pool) and never jump with the wall clock. Wall time is only
 * for what outlives the process (stored timestamps, log lines).
 */
#ifndef HR_SYS_CLOCK_H
#define HR_SYS_CLOCK_H

#include <stdint.h>

/* Monotonic milliseconds with a fractional part: latencies, deadlines. */
double hr_now_ms(void);
/* Monotonic whole milliseconds (truncated): integer expiries and timers. */
int64_t hr_now_ms64(void);
/* Monotonic seconds with a fractional part. */
double hr_now_s(void);
/* Wall-clock (CLOCK_REALTIME) whole milliseconds since the epoch. */
int64_t hr_wall_ms(void);

#endif
