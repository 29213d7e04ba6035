/*
 * numem/trace.h - per-CPU trace rings of fixed-size event records.
 *
 * Each CPU handle owns a ring of 2^k 32-byte records.  Only the owning CPU
 * writes (no lock, no shared cache line); any thread may drain it
 * concurrently (single producer, single consumer: the write cursor is
 * published with release order).  When the ring is full the oldest records
 * are overwritten and counted as lost.  With tracing off, an event costs a
 * load and a predicted branch.
 */
#ifndef NUMEM_TRACE_H
#define NUMEM_TRACE_H

#include <numem/types.h>
#include <stdatomic.h>

enum numem_trace_event_id {
	NUMEM_EV_ALLOC = 1,      /* a = pfn, b = order, c = node | intended << 16 */
	NUMEM_EV_ALLOC_FAIL = 2, /* a = order, b = flags, c = intended node */
	NUMEM_EV_FALLBACK = 3,   /* a = zone index, b = node, c = step */
	NUMEM_EV_FREE = 4,       /* a = pfn, b = order, c = node */
	NUMEM_EV_PCP_REFILL = 5, /* a = zone index, b = order, c = blocks */
	NUMEM_EV_PCP_DRAIN = 6,  /* a = zone index, b = order, c = blocks */
	NUMEM_EV_SHRINK = 7,     /* a = node, b = pages asked, c = pages freed */
	NUMEM_EV_GROW = 8,       /* a = section, b = pages freed */
	NUMEM_EV_LOST = 9,       /* a = records this cpu's ring overwrote (written by
	                          * the drainer, not the heap) */
	NUMEM_EV_COUNT
};

struct numem_trace_event {
	uint64_t ts; /* platform clock, ns */
	uint16_t cpu;
	uint16_t event; /* enum numem_trace_event_id */
	uint32_t a_hi;  /* high bits of a (a pfn needs more than 32) */
	uint32_t a;     /* see the event list */
	uint32_t b;
	uint64_t c;
};

struct numem_trace_ring {
	uint32_t mask;         /* entries - 1 */
	_Atomic uint64_t head; /* records written */
	_Atomic uint64_t tail; /* records read */
	uint64_t lost;         /* overwritten before read */
	struct numem_trace_event ev[];
};

const char *numem_trace_event_name(unsigned id);

/* Copy up to `max` records out of a ring, oldest first.  Returns the count. */
uint32_t numem_trace_drain(struct numem_trace_ring *ring, struct numem_trace_event *out,
                           uint32_t max);

#endif
