/*
 * zonelist.c - which zones an allocation tries, in which order.
 *
 * A zonelist is an array of zone indexes, best first, ending in
 * UINT16_MAX.  Two orders, as Linux had: node order (the default) takes,
 * for each node in turn, its zones from the zone limit down to DMA, so a
 * request stays on its node as long as any zone there can serve it; zone
 * order takes, for each zone type from the limit down, every node in turn,
 * so DMA-capable memory is kept for last everywhere.
 *
 * The local policy uses lists precomputed at init, per node (its fallback
 * order: distance, then id) and per zone limit; other policies build one
 * from their node order on the slow path (alloc.c).  Both go through
 * numem__zonelist_build(), the only builder.
 */
#include "heap_internal.h"

uint32_t numem__zonelist_build(const struct numem_heap *h, const numem_nid_t *nodes, uint32_t nr,
                               unsigned limit, uint16_t *zl)
{
	uint32_t k = 0;
	if (!h->zone_order) {
		for (uint32_t i = 0; i < nr; i++)
			for (int t = (int)limit; t >= 0; t--) {
				const struct numem_zone *z =
				    numem_heap_zone(h, nodes[i], (enum numem_zone_type)t);
				if (z->populated)
					zl[k++] = (uint16_t)numem__zone_index(h, z);
			}
	} else {
		for (int t = (int)limit; t >= 0; t--)
			for (uint32_t i = 0; i < nr; i++) {
				const struct numem_zone *z =
				    numem_heap_zone(h, nodes[i], (enum numem_zone_type)t);
				if (z->populated)
					zl[k++] = (uint16_t)numem__zone_index(h, z);
			}
	}
	zl[k] = UINT16_MAX;
	return k;
}

void numem__build_zonelists(struct numem_heap *h)
{
	const struct numem_topo *t = h->topo;
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		for (unsigned limit = 0; limit < NUMEM_NR_ZONE_TYPES; limit++)
			numem__zonelist_build(
			    h, t->node[n].fallback, t->node[n].nr_fallback, limit,
			    &h->zonelist[((size_t)n * NUMEM_NR_ZONE_TYPES + limit) *
			                 h->zonelist_len]);
	h->mem_nodes = (numem_nodemask_t){{0}};
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++) {
		h->node_zone[n] = UINT16_MAX;
		if (n >= t->nr_nodes || !t->node[n].ram_pages)
			continue;
		numem_nodemask_set(&h->mem_nodes, n);
		uint16_t first = h->zonelist[((size_t)n * NUMEM_NR_ZONE_TYPES + NUMEM_ZONE_NORMAL) *
		                             h->zonelist_len];
		if (first != UINT16_MAX && h->zone[first].node == n)
			h->node_zone[n] = first;
	}
}
