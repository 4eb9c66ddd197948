/* budget.h: a process-wide byte budget with atomic reserve/release, and the per-request
 * lease that draws on it.
 *
 * Why: with a thread per connection, N clients each holding a request body, its decoded
 * form and an upstream answer multiply memory by N (64 concurrent zstd bombs once peaked at
 * 2.18 GB). Every buffer that holds client or upstream bytes in flight reserves its
 * capacity here *before* it grows; a reservation that would pass the limit is refused at
 * once and the request gets 503 (or, for optional work such as compression, the original
 * is forwarded), so the sum of those buffers never exceeds the limit whatever N is.
 *
 * Ownership: an hr_budget is a plain value (the proxy's lives for the process,
 * hr_budget_process). An hr_budget_lease belongs to one request (one thread at a time); it
 * remembers how much it holds so one hr_budget_lease_end gives everything back, whatever
 * path the request took.
 *
 * Built to grow into issue 12's --memory-budget-mb (RssAnon + ML scratch + request
 * buffers, with backpressure stages): that budget is this type with more reservers (the ML
 * session helper reserving its scratch, the housekeeping tick sampling RssAnon through
 * hr_budget_set_external) and stages read from hr_budget_pressure (e.g. above 70 % skip
 * ML compression, above 90 % refuse new bodies). Nothing here knows who reserves.
 */
#ifndef HR_SYS_BUDGET_H
#define HR_SYS_BUDGET_H

#include <stdatomic.h>
#include <stddef.h>

typedef struct hr_budget {
    size_t limit;           /* bytes; 0 = unlimited (reservations always succeed) */
    atomic_size_t used;     /* bytes reserved now */
    atomic_size_t external; /* bytes charged from outside (e.g. sampled RSS); see above */
    atomic_size_t peak;     /* highest used + external seen */
    atomic_ullong refused;  /* reservations refused */
} hr_budget;

void hr_budget_init(hr_budget *b, size_t limit);
/* Reserves n bytes: 0 ok, -1 when used + external + n would exceed the limit (nothing is
 * taken then). Lock-free; safe from any thread. */
int hr_budget_reserve(hr_budget *b, size_t n);
void hr_budget_release(hr_budget *b, size_t n);
size_t hr_budget_used(const hr_budget *b);
size_t hr_budget_peak(const hr_budget *b);
unsigned long long hr_budget_refused(const hr_budget *b);
/* Bytes owned elsewhere that count against the limit (replaces the previous value). */
void hr_budget_set_external(hr_budget *b, size_t n);
/* (used + external) / limit in per mille; 0 when unlimited. For staged backpressure. */
unsigned hr_budget_pressure(const hr_budget *b);

/* The proxy's budget for request bodies, decoded bodies and held upstream answers. */
hr_budget *hr_budget_process(void);

/* One request's share. held only grows through hr_budget_lease_cover and drops to zero at
 * hr_budget_lease_end. A NULL budget makes every call succeed (tools, tests). */
typedef struct hr_budget_lease {
    hr_budget *b;
    size_t held;
} hr_budget_lease;

#define HR_BUDGET_LEASE_INIT(budget) {(budget), 0}

/* Makes the lease hold at least total bytes (reserving the difference). 0 ok, -1 refused
 * (the lease keeps what it held). */
int hr_budget_lease_cover(hr_budget_lease *l, size_t total);
/* Adds n bytes to what the lease holds. 0 ok, -1 refused. */
int hr_budget_lease_add(hr_budget_lease *l, size_t n);
void hr_budget_lease_end(hr_budget_lease *l);

#endif
