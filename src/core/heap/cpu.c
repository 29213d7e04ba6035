/*
 * cpu.c - CPU handles: the fast path's precomputed answers and the cpuset.
 *
 * Each struct numem_cpu carries what its owner's fast path needs without a
 * lookup: the first zone of its local zonelist (if that zone is on its
 * nearest node with memory and inside the cpuset), that node, and the
 * numastat counter a local hit bumps.  They are recomputed when the cpuset
 * changes; poisoning turns the fast paths off (every allocation checks).
 */
#include "relayout_internal.h"

/* The cache a CPU without a fast path pops: always empty (nothing ever
 * pushes onto it), so the pop fails and the slow path runs. */
static struct numem_pcp no_fast_pcp;

_Static_assert(sizeof(struct numem_pcp) == 64, "a free finds a zone's cache by a shift");
/* With the default node limit; a build for more than 64 nodes has a larger
 * mask in the handle and may pay a multiply in numem_heap_cpu. */
_Static_assert(NUMEM_MAX_NODES > 64 ||
                   (sizeof(struct numem_cpu) & (sizeof(struct numem_cpu) - 1)) == 0,
               "numem_heap_cpu finds a handle by a shift");

_Static_assert(NUMEM_PCP_MAX_ORDER + 1 <= NUMEM_NR_STATS, "fast_allocs fits a stat row");

/* Move the fast path's counts into the node's counters they stand for. */
static void fast_flush(struct numem_cpu *cpu)
{
	uint64_t *row = cpu->stat[cpu->fast_node];
	for (unsigned o = 0; o <= NUMEM_PCP_MAX_ORDER; o++) {
		uint64_t n = cpu->fast_allocs[o];
		if (!n)
			continue;
		row[NUMEM_STAT_NUMA_HIT] += n;
		row[cpu->fast_near] += n;
		row[cpu->fast_near + (NUMEM_STAT_LOCAL_PAGES - NUMEM_STAT_LOCAL_NODE)] += n << o;
		cpu->fast_allocs[o] = 0;
	}
}

void numem__cpu_fast_path(struct numem_cpu *cpu)
{
	struct numem_heap *h = cpu->heap;
	fast_flush(cpu); /* counted on the old fast node */
	const uint16_t *zl = &__atomic_load_n(
	    &h->zonelist,
	    __ATOMIC_ACQUIRE)[((size_t)cpu->node * NUMEM_NR_ZONE_TYPES + NUMEM_ZONE_NORMAL) *
	                      h->zonelist_len];
	cpu->fast_pcp = &no_fast_pcp;
	/* A free's fast path pushes a head of the fast zone on fast_pcp: the
	 * zone bits name that zone, or none (no fast zone: every head takes
	 * the compare without the zone bits and its own zone's cache). */
	/* While pages are pending after a relayout, frees take the paths that
	 * send them to their new node (free_want's PENDING bit, the tail);
	 * numem__relayout_sync() ends that. */
	bool pending = numem__relayout_has_pending(h);
	uint64_t want_pending = pending ? NUMEM__FREE_WANT_PENDING : 0;
	cpu->free_want = h->poison ? NUMEM__FREE_WANT_NONE
	                           : (uint64_t)NUMEM_PS_ALLOCATED << NUMEM_PG_STATE_SHIFT |
	                                 NUMEM__FREE_ZONE_NONE | want_pending;
	/* A CPU with a trace ring takes the free's out-of-line tail each time
	 * (it traces there when the heap's switch is on); so does every CPU
	 * while pages are pending (the tail sends them to their new node). */
	cpu->free_tail_above = cpu->trace || pending ? 0 : h->pcp_high;
	cpu->ft = h->ft;
	cpu->online_map = h->online_map;
	if (h->poison || zl[0] == UINT16_MAX || h->zone[zl[0]].node != cpu->mem_node ||
	    !numem_nodemask_test(&cpu->allowed, cpu->mem_node))
		return;
	cpu->fast_pcp = &cpu->pcp[zl[0]];
	cpu->free_want = (uint64_t)NUMEM_PS_ALLOCATED << NUMEM_PG_STATE_SHIFT |
	                 (uint64_t)(zl[0] / NUMEM_NR_ZONE_TYPES) << NUMEM_PG_NODE_SHIFT |
	                 (uint64_t)(zl[0] % NUMEM_NR_ZONE_TYPES) << NUMEM_PG_ZONE_SHIFT |
	                 want_pending;
	cpu->fast_node = cpu->mem_node;
	cpu->fast_near = cpu->mem_node == cpu->node ? NUMEM_STAT_LOCAL_NODE : NUMEM_STAT_OTHER_NODE;
	/* The fold adds the page-weighted twin at the same distance. */
	_Static_assert(NUMEM_STAT_OTHER_PAGES - NUMEM_STAT_OTHER_NODE ==
	                   NUMEM_STAT_LOCAL_PAGES - NUMEM_STAT_LOCAL_NODE,
	               "page counters mirror local_node/other_node");
}

enum numem_err numem_cpu_set_allowed(struct numem_cpu *cpu, const numem_nodemask_t *mask,
                                     struct numem_diag *diag)
{
	const struct numem_topo *t = numem__topo(cpu->heap);
	for (numem_nid_t n = 0; n < t->nr_nodes; n++)
		if (numem_nodemask_test(mask, n) && t->node[n].ram_pages) {
			cpu->allowed = *mask;
			numem__cpu_fast_path(cpu);
			return NUMEM_OK;
		}
	return numem__fail(diag, NUMEM_E_INVAL, 0, 0,
	                   "numem_cpu_set_allowed: cpu %u: the mask holds no node with memory",
	                   cpu->id);
}
