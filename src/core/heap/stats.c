/*
 * stats.c - numastat counters folded from the CPUs, free and allocated
 * pages per node, and Linux's unusable free space index.
 *
 * Reads here take no lock: counters are per-CPU and folded as they are,
 * which is exact when the heap is quiescent and a close snapshot otherwise
 * (as /sys/devices/system/node/nodeN/numastat is).  The fast path counts
 * an allocation once, in fast_allocs[order], for the three counters it
 * stands for (cpu.c); a CPU changing its fast node (a cpuset change, a
 * relayout catch-up) moves those counts into its counters first, and a
 * read at that moment may see them twice or not at all.
 */
#include "heap_internal.h"

static const char *const stat_names[NUMEM_NR_STATS] = {
    "numa_hit",   "numa_miss",  "numa_foreign", "interleave_hit",
    "local_node", "other_node", "local_pages",  "other_pages",
};

const char *numem_stat_name(enum numem_stat s)
{
	return (unsigned)s < NUMEM_NR_STATS ? stat_names[s] : "?";
}

void numem_heap_node_stats(const struct numem_heap *h, numem_nid_t node,
                           uint64_t out[NUMEM_NR_STATS])
{
	for (unsigned s = 0; s < NUMEM_NR_STATS; s++)
		out[s] = 0;
	if (node >= numem__topo(h)->nr_nodes)
		return;
	for (uint32_t c = 0; c < h->nr_cpus; c++) {
		const struct numem_cpu *cpu = &h->cpu[c];
		for (unsigned s = 0; s < NUMEM_NR_STATS; s++)
			out[s] += cpu->stat[node][s];
		/* The fast path's allocations since its last recompute, which
		 * count on its fast node (cpu.c). */
		if (cpu->fast_node != node)
			continue;
		for (unsigned o = 0; o <= NUMEM_PCP_MAX_ORDER; o++) {
			uint64_t n = cpu->fast_allocs[o];
			out[NUMEM_STAT_NUMA_HIT] += n;
			out[cpu->fast_near] += n;
			out[cpu->fast_near + (NUMEM_STAT_LOCAL_PAGES - NUMEM_STAT_LOCAL_NODE)] +=
			    n << o;
		}
	}
}

uint64_t numem_heap_node_free(const struct numem_heap *h, numem_nid_t node)
{
	uint64_t sum = 0;
	if (node >= numem__topo(h)->nr_nodes) /* as numem_heap_node_stats: no such node */
		return 0;
	for (unsigned t = 0; t < NUMEM_NR_ZONE_TYPES; t++) {
		const struct numem_zone *z = numem_heap_zone(h, node, (enum numem_zone_type)t);
		uint32_t zi = node * NUMEM_NR_ZONE_TYPES + t;
		sum += __atomic_load_n(&z->free_pages, __ATOMIC_RELAXED) +
		       atomic_load_explicit(&z->deferred_pages, memory_order_relaxed);
		for (uint32_t c = 0; c < h->nr_cpus; c++)
			sum += numem_pcp_cached_pages(&h->cpu[c].pcp[zi]);
	}
	return sum;
}

uint64_t numem_heap_node_allocated(const struct numem_heap *h, numem_nid_t node)
{
	uint64_t present = 0, reserved = 0;
	if (node >= numem__topo(h)->nr_nodes)
		return 0;
	for (unsigned t = 0; t < NUMEM_NR_ZONE_TYPES; t++) {
		const struct numem_zone *z = numem_heap_zone(h, node, (enum numem_zone_type)t);
		present += z->present_pages;
		reserved += z->reserved_pages;
	}
	return present - reserved - numem_heap_node_free(h, node);
}

uint32_t numem_zone_unusable_index(const struct numem_zone *z, unsigned order)
{
	uint64_t free = 0, usable = 0;
	for (unsigned o = 0; o <= NUMEM_MAX_ORDER; o++) {
		uint64_t pages = z->area[o].nr << o;
		free += pages;
		if (o >= order)
			usable += pages;
	}
	if (!free)
		return 0;
	return (uint32_t)((free - usable) * 1000 / free);
}

enum numem_page_state numem_heap_pfn_owner(const struct numem_heap *h, numem_pfn_t pfn,
                                           uint16_t *owner)
{
	struct numem_heap_block b;
	enum numem_page_state st = numem_heap_block_of(h, pfn, &b);
	*owner = b.owner;
	return st;
}
