/*
 * pcp.c - per-CPU page caches: refilling one from the buddy lists and
 * draining them back.
 *
 * A CPU's cache (struct numem_pcp, per zone, orders 0..NUMEM_PCP_MAX_ORDER
 * and NUMEM_PCP_THP_ORDER) is touched by its owner alone; refill and drain
 * move a batch of pcp_batch pages (scaled by order: one block of the THP
 * order) under the zone's lock, so the lock is taken once per batch
 * instead of once per page.  Cached blocks have state PCP in their head
 * descriptor: they are free, never merged, and counted as cached by the
 * verifier.
 *
 * The THP list (Linux keeps per-CPU lists for pageblock_order too,
 * pcp_allowed_order()): at most NUMEM_PCP_THP_HIGH blocks per zone; a free
 * above that drains one, a free while the zone is below its low mark
 * drains the list (the block too: free.c), and a pop passes the zone's
 * watermark first (numem__watermark_ok_unlocked).  Its count is outside
 * `pages`, so a cached 2 MiB block never trips the small orders' high mark.
 */
#include "relayout_internal.h"

#include <numem/trace.h>

/* Refill a per-CPU list from the buddy lists: up to `batch` blocks while the
 * zone stays above `mark`.  Returns blocks added. */
uint32_t numem__pcp_refill(struct numem_cpu *cpu, struct numem_zone *z, uint32_t zi, unsigned order,
                           uint64_t mark, bool exact)
{
	struct numem_heap *h = cpu->heap;
	struct numem_pcp *pcp = &cpu->pcp[zi];
	unsigned li = numem__pcp_list(order);
	uint32_t want = li == NUMEM_PCP_THP_LIST ? 1u : NUMEM_MAX(1u, h->pcp_batch >> order);
	uint32_t got = 0;
	numem__lock(&z->lock);
	while (got < want && numem__watermark_ok(z, order, mark)) {
		struct numem_page *pg = numem__buddy_take(h, z, order, exact);
		if (!pg)
			break;
		numem__pg_set_state_owner(pg, NUMEM_PS_PCP, 0);
		pg->next = pcp->list[li];
		pcp->list[li] = pg;
		got++;
	}
	numem__unlock(&z->lock);
	numem__pcp_account(pcp, li, (int32_t)got);
	if (got)
		numem__trace(cpu, NUMEM_EV_PCP_REFILL, zi, order, got);
	return got;
}

/* Up to `count` blocks of the list into the buddy lists (zone lock held).
 * With `check` (a zone a relayout took pages from), blocks of moved ranges
 * go on *moved instead; inlined twice so the unmarked loop has no test. */
static inline __attribute__((always_inline)) uint32_t
drain_locked(struct numem_heap *h, struct numem_zone *z, struct numem_pcp *pcp, unsigned order,
             uint32_t count, bool check, struct numem_page **moved)
{
	uint32_t done = 0;
	unsigned li = numem__pcp_list(order);
	while (done < count && pcp->list[li]) {
		struct numem_page *pg = pcp->list[li];
		uint64_t pfn = numem_page_to_pfn(h->ft, pg).v;
		pcp->list[li] = pg->next;
		pg->next = 0;
		done++;
		if (check && numem__relayout_check(h, z->node, pfn, order)) {
			pg->next = *moved;
			*moved = pg;
			continue;
		}
		numem__buddy_free(h, z, pfn, order);
	}
	return done;
}

void numem__pcp_drain(struct numem_cpu *cpu, uint32_t zi, unsigned order, uint32_t count)
{
	struct numem_heap *h = cpu->heap;
	struct numem_pcp *pcp = &cpu->pcp[zi];
	struct numem_zone *z = &h->zone[zi];
	uint32_t done;
	struct numem_page *moved = 0; /* blocks whose range a relayout moved */
	numem__lock(&z->lock);
	if (__builtin_expect(numem__relayout_zone_marked(h, zi),
	                     0)) /* under the lock: relayout.c */
		done = drain_locked(h, z, pcp, order, count, true, &moved);
	else
		done = drain_locked(h, z, pcp, order, count, false, &moved);
	numem__unlock(&z->lock);
	while (__builtin_expect(moved != 0, 0)) {
		struct numem_page *pg = moved;
		moved = pg->next;
		pg->next = 0;
		numem__relayout_divert(h, zi, numem_page_to_pfn(h->ft, pg).v, order);
	}
	numem__pcp_account(pcp, numem__pcp_list(order), -(int32_t)done);
	if (done)
		numem__trace(cpu, NUMEM_EV_PCP_DRAIN, zi, order, done);
}

void numem_heap_drain_cpu(struct numem_cpu *cpu)
{
	struct numem_heap *h = cpu->heap;
	for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
		if (!cpu->pcp[zi].pages && !cpu->pcp[zi].count[NUMEM_PCP_THP_LIST])
			continue;
		for (unsigned li = 0; li < NUMEM_PCP_NR_LISTS; li++)
			if (cpu->pcp[zi].count[li])
				numem__pcp_drain(cpu, zi, numem__pcp_list_order(li),
				                 cpu->pcp[zi].count[li]);
	}
}

void numem_heap_drain_all(struct numem_heap *h)
{
	for (uint32_t c = 0; c < h->nr_cpus; c++)
		numem_heap_drain_cpu(&h->cpu[c]);
}
