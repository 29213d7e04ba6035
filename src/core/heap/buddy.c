/*
 * buddy.c - buddy free areas: taking and splitting blocks, freeing and
 * merging them.  Every function here runs with the zone's lock held.
 *
 * Algorithm (Knowlton's buddy system, as in every kernel): a free block of
 * order k starts at a pfn aligned to 2^k; its buddy starts at pfn ^ 2^k.
 * Freeing merges with the buddy while the buddy is a free head of the same
 * order in the same zone (same node and zone type in its descriptor), so a
 * block never crosses a zone edge, a node edge, a section without RAM (no
 * descriptor) or a hole inside a section (HOLE descriptors are never free).
 * Taking a block of order k from a larger one of order j splits it j-k
 * times, putting the upper halves back on the lists.
 *
 * Cost: O(MAX_ORDER) per operation; no allocation, no indirect call.
 */
#include "heap_internal.h"

void numem__buddy_free(struct numem_heap *h, struct numem_zone *z, uint64_t pfn, unsigned order)
{
	const struct numem_frametable *ft = h->ft;
	const uint32_t zi = numem__zone_index(h, z);
	numem__lock_assert_held(h->plat, &z->lock);
	NUMEM_DEBUG_ASSERT(h->plat, order <= NUMEM_MAX_ORDER && !(pfn & ((1ull << order) - 1)),
	                   "pfn 0x%llx order %u: not an aligned block", (unsigned long long)pfn,
	                   order);
	struct numem_page *pg = numem_pfn_to_page(ft, numem_pfn(pfn));
	numem__zone_free_add(z, 1ull << order);
	while (order < NUMEM_MAX_ORDER) {
		uint64_t bpfn = pfn ^ (1ull << order);
		struct numem_page *b = numem_frametable_lookup(ft, numem_pfn(bpfn));
		if (!b || numem__pg_state(b) != NUMEM_PS_FREE || numem__pg_order(b) != order ||
		    numem__pg_zone_index(b) != zi)
			break;
		numem__list_del(&z->area[order].head, b);
		z->area[order].nr--;
		/* The higher of the two heads becomes a tail. */
		if (bpfn < pfn) {
			numem__pg_set_state(pg, NUMEM_PS_FREE_TAIL);
			pg = b;
			pfn = bpfn;
		} else {
			numem__pg_set_state(b, NUMEM_PS_FREE_TAIL);
		}
		order++;
	}
	numem__pg_set(pg, NUMEM_PS_FREE, order, z->type, z->node);
	numem__list_add(&z->area[order].head, pg);
	z->area[order].nr++;
}

void numem__buddy_free_range(struct numem_heap *h, struct numem_zone *z, uint64_t s, uint64_t e)
{
	while (s < e) {
		unsigned order = s ? (unsigned)__builtin_ctzll(s) : NUMEM_MAX_ORDER;
		if (order > NUMEM_MAX_ORDER)
			order = NUMEM_MAX_ORDER;
		while (s + (1ull << order) > e)
			order--;
		numem__buddy_free(h, z, s, order);
		s += 1ull << order;
	}
}

struct numem_page *numem__buddy_take(struct numem_heap *h, struct numem_zone *z, unsigned order,
                                     bool exact)
{
	unsigned top = exact ? order : NUMEM_MAX_ORDER;
	numem__lock_assert_held(h->plat, &z->lock);
	for (unsigned o = order; o <= top; o++) {
		struct numem_page *pg = z->area[o].head;
		if (!pg)
			continue;
		numem__list_del(&z->area[o].head, pg);
		z->area[o].nr--;
		if (o > order) {
			uint64_t pfn = numem_page_to_pfn(h->ft, pg).v;
			z->splits++;
			while (o > order) { /* put the upper halves back */
				o--;
				struct numem_page *half =
				    numem_pfn_to_page(h->ft, numem_pfn(pfn + (1ull << o)));
				numem__pg_set(half, NUMEM_PS_FREE, o, z->type, z->node);
				numem__list_add(&z->area[o].head, half);
				z->area[o].nr++;
			}
		}
		numem__zone_free_sub(z, 1ull << order);
		numem__pg_set(pg, NUMEM_PS_ALLOCATED, order, z->type, z->node);
		return pg;
	}
	return 0;
}
