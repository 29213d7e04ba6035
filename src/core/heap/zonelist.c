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
				if (__atomic_load_n(
				        &z->populated,
				        __ATOMIC_RELAXED)) /* a relayout may change it */
					zl[k++] = (uint16_t)numem__zone_index(h, z);
			}
	} else {
		for (int t = (int)limit; t >= 0; t--)
			for (uint32_t i = 0; i < nr; i++) {
				const struct numem_zone *z =
				    numem_heap_zone(h, nodes[i], (enum numem_zone_type)t);
				if (__atomic_load_n(
				        &z->populated,
				        __ATOMIC_RELAXED)) /* a relayout may change it */
					zl[k++] = (uint16_t)numem__zone_index(h, z);
			}
	}
	zl[k] = UINT16_MAX;
	return k;
}

void numem__build_zonelists(struct numem_heap *h)
{
	numem__build_zonelists_into(h, h->topo, h->zonelist);
	numem__build_node_zones(h, h->topo, h->zonelist);
}

void numem__build_zonelists_into(const struct numem_heap *h, const struct numem_topo *t,
                                 uint16_t *zonelist)
{
	/* Nodes beyond the topology (room for a relayout) get empty lists. */
	for (numem_nid_t n = 0; n < h->max_nodes; n++)
		for (unsigned limit = 0; limit < NUMEM_NR_ZONE_TYPES; limit++)
			numem__zonelist_build(
			    h, t->node[n].fallback, n < t->nr_nodes ? t->node[n].nr_fallback : 0,
			    limit,
			    &zonelist[((size_t)n * NUMEM_NR_ZONE_TYPES + limit) * h->zonelist_len]);
}

void numem__build_node_zones(struct numem_heap *h, const struct numem_topo *t,
                             const uint16_t *zonelist)
{
	numem_nodemask_t mem = {{0}};
	for (numem_nid_t n = 0; n < NUMEM_MAX_NODES; n++) {
		uint16_t zi = UINT16_MAX;
		if (n < t->nr_nodes && n < h->max_nodes && t->node[n].ram_pages) {
			numem_nodemask_set(&mem, n);
			uint16_t first =
			    zonelist[((size_t)n * NUMEM_NR_ZONE_TYPES + NUMEM_ZONE_NORMAL) *
			             h->zonelist_len];
			if (first != UINT16_MAX && h->zone[first].node == n)
				zi = first;
		}
		/* Only ever UINT16_MAX or a zone of node n: a reader mixing two
		 * versions still pops a cache of the node it counts. */
		__atomic_store_n(&h->node_zone[n], zi, __ATOMIC_RELAXED);
	}
	for (unsigned w = 0; w < NUMEM_NODEMASK_WORDS; w++)
		__atomic_store_n(&h->mem_nodes.w[w], mem.w[w], __ATOMIC_RELAXED);
}
