/*
 * deferred.c - deferred initialisation: giving a zone its RAM section by
 * section, as it needs it, instead of all at boot.
 *
 * With opts.deferred the frame table writes no descriptor at init.  Each
 * zone gets a first helping at boot (numem_heap_init); after that, a zone
 * the allocation walk finds short grows by one section (numem__grow_zone):
 * the section's descriptors are written, the section goes ONLINE (a
 * release store under the grow lock: lookups read the state byte
 * lock-free), and its RAM is freed into the zones it belongs to, one zone
 * lock at a time.  Growth
 * is serialised by the grow lock (lock order, heap.h: grow lock -> zone
 * lock); a 64 TiB machine then boots touching only a few sections per node.
 */
#include "heap_internal.h"

/* For the verifier: per zone, non-reserved and reserved RAM pages in
 * sections not yet initialised. */
static void count_uninit(struct numem_heap *h, numem_nid_t node, uint64_t s, uint64_t e, bool res,
                         void *arg)
{
	uint64_t **out = arg;
	uint32_t zi = numem__zone_index(h, numem__zone_of(h, node, s));
	out[res ? 1 : 0][zi] += e - s;
}

void numem__count_deferred(struct numem_heap *h, uint64_t *deferred, uint64_t *reserved)
{
	const struct numem_frametable *ft = h->ft;
	uint64_t *out[2] = {deferred, reserved};
	memset(deferred, 0, h->nr_zones * sizeof(*deferred));
	memset(reserved, 0, h->nr_zones * sizeof(*reserved));
	for (uint64_t s = 0; s < ft->nr_sections; s++)
		if ((numem_section_state(ft, s) & (NUMEM_SECTION_PRESENT | NUMEM_SECTION_ONLINE)) ==
		    NUMEM_SECTION_PRESENT) {
			uint64_t lo = s << ft->pfn_section_shift;
			numem__for_each_run(h, lo, lo + (1ull << ft->pfn_section_shift),
			                    count_uninit, out);
		}
}

/* Free [s, e) into its zone in maximal aligned blocks. */
static void free_run(struct numem_heap *h, numem_nid_t node, uint64_t s, uint64_t e, bool res,
                     void *arg)
{
	(void)arg;
	if (res)
		return;
	struct numem_zone *z = numem__zone_of(h, node, s);
	numem__lock(&z->lock);
	z->deferred_pages -= e - s;
	while (s < e) {
		unsigned order = s ? (unsigned)__builtin_ctzll(s) : NUMEM_MAX_ORDER;
		if (order > NUMEM_MAX_ORDER)
			order = NUMEM_MAX_ORDER;
		while (s + (1ull << order) > e)
			order--;
		numem__buddy_free(h, z, s, order);
		s += 1ull << order;
	}
	numem__unlock(&z->lock);
}

void numem__grow_section(struct numem_heap *h, uint64_t sec)
{
	struct numem_frametable *ft = h->ft;
	/* Called at init (one CPU) or with the grow lock held: only this CPU
	 * sets bits now, so a relaxed read of its own writes is enough. */
	if (numem_section_state(ft, sec) & NUMEM_SECTION_ONLINE)
		return;
	numem_frametable_init_section(ft, sec);
	/* Release: a lookup that sees ONLINE (acquire) sees the descriptors;
	 * so does a free that finds the section's base in the online map. */
	uint64_t first = sec << ft->pfn_section_shift;
	atomic_store_explicit(&h->online_map[sec],
	                      ((uintptr_t)numem_pfn_to_page(ft, numem_pfn(first)) -
	                       (uintptr_t)first * sizeof(struct numem_page)) |
	                          1,
	                      memory_order_release);
	numem_section_set(ft, sec, NUMEM_SECTION_ONLINE);
	numem__for_each_run(h, first, first + (1ull << ft->pfn_section_shift), free_run, 0);
}

/* Does section `sec` hold RAM of zone z? */
static bool section_has_zone(struct numem_heap *h, uint64_t sec, const struct numem_zone *z)
{
	const struct numem_topo *t = h->topo;
	uint64_t lo = sec << h->ft->pfn_section_shift, hi = lo + (1ull << h->ft->pfn_section_shift);
	lo = NUMEM_MAX(lo, z->start_pfn);
	hi = NUMEM_MIN(hi, z->end_pfn);
	for (uint32_t i = 0; i < t->nr_ranges && lo < hi; i++) {
		const struct numem_mem_range *r = &t->range[i];
		uint64_t s = NUMEM_MAX((r->base + NUMEM_PAGE_SIZE - 1) >> NUMEM_PAGE_SHIFT, lo);
		uint64_t e = NUMEM_MIN(r->end >> NUMEM_PAGE_SHIFT, hi);
		if ((r->flags & NUMEM_RANGE_RAM) && r->node == z->node && s < e)
			for (uint64_t p = s; p < e; p = numem__zone_boundary_after(h, r->node, p))
				if (numem__zone_type_of(h, r->node, p) == z->type)
					return true;
	}
	return false;
}

bool numem__grow_zone(struct numem_heap *h, struct numem_zone *z)
{
	if (!z->deferred_pages)
		return false;
	struct numem_frametable *ft = h->ft;
	bool grew = false;
	numem__lock(&h->grow_lock);
	uint64_t last = (z->end_pfn - 1) >> ft->pfn_section_shift;
	if (z->grow_cursor < (z->start_pfn >> ft->pfn_section_shift))
		z->grow_cursor = z->start_pfn >> ft->pfn_section_shift;
	for (; z->grow_cursor <= last && !grew; z->grow_cursor++) {
		uint64_t s = z->grow_cursor;
		if ((numem_section_state(ft, s) & (NUMEM_SECTION_PRESENT | NUMEM_SECTION_ONLINE)) !=
		        NUMEM_SECTION_PRESENT ||
		    !section_has_zone(h, s, z))
			continue;
		numem__grow_section(h, s);
		grew = true;
	}
	numem__unlock(&h->grow_lock);
	return grew;
}
