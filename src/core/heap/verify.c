/*
 * verify.c - numem_heap_verify(): the heap's invariants, walked in full.
 *
 * For every zone:
 *   - each free list holds heads of the list's order, in this zone, aligned,
 *     inside the zone's span, with consistent links, as many as counted, and
 *     no head whose buddy is a free head of the same order (unmerged);
 *   - the free lists add up to free_pages;
 * for every CPU cache: its lists hold cached heads of their order and zone,
 * as many as counted;
 * for every initialised section, walking block by block: every pfn reached
 * is a head (free, cached or allocated), reserved, or a hole, and every pfn
 * inside a block is a tail (no block nested in another: each frame belongs
 * to one block, so to one owner);
 * the blocks a relayout commit has taken off their lists and not yet cut
 * (its transit list: cached heads inside their zone);
 * and per zone: free + cached + allocated + reserved + deferred + in
 * transit = present.
 * The first violation is returned with the function, pfn, expected and
 * found values.  The heap must be quiescent; all zone locks are taken (in
 * zone-index order) so a stray concurrent user cannot corrupt the walk.
 */
#include "relayout_internal.h"

struct zone_count {
	uint64_t free, cached, allocated, reserved, deferred;
};

#define FAIL(...) numem__fail(diag, NUMEM_E_CORRUPT, 0, 0, __VA_ARGS__)

static enum numem_err check_lists(struct numem_heap *h, uint32_t zi, struct numem_diag *diag)
{
	struct numem_zone *z = &h->zone[zi];
	uint64_t pages = 0;
	for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++) {
		uint64_t n = 0;
		struct numem_page *prev = 0;
		for (struct numem_page *pg = z->area[o].head; pg; prev = pg, pg = pg->next) {
			uint64_t pfn = numem_page_to_pfn(h->ft, pg).v;
			if (++n > z->present_pages)
				return FAIL("heap_verify: zone %u order %u list does not end "
				            "(cycle at pfn 0x%llx)",
				            zi, o, (unsigned long long)pfn);
			if (pg->prev != prev)
				return FAIL("heap_verify: pfn 0x%llx: prev link broken on zone %u "
				            "order %u list",
				            (unsigned long long)pfn, zi, o);
			if (numem__pg_state(pg) != NUMEM_PS_FREE || numem__pg_order(pg) != o ||
			    numem__pg_zone_index(pg) != zi)
				return FAIL("heap_verify: pfn 0x%llx on zone %u order %u list: "
				            "expected a free head of order %u in zone %u, found "
				            "state %u order %u zone %u",
				            (unsigned long long)pfn, zi, o, o, zi,
				            numem__pg_state(pg), numem__pg_order(pg),
				            numem__pg_zone_index(pg));
			if ((pfn & ((1ull << o) - 1)) || pfn < z->start_pfn ||
			    pfn + (1ull << o) > z->end_pfn)
				return FAIL(
				    "heap_verify: pfn 0x%llx order %u: misaligned or outside "
				    "zone %u [0x%llx, 0x%llx)",
				    (unsigned long long)pfn, o, zi,
				    (unsigned long long)z->start_pfn,
				    (unsigned long long)z->end_pfn);
			if (o < NUMEM_MAX_ORDER) {
				struct numem_page *b =
				    numem_frametable_lookup(h->ft, numem_pfn(pfn ^ (1ull << o)));
				if (b && numem__pg_state(b) == NUMEM_PS_FREE &&
				    numem__pg_order(b) == o && numem__pg_zone_index(b) == zi)
					return FAIL(
					    "heap_verify: free buddies 0x%llx and 0x%llx of "
					    "order %u left unmerged",
					    (unsigned long long)pfn,
					    (unsigned long long)(pfn ^ (1ull << o)), o);
			}
		}
		if (n != z->area[o].nr)
			return FAIL("heap_verify: zone %u order %u: expected %llu blocks on the "
			            "list, found %llu",
			            zi, o, (unsigned long long)z->area[o].nr,
			            (unsigned long long)n);
		pages += n << o;
	}
	if (pages != z->free_pages)
		return FAIL("heap_verify: zone %u: free lists hold %llu pages, free_pages says "
		            "%llu",
		            zi, (unsigned long long)pages, (unsigned long long)z->free_pages);
	return NUMEM_OK;
}

static enum numem_err check_pcp(struct numem_heap *h, struct zone_count *cnt,
                                struct numem_diag *diag)
{
	for (uint32_t c = 0; c < h->nr_cpus; c++)
		for (uint32_t zi = 0; zi < h->nr_zones; zi++) {
			struct numem_pcp *pcp = &h->cpu[c].pcp[zi];
			uint64_t pages = 0;
			for (unsigned li = 0; li < NUMEM_PCP_NR_LISTS; li++) {
				unsigned o = numem__pcp_list_order(li);
				uint32_t n = 0;
				for (struct numem_page *pg = pcp->list[li]; pg; pg = pg->next) {
					uint64_t pfn = numem_page_to_pfn(h->ft, pg).v;
					if (++n > h->zone[zi].present_pages ||
					    numem__pg_state(pg) != NUMEM_PS_PCP ||
					    numem__pg_order(pg) != o ||
					    numem__pg_zone_index(pg) != zi)
						return FAIL("heap_verify: cpu %u cache of zone %u "
						            "order %u: pfn 0x%llx is not a cached "
						            "head of that order and zone",
						            c, zi, o, (unsigned long long)pfn);
				}
				if (n != pcp->count[li])
					return FAIL("heap_verify: cpu %u cache of zone %u order "
					            "%u: expected %u blocks, found %u",
					            c, zi, o, pcp->count[li], n);
				if (li == NUMEM_PCP_THP_LIST && n > NUMEM_PCP_THP_HIGH)
					return FAIL("heap_verify: cpu %u cache of zone %u order "
					            "%u: %u blocks, above its high mark %u",
					            c, zi, o, n, NUMEM_PCP_THP_HIGH);
				if (li < NUMEM_PCP_THP_LIST)
					pages += (uint64_t)n << o;
			}
			/* `pages` counts the small orders' lists (heap.h). */
			if (pages != pcp->pages)
				return FAIL("heap_verify: cpu %u cache of zone %u: expected %u "
				            "pages in orders 0..%u, found %llu",
				            c, zi, pcp->pages, NUMEM_PCP_MAX_ORDER,
				            (unsigned long long)pages);
			cnt[zi].cached += numem_pcp_cached_pages(pcp);
		}
	return NUMEM_OK;
}

/* Walk the initialised sections block by block. */
static enum numem_err walk_pfns(struct numem_heap *h, struct zone_count *cnt,
                                struct numem_diag *diag)
{
	const struct numem_frametable *ft = h->ft;
	for (uint64_t s = 0; s < ft->nr_sections; s++) {
		if (!(numem_section_state(ft, s) & NUMEM_SECTION_ONLINE))
			continue;
		uint64_t pfn = s << ft->pfn_section_shift;
		uint64_t end = NUMEM_MIN(pfn + (1ull << ft->pfn_section_shift), ft->max_pfn);
		while (pfn < end) {
			struct numem_page *pg = numem_pfn_to_page(ft, numem_pfn(pfn));
			enum numem_page_state st = numem__pg_state(pg);
			unsigned o = numem__pg_order(pg);
			switch (st) {
			case NUMEM_PS_HOLE:
				pfn++;
				continue;
			case NUMEM_PS_RESERVED: {
				numem_nid_t n = numem_page_node(pg);
				cnt[n * NUMEM_NR_ZONE_TYPES + numem__zone_type_of(h, n, pfn)]
				    .reserved++;
				pfn++;
				continue;
			}
			case NUMEM_PS_FREE:
			case NUMEM_PS_PCP:
			case NUMEM_PS_ALLOCATED:
				if (pfn & ((1ull << o) - 1) || pfn + (1ull << o) > end)
					return FAIL(
					    "heap_verify: pfn 0x%llx heads a block of order "
					    "%u that is misaligned or crosses its section",
					    (unsigned long long)pfn, o);
				if (st == NUMEM_PS_ALLOCATED)
					cnt[numem__pg_zone_index(pg)].allocated += 1ull << o;
				/* Inside a block no descriptor may head another block:
				 * a nested head is a frame two blocks (two owners)
				 * claim, which every count above would miss. */
				for (uint64_t i = 1; i < (1ull << o); i++) {
					enum numem_page_state ts = numem__pg_state(
					    numem_pfn_to_page(ft, numem_pfn(pfn + i)));
					if (ts == NUMEM_PS_FREE || ts == NUMEM_PS_PCP ||
					    ts == NUMEM_PS_ALLOCATED || ts == NUMEM_PS_HOLE ||
					    ts == NUMEM_PS_UNINIT)
						return FAIL(
						    "heap_verify: pfn 0x%llx (state %u) lies "
						    "inside the block 0x%llx of order %u "
						    "(state %u): two blocks claim it",
						    (unsigned long long)(pfn + i), ts,
						    (unsigned long long)pfn, o, st);
				}
				pfn += 1ull << o;
				continue;
			default:
				return FAIL(
				    "heap_verify: pfn 0x%llx: expected the head of a block, "
				    "reserved or a hole, found state %u (a tail no block "
				    "covers)",
				    (unsigned long long)pfn, st);
			}
		}
	}
	return NUMEM_OK;
}

enum numem_err numem_heap_verify(struct numem_heap *h, struct numem_diag *diag)
{
	/* Per-zone tallies in scratch metadata, not on the stack. */
	size_t bytes = h->nr_zones * (sizeof(struct zone_count) + 3 * sizeof(uint64_t));
	struct zone_count *cnt = numem__meta_alloc(h->plat, bytes, NUMEM_NID_NONE);
	if (!cnt)
		return numem__fail(diag, NUMEM_E_NOMEM, 0, 0,
		                   "heap_verify: no metadata memory for %zu bytes of tallies",
		                   bytes);
	uint64_t *deferred = (uint64_t *)(cnt + h->nr_zones);
	uint64_t *res_uninit = deferred + h->nr_zones;
	uint64_t *transit = res_uninit + h->nr_zones; /* a relayout's blocks being moved */
	memset(cnt, 0, bytes);
	for (uint32_t zi = 0; zi < h->nr_zones; zi++)
		numem__lock(&h->zone[zi].lock);
	enum numem_err err = NUMEM_OK;
	for (uint32_t zi = 0; zi < h->nr_zones && !err; zi++)
		err = check_lists(h, zi, diag);
	if (!err)
		err = check_pcp(h, cnt, diag);
	if (!err)
		err = walk_pfns(h, cnt, diag);
	if (!err)
		err = numem__relayout_transit(h, transit, diag);
	if (!err) {
		numem__count_deferred(h, deferred, res_uninit);
		for (uint32_t zi = 0; zi < h->nr_zones && !err; zi++) {
			struct numem_zone *z = &h->zone[zi];
			cnt[zi].free = z->free_pages;
			cnt[zi].reserved += res_uninit[zi];
			if (deferred[zi] != z->deferred_pages)
				err = FAIL(
				    "heap_verify: zone %u (node %u %s): expected %llu deferred "
				    "pages, found %llu",
				    zi, z->node, numem_zone_name(z->type),
				    (unsigned long long)deferred[zi],
				    (unsigned long long)z->deferred_pages);
			else if (cnt[zi].reserved != z->reserved_pages)
				err = FAIL(
				    "heap_verify: zone %u (node %u %s): expected %llu reserved "
				    "pages, found %llu",
				    zi, z->node, numem_zone_name(z->type),
				    (unsigned long long)z->reserved_pages,
				    (unsigned long long)cnt[zi].reserved);
			uint64_t sum = cnt[zi].free + cnt[zi].cached + cnt[zi].allocated +
			               cnt[zi].reserved + z->deferred_pages + transit[zi];
			if (!err && sum != z->present_pages)
				err = FAIL(
				    "heap_verify: node %u zone %s: free %llu + cached %llu + "
				    "allocated %llu + reserved %llu + deferred %llu + in transit "
				    "%llu = %llu, expected present %llu",
				    z->node, numem_zone_name(z->type),
				    (unsigned long long)cnt[zi].free,
				    (unsigned long long)cnt[zi].cached,
				    (unsigned long long)cnt[zi].allocated,
				    (unsigned long long)cnt[zi].reserved,
				    (unsigned long long)z->deferred_pages,
				    (unsigned long long)transit[zi], (unsigned long long)sum,
				    (unsigned long long)z->present_pages);
		}
	}
	for (uint32_t zi = h->nr_zones; zi-- > 0;)
		numem__unlock(&h->zone[zi].lock);
	numem__meta_free(h->plat, cnt, bytes);
	return err;
}
