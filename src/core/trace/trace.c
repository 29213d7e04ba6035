/*
 * trace.c - per-CPU event rings (see numem/trace.h).
 */
#include <numem/heap.h>
#include <numem/trace.h>

#include "../heap/heap_internal.h"

static const char *const names[NUMEM_EV_COUNT] = {
    [NUMEM_EV_ALLOC] = "alloc",
    [NUMEM_EV_ALLOC_FAIL] = "alloc_fail",
    [NUMEM_EV_FALLBACK] = "fallback",
    [NUMEM_EV_FREE] = "free",
    [NUMEM_EV_PCP_REFILL] = "pcp_refill",
    [NUMEM_EV_PCP_DRAIN] = "pcp_drain",
    [NUMEM_EV_SHRINK] = "shrink",
    [NUMEM_EV_GROW] = "grow",
    [NUMEM_EV_LOST] = "lost",
};

const char *numem_trace_event_name(unsigned id)
{
	return id < NUMEM_EV_COUNT && names[id] ? names[id] : "unknown";
}

void numem__trace_emit(struct numem_cpu *cpu, unsigned event, uint64_t a, uint64_t b, uint64_t c)
{
	struct numem_trace_ring *r = cpu->trace;
	const struct numem_platform *plat = cpu->heap->plat;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_relaxed);
	struct numem_trace_event *e = &r->ev[head & r->mask];
	e->ts = plat->clock_ns ? plat->clock_ns(plat->ctx) : head;
	e->cpu = (uint16_t)cpu->id;
	e->event = (uint16_t)event;
	e->a = (uint32_t)a;
	e->a_hi = (uint32_t)(a >> 32);
	e->b = (uint32_t)b;
	e->c = c;
	atomic_store_explicit(&r->head, head + 1, memory_order_release);
}

uint32_t numem_trace_drain(struct numem_trace_ring *r, struct numem_trace_event *out, uint32_t max)
{
	if (!r)
		return 0;
	uint64_t head = atomic_load_explicit(&r->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&r->tail, memory_order_relaxed);
	uint64_t size = (uint64_t)r->mask + 1;
	if (head - tail > size) { /* overwritten */
		r->lost += head - tail - size;
		tail = head - size;
	}
	uint32_t n = 0;
	while (tail < head && n < max) {
		out[n++] = r->ev[tail & r->mask];
		tail++;
	}
	/* A record may have been overwritten while we copied it: drop what the
	 * writer has lapped since. */
	uint64_t now = atomic_load_explicit(&r->head, memory_order_acquire);
	if (now > size && now - size > tail - n) {
		uint32_t bad = (uint32_t)NUMEM_MIN((uint64_t)n, now - size - (tail - n));
		memmove(out, out + bad, (n - bad) * sizeof(*out));
		r->lost += bad;
		n -= bad;
	}
	atomic_store_explicit(&r->tail, tail, memory_order_relaxed);
	return n;
}
