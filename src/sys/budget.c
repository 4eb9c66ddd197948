/* budget.c: see budget.h. A compare-and-swap loop on used, so two threads can never both
 * take the last bytes below the limit. */
#include "sys/budget.h"

void hr_budget_init(hr_budget *b, size_t limit)
{
    b->limit = limit;
    atomic_init(&b->used, 0);
    atomic_init(&b->external, 0);
    atomic_init(&b->peak, 0);
    atomic_init(&b->refused, 0);
}

static void note_peak(hr_budget *b, size_t now)
{
    size_t p = atomic_load(&b->peak);
    while (now > p && !atomic_compare_exchange_weak(&b->peak, &p, now))
        ;
}

int hr_budget_reserve(hr_budget *b, size_t n)
{
    size_t ext = atomic_load(&b->external);
    size_t cur = atomic_load(&b->used);
    for (;;) {
        size_t next = cur + n;
        if (next < cur || (b->limit && (next > b->limit || ext > b->limit - next))) {
            atomic_fetch_add(&b->refused, 1);
            return -1;
        }
        if (atomic_compare_exchange_weak(&b->used, &cur, next)) {
            note_peak(b, next + ext);
            return 0;
        }
    }
}

void hr_budget_release(hr_budget *b, size_t n) { atomic_fetch_sub(&b->used, n); }
size_t hr_budget_used(const hr_budget *b) { return atomic_load(&((hr_budget *)b)->used); }
size_t hr_budget_peak(const hr_budget *b) { return atomic_load(&((hr_budget *)b)->peak); }

unsigned long long hr_budget_refused(const hr_budget *b)
{
    return atomic_load(&((hr_budget *)b)->refused);
}

void hr_budget_set_external(hr_budget *b, size_t n) { atomic_store(&b->external, n); }

unsigned hr_budget_pressure(const hr_budget *b)
{
    if (!b->limit)
        return 0;
    double total = (double)hr_budget_used(b) + (double)atomic_load(&((hr_budget *)b)->external);
    return (unsigned)(total * 1000.0 / (double)b->limit);
}

hr_budget *hr_budget_process(void)
{
    static hr_budget process; /* zero = unlimited until the proxy sets its limit */
    return &process;
}

int hr_budget_lease_cover(hr_budget_lease *l, size_t total)
{
    if (total <= l->held)
        return 0;
    return hr_budget_lease_add(l, total - l->held);
}

int hr_budget_lease_add(hr_budget_lease *l, size_t n)
{
    if (l->b && hr_budget_reserve(l->b, n) != 0)
        return -1;
    l->held += n;
    return 0;
}

void hr_budget_lease_end(hr_budget_lease *l)
{
    if (l->b && l->held)
        hr_budget_release(l->b, l->held);
    l->held = 0;
}
